//! The rules: `decide` turns a command into events (or refuses it), `apply` folds events
//! into state. `decide` works on a scratch copy of the state and applies each event to
//! it as it is emitted, so later steps of one command (damage after a hit, a death save
//! after damage, the next turn after a timeout) see the effects of earlier ones. The
//! caller's state is never touched: a refused command leaves no trace.

pub mod apply;
pub mod barriers;
pub mod character;
pub mod class_actions;
pub mod class_options;
pub mod combat;
pub mod counter;
pub mod features;
pub mod monster_actions;
pub mod position;
pub mod resolve;
pub mod shapes;
pub mod spells;
pub mod summon;
pub mod zones;

use crate::character::{create_character, import_character};
use crate::command::{Action, Actor, Command};
use crate::creature::Creature;
use crate::dice::Dice;
use crate::error::RuleError;
use crate::event::{Event, EventKind, Visibility};
use crate::ids::{CreatureId, PlayerId, Timestamp};
use crate::state::CampaignState;

/// The longest free text accepted in one command (actions, whispers).
pub const MAX_TEXT_LEN: usize = 1_000;
/// The most monsters one command may bring in.
pub const MAX_MONSTERS_PER_COMMAND: u32 = 20;
/// The most creatures a fight may hold.
pub const MAX_COMBATANTS: usize = 40;

/// Collects events and keeps a scratch state in step with them.
pub(crate) struct Emitter<'d> {
    pub state: CampaignState,
    pub events: Vec<Event>,
    pub now: Timestamp,
    pub dice: &'d mut dyn Dice,
}

impl Emitter<'_> {
    pub fn emit(&mut self, visibility: Visibility, kind: EventKind) {
        let e = Event::new(self.now, visibility, kind);
        apply::apply(&mut self.state, &e);
        self.events.push(e);
    }

    pub fn public(&mut self, kind: EventKind) {
        self.emit(Visibility::Public, kind)
    }

    pub fn creature(&self, id: CreatureId) -> &Creature {
        &self.state.creatures[&id]
    }
}

/// Decides what a command does. Never mutates `state`; on error nothing happened.
pub fn decide(
    state: &CampaignState,
    cmd: Command,
    dice: &mut dyn Dice,
    now: Timestamp,
) -> Result<Vec<Event>, RuleError> {
    let mut em = Emitter {
        state: state.clone(),
        events: Vec::new(),
        now: now.max(state.clock),
        dice,
    };
    run(&mut em, cmd)?;
    // A creature that moved into (or out of) a spell's zone is struck by it.
    zones::settle(&mut em)?;
    // A conjured creature that vanished on its own turn: the fight moves on.
    combat::pass_vanished(&mut em);
    Ok(em.events)
}

fn check_text(text: &str, what: &str) -> Result<String, RuleError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(RuleError::invalid(format!("The {what} is empty.")));
    }
    if t.chars().count() > MAX_TEXT_LEN {
        return Err(RuleError::invalid(format!(
            "The {what} is too long (at most {MAX_TEXT_LEN} characters)."
        )));
    }
    Ok(t.to_string())
}

fn require_gm(state: &CampaignState, p: &PlayerId, what: &str) -> Result<(), RuleError> {
    if state.is_gm(p) {
        Ok(())
    } else {
        Err(RuleError::GmOnly { what: what.into() })
    }
}

/// The sender's character.
pub(crate) fn own_character(state: &CampaignState, p: &PlayerId) -> Result<CreatureId, RuleError> {
    state
        .character_of(p)
        .map(|c| c.id)
        .ok_or(RuleError::NoCharacter)
}

/// Resolves a user-typed creature name: exact (case-insensitive) first, then prefix,
/// then substring. Several matches of the same monster kind resolve to the first one
/// still standing ("goblin" with Goblin 1 down picks Goblin 2); otherwise ambiguous.
pub fn find_creature(
    state: &CampaignState,
    name: &str,
    filter: impl Fn(&Creature) -> bool,
) -> Result<CreatureId, RuleError> {
    let want = name.trim().to_lowercase();
    let want = want
        .strip_prefix("the ")
        .map(str::to_string)
        .unwrap_or(want);
    if want.is_empty() {
        return Err(RuleError::invalid("Name a target."));
    }
    let cands: Vec<&Creature> = state.creatures.values().filter(|c| filter(c)).collect();
    let tiers: [&dyn Fn(&str) -> bool; 3] = [
        &|n: &str| n == want,
        &|n: &str| n.starts_with(&want),
        &|n: &str| n.contains(&want),
    ];
    for t in tiers {
        let m: Vec<&&Creature> = cands.iter().filter(|c| t(&c.name.to_lowercase())).collect();
        match m.len() {
            0 => continue,
            1 => return Ok(m[0].id),
            _ => {
                let standing: Vec<&&&Creature> = m.iter().filter(|c| !c.is_down()).collect();
                let same_kind = m
                    .iter()
                    .all(|c| c.monster.is_some() && c.monster == m[0].monster);
                if same_kind {
                    return Ok(standing.first().map_or(m[0].id, |c| c.id));
                }
                if standing.len() == 1 {
                    return Ok(standing[0].id);
                }
                return Err(RuleError::Ambiguous {
                    name: crate::error::echo(name),
                    options: m
                        .iter()
                        .map(|c| c.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
    }
    Err(RuleError::UnknownTarget {
        what: "creature",
        name: crate::error::echo(name),
    })
}

fn run(em: &mut Emitter, cmd: Command) -> Result<(), RuleError> {
    let Command { by, action } = cmd;
    // System commands.
    let player = match by {
        Actor::System => return combat::system(em, action),
        Actor::Player(p) => p,
    };
    if let Action::StartCampaign { name, settings } = action {
        if em.state.started {
            return Err(RuleError::NoCampaign(format!(
                "This campaign has already started (\"{}\").",
                em.state.name
            )));
        }
        let name = check_text(&name, "campaign name")?;
        if name.chars().count() > 100 {
            return Err(RuleError::invalid(
                "Campaign names can be at most 100 characters.",
            ));
        }
        validate_settings(&settings)?;
        em.public(EventKind::CampaignStarted {
            name,
            gm: player,
            settings,
        });
        return Ok(());
    }
    if !em.state.started {
        return Err(RuleError::NoCampaign(
            "No campaign is running here — start one first.".into(),
        ));
    }
    if em.state.ended {
        return Err(RuleError::NoCampaign("This campaign has ended.".into()));
    }
    // An open reaction window holds the turn until it closes; so does a legendary
    // monster choosing its legendary action between turns.
    if action.is_turn_action()
        && let Some(w) = em.state.combat.as_ref().and_then(|c| c.reaction.as_ref())
    {
        return Err(RuleError::WrongMode(format!(
            "Waiting for {}'s reaction.",
            em.creature(w.reactor).name
        )));
    }
    if action.is_turn_action()
        && let Some(o) = em
            .state
            .combat
            .as_ref()
            .and_then(|c| c.opportunity.as_ref())
    {
        return Err(RuleError::WrongMode(format!(
            "Waiting for {}'s reaction.",
            em.creature(o.foe).name
        )));
    }
    if action.is_turn_action()
        && let Some((m, _)) = em.state.combat.as_ref().and_then(|c| c.legendary)
    {
        return Err(RuleError::WrongMode(format!(
            "Waiting for {}'s legendary action.",
            em.creature(m).name
        )));
    }
    // Turn order: in combat, only the active creature's player acts.
    if em.state.in_combat() && action.is_turn_action() && !is_reaction(&em.state, &action) {
        let active = em.state.active_creature().cloned();
        let mine = active.as_ref().and_then(|c| c.owner()) == Some(&player);
        if !mine {
            return Err(RuleError::NotYourTurn {
                active: active.map_or_else(|| "someone else".into(), |c| c.name),
            });
        }
    }
    match action {
        Action::StartCampaign { .. } => unreachable!("handled above"),
        Action::EndCampaign => {
            require_gm(&em.state, &player, "end the campaign")?;
            em.public(EventKind::CampaignEnded);
        }
        Action::ChangeSettings { settings } => {
            require_gm(&em.state, &player, "change the settings")?;
            validate_settings(&settings)?;
            em.public(EventKind::SettingsChanged { settings });
        }
        Action::Join { name } => {
            let name = check_text(&name, "name")?;
            if name.chars().count() > 64 {
                return Err(RuleError::invalid("Names can be at most 64 characters."));
            }
            em.public(EventKind::PlayerJoined { player, name });
        }
        Action::CreateCharacter { spec } => {
            let id = CreatureId(em.state.next_creature);
            let c = create_character(
                &spec,
                &em.state.catalog.clone(),
                id,
                player.clone(),
                em.dice,
            )?;
            add_character(em, player, c)?;
        }
        Action::ImportCharacter { export } => {
            let id = CreatureId(em.state.next_creature);
            let c = import_character(&export, &em.state.catalog.clone(), id, player.clone())?;
            add_character(em, player, c)?;
        }
        Action::PrepareSpells { spells } => {
            let me = own_character(&em.state, &player)?;
            character::prepare(em, me, &spells)?;
        }
        Action::LevelUp {
            asi,
            spells,
            expertise,
            fighting_style,
            options,
        } => {
            let me = own_character(&em.state, &player)?;
            character::level_up(
                em,
                me,
                &asi,
                &spells,
                &expertise,
                fighting_style.as_deref(),
                &options,
            )?;
        }
        Action::UseFeature {
            feature,
            target,
            amount,
        } => {
            let me = own_character(&em.state, &player)?;
            features::use_feature(em, me, &feature, target.as_deref(), amount)?;
        }
        Action::Roll { expr, secret } => {
            if expr.len() > 500 {
                return Err(RuleError::invalid("That dice expression is too long."));
            }
            let roll = crate::dice::roll(&expr, em.dice)?;
            let vis = if secret {
                Visibility::Player(player.clone())
            } else {
                Visibility::Public
            };
            em.emit(
                vis,
                EventKind::DiceRolled {
                    player,
                    roll,
                    secret,
                },
            );
        }
        Action::Check {
            skill,
            ability,
            advantage,
            dc,
        } => {
            let me = own_character(&em.state, &player)?;
            let kind = match (skill, ability) {
                (Some(s), _) => crate::event::CheckKind::Skill(s),
                (None, Some(a)) => crate::event::CheckKind::Ability(a),
                (None, None) => {
                    return Err(RuleError::invalid("Name a skill or an ability to check."));
                }
            };
            resolve::check(em, me, kind, advantage, dc);
        }
        Action::Save {
            ability,
            advantage,
            dc,
        } => {
            let me = own_character(&em.state, &player)?;
            resolve::saving_throw(em, me, ability, advantage, dc);
        }
        Action::Act { text } => {
            let text = check_text(&text, "action")?;
            let creature = em.state.character_of(&player).map(|c| c.id);
            em.public(EventKind::ActionDeclared {
                creature,
                player,
                text,
            });
        }
        Action::Attack { target, weapon } => {
            let me = own_character(&em.state, &player)?;
            combat::attack(em, me, &target, weapon.as_deref())?;
        }
        Action::Cast {
            spell,
            targets,
            slot,
        } => {
            let me = own_character(&em.state, &player)?;
            spells::cast(em, me, &spell, &targets, slot)?;
        }
        Action::UseItem { item } => {
            let me = own_character(&em.state, &player)?;
            combat::use_item(em, me, &item)?;
        }
        Action::Dodge => {
            let me = own_character(&em.state, &player)?;
            combat::dodge(em, me, None)?;
        }
        Action::React { take } => {
            combat::react(em, &player, take)?;
        }
        Action::Move { to } => {
            let me = own_character(&em.state, &player)?;
            position::move_to(em, me, &to)?;
        }
        Action::Dash => {
            let me = own_character(&em.state, &player)?;
            combat::dash(em, me, None)?;
        }
        Action::BreakFree => {
            let me = own_character(&em.state, &player)?;
            combat::break_free(em, me)?;
        }
        Action::Disengage => {
            let me = own_character(&em.state, &player)?;
            combat::disengage(em, me, None)?;
        }
        Action::Help { target } => {
            let me = own_character(&em.state, &player)?;
            combat::help(em, me, &target)?;
        }
        Action::Hide => {
            let me = own_character(&em.state, &player)?;
            combat::hide(em, me, None)?;
        }
        Action::Ready { text } => {
            let me = own_character(&em.state, &player)?;
            let text = check_text(&text, "readied action")?;
            combat::ready(em, me, text)?;
        }
        Action::EndTurn => {
            if !em.state.in_combat() {
                return Err(RuleError::WrongMode(
                    "There are no turns outside combat — just say what you do.".into(),
                ));
            }
            combat::advance(em);
        }
        Action::Rest { kind, hit_dice } => {
            if em.state.in_combat() {
                return Err(RuleError::WrongMode(
                    "You can't rest in the middle of a fight.".into(),
                ));
            }
            if em.state.is_gm(&player) && em.state.character_of(&player).is_none() {
                let party: Vec<CreatureId> = em.state.party().map(|c| c.id).collect();
                if party.is_empty() {
                    return Err(RuleError::invalid(
                        "Nobody in the party has a character to rest.",
                    ));
                }
                // Each character who can rest does; the dead and (for a long rest)
                // those at 0 hit points don't.
                let mut rested = false;
                let mut last_err = None;
                for c in party {
                    match resolve::rest(em, c, kind, hit_dice) {
                        Ok(()) => rested = true,
                        Err(e) => last_err = Some(e),
                    }
                }
                if !rested && let Some(e) = last_err {
                    return Err(e);
                }
            } else {
                let me = own_character(&em.state, &player)?;
                resolve::rest(em, me, kind, hit_dice)?;
            }
        }
        Action::StartCombat { monsters } => {
            require_gm(&em.state, &player, "start a fight")?;
            combat::start(em, &monsters)?;
        }
        Action::AddToCombat { monsters } => {
            require_gm(&em.state, &player, "add monsters to the fight")?;
            combat::add(em, &monsters)?;
        }
        Action::EndCombat => {
            require_gm(&em.state, &player, "end the fight")?;
            if !em.state.in_combat() {
                return Err(RuleError::WrongMode("There is no fight to end.".into()));
            }
            combat::end(em, crate::event::CombatOutcome::Ended);
        }
        Action::SetHp { target, hp } => {
            require_gm(&em.state, &player, "set hit points")?;
            let t = find_creature(&em.state, &target, |_| true)?;
            if !(0..=9_999).contains(&hp) {
                return Err(RuleError::invalid("Hit points must be between 0 and 9999."));
            }
            let before = em.creature(t).clone();
            em.emit(Visibility::Party, EventKind::HitPointsSet { target: t, hp });
            // Setting hit points to 0 knocks a creature out (a monster dies); giving a
            // creature at 0 some back wakes it up, as damage and healing would.
            if hp == 0 && before.hp > 0 && !before.dead {
                resolve::drop_to_zero(em, t, None);
            } else if before.hp <= 0 && em.creature(t).hp > 0 {
                resolve::wake_up(em, t);
            }
            if !combat::check_end(em) {
                combat::pass_fallen_monster(em);
            }
        }
        Action::Damage {
            target,
            dice,
            damage_type,
        } => {
            require_gm(&em.state, &player, "deal damage directly")?;
            let t = find_creature(&em.state, &target, |c| !c.dead)?;
            let parts = vec![crate::data::DamagePart { dice, damage_type }];
            crate::dice::parse(&parts[0].dice)?;
            resolve::deal_damage(em, t, None, &parts, false)?;
            if !combat::check_end(em) {
                combat::pass_fallen_monster(em);
            }
        }
        Action::SetCondition {
            target,
            condition,
            on,
        } => {
            require_gm(&em.state, &player, "change conditions")?;
            let t = find_creature(&em.state, &target, |c| !c.dead)?;
            let c = em.creature(t);
            if on {
                if c.condition_immunities.contains(&condition) {
                    return Err(RuleError::invalid(
                        if condition == crate::condition::Condition::Exhaustion {
                            format!("{} is immune to exhaustion.", c.name)
                        } else {
                            format!("{} is immune to being {condition}.", c.name)
                        },
                    ));
                }
                if condition == crate::condition::Condition::Exhaustion && c.exhaustion >= 6 {
                    return Err(RuleError::invalid(format!(
                        "{} is already at exhaustion level 6.",
                        c.name
                    )));
                }
                em.public(EventKind::ConditionApplied {
                    creature: t,
                    condition,
                    source: None,
                });
                // An incapacitated creature loses concentration; exhaustion level 6 is
                // death.
                if condition.incapacitates() {
                    resolve::end_concentration(em, t);
                }
                if condition == crate::condition::Condition::Exhaustion
                    && em.creature(t).exhaustion >= 6
                {
                    resolve::end_concentration(em, t);
                    em.public(EventKind::Died { creature: t });
                }
                combat::check_end(em);
            } else {
                if !c.has(condition) {
                    return Err(RuleError::invalid(format!(
                        "{} is not {condition}.",
                        c.name
                    )));
                }
                if condition == crate::condition::Condition::Exhaustion {
                    em.public(EventKind::ConditionRemoved {
                        creature: t,
                        condition,
                    });
                } else {
                    // Every mark holding it ends too (a gorgon's petrification, a
                    // possession, a charm): else the mark would outlive the condition.
                    resolve::end_condition(em, t, condition);
                }
            }
        }
        Action::GrantGm { player: who } => {
            require_gm(&em.state, &player, "make someone a GM")?;
            grant_gm(em, who)?;
        }
        Action::Whisper { to, text } => {
            require_gm(&em.state, &player, "whisper to players")?;
            let text = check_text(&text, "whisper")?;
            if !em.state.players.contains_key(&to) {
                return Err(RuleError::UnknownTarget {
                    what: "player",
                    name: crate::error::echo(to.as_str()),
                });
            }
            em.emit(
                Visibility::Player(to.clone()),
                EventKind::Whispered {
                    from: player,
                    to,
                    text,
                },
            );
        }
        Action::Tick | Action::ResumeClock => {
            return Err(RuleError::invalid("Only the table's clock can do that."));
        }
        Action::NpcAct { option, intent } => {
            require_gm(&em.state, &player, "act for monsters")?;
            combat::npc_act(em, option, intent)?;
        }
    }
    Ok(())
}

/// Casting a reaction spell (Shield) is allowed out of turn.
fn is_reaction(state: &CampaignState, action: &Action) -> bool {
    match action {
        Action::Cast { spell, .. } => state
            .catalog
            .spell(spell)
            .is_some_and(|s| s.casting_time.contains("reaction")),
        _ => false,
    }
}

fn validate_settings(s: &crate::state::Settings) -> Result<(), RuleError> {
    if s.turn_timeout_ms < 5_000 || s.turn_timeout_ms > 24 * 3_600_000 {
        return Err(RuleError::invalid(
            "The turn timeout must be between 5 seconds and 24 hours.",
        ));
    }
    if s.reaction_timeout_ms > combat::MAX_REACTION_MS {
        return Err(RuleError::invalid(
            "The reaction window can be at most 10 minutes (0 turns it off).",
        ));
    }
    if s.turn_warning_ms >= s.turn_timeout_ms {
        return Err(RuleError::invalid(
            "The turn warning must come before the timeout.",
        ));
    }
    Ok(())
}

fn add_character(em: &mut Emitter, player: PlayerId, c: Creature) -> Result<(), RuleError> {
    if em.state.in_combat() {
        return Err(RuleError::WrongMode(
            "You can't make a new character in the middle of a fight.".into(),
        ));
    }
    if em
        .state
        .creatures
        .values()
        .any(|o| o.is_pc() && o.owner() != Some(&player) && o.name.eq_ignore_ascii_case(&c.name))
    {
        return Err(RuleError::invalid(format!(
            "Someone already plays a character called {}.",
            c.name
        )));
    }
    if !em.state.players.contains_key(&player) {
        em.public(EventKind::PlayerJoined {
            player: player.clone(),
            name: crate::error::echo(player.as_str()),
        });
    }
    if let Some(old) = em.state.character_of(&player).map(|c| c.id) {
        em.public(EventKind::CharacterRetired { creature: old });
    }
    em.public(EventKind::CharacterCreated {
        creature: Box::new(c),
    });
    Ok(())
}

fn grant_gm(em: &mut Emitter, who: PlayerId) -> Result<(), RuleError> {
    if em.state.is_gm(&who) {
        return Err(RuleError::invalid("They are already a GM here."));
    }
    em.emit(Visibility::Party, EventKind::GmGranted { player: who });
    Ok(())
}
