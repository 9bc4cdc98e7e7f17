//! Combat: initiative, the turn loop with its clock, attacks, NPC options and the
//! built-in NPC policy.

use super::{Emitter, MAX_COMBATANTS, MAX_MONSTERS_PER_COMMAND, find_creature, resolve};
use crate::command::{Action, MonsterGroup, NpcOption};
use crate::creature::{Creature, Effect};
use crate::data::Reach;
use crate::error::RuleError;
use crate::event::{ActionCost, CombatOutcome, EventKind, InitiativeEntry, Visibility};
use crate::ids::{CreatureId, Timestamp};
use crate::state::CampaignState;

/// Initiative order: highest total first, ties by Dexterity score, then by id.
pub fn sort_order(order: &mut [InitiativeEntry]) {
    order.sort_by(|a, b| {
        b.total
            .cmp(&a.total)
            .then(b.dex.cmp(&a.dex))
            .then(a.creature.cmp(&b.creature))
    });
}

/// When the host must next call `decide` with `Action::Tick`: the turn warning, then
/// the turn deadline. `None` when no clock is running.
pub fn next_deadline(state: &CampaignState) -> Option<Timestamp> {
    let c = state.combat.as_ref()?;
    if let Some(w) = &c.reaction {
        return Some(w.deadline);
    }
    let deadline = c.deadline?;
    if !c.warned && state.settings.turn_warning_ms > 0 {
        Some(deadline.minus_ms(state.settings.turn_warning_ms))
    } else {
        Some(deadline)
    }
}

pub(crate) fn system(em: &mut Emitter, action: Action) -> Result<(), RuleError> {
    match action {
        Action::Tick => {
            tick(em);
            Ok(())
        }
        Action::ResumeClock => {
            let Some(c) = em.state.combat.clone() else {
                return Ok(());
            };
            let (Some(deadline), Some(active)) = (c.deadline, c.active_creature()) else {
                return Ok(());
            };
            // Deadlines are absolute: time the table was down counts against the turn,
            // as it would at a real table. A player whose deadline passed while the host
            // was down gets the warning period from now (and the warning), never a whole
            // new turn and never an instant timeout they could not see coming.
            let deadline = if deadline > em.now {
                deadline
            } else {
                em.now.plus_ms(resume_grace_ms(&em.state.settings))
            };
            em.emit(
                Visibility::Party,
                EventKind::TurnClockResumed {
                    creature: active,
                    deadline,
                },
            );
            Ok(())
        }
        Action::NpcAct { option, intent } => npc_act(em, option, intent),
        Action::GrantGm { player } => {
            if !em.state.started || em.state.ended {
                return Err(RuleError::NoCampaign("No campaign is running here.".into()));
            }
            if em.state.is_gm(&player) {
                return Ok(());
            }
            em.emit(Visibility::Party, EventKind::GmGranted { player });
            Ok(())
        }
        _ => Err(RuleError::invalid("The table's clock can only tick.")),
    }
}

/// The time a player gets when their turn's deadline passed while the host was down:
/// the warning period, at least 10 s, at most a whole turn.
pub(crate) fn resume_grace_ms(settings: &crate::Settings) -> u64 {
    settings
        .turn_warning_ms
        .max(10_000)
        .min(settings.turn_timeout_ms.max(1))
}

fn tick(em: &mut Emitter) {
    let Some(c) = em.state.combat.clone() else {
        return;
    };
    if let Some(w) = &c.reaction {
        if em.now >= w.deadline {
            // Nobody answered: the action goes on without the reaction.
            let _ = resolve_window(em, false, true);
        }
        return;
    }
    let (Some(deadline), Some(active)) = (c.deadline, c.active_creature()) else {
        return;
    };
    if em.now >= deadline {
        // A monster still choosing its opportunity attack when the mover's turn runs
        // out: the built-in choice (take it) settles the move first.
        if c.opportunity.is_some() {
            let _ = super::position::opportunity_answer(em, true);
            // Its hit may open the mover's reaction window: the move waits in it, and
            // the turn times out at the next tick once it has closed.
            if !em.state.in_combat()
                || em
                    .state
                    .combat
                    .as_ref()
                    .is_some_and(|c| c.reaction.is_some())
            {
                return;
            }
        }
        em.public(EventKind::TurnTimedOut { creature: active });
        if em.creature(active).can_act()
            && !em
                .state
                .combat
                .as_ref()
                .is_some_and(|c| c.budget.action_used)
        {
            em.public(EventKind::Dodged { creature: active });
        }
        advance(em);
    } else if !c.warned && em.now >= deadline.minus_ms(em.state.settings.turn_warning_ms) {
        let owner = em.creature(active).owner().cloned();
        let vis = owner.map_or(Visibility::Party, Visibility::Player);
        em.emit(
            vis,
            EventKind::TurnWarning {
                creature: active,
                deadline,
            },
        );
    }
}

pub(crate) fn monster_names(
    em: &Emitter,
    groups: &[MonsterGroup],
) -> Result<Vec<Creature>, RuleError> {
    // Counts come from outside: bound every one before summing (a sum of u32s could
    // wrap past the cap), and bound the number of groups before any per-group work.
    if groups.len() > MAX_MONSTERS_PER_COMMAND as usize {
        return Err(crate::monster_list::too_many());
    }
    let mut total: u32 = 0;
    for g in groups {
        total = total
            .checked_add(g.count)
            .filter(|t| *t <= MAX_MONSTERS_PER_COMMAND)
            .ok_or_else(crate::monster_list::too_many)?;
    }
    if groups.is_empty() || total == 0 {
        return Err(RuleError::invalid(
            "Name at least one monster, e.g. \"2 goblin\".",
        ));
    }
    let mut next = em.state.next_creature;
    let mut out = Vec::new();
    for g in groups {
        let Some(m) = em.state.catalog.monster(&g.monster) else {
            return Err(RuleError::UnknownTarget {
                what: "monster in the SRD",
                name: crate::error::echo(&g.monster),
            });
        };
        // Numbering carries on past the slain of earlier fights, which are forgotten
        // (a state from before `monsters_seen` still holds them all: count those).
        let here = em
            .state
            .creatures
            .values()
            .filter(|c| c.monster.as_deref() == Some(m.index.as_str()))
            .count();
        let seen = em.state.monsters_seen.get(&m.index).copied().unwrap_or(0) as usize;
        let existing = here.max(seen)
            + out
                .iter()
                .filter(|c: &&Creature| c.monster.as_deref() == Some(m.index.as_str()))
                .count();
        // Bounded by `total` above.
        let group_total: u32 = groups
            .iter()
            .filter(|o| crate::data::to_index(&o.monster) == m.index)
            .map(|o| o.count)
            .fold(0, u32::saturating_add);
        for i in 0..g.count {
            let n = existing + i as usize + 1;
            let name = if existing == 0 && group_total == 1 {
                m.name.clone()
            } else {
                format!("{} {}", m.name, n)
            };
            out.push(Creature::from_monster(m, CreatureId(next), name));
            next += 1;
        }
    }
    Ok(out)
}

pub(crate) fn roll_initiative(em: &mut Emitter, ids: &[CreatureId]) -> Vec<InitiativeEntry> {
    let mut entries = Vec::new();
    for id in ids {
        let c = em.creature(*id);
        let modifier = c.modifier(crate::ability::Ability::Dex);
        let dex = c.abilities.dex;
        let feral = crate::features::feral_instinct(c);
        let mut d20 = em.dice.roll(20);
        // Feral Instinct: advantage on initiative (both dice told).
        if feral {
            let other = em.dice.roll(20);
            em.public(EventKind::FeatureUsed {
                creature: *id,
                feature: "feral-instinct".into(),
                note: format!("advantage: {d20} and {other}"),
                spent: 0,
            });
            d20 = d20.max(other);
        }
        super::features::superior_inspiration(em, *id);
        let total = d20 as i32 + modifier;
        em.public(EventKind::InitiativeRolled {
            creature: *id,
            d20,
            modifier,
            total,
        });
        entries.push(InitiativeEntry {
            creature: *id,
            total,
            dex,
        });
    }
    sort_order(&mut entries);
    entries
}

pub(crate) fn start(em: &mut Emitter, groups: &[MonsterGroup]) -> Result<(), RuleError> {
    if em.state.in_combat() {
        return Err(RuleError::WrongMode(
            "A fight is already on — use combat add to bring in more.".into(),
        ));
    }
    let party: Vec<CreatureId> = em
        .state
        .party()
        .filter(|c| !c.is_down())
        .map(|c| c.id)
        .collect();
    if party.is_empty() {
        return Err(RuleError::invalid(
            "Nobody in the party can fight — make a character first.",
        ));
    }
    let monsters = if groups.is_empty() {
        Vec::new()
    } else {
        monster_names(em, groups)?
    };
    let mut ids: Vec<CreatureId> = party;
    if !monsters.is_empty() {
        em.public(EventKind::MonstersAppeared {
            creatures: monsters.clone(),
        });
    }
    // Monsters already in the scene join too.
    ids.extend(em.state.monsters().filter(|c| !c.is_down()).map(|c| c.id));
    if ids.iter().all(|id| em.creature(*id).on_party_side()) {
        return Err(RuleError::invalid("A fight needs at least one monster."));
    }
    if ids.len() > MAX_COMBATANTS {
        return Err(RuleError::invalid(format!(
            "A fight can hold at most {MAX_COMBATANTS} combatants."
        )));
    }
    let order = roll_initiative(em, &ids);
    em.public(EventKind::CombatStarted { order });
    begin_turn(em, 0, 1);
    Ok(())
}

pub(crate) fn add(em: &mut Emitter, groups: &[MonsterGroup]) -> Result<(), RuleError> {
    if !em.state.in_combat() {
        return Err(RuleError::WrongMode(
            "There is no fight to join — start one.".into(),
        ));
    }
    let monsters = monster_names(em, groups)?;
    if em.state.combat.as_ref().map_or(0, |c| c.order.len()) + monsters.len() > MAX_COMBATANTS {
        return Err(RuleError::invalid(format!(
            "A fight can hold at most {MAX_COMBATANTS} combatants."
        )));
    }
    let ids: Vec<CreatureId> = monsters.iter().map(|m| m.id).collect();
    em.public(EventKind::MonstersAppeared {
        creatures: monsters,
    });
    let entries = roll_initiative(em, &ids);
    em.public(EventKind::CombatantsJoined { entries });
    Ok(())
}

pub(crate) fn end(em: &mut Emitter, outcome: CombatOutcome) {
    if let Some(active) = em.state.combat.as_ref().and_then(|c| c.active_creature()) {
        em.public(EventKind::TurnEnded { creature: active });
    }
    // Round-counted marks (a minute or less) end with the fight.
    resolve::end_marks_where(em, |_, a| a.until.is_round_bound());
    em.public(EventKind::CombatEnded { outcome });
}

/// Ends the fight if one side is down. Returns true if it ended.
pub(crate) fn check_end(em: &mut Emitter) -> bool {
    if em.state.combat.is_none() {
        return false;
    }
    // A monster that dropped lets out what it swallowed.
    super::monster_actions::release_from_fallen(em);
    let Some(c) = em.state.combat.as_ref() else {
        return false;
    };
    let fighters: Vec<&Creature> = c
        .order
        .iter()
        .filter_map(|e| em.state.creatures.get(&e.creature))
        .collect();
    let foes_standing = fighters.iter().any(|f| !f.on_party_side() && !f.is_down());
    let party_standing = fighters.iter().any(|f| f.on_party_side() && !f.is_down());
    if !foes_standing {
        end(em, CombatOutcome::Victory);
        true
    } else if !party_standing {
        end(em, CombatOutcome::Defeat);
        true
    } else {
        false
    }
}

/// Starts the turn of `order[index]`, handling everything automatic at the start of a
/// turn: effects that last "until the start of your next turn", death saves, and
/// skipping creatures that cannot act.
fn begin_turn(em: &mut Emitter, index: usize, round: u32) {
    let Some(id) = em
        .state
        .combat
        .as_ref()
        .and_then(|c| c.order.get(index))
        .map(|e| e.creature)
    else {
        return;
    };
    for effect in [Effect::Dodging, Effect::Shielded] {
        if em.creature(id).has_effect(&effect) {
            em.public(EventKind::EffectEnded {
                creature: id,
                effect,
            });
        }
    }
    resolve::turn_start_marks(em, id, round);
    if !em.state.in_combat() {
        return;
    }
    let c = em.creature(id).clone();
    let deadline = if c.is_pc() {
        Some(em.now.plus_ms(em.state.settings.turn_timeout_ms))
    } else {
        None
    };
    em.public(EventKind::TurnStarted {
        creature: id,
        round,
        deadline,
    });
    if resolve::ongoing_damage(em, id) && check_end(em) {
        return;
    }
    if super::spells::aura_damage(em, id) && check_end(em) {
        return;
    }
    if super::zones::turn_start(em, id, round) && check_end(em) {
        return;
    }
    super::spells::turn_start_boons(em, id);
    super::features::survivor(em, id);
    if !em.creature(id).is_pc() {
        let _ = super::monster_actions::digest(em, id);
        if check_end(em) {
            return;
        }
    }
    recharge(em, id);
    let c = em.creature(id).clone();
    if c.is_dying() {
        resolve::death_save(em, id);
        if !em.creature(id).can_act() {
            advance(em);
        }
    } else if c.is_pc() && !c.can_act() {
        // Stable at 0 HP, or incapacitated: nothing to do this turn.
        advance(em);
    } else if c.dead || c.is_down() {
        // Felled by ongoing damage as its turn began.
        advance(em);
    } else if super::spells::obey(em, id) {
        // Under Command's or Fear's order: its turn is spent obeying.
        advance(em);
    }
}

/// A monster's spent recharge actions: a d6 each at the start of its turn.
fn recharge(em: &mut Emitter, id: CreatureId) {
    let c = em.creature(id);
    if c.is_pc() || c.spent.is_empty() {
        return;
    }
    let mut due: Vec<(String, u32)> = c
        .attacks
        .iter()
        .filter(|a| c.spent.contains_key(&a.name))
        .filter_map(|a| match a.limit() {
            Some(crate::effect::Limit::Recharge { min }) => Some((a.name.clone(), min)),
            _ => None,
        })
        .collect();
    // Special actions with a recharge (a blink dog's Teleport).
    due.extend(
        super::monster_actions::specials(&em.state, c)
            .into_iter()
            .filter(|(n, _, _)| c.spent.contains_key(n))
            .filter_map(
                |(n, u, _)| match u.as_deref().and_then(crate::effect::Limit::parse) {
                    Some(crate::effect::Limit::Recharge { min }) => Some((n, min)),
                    _ => None,
                },
            ),
    );
    for (action, min) in due {
        let d6 = em.dice.roll(6);
        em.public(EventKind::RechargeRolled {
            creature: id,
            action,
            d6,
            min,
            recharged: d6 >= min,
        });
    }
}

/// The legendary actions `m` can take now against a creature: affordable, with a
/// stat-block attack it can use.
fn legendary_choices(state: &CampaignState, m: &Creature) -> Vec<(String, u8)> {
    let left = 3u8.saturating_sub(m.legendary_used);
    m.legendary
        .iter()
        .filter(|l| l.cost <= left)
        .filter(|l| {
            l.attack
                .as_deref()
                .and_then(|a| m.find_attack(a))
                .is_some_and(|a| m.can_use(a))
        })
        .filter(|_| state.in_combat())
        .map(|l| (l.name.clone(), l.cost))
        .collect()
}

/// The legendary actions that make no attack `m` can afford now (Detect, Wing Attack,
/// Move, Teleport, Heal Self), listed after its attacks.
fn legendary_special_choices(
    state: &CampaignState,
    m: &Creature,
) -> Vec<(String, u8, super::monster_actions::LegendarySpecial)> {
    let left = 3u8.saturating_sub(m.legendary_used);
    if !state.in_combat() || resolve::ethereal(m) {
        return vec![];
    }
    super::monster_actions::legendary_specials(state, m)
        .into_iter()
        .filter(|(_, cost, _)| *cost <= left)
        .collect()
}

/// At the end of `ended`'s turn (a standing player character), the next legendary
/// monster in the order after `after` (from the start: `None`) that can take a
/// legendary action gets to choose one: `LegendaryTurn`, and the next turn waits.
/// Returns true when one did.
fn offer_legendary(em: &mut Emitter, ended: CreatureId, after: Option<CreatureId>) -> bool {
    let Some(order) = em.state.combat.as_ref().map(|c| c.order.clone()) else {
        return false;
    };
    let target = em.creature(ended);
    if target.is_down() || !target.is_pc() {
        return false;
    }
    let start = after
        .and_then(|a| order.iter().position(|e| e.creature == a))
        .map_or(0, |p| p + 1);
    for e in &order[start.min(order.len())..] {
        let m = em.creature(e.creature);
        if m.id == ended || m.is_pc() || m.legendary.is_empty() || !m.can_act() {
            continue;
        }
        if legendary_choices(&em.state, m).is_empty()
            && legendary_special_choices(&em.state, m).is_empty()
        {
            continue;
        }
        let creature = m.id;
        em.public(EventKind::LegendaryTurn { creature, ended });
        return true;
    }
    false
}

/// The legendary monster's choice: its legendary action (an attack) or nothing; then
/// the next legendary monster's, or the next turn.
fn legendary_act(
    em: &mut Emitter,
    m: CreatureId,
    ended: CreatureId,
    option: NpcOption,
) -> Result<(), RuleError> {
    // Cast a Spell / Cantrip: the cheapest legendary cast that allows the spell.
    if let NpcOption::Cast {
        spell,
        targets,
        slot,
    } = &option
    {
        let cantrip = em.state.catalog.spell(spell).is_some_and(|s| s.level == 0);
        let (name, cost) = legendary_special_choices(&em.state, em.creature(m))
            .into_iter()
            .filter(|(_, _, s)| match s {
                super::monster_actions::LegendarySpecial::Cast { cantrips } => cantrip || !cantrips,
                _ => false,
            })
            .min_by_key(|(_, c, _)| *c)
            .map(|(n, c, _)| (n, c))
            .ok_or_else(|| RuleError::invalid("It has no legendary action to cast that."))?;
        em.public(EventKind::LegendaryActionUsed {
            creature: m,
            action: name,
            cost,
        });
        super::spells::cast(em, m, spell, targets, *slot)?;
        // A foe's Counterspell window holds the legendary turn until it closes.
        if em
            .state
            .combat
            .as_ref()
            .is_some_and(|c| c.reaction.is_none())
        {
            end_legendary_turn(em, m, ended);
        }
        return Ok(());
    }
    if let NpcOption::Legendary { action, target } = &option
        && let Some((name, cost, special)) = legendary_special_choices(&em.state, em.creature(m))
            .into_iter()
            .find(|(n, _, _)| n == action)
    {
        let aimed = super::monster_actions::legendary_targets(&em.state, em.creature(m), &special);
        let t = match (&aimed, target.is_empty()) {
            (None, true) => None,
            (None, false) => {
                return Err(RuleError::invalid("That legendary action takes no target."));
            }
            (Some(_), true) => return Err(RuleError::invalid("At whom?")),
            (Some(names), false) => {
                if !names.iter().any(|n| n.eq_ignore_ascii_case(target)) {
                    return Err(RuleError::invalid(
                        "Not a target that legendary action can take.",
                    ));
                }
                Some(find_creature(&em.state, target, |c| !c.dead)?)
            }
        };
        em.public(EventKind::LegendaryActionUsed {
            creature: m,
            action: name,
            cost,
        });
        super::monster_actions::legendary(em, m, special, t)?;
        end_legendary_turn(em, m, ended);
        return Ok(());
    }
    if let NpcOption::Legendary { action, target } = option {
        let t = find_creature(&em.state, &target, |c| c.on_party_side())?;
        let (l, atk) = {
            let c = em.creature(m);
            let l = c
                .legendary
                .iter()
                .find(|l| l.name == action)
                .cloned()
                .ok_or_else(|| RuleError::invalid("Unknown legendary action."))?;
            let atk = l
                .attack
                .as_deref()
                .and_then(|a| c.find_attack(a))
                .cloned()
                .ok_or_else(|| RuleError::invalid("That legendary action makes no attack."))?;
            (l, atk)
        };
        em.public(EventKind::LegendaryActionUsed {
            creature: m,
            action: l.name,
            cost: l.cost,
        });
        // A hit may open the target's reaction window (Shield, Uncanny Dodge); the
        // legendary turn then ends when it closes.
        if npc_attack(em, m, t, &atk, Some(vec![]))? {
            return Ok(());
        }
    }
    end_legendary_turn(em, m, ended);
    Ok(())
}

/// The end of a legendary monster's turn between turns: the next legendary monster's,
/// or the next turn.
pub(crate) fn end_legendary_turn(em: &mut Emitter, m: CreatureId, ended: CreatureId) {
    if !em.state.in_combat() {
        return;
    }
    em.public(EventKind::LegendaryTurnEnded { creature: m });
    if check_end(em) || offer_legendary(em, ended, Some(m)) {
        return;
    }
    start_next(em);
}

/// A GM's damage or hit points felled the monster whose turn it is: its turn ends (no
/// one would choose for it; the fight would wait on nothing).
pub(crate) fn pass_fallen_monster(em: &mut Emitter) {
    let Some(c) = em.state.combat.as_ref() else {
        return;
    };
    if c.reaction.is_some() || c.opportunity.is_some() || c.legendary.is_some() {
        return;
    }
    if em
        .state
        .active_creature()
        .is_some_and(|a| !a.is_pc() && a.is_down())
    {
        advance(em);
    }
}

/// The conjured creature whose turn it is vanished (its caster's concentration ended
/// during that turn, by whatever command): its turn ends, as no one is left to end it.
pub(crate) fn pass_vanished(em: &mut Emitter) {
    let Some(c) = em.state.combat.as_ref() else {
        return;
    };
    if c.reaction.is_some() || c.opportunity.is_some() || c.legendary.is_some() {
        return;
    }
    if em
        .state
        .active_creature()
        .is_some_and(|a| a.dead && a.summoned.is_some())
    {
        advance(em);
    }
}

/// Ends the active turn and starts the next combatant's, skipping the dead.
pub(crate) fn advance(em: &mut Emitter) {
    let Some(c) = em.state.combat.clone() else {
        return;
    };
    if let Some(active) = c.active_creature() {
        super::monster_actions::turn_end(em, active);
        resolve::turn_end_marks(em, active, c.round);
        em.public(EventKind::TurnEnded { creature: active });
        if check_end(em) {
            return;
        }
        if offer_legendary(em, active, None) {
            return;
        }
    }
    if check_end(em) {
        return;
    }
    start_next(em);
}

/// Starts the turn of the next combatant after the active one, skipping the dead.
fn start_next(em: &mut Emitter) {
    let Some(c) = em.state.combat.clone() else {
        return;
    };
    let n = c.order.len();
    let mut idx = c.active;
    let mut round = c.round;
    for _ in 0..n {
        idx += 1;
        if idx >= n {
            idx = 0;
            round += 1;
        }
        let cr = em.creature(c.order[idx].creature);
        let skip = cr.dead || (!cr.is_pc() && cr.is_down());
        if !skip {
            begin_turn(em, idx, round);
            return;
        }
    }
}

pub(crate) fn require_turn_part(
    em: &Emitter,
    me: CreatureId,
    cost: ActionCost,
) -> Result<(), RuleError> {
    let c = em.creature(me);
    if !c.can_act() {
        let why = if c.dead {
            "dead".to_string()
        } else if c.hp <= 0 {
            "unconscious".to_string()
        } else {
            c.conditions
                .keys()
                .find(|k| k.incapacitates())
                .map_or("incapacitated".into(), |k| k.to_string())
        };
        return Err(RuleError::CannotAct {
            who: c.name.clone(),
            why,
        });
    }
    let Some(combat) = em.state.combat.as_ref() else {
        return Ok(());
    };
    // A legendary action's cast (Cast a Spell, Cantrip) spends no action of a turn.
    if combat.legendary.is_some_and(|(l, _)| l == me)
        && matches!(cost, ActionCost::Action | ActionCost::BonusAction)
    {
        return Ok(());
    }
    // Slow: an action or a bonus action on its turn, not both.
    let slowed =
        c.has_mark(|m| *m == crate::effect::Mark::Slowed) && combat.active_creature() == Some(me);
    if slowed
        && ((cost == ActionCost::Action && combat.budget.bonus_action_used)
            || (cost == ActionCost::BonusAction && combat.budget.action_used))
    {
        return Err(RuleError::invalid(format!(
            "{} is slowed: an action or a bonus action this turn, not both.",
            c.name
        )));
    }
    let used = match cost {
        ActionCost::Action => combat.budget.action_used.then_some("action"),
        ActionCost::BonusAction => combat.budget.bonus_action_used.then_some("bonus action"),
        ActionCost::Reaction => (em.state.reactions_used.get(&me).copied().unwrap_or(false)
            || c.has_mark(|m| *m == crate::effect::Mark::NoReactions))
        .then_some("reaction"),
        ActionCost::Free => None,
    };
    match used {
        Some(what) => Err(RuleError::AlreadyUsed {
            who: c.name.clone(),
            what,
        }),
        None => Ok(()),
    }
}

pub(crate) fn attack(
    em: &mut Emitter,
    me: CreatureId,
    target: &str,
    weapon: Option<&str>,
) -> Result<(), RuleError> {
    let t = find_creature(&em.state, target, |c| c.id != me && !c.dead)?;
    resolve::targetable(em, t)?;
    let c = em.creature(me).clone();
    let atk = match weapon {
        Some(w) => c.find_attack(w).cloned().ok_or_else(|| {
            if c.item_count(w) > 0 {
                RuleError::invalid(format!("{w} is not a weapon {} can attack with.", c.name))
            } else {
                RuleError::NotInInventory {
                    item: em
                        .state
                        .catalog
                        .weapon(w)
                        .map_or_else(|| crate::error::echo(w), |d| d.name.clone()),
                }
            }
        })?,
        None => c
            .attacks
            .iter()
            .find(|a| a.reach == Reach::Melee)
            .or(c.attacks.first())
            .cloned()
            .ok_or_else(|| {
                RuleError::invalid(format!("{} has no weapon to attack with.", c.name))
            })?,
    };
    require_in_this_fight(em, t)?;
    if let Some(combat) = em.state.combat.as_ref() {
        let mut per = c.pc.as_ref().map_or(1, |p| p.attacks_per_action.max(1));
        // Haste: one more weapon attack; Slow: one attack only.
        if c.has_mark(|m| *m == crate::effect::Mark::Hasted) {
            per = per.saturating_add(1);
        }
        if c.has_mark(|m| *m == crate::effect::Mark::Slowed) {
            per = 1;
        }
        let b = combat.budget;
        if b.action_used && (b.attacks_made == 0 || b.attacks_made >= per) {
            return Err(RuleError::AlreadyUsed {
                who: c.name.clone(),
                what: "action",
            });
        }
        require_turn_part(em, me, ActionCost::Free)?;
    } else {
        require_turn_part(em, me, ActionCost::Free)?;
    }
    if em.creature(t).is_down() && !em.creature(t).is_pc() {
        return Err(RuleError::invalid(format!(
            "{} is already down.",
            em.creature(t).name
        )));
    }
    // Charmed: it can't attack its charmer.
    if em
        .creature(me)
        .conditions
        .get(&crate::condition::Condition::Charmed)
        == Some(&Some(t))
    {
        return Err(RuleError::invalid(format!(
            "{} is charmed by {} and can't attack them.",
            em.creature(me).name,
            em.creature(t).name
        )));
    }
    let approach = super::position::approach(em, me, t, atk.reach)?;
    // Sanctuary: turned away, the attack is not made (another target may be chosen).
    if resolve::sanctuary(em, me, t)? {
        return Ok(());
    }
    let to_hit = atk
        .to_hit
        .saturating_add(resolve::weapon_bonus(em.creature(me)))
        .saturating_add(super::class_actions::sacred_weapon_bonus(em.creature(me)));
    let outcome = resolve::attack_roll(em, me, t, &atk.name, to_hit, atk.reach, approach);
    if outcome.is_hit() {
        hit_with(em, me, t, &atk, outcome)?;
    }
    check_end(em);
    Ok(())
}

/// Damage from a weapon or stat-block attack that hit, with the attacker's riders
/// (Hex, Hunter's Mark, Divine Favor, Branding Smite) as part of the same hit.
pub(crate) fn hit_with(
    em: &mut Emitter,
    me: CreatureId,
    t: CreatureId,
    atk: &crate::creature::Attack,
    outcome: crate::event::AttackOutcome,
) -> Result<(), RuleError> {
    hit_with_scaled(em, me, t, atk, outcome, false)
}

/// As [`hit_with`], the damage halved when `half` (Uncanny Dodge).
pub(crate) fn hit_with_scaled(
    em: &mut Emitter,
    me: CreatureId,
    t: CreatureId,
    atk: &crate::creature::Attack,
    outcome: crate::event::AttackOutcome,
    half: bool,
) -> Result<(), RuleError> {
    let weapon_type = atk.damage.first().map(|d| d.damage_type);
    let mut parts = atk.damage.clone();
    let c = em.creature(me);
    let plus = resolve::weapon_bonus(c);
    let reduced = c.has_mark(|m| *m == crate::effect::Mark::Reduced);
    // Ray of Enfeeblement: half damage with attacks that use Strength (every melee
    // weapon or stat-block attack counts as one).
    let enfeebled =
        atk.reach == Reach::Melee && c.has_mark(|m| *m == crate::effect::Mark::Enfeebled);
    if let Some(first) = parts.first_mut() {
        // Magic Weapon: +N to the damage; Reduce: 1d4 less (at least 1).
        if plus > 0 {
            first.dice = format!("{} + {plus}", first.dice);
        }
        if reduced {
            first.dice = format!("{} - 1d4", first.dice);
        }
    }
    parts.extend(resolve::riders(em, me, t, weapon_type, true));
    parts.extend(super::features::on_hit(em, me, atk, outcome));
    let crit = outcome == crate::event::AttackOutcome::CriticalHit;
    let mut rolls = Vec::with_capacity(parts.len());
    for p in &parts {
        let expr = crate::dice::parse(&p.dice)?;
        let expr = if crit { expr.doubled() } else { expr };
        rolls.push((p.damage_type, expr.roll(em.dice)?));
    }
    if reduced
        && let Some((_, r)) = rolls.first_mut()
        && r.total < 1
    {
        r.total = 1;
        r.breakdown = format!("{} (at least 1)", r.breakdown);
    }
    // Enfeebled and Uncanny Dodge both halve: the first halving here, the second
    // (shown as "halved") where the damage is dealt.
    if half && enfeebled {
        for (_, r) in &mut rolls {
            r.total /= 2;
            r.breakdown = format!("{} (enfeebled)", r.breakdown);
        }
    }
    resolve::deal_rolled(em, t, Some(me), &rolls, crit, half || enfeebled);
    super::features::savage_attacks(em, me, t, atk, outcome)?;
    Ok(())
}

pub(crate) fn dodge(em: &mut Emitter, me: CreatureId, via: Via) -> Result<(), RuleError> {
    if !em.state.in_combat() {
        return Err(RuleError::WrongMode(
            "Dodging only matters in a fight.".into(),
        ));
    }
    pay(em, me, via, "dodge")?;
    em.public(EventKind::Dodged { creature: me });
    Ok(())
}

/// The hold `who` can break free of with its action (Web, Entangle): the first
/// spell's, as its caster, its DC and ability, and when it ends.
pub(crate) fn hold(
    c: &crate::creature::Creature,
) -> Option<(CreatureId, crate::effect::SaveEnds, crate::effect::Until)> {
    c.marks()
        .filter_map(|a| a.save_ends.filter(|s| s.action).map(|s| (a.by, s, a.until)))
        .min()
}

/// Break free of a spell's hold (Web, Entangle): the action, and a check of the
/// spell's ability (Strength) against its caster's DC; success ends its marks.
pub(crate) fn break_free(em: &mut Emitter, me: CreatureId) -> Result<(), RuleError> {
    let Some((by, s, until)) = hold(em.creature(me)) else {
        return Err(RuleError::invalid(format!(
            "{} isn't held by anything to break free of.",
            em.creature(me).name
        )));
    };
    require_turn_part(em, me, ActionCost::Action)?;
    let freed = super::resolve::check(
        em,
        me,
        crate::event::CheckKind::Ability(s.ability),
        Default::default(),
        Some(s.dc),
    );
    em.public(EventKind::BreakFreeAttempted {
        creature: me,
        freed,
    });
    if freed {
        let ending: Vec<crate::effect::Active> = em
            .creature(me)
            .marks()
            .filter(|a| a.by == by && a.save_ends == Some(s) && a.until == until)
            .copied()
            .collect();
        for a in ending {
            super::resolve::end_mark(em, me, a);
        }
    }
    Ok(())
}

pub(crate) fn dash(em: &mut Emitter, me: CreatureId, via: Via) -> Result<(), RuleError> {
    in_fight(em, "Dashing")?;
    pay(em, me, via, "dash")?;
    em.public(EventKind::Dashed { creature: me });
    Ok(())
}

pub(crate) fn disengage(em: &mut Emitter, me: CreatureId, via: Via) -> Result<(), RuleError> {
    in_fight(em, "Disengaging")?;
    pay(em, me, via, "disengage")?;
    em.public(EventKind::Disengaged { creature: me });
    Ok(())
}

/// How Dash, Disengage, Hide or Dodge is paid for: the action, or a bonus action
/// through a feature (Cunning Action, Step of the Wind, Patient Defense) whose
/// `FeatureUsed` spends the bonus action (and `spent` from its pool: ki).
pub(crate) type Via<'a> = Option<(&'a str, u32)>;

/// Checks and spends the part of the turn `via` names; `what` is told in the
/// feature's note.
fn pay(em: &mut Emitter, me: CreatureId, via: Via, what: &str) -> Result<(), RuleError> {
    match via {
        None => require_turn_part(em, me, ActionCost::Action),
        Some((feature, spent)) => {
            require_turn_part(em, me, ActionCost::BonusAction)?;
            em.public(EventKind::FeatureUsed {
                creature: me,
                feature: feature.to_string(),
                note: what.to_string(),
                spent,
            });
            Ok(())
        }
    }
}

/// The Help action in a fight: the helper closes into melee with the foe (a move, if
/// it has one) and the next attack against it before the helper's next turn has
/// advantage.
pub(crate) fn help(em: &mut Emitter, me: CreatureId, target: &str) -> Result<(), RuleError> {
    in_fight(em, "Helping in an attack")?;
    let t = find_creature(&em.state, target, |c| c.id != me && !c.dead)?;
    require_in_this_fight(em, t)?;
    if !super::position::hostile(em.creature(me), em.creature(t)) || em.creature(t).is_down() {
        return Err(RuleError::invalid(format!(
            "Help names the foe your ally will attack, and {} isn't a standing foe.",
            em.creature(t).name
        )));
    }
    require_turn_part(em, me, ActionCost::Action)?;
    let need = super::position::approach(em, me, t, Reach::Melee)?;
    if need > 0 {
        em.public(EventKind::Moved {
            creature: me,
            to: crate::event::Place::Engaged { with: t },
            moves: need,
        });
    }
    em.public(EventKind::Helped {
        creature: me,
        target: t,
    });
    let until = super::spells::until_of(em, me, t, crate::effect::Duration::StartOfCastersNextTurn);
    em.public(EventKind::EffectStarted {
        creature: t,
        effect: Effect::Spell(crate::effect::Active {
            by: me,
            mark: crate::effect::Mark::NextAttackedWithAdvantage,
            until,
            concentration: false,
            save_ends: None,
            ends_on: None,
        }),
    });
    Ok(())
}

/// The Hide action: not while in melee with a foe; a Stealth check against the best
/// passive Perception among the standing foes in the fight.
pub(crate) fn hide(em: &mut Emitter, me: CreatureId, via: Via) -> Result<(), RuleError> {
    in_fight(em, "Hiding")?;
    if em.creature(me).has_effect(&Effect::Hidden) {
        return Err(RuleError::invalid(format!(
            "{} is already hidden.",
            em.creature(me).name
        )));
    }
    if super::position::engaged_with(&em.state, me)
        .iter()
        .any(|o| super::position::hostile(em.creature(me), em.creature(*o)))
    {
        return Err(RuleError::invalid(format!(
            "{} can't hide while in melee — step away first.",
            em.creature(me).name
        )));
    }
    pay(em, me, via, "hide")?;
    let dc = em
        .state
        .combatants()
        .filter(|c| super::position::hostile(c, em.creature(me)) && !c.is_down())
        .map(|c| 10 + c.skill_modifier(crate::ability::Skill::Perception))
        .max()
        .unwrap_or(10);
    let hidden = resolve::check(
        em,
        me,
        crate::event::CheckKind::Skill(crate::ability::Skill::Stealth),
        Default::default(),
        Some(dc),
    );
    em.public(EventKind::HideAttempted {
        creature: me,
        hidden,
    });
    Ok(())
}

/// The Ready action: narrative, spends the action.
pub(crate) fn ready(em: &mut Emitter, me: CreatureId, text: String) -> Result<(), RuleError> {
    in_fight(em, "Readying an action")?;
    require_turn_part(em, me, ActionCost::Action)?;
    em.public(EventKind::Readied { creature: me, text });
    Ok(())
}

pub(crate) fn in_fight(em: &Emitter, what: &str) -> Result<(), RuleError> {
    if em.state.in_combat() {
        Ok(())
    } else {
        Err(RuleError::WrongMode(format!(
            "{what} only matters in a fight."
        )))
    }
}

/// Refuses `t` when a fight is on and `t` is not in it.
pub(crate) fn require_in_this_fight(em: &Emitter, t: CreatureId) -> Result<(), RuleError> {
    match em.state.combat.as_ref() {
        Some(k) if !k.order.iter().any(|e| e.creature == t) => Err(RuleError::invalid(format!(
            "{} is not in this fight.",
            em.creature(t).name
        ))),
        _ => Ok(()),
    }
}

/// Items with a mechanical use.
pub(crate) fn use_item(em: &mut Emitter, me: CreatureId, item: &str) -> Result<(), RuleError> {
    let c = em.creature(me).clone();
    let index = crate::data::to_index(item);
    let heal = match index.as_str() {
        "potion-of-healing" | "healing-potion" => "2d4+2",
        "potion-of-greater-healing" => "4d4+4",
        "potion-of-superior-healing" => "8d4+8",
        "potion-of-supreme-healing" => "10d4+20",
        _ => {
            return Err(if c.item_count(item) == 0 {
                RuleError::NotInInventory {
                    item: crate::error::echo(item),
                }
            } else {
                RuleError::invalid(format!(
                    "{} has no effect the table can resolve — describe it with /act.",
                    crate::error::echo(item)
                ))
            });
        }
    };
    let name = match index.as_str() {
        "healing-potion" => "Potion of Healing".to_string(),
        _ => crate::data::from_index(&index),
    };
    if c.item_count(&name) == 0 {
        return Err(RuleError::NotInInventory { item: name });
    }
    require_turn_part(em, me, ActionCost::Action)?;
    em.public(EventKind::ItemUsed {
        creature: me,
        item: name,
    });
    resolve::heal(em, me, Some(me), heal)?;
    Ok(())
}

/// The legal options for the active NPC: its attacks (and multiattack) against each
/// standing player character in the fight, Dodge, or pass. Empty when it is not an
/// NPC's turn.
pub fn npc_options(state: &CampaignState) -> Vec<NpcOption> {
    // A reaction window holds every monster's action until it closes (a legendary
    // action's hit waits in it too).
    if state.combat.as_ref().is_some_and(|c| c.reaction.is_some()) {
        return vec![];
    }
    // A monster choosing whether to strike at a creature leaving its reach.
    if let Some(o) = state.combat.as_ref().and_then(|c| c.opportunity.as_ref()) {
        let mut out = Vec::new();
        if let Some(m) = state.creature(o.mover) {
            out.push(NpcOption::OpportunityAttack {
                target: m.name.clone(),
            });
        }
        out.push(NpcOption::Pass);
        return out;
    }
    // Between turns: a legendary monster's legendary actions, against the creature
    // whose turn ended first, then the other standing foes.
    if let Some((m, ended)) = state.combat.as_ref().and_then(|c| c.legendary) {
        let Some(npc) = state.creature(m) else {
            return vec![NpcOption::Pass];
        };
        let mut targets: Vec<&Creature> = state
            .combatants()
            .filter(|c| c.on_party_side() && !c.is_down() && !resolve::ethereal(c))
            .collect();
        targets.sort_by_key(|c| c.id != ended);
        let mut out = Vec::new();
        for (action, _) in legendary_choices(state, npc) {
            for t in &targets {
                out.push(NpcOption::Legendary {
                    action: action.clone(),
                    target: t.name.clone(),
                });
            }
        }
        let mut casts: Vec<NpcOption> = Vec::new();
        for (action, _, special) in legendary_special_choices(state, npc) {
            if let super::monster_actions::LegendarySpecial::Cast { cantrips } = special {
                for o in spell_options(state, npc, &targets) {
                    let cantrip = matches!(&o, NpcOption::Cast { spell, .. }
                        if state.catalog.spell(spell).is_some_and(|s| s.level == 0));
                    if (cantrip || !cantrips) && !casts.contains(&o) {
                        casts.push(o);
                    }
                }
                continue;
            }
            match super::monster_actions::legendary_targets(state, npc, &special) {
                None => out.push(NpcOption::Legendary {
                    action,
                    target: String::new(),
                }),
                Some(names) => {
                    for target in names {
                        out.push(NpcOption::Legendary {
                            action: action.clone(),
                            target,
                        });
                    }
                }
            }
        }
        out.extend(casts);
        out.push(NpcOption::Pass);
        return out;
    }
    let Some(npc) = state.active_creature() else {
        return vec![];
    };
    if npc.is_pc() || npc.is_down() {
        return vec![];
    }
    // A reaction window holds the monster's action until it closes.
    if state.combat.as_ref().is_some_and(|c| c.reaction.is_some()) {
        return vec![];
    }
    let mut out = Vec::new();
    // Gone to the Ethereal Plane by its own action: only its way back.
    if npc.can_act() && resolve::ethereal(npc) {
        out.extend(super::monster_actions::options(state, npc, &[]));
    } else if npc.can_act() {
        let targets: Vec<&Creature> = state
            .combatants()
            .filter(|c| super::position::hostile(npc, c) && !c.is_down() && !resolve::ethereal(c))
            .collect();
        for (i, t) in targets.iter().enumerate() {
            // Melee only against a creature it is engaged with or can move to.
            let reach = super::position::can_reach(state, npc.id, t.id);
            let melee = |name: &str| {
                npc.find_attack(name)
                    .is_some_and(|a| a.reach == Reach::Melee && a.is_attack_roll())
            };
            // Slow: one attack a turn, so no multiattack.
            if let Some(plan) = &npc.multiattack
                && !npc.has_mark(|m| *m == crate::effect::Mark::Slowed)
                && (reach || !plan.iter().any(|(n, _)| melee(n)))
            {
                out.push(NpcOption::Multiattack {
                    target: t.name.clone(),
                    targets: vec![],
                });
                // Split: its attack rolls in turn on this target and each other foe
                // it can still reach after closing on this one.
                let cost =
                    |o: CreatureId| super::position::range(state, npc.id, o).moves_to_engage();
                let left = super::position::moves_left(state, npc.id);
                let others: Vec<&str> = targets
                    .iter()
                    .filter(|o| o.id != t.id && cost(t.id).saturating_add(cost(o.id)) <= left)
                    .map(|o| o.name.as_str())
                    .collect();
                let rolls: u32 = plan
                    .iter()
                    .filter(|(n, _)| npc.find_attack(n).is_some_and(|a| a.is_attack_roll()))
                    .map(|(_, c)| (*c).min(10))
                    .sum();
                if reach && !others.is_empty() && rolls > 1 {
                    let ring: Vec<&str> = std::iter::once(t.name.as_str())
                        .chain(others.iter().copied())
                        .collect();
                    out.push(NpcOption::Multiattack {
                        target: t.name.clone(),
                        targets: (0..rolls.min(MAX_SPLIT as u32) as usize)
                            .map(|i| ring[i % ring.len()].to_string())
                            .collect(),
                    });
                }
            }
            for a in &npc.attacks {
                // Limited actions while a use is left; an area action (a breath) is
                // offered once, aimed at the first target, and catches every foe.
                if npc.can_use(a) && (!a.area || i == 0) && (reach || !melee(&a.name)) {
                    out.push(NpcOption::Attack {
                        attack: a.name.clone(),
                        target: t.name.clone(),
                    });
                }
            }
        }
        out.extend(spell_options(state, npc, &targets));
        out.extend(super::monster_actions::options(state, npc, &targets));
        out.push(NpcOption::Dodge);
        if hold(npc).is_some() {
            out.push(NpcOption::BreakFree);
        }
        // In melee with a foe: get away (Disengage), or step away and shoot.
        let threatened = super::position::threatened(state, npc.id);
        if threatened && super::position::moves_left(state, npc.id) > 0 {
            out.push(NpcOption::Disengage);
            for a in npc.attacks.iter().filter(|a| {
                a.reach == Reach::Ranged && a.is_attack_roll() && !a.area && npc.can_use(a)
            }) {
                for t in &targets {
                    out.push(NpcOption::Withdraw {
                        attack: a.name.clone(),
                        target: t.name.clone(),
                    });
                }
            }
        }
    }
    out.push(NpcOption::Pass);
    out
}

/// A caster's spells from its stat block that the engine resolves and it can cast now
/// with its action: harmful ones at each standing foe, helpful ones on itself.
fn spell_options(state: &CampaignState, npc: &Creature, foes: &[&Creature]) -> Vec<NpcOption> {
    use crate::effect::{Coverage, Target};
    let Some(sc) = npc.spellcasting.as_ref() else {
        return vec![];
    };
    let innate = npc
        .monster
        .as_deref()
        .and_then(|m| state.catalog.monster(m))
        .and_then(|m| m.spellcasting.as_ref());
    let mut out = Vec::new();
    // A lasting spell's repeated part (Moonbeam's beam, Spiritual Weapon): no slot.
    let again = super::spells::recasts(state, npc.id);
    for index in &sc.spells {
        let Some(spell) = state.catalog.spell(index) else {
            continue;
        };
        // In Silence: no spell with a verbal component.
        if spell.verbal && npc.has_mark(|m| *m == crate::effect::Mark::Silenced) {
            continue;
        }
        if again.contains(index) {
            out.extend(super::spells::again_options(state, npc, spell, foes));
            continue;
        }
        let effect = spell
            .effect
            .clone()
            .unwrap_or_else(|| crate::effect::generate(spell));
        // A bonus-action spell whose point is its repeat (Spiritual Weapon) is
        // offered too (it takes the monster's turn).
        let cost = super::spells::cost_of(spell);
        if cost != ActionCost::Action
            && !(cost == ActionCost::BonusAction && effect.again.is_some())
        {
            continue;
        }
        if effect.coverage == Coverage::Narrative || effect.target == Target::Any {
            continue;
        }
        // A conjuration or a shape needs its creature named (a djinni's Conjure
        // Elemental): left to the GM.
        if effect.steps.iter().any(|s| {
            matches!(
                s,
                crate::effect::Step::Summon { .. } | crate::effect::Step::Shape { .. }
            )
        }) {
            continue;
        }
        let uses = innate.and_then(|m| {
            m.spells
                .iter()
                .find(|(i, _)| i == index)
                .and_then(|(_, u)| *u)
        });
        let slot = match uses {
            Some(0) => None,
            Some(n) => {
                let spent = npc
                    .spent
                    .get(&super::spells::innate_key(index))
                    .copied()
                    .unwrap_or(0);
                if spent >= n {
                    continue;
                }
                None
            }
            None if spell.level == 0 => None,
            // The lowest slot that can hold it.
            None => match (spell.level..=9).find(|l| sc.available(*l) > 0) {
                Some(l) if l == spell.level => None,
                Some(l) => Some(l),
                None => continue,
            },
        };
        if effect.hostile && effect.target != Target::SelfOnly {
            let melee = effect.steps.iter().any(|s| {
                matches!(
                    s,
                    crate::effect::Step::Attack {
                        reach: Reach::Melee,
                        ..
                    }
                )
            });
            // A harmful spell with a choice (Command's word, Blindness/Deafness): its
            // first word.
            let mut words = Vec::new();
            super::spells::choice_words(&effect.steps, &mut words);
            for t in foes {
                if melee && !super::position::can_reach(state, npc.id, t.id) {
                    continue;
                }
                // Globe of Invulnerability: not a spell it can't get through.
                let level = if spell.level == 0 {
                    0
                } else {
                    slot.unwrap_or(spell.level)
                };
                if super::barriers::wards_off(npc, t, level) {
                    continue;
                }
                let mut targets = vec![t.name.clone()];
                targets.extend(words.first().cloned());
                out.push(NpcOption::Cast {
                    spell: spell.index.clone(),
                    targets,
                    slot,
                });
            }
        } else if !effect.hostile {
            // Revivify: not offered (no monster raises its fallen here).
            if effect
                .steps
                .iter()
                .any(|s| matches!(s, crate::effect::Step::Revive))
            {
                continue;
            }
            // A spell with a choice (a duergar's Enlarge/Reduce): one option per word,
            // on itself.
            let mut words = Vec::new();
            super::spells::choice_words(&effect.steps, &mut words);
            if words.is_empty() {
                out.push(NpcOption::Cast {
                    spell: spell.index.clone(),
                    targets: vec![],
                    slot,
                });
            }
            for w in words {
                out.push(NpcOption::Cast {
                    spell: spell.index.clone(),
                    targets: vec![w],
                    slot,
                });
            }
        }
    }
    out
}

/// The built-in tactical policy: multiattack (or the hardest-hitting attack) against
/// the most threatening standing player character — highest level, then lowest hit
/// points, then first created.
pub fn choose_npc_option(state: &CampaignState, options: &[NpcOption]) -> NpcOption {
    // Between turns: the first affordable legendary attack on the creature whose turn
    // ended (the options list those first), or a legendary action aimed at a creature
    // (a gaze, Psychic Drain, Shimmering Shield); else a Wing Attack with a foe in
    // melee, a save burst that catches a player character, a Heal Self when bloodied;
    // Detect, Move, Teleport, Channel Negative Energy and legendary casts are left to
    // the LLM or the GM.
    // An opportunity attack is taken.
    if let Some((m, _)) = state.combat.as_ref().and_then(|c| c.legendary) {
        use super::monster_actions::LegendarySpecial as L;
        let Some(npc) = state.creature(m) else {
            return NpcOption::Pass;
        };
        let specials = super::monster_actions::legendary_specials(state, npc);
        let useful = |action: &str| {
            specials
                .iter()
                .find(|(n, _, _)| n == action)
                .is_some_and(|(_, _, s)| match s {
                    L::WingAttack { .. } => super::position::engaged_with(state, m)
                        .iter()
                        .any(|o| state.creature(*o).is_some_and(|o| o.on_party_side())),
                    L::HealSelf { .. } => npc.hp.saturating_mul(2) <= npc.effective_max_hp(),
                    // A save burst that catches a player character.
                    L::Burst(b) => super::monster_actions::burst_catches_pc(state, m, b),
                    _ => false,
                })
        };
        return options
            .iter()
            .find(|o| match o {
                NpcOption::Legendary { target, .. } if !target.is_empty() => true,
                NpcOption::Legendary { action, .. } => useful(action),
                _ => false,
            })
            .cloned()
            .unwrap_or(NpcOption::Pass);
    }
    if state
        .combat
        .as_ref()
        .is_some_and(|c| c.opportunity.is_some())
    {
        return options.first().cloned().unwrap_or(NpcOption::Pass);
    }
    let Some(npc) = state.active_creature() else {
        return NpcOption::Pass;
    };
    // Swallowing a grappled foe, healing a bloodied ally, coming back from the
    // Ethereal Plane.
    if let Some(o) = super::monster_actions::policy_pick(state, npc, options) {
        return o;
    }
    let target = state
        .combatants()
        .filter(|c| super::position::hostile(npc, c) && !c.is_down() && !resolve::ethereal(c))
        .min_by_key(|c| (-i32::from(c.pc.as_ref().map_or(1, |p| p.level)), c.hp, c.id))
        .map(|c| c.name.clone());
    let Some(target) = target else {
        return options.last().cloned().unwrap_or(NpcOption::Pass);
    };
    // A recharged breath (or another limited action) first: dragons breathe.
    let limited = npc
        .attacks
        .iter()
        .filter(|a| a.usage.is_some() && npc.can_use(a))
        .max_by_key(|a| a.damage.iter().map(|d| average(&d.dice)).sum::<i64>())
        .and_then(|a| {
            options.iter().find(|o| {
                matches!(o, NpcOption::Attack { attack, target: t }
                    if *attack == a.name && (a.area || *t == target))
            })
        });
    if let Some(o) = limited {
        return o.clone();
    }
    // Held by a spell (Web, Entangle): break free first.
    if let Some(o) = options.iter().find(|o| matches!(o, NpcOption::BreakFree)) {
        return o.clone();
    }
    // Standing in a spell's zone (Moonbeam, Cloudkill): get out while it can move.
    if let Some(o) = super::zones::escape(state, options) {
        return o;
    }
    // A caster's highest-level harmful spell at the target (its slots are its best
    // weapons).
    let spell = options
        .iter()
        .filter_map(|o| match o {
            NpcOption::Cast {
                spell,
                targets,
                slot,
            } if targets.first() == Some(&target) => {
                let level = state.catalog.spell(spell).map_or(0, |s| s.level);
                (level > 0).then_some((slot.unwrap_or(level), o))
            }
            _ => None,
        })
        .max_by_key(|(l, _)| *l)
        .map(|(_, o)| o);
    if let Some(o) = spell {
        return o.clone();
    }
    // A ranged fighter caught in melee steps away and shoots (its best ranged attack
    // hits harder than its best melee one).
    let best_of = |reach: Reach| {
        npc.attacks
            .iter()
            .filter(|a| a.reach == reach && a.usage.is_none() && a.is_attack_roll())
            .map(|a| (a.damage.iter().map(|d| average(&d.dice)).sum::<i64>(), a))
            .max_by_key(|(avg, _)| *avg)
    };
    if let Some((ranged, a)) = best_of(Reach::Ranged)
        && best_of(Reach::Melee).is_none_or(|(melee, _)| ranged > melee)
    {
        let w = NpcOption::Withdraw {
            attack: a.name.clone(),
            target: target.clone(),
        };
        if options.contains(&w) {
            return w;
        }
    }
    let multi = NpcOption::Multiattack {
        target: target.clone(),
        targets: vec![],
    };
    if options.contains(&multi) {
        return multi;
    }
    let best = npc
        .attacks
        .iter()
        .filter(|a| a.usage.is_none())
        .max_by_key(|a| {
            (
                a.reach == Reach::Melee,
                a.damage.iter().map(|d| average(&d.dice)).sum::<i64>(),
            )
        })
        .map(|a| NpcOption::Attack {
            attack: a.name.clone(),
            target: target.clone(),
        });
    match best {
        Some(o) if options.contains(&o) => o,
        _ => options.first().cloned().unwrap_or(NpcOption::Pass),
    }
}

pub(crate) fn average(dice: &str) -> i64 {
    crate::dice::parse(dice)
        .map(|e| {
            // Twice the average: enough to compare attacks.
            let (lo, hi) = e.bounds();
            lo + hi
        })
        .unwrap_or(0)
}

/// The most per-attack targets a multiattack may name.
pub const MAX_SPLIT: usize = 10;

/// The longest NPC intent kept, in characters.
pub const MAX_NPC_INTENT_CHARS: usize = 200;

pub(crate) fn npc_act(
    em: &mut Emitter,
    option: NpcOption,
    intent: Option<String>,
) -> Result<(), RuleError> {
    let options = npc_options(&em.state);
    if options.is_empty() {
        return Err(RuleError::WrongMode("It is not a monster's turn.".into()));
    }
    // A multiattack split over several targets is legal when its main target's plain
    // multiattack is and every named target is a standing foe in the fight (an
    // attack on one out of reach is refused when it is made).
    let legal = match &option {
        NpcOption::Multiattack { target, targets } if !targets.is_empty() => {
            targets.len() <= MAX_SPLIT
                && options.contains(&NpcOption::Multiattack {
                    target: target.clone(),
                    targets: vec![],
                })
                && targets.iter().all(|n| {
                    options
                        .iter()
                        .any(|o| matches!(o, NpcOption::Multiattack { target: x, targets: v } if v.is_empty() && x.eq_ignore_ascii_case(n)))
                        || options.iter().any(|o| matches!(o, NpcOption::Attack { target: x, .. } if x.eq_ignore_ascii_case(n)))
                })
        }
        _ => options.contains(&option),
    };
    if !legal {
        return Err(RuleError::invalid(
            "That is not one of this monster's options.",
        ));
    }
    let legendary = em.state.combat.as_ref().and_then(|c| c.legendary);
    let opportunity = em
        .state
        .combat
        .as_ref()
        .and_then(|c| c.opportunity.as_ref())
        .map(|o| o.foe);
    let me = match (opportunity, legendary) {
        (Some(f), _) => f,
        (None, Some((m, _))) => m,
        (None, None) => em
            .state
            .active_creature()
            .map(|c| c.id)
            .expect("options imply an active NPC"),
    };
    // The stated intent (LLM text): one line, bounded, recorded for the narrator.
    let intent: String = intent
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_NPC_INTENT_CHARS)
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if !intent.is_empty() {
        em.emit(
            Visibility::Gm,
            EventKind::NpcIntent {
                creature: me,
                intent,
            },
        );
    }
    if opportunity.is_some() {
        return super::position::opportunity_answer(
            em,
            matches!(option, NpcOption::OpportunityAttack { .. }),
        );
    }
    if let Some((m, ended)) = legendary {
        return legendary_act(em, m, ended, option);
    }
    // Its foes: the other side (a conjured creature fights for its caster's).
    let my_side = em.creature(me).on_party_side();
    let paused = match option {
        NpcOption::Multiattack { target, targets } => {
            let t = find_creature(&em.state, &target, |c| c.on_party_side() != my_side)?;
            let mut split = Vec::new();
            for name in targets.iter().take(MAX_SPLIT) {
                split.push(find_creature(&em.state, name, |c| {
                    c.on_party_side() != my_side
                })?);
            }
            let steps = plan_steps(em, me, t, &split);
            run_plan(em, me, steps)?
        }
        NpcOption::Attack { attack, target } => {
            let t = find_creature(&em.state, &target, |c| c.on_party_side() != my_side)?;
            let atk = em
                .creature(me)
                .find_attack(&attack)
                .cloned()
                .ok_or_else(|| RuleError::invalid("Unknown attack."))?;
            npc_attack(em, me, t, &atk, Some(vec![]))?
        }
        NpcOption::Cast {
            spell,
            targets,
            slot,
        } => {
            super::spells::cast(em, me, &spell, &targets, slot)?;
            // A player's Counterspell window holds the turn until it closes.
            em.state
                .combat
                .as_ref()
                .is_some_and(|c| c.reaction.is_some())
        }
        NpcOption::Legendary { .. } | NpcOption::OpportunityAttack { .. } => {
            return Err(RuleError::invalid(
                "Legendary actions and opportunity attacks come on another creature's turn.",
            ));
        }
        NpcOption::Dodge => {
            em.public(EventKind::Dodged { creature: me });
            false
        }
        NpcOption::BreakFree => {
            break_free(em, me)?;
            false
        }
        NpcOption::Disengage => {
            em.public(EventKind::Disengaged { creature: me });
            super::position::move_to(em, me, &crate::command::MoveTo::Near)?;
            false
        }
        NpcOption::Withdraw { attack, target } => {
            let t = find_creature(&em.state, &target, |c| c.on_party_side() != my_side)?;
            let atk = em
                .creature(me)
                .find_attack(&attack)
                .cloned()
                .ok_or_else(|| RuleError::invalid("Unknown attack."))?;
            // Leaving melee provokes; the foes' opportunity attacks come first.
            super::position::move_to(em, me, &crate::command::MoveTo::Near)?;
            if em.state.in_combat() && !em.creature(me).is_down() && !em.creature(t).is_down() {
                npc_attack(em, me, t, &atk, Some(vec![]))?
            } else {
                false
            }
        }
        NpcOption::Special { action, target } => {
            super::monster_actions::act(em, me, &action, target.as_deref())?
        }
        NpcOption::Pass => false,
    };
    // A monster that moved into a zone (closing on a foe inside it) is struck before
    // its turn ends (the next turn's start forgets pending moves).
    if !paused && em.state.in_combat() {
        super::zones::settle(em)?;
    }
    if !paused && em.state.in_combat() {
        advance(em);
    }
    Ok(())
}

/// A multiattack's entries as (action, intended target) steps: attack rolls take
/// their targets from `targets` in order (then `t`); other entries (Frightful
/// Presence) are aimed at `t`.
fn plan_steps(
    em: &Emitter,
    me: CreatureId,
    t: CreatureId,
    targets: &[CreatureId],
) -> Vec<(String, CreatureId)> {
    let c = em.creature(me);
    let plan = c.multiattack.clone().unwrap_or_default();
    let mut out = Vec::new();
    let mut rolls = 0usize;
    for (name, count) in plan {
        let roll = c.find_attack(&name).is_some_and(|a| a.is_attack_roll());
        for _ in 0..count.min(10) {
            let target = if roll {
                let x = targets.get(rolls).copied().unwrap_or(t);
                rolls += 1;
                x
            } else {
                t
            };
            out.push((name.clone(), target));
        }
    }
    out
}

/// Where an attack meant for `t` goes: `t` while it stands, else the first standing
/// foe in the fight the monster can reach with it (none: the attack is lost).
fn retarget(
    em: &Emitter,
    me: CreatureId,
    t: CreatureId,
    atk: &crate::creature::Attack,
) -> Option<CreatureId> {
    if !em.creature(t).is_down() {
        return Some(t);
    }
    let mine = em.creature(me);
    em.state
        .combatants()
        .filter(|c| super::position::hostile(c, mine) && !c.is_down())
        .find(|c| {
            !(atk.reach == Reach::Melee && atk.is_attack_roll())
                || super::position::can_reach(&em.state, me, c.id)
        })
        .map(|c| c.id)
}

/// A multiattack's steps, in order. Returns true when a reaction window opened (the
/// rest waits in it).
fn run_plan(
    em: &mut Emitter,
    me: CreatureId,
    steps: Vec<(String, CreatureId)>,
) -> Result<bool, RuleError> {
    for (i, (name, t)) in steps.iter().enumerate() {
        if !em.state.in_combat() {
            break;
        }
        let Some(atk) = em.creature(me).find_attack(name).cloned() else {
            continue;
        };
        if !em.creature(me).can_use(&atk) {
            continue;
        }
        let Some(t) = retarget(em, me, *t, &atk) else {
            continue;
        };
        let rest = steps[i + 1..].to_vec();
        if npc_attack(em, me, t, &atk, Some(rest))? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The window to open when `atk` (total `total`) hit `t`: Shield, if `t`'s player can
/// cast it now and it would turn the hit into a miss; else Uncanny Dodge. Every attack
/// that hits a player character asks this (a monster's own turn, its legendary
/// actions, its opportunity attacks); `then` is what the hit interrupted.
#[allow(clippy::too_many_arguments)]
pub(crate) fn shield_window(
    em: &Emitter,
    attacker: CreatureId,
    t: CreatureId,
    atk: &crate::creature::Attack,
    outcome: crate::event::AttackOutcome,
    total: i32,
    rest: Vec<(String, CreatureId)>,
    then: crate::event::AfterHit,
) -> Option<crate::event::ReactionWindow> {
    let ms = em.state.settings.reaction_timeout_ms;
    let reaction = reaction_for(em, t, outcome, total, !atk.damage.is_empty())?;
    Some(crate::event::ReactionWindow {
        reactor: t,
        reaction,
        deadline: em.now.plus_ms(ms.min(MAX_REACTION_MS)),
        pending: crate::event::PendingHit {
            attacker,
            target: t,
            attack: atk.name.clone(),
            total,
            outcome,
            rest,
            then,
        },
        cast: None,
    })
}

/// The reaction `t`'s player is offered when an attack (total `total`; `damage`: one
/// that deals damage) hits it: Shield, if `t` can cast it now and it would turn the
/// hit into a miss; else Uncanny Dodge; none with reaction windows off (0).
pub(crate) fn reaction_for(
    em: &Emitter,
    t: CreatureId,
    outcome: crate::event::AttackOutcome,
    total: i32,
    damage: bool,
) -> Option<crate::event::Reaction> {
    let c = em.creature(t);
    if em.state.settings.reaction_timeout_ms == 0 || !c.is_pc() || !c.can_act() {
        return None;
    }
    require_turn_part(em, t, ActionCost::Reaction).ok()?;
    // Shield, when +5 AC turns the hit (not a critical one) into a miss; else Uncanny
    // Dodge (any hit, critical ones too), for a rogue of 5th level.
    let shield = outcome == crate::event::AttackOutcome::Hit
        && total < c.effective_ac().saturating_add(5)
        && c.spellcasting
            .as_ref()
            .is_some_and(|sc| sc.knows("shield") && (1..=9u8).any(|l| sc.available(l) > 0));
    if shield {
        Some(crate::event::Reaction::Shield)
    } else if crate::features::uncanny_dodge(c) && damage {
        Some(crate::event::Reaction::UncannyDodge)
    } else {
        None
    }
}

/// The longest reaction window, in milliseconds.
pub const MAX_REACTION_MS: u64 = 600_000;

/// A player answers the open reaction window.
pub(crate) fn react(
    em: &mut Emitter,
    player: &crate::ids::PlayerId,
    take: bool,
) -> Result<(), RuleError> {
    let Some(w) = em.state.combat.as_ref().and_then(|c| c.reaction.clone()) else {
        return Err(RuleError::WrongMode(
            "There is no reaction to answer right now.".into(),
        ));
    };
    if em.creature(w.reactor).owner() != Some(player) {
        return Err(RuleError::invalid(format!(
            "The reaction is {}'s to take.",
            em.creature(w.reactor).name
        )));
    }
    resolve_window(em, take, false)
}

/// Closes the open window (taking the reaction or not) and finishes the action that
/// waited in it: the hit's damage (unless Shield turned it into a miss), the rest of
/// the multiattack, and the end of the monster's turn.
pub(crate) fn resolve_window(
    em: &mut Emitter,
    take: bool,
    timed_out: bool,
) -> Result<(), RuleError> {
    let Some(w) = em.state.combat.as_ref().and_then(|c| c.reaction.clone()) else {
        return Ok(());
    };
    // Counterspell: a cast waits, not a hit.
    if let Some(p) = w.cast.clone() {
        return super::counter::resolve(em, w, p, take, timed_out);
    }
    em.public(EventKind::ReactionResolved {
        reactor: w.reactor,
        reaction: w.reaction,
        used: take,
        timed_out,
    });
    let mut half = false;
    if take {
        match w.reaction {
            crate::event::Reaction::Shield => {
                let slot = em
                    .creature(w.reactor)
                    .spellcasting
                    .as_ref()
                    .and_then(|sc| (1..=9u8).find(|l| sc.available(*l) > 0));
                super::spells::cast(em, w.reactor, "shield", &[], slot)?;
            }
            // Its window holds a cast (handled above).
            crate::event::Reaction::Counterspell => {}
            crate::event::Reaction::UncannyDodge => {
                em.public(EventKind::FeatureUsed {
                    creature: w.reactor,
                    feature: "uncanny-dodge".into(),
                    note: "half the damage".into(),
                    spent: 0,
                });
                half = true;
            }
        }
    }
    let p = w.pending;
    // A monster's spell attack: the spell goes on; then the caster's turn ends.
    if let crate::event::AfterHit::Spell { spell } = &p.then {
        let paused = super::spells::resume_attack(em, &p, spell, half)?;
        if !paused
            && spell.npc_turn
            && em.state.in_combat()
            && em.state.combat.as_ref().and_then(|c| c.active_creature()) == Some(p.attacker)
        {
            advance(em);
        }
        return Ok(());
    }
    // A legendary action's hit: the legendary turn ends after it, not the monster's.
    let legendary = em
        .state
        .combat
        .as_ref()
        .and_then(|c| c.legendary)
        .filter(|(m, _)| *m == p.attacker);
    let mut paused = false;
    let mut landed = false;
    if em.state.in_combat()
        && !em.creature(p.target).is_down()
        && let Some(atk) = em.creature(p.attacker).find_attack(&p.attack).cloned()
    {
        if p.outcome == crate::event::AttackOutcome::CriticalHit
            || p.total >= em.creature(p.target).effective_ac()
        {
            landed = true;
            hit_with_scaled(em, p.attacker, p.target, &atk, p.outcome, half)?;
            if let Some(rider) = &atk.rider
                && !em.creature(p.target).is_down()
            {
                super::spells::run_rider(em, p.attacker, p.target, &atk.name, rider)?;
            }
        }
        if p.then == crate::event::AfterHit::Swallow && landed {
            super::monster_actions::swallow(em, p.attacker, p.target);
        }
        if !check_end(em) && legendary.is_none() && p.then.is_turn() {
            paused = run_plan(em, p.attacker, p.rest)?;
        }
    }
    // An opportunity attack's hit: the other foes' choices, then the move (on the
    // mover's turn: no turn ends here).
    if let crate::event::AfterHit::Opportunity { opportunity } = p.then {
        if em.state.in_combat() {
            super::position::opportunity_goes_on(em, opportunity)?;
        }
        return Ok(());
    }
    if let Some((m, ended)) = legendary {
        end_legendary_turn(em, m, ended);
        return Ok(());
    }
    if !paused && em.state.in_combat() {
        advance(em);
    }
    Ok(())
}

/// One stat-block action against `t`. `rest`: on the monster's own turn, the
/// multiattack entries still to come, and a hit may open a reaction window (then this
/// returns true and the rest waits in the window); `None`: no window.
fn npc_attack(
    em: &mut Emitter,
    me: CreatureId,
    t: CreatureId,
    atk: &crate::creature::Attack,
    rest: Option<Vec<(String, CreatureId)>>,
) -> Result<bool, RuleError> {
    npc_attack_then(em, me, t, atk, rest, crate::event::AfterHit::Turn)
}

/// As [`npc_attack`], `then` saying what a hit that opens a window interrupts.
pub(crate) fn npc_attack_then(
    em: &mut Emitter,
    me: CreatureId,
    t: CreatureId,
    atk: &crate::creature::Attack,
    rest: Option<Vec<(String, CreatureId)>>,
    then: crate::event::AfterHit,
) -> Result<bool, RuleError> {
    resolve::targetable(em, t)?;
    if atk.is_attack_roll() {
        // Refuse an unreachable target before spending anything.
        super::position::approach(em, me, t, atk.reach)?;
        // Sanctuary: turned away, this attack is lost.
        if resolve::sanctuary(em, me, t)? {
            return Ok(false);
        }
    }
    if atk.usage.is_some() {
        if !em.creature(me).can_use(atk) {
            return Err(RuleError::invalid(format!(
                "{} has no use of {} left.",
                em.creature(me).name,
                atk.name
            )));
        }
        em.public(EventKind::LimitedActionUsed {
            creature: me,
            action: atk.name.clone(),
        });
    }
    if atk.is_attack_roll() {
        let approach = super::position::approach(em, me, t, atk.reach)?;
        let to_hit = atk
            .to_hit
            .saturating_add(resolve::weapon_bonus(em.creature(me)));
        let outcome = resolve::attack_roll(em, me, t, &atk.name, to_hit, atk.reach, approach);
        let total = match em.events.last().map(|e| &e.kind) {
            Some(EventKind::AttackRolled { total, .. }) => *total,
            _ => i32::MAX,
        };
        if outcome.is_hit()
            && let Some(rest) = rest
            && let Some(window) = shield_window(em, me, t, atk, outcome, total, rest, then)
        {
            em.public(EventKind::ReactionOffered { window });
            return Ok(true);
        }
        if outcome.is_hit() {
            hit_with(em, me, t, atk, outcome)?;
            if let Some(rider) = &atk.rider
                && !em.creature(t).is_down()
            {
                super::spells::run_rider(em, me, t, &atk.name, rider)?;
            }
        }
    } else if let Some(save) = &atk.save {
        // An area action catches every standing foe (the target first); one damage
        // roll for all of them.
        let mut targets = vec![t];
        if atk.area {
            let pc = em.creature(me).on_party_side();
            targets.extend(
                em.state
                    .combatants()
                    .filter(|c| {
                        c.on_party_side() != pc
                            && !c.is_down()
                            && c.id != t
                            && !resolve::ethereal(c)
                    })
                    .map(|c| c.id),
            );
        }
        if atk.damage.is_empty() {
            // No damage: the effect is the save and what failing it does (Frightful
            // Presence), as read from the stat block.
            if let Some(rider) = &atk.rider {
                for t in targets {
                    if !em.creature(t).is_down() {
                        super::spells::run_rider(em, me, t, &atk.name, rider)?;
                    }
                }
            }
            check_end(em);
            return Ok(false);
        }
        let mut rolls = Vec::with_capacity(atk.damage.len());
        for p in &atk.damage {
            rolls.push((p.damage_type, crate::dice::roll(&p.dice, em.dice)?));
        }
        for t in targets {
            let ok = resolve::saving_throw(em, t, save.ability, Default::default(), Some(save.dc));
            // Evasion: a Dexterity save for half takes none on a success, half on a
            // failure.
            let evasion = save.ability == crate::ability::Ability::Dex
                && save.on_success == crate::data::SaveEffect::Half
                && crate::features::evasion(em.creature(t));
            match (ok, save.on_success) {
                (false, _) if evasion => {
                    resolve::deal_rolled(em, t, Some(me), &rolls, false, true);
                }
                (true, _) if evasion => {}
                (false, _) => {
                    resolve::deal_rolled(em, t, Some(me), &rolls, false, false);
                }
                (true, crate::data::SaveEffect::Half) => {
                    resolve::deal_rolled(em, t, Some(me), &rolls, false, true);
                }
                (true, crate::data::SaveEffect::None) => {}
            }
        }
    }
    check_end(em);
    Ok(false)
}
