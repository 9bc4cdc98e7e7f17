//! `apply`: the only code that changes a [`CampaignState`]. It trusts the event (the
//! event was decided against the same state) and never fails; it never rolls dice or
//! reads the catalog, so a log replays the same whatever the catalog says today.

use crate::condition::Condition;
use crate::creature::{DeathSaves, Effect};
use crate::event::{ActionCost, DamageModifier, Event, EventKind, RestKind};
use crate::state::{CampaignState, Combat, PlayerInfo, TurnBudget};

/// Applies one event to the state.
pub fn apply(state: &mut CampaignState, event: &Event) {
    use EventKind::*;
    state.clock = state.clock.max(event.at);
    state.events_applied += 1;
    match &event.kind {
        CampaignStarted { name, gm, settings } => {
            state.started = true;
            state.name = name.clone();
            state.gm = Some(gm.clone());
            state.settings = *settings;
        }
        CampaignEnded => {
            state.ended = true;
            state.combat = None;
        }
        SettingsChanged { settings } => state.settings = *settings,
        GmGranted { player } => {
            state.co_gms.insert(player.clone());
        }
        PlayerJoined { player, name } => {
            state
                .players
                .entry(player.clone())
                .and_modify(|p| p.name = name.clone())
                .or_insert(PlayerInfo {
                    name: name.clone(),
                    character: None,
                });
        }
        CharacterCreated { creature } => {
            let c = (**creature).clone();
            if let Some(owner) = c.owner() {
                state
                    .players
                    .entry(owner.clone())
                    .or_insert(PlayerInfo {
                        name: owner.to_string(),
                        character: None,
                    })
                    .character = Some(c.id);
            }
            state.next_creature = state.next_creature.max(c.id.0.saturating_add(1));
            state.creatures.insert(c.id, c);
        }
        CharacterRetired { creature } => {
            state.creatures.remove(creature);
            for p in state.players.values_mut() {
                if p.character == Some(*creature) {
                    p.character = None;
                }
            }
        }
        MonstersAppeared { creatures } => {
            for c in creatures {
                if let Some(m) = &c.monster {
                    let seen = state.monsters_seen.entry(m.clone()).or_default();
                    *seen = seen.saturating_add(1);
                }
                state.next_creature = state.next_creature.max(c.id.0.saturating_add(1));
                state.creatures.insert(c.id, c.clone());
            }
        }
        DiceRolled { .. } | ActionDeclared { .. } | CheckRolled { .. } | SaveRolled { .. } => {}
        Whispered { .. } | InitiativeRolled { .. } | NpcIntent { .. } => {}
        SpecialAction { .. } => {}
        Vanished { creatures, .. } => {
            for id in creatures {
                if let Some(c) = state.creatures.get_mut(id) {
                    c.hp = 0;
                    c.temp_hp = 0;
                    c.dead = true;
                    c.concentration = None;
                }
            }
        }
        AttackRolled {
            attacker,
            target,
            approach,
            with,
            outcome,
            ..
        } => {
            let melee = state
                .creatures
                .get(attacker)
                .and_then(|c| c.find_attack(with))
                .is_some_and(|a| a.reach == crate::data::Reach::Melee);
            // A spell's attack roll: the spell's casting spent its action (or bonus
            // action, Quickened); it is no attack of the Attack action.
            let base = with.split(", at a mirror image").next().unwrap_or(with);
            let spell_attack = state
                .creatures
                .get(attacker)
                .is_some_and(|c| c.find_attack(base).is_none())
                && state.catalog.spell(base).is_some();
            if let Some(c) = state.combat.as_mut()
                && c.active_creature() == Some(*attacker)
            {
                if !spell_attack {
                    c.budget.action_used = true;
                    c.budget.attacks_made = c.budget.attacks_made.saturating_add(1);
                }
                c.budget.last_hit = outcome.is_hit().then_some(crate::state::LastHit {
                    target: *target,
                    critical: *outcome == crate::event::AttackOutcome::CriticalHit,
                    melee,
                });
            }
            if *approach > 0 {
                moved(
                    state,
                    *attacker,
                    crate::event::Place::Engaged { with: *target },
                    *approach,
                );
            }
            // Attacking gives a hidden creature away.
            if let Some(c) = state.creatures.get_mut(attacker) {
                c.effects.remove(&Effect::Hidden);
            }
        }
        Moved {
            creature,
            to,
            moves,
        } => moved(state, *creature, *to, *moves),
        Dashed { creature } => {
            spend(state, *creature, ActionCost::Action);
            if let Some(c) = state.combat.as_mut()
                && c.active_creature() == Some(*creature)
            {
                c.budget.dashed = true;
            }
        }
        Disengaged { creature } => {
            spend(state, *creature, ActionCost::Action);
            if let Some(c) = state.combat.as_mut()
                && c.active_creature() == Some(*creature)
            {
                c.budget.disengaged = true;
            }
        }
        Helped { creature, .. }
        | Readied { creature, .. }
        | BreakFreeAttempted { creature, .. } => {
            spend(state, *creature, ActionCost::Action);
        }
        HideAttempted { creature, hidden } => {
            spend(state, *creature, ActionCost::Action);
            if *hidden && let Some(c) = state.creatures.get_mut(creature) {
                c.effects.insert(Effect::Hidden);
            }
        }
        LegendaryTurn { creature, ended } => {
            if let Some(c) = state.combat.as_mut() {
                c.legendary = Some((*creature, *ended));
            }
        }
        LegendaryTurnEnded { .. } => {
            if let Some(c) = state.combat.as_mut() {
                c.legendary = None;
            }
        }
        ReactionOffered { window } => {
            if let Some(c) = state.combat.as_mut() {
                c.reaction = Some(window.clone());
            }
        }
        ReactionResolved { .. } => {
            if let Some(c) = state.combat.as_mut() {
                c.reaction = None;
            }
        }
        OpportunityAttack { creature, .. } => {
            spend(state, *creature, ActionCost::Reaction);
            if let Some(c) = state.combat.as_mut() {
                c.opportunity = None;
            }
        }
        OpportunityOffered { opportunity } => {
            if let Some(c) = state.combat.as_mut() {
                c.opportunity = Some(opportunity.clone());
            }
        }
        OpportunityPassed { .. } => {
            if let Some(c) = state.combat.as_mut() {
                c.opportunity = None;
            }
        }
        DamageDealt {
            target,
            source,
            amount,
            modifier,
            ..
        } => {
            // A swallowed creature's damage to its swallower counts up for the turn.
            if let Some(s) = source.and_then(|s| state.creatures.get_mut(&s))
                && *modifier != DamageModifier::Immune
                && let Some(e) = s
                    .effects
                    .iter()
                    .find(|e| matches!(e, Effect::Swallowed { by, .. } if by == target))
                    .copied()
                && let Effect::Swallowed { by, taken } = e
            {
                s.effects.remove(&e);
                s.effects.insert(Effect::Swallowed {
                    by,
                    taken: taken.saturating_add((*amount).max(0)),
                });
            }
            if let Some(c) = state.creatures.get_mut(target) {
                if *modifier == DamageModifier::Immune {
                    return;
                }
                let absorbed = (*amount).min(c.temp_hp).max(0);
                c.temp_hp -= absorbed;
                c.hp = c.hp.saturating_sub(amount.saturating_sub(absorbed)).max(0);
            }
        }
        HealingReceived { target, amount, .. } => {
            if let Some(c) = state.creatures.get_mut(target) {
                let was_down = c.hp <= 0;
                c.hp = c.hp.saturating_add(*amount).min(c.effective_max_hp());
                if was_down && c.hp > 0 {
                    c.death_saves = DeathSaves::default();
                }
            }
        }
        TempHpGained { target, amount } => {
            if let Some(c) = state.creatures.get_mut(target) {
                // Temporary hit points don't stack: keep the larger.
                c.temp_hp = c.temp_hp.max(*amount);
            }
        }
        HitPointsSet { target, hp } => {
            if let Some(c) = state.creatures.get_mut(target) {
                c.hp = (*hp).clamp(0, c.effective_max_hp());
                if c.hp > 0 {
                    c.death_saves = DeathSaves::default();
                    c.dead = false;
                }
            }
        }
        FellUnconscious { creature } => {
            if let Some(c) = state.creatures.get_mut(creature) {
                c.death_saves = DeathSaves::default();
            }
        }
        Died { creature } => {
            let round = state.combat.as_ref().map_or(0, |c| c.round);
            if let Some(c) = state.creatures.get_mut(creature) {
                c.dead = true;
                c.hp = 0;
                c.concentration = None;
                c.died_round = Some(round);
            }
            if let Some(c) = state.combat.as_mut() {
                c.engaged.retain(|&(a, b)| a != *creature && b != *creature);
                c.far.remove(creature);
            }
        }
        DeathSaveRolled {
            creature,
            successes,
            failures,
            ..
        } => {
            if let Some(c) = state.creatures.get_mut(creature) {
                c.death_saves.successes = *successes;
                c.death_saves.failures = *failures;
            }
        }
        DeathSaveFailedByDamage { creature, failures } => {
            if let Some(c) = state.creatures.get_mut(creature) {
                // A stable creature that takes damage starts dying again.
                c.death_saves.failures = *failures;
                c.death_saves.stable = false;
            }
        }
        Stabilised { creature } => {
            if let Some(c) = state.creatures.get_mut(creature) {
                c.death_saves = DeathSaves {
                    successes: 0,
                    failures: 0,
                    stable: true,
                };
            }
        }
        WildShape { creature, beast } => {
            let m = beast
                .as_ref()
                .and_then(|b| state.catalog.monsters.get(b))
                .cloned();
            if let Some(c) = state.creatures.get_mut(creature) {
                if c.pc.is_some() {
                    crate::features::wild_shape(c, m.as_ref());
                } else {
                    // A monster polymorphed (or back).
                    crate::rules::shapes::monster_shape(c, m.as_ref());
                }
            }
        }
        RaisedFromDead { creature } => {
            if let Some(c) = state.creatures.get_mut(creature) {
                c.dead = false;
                c.hp = 1;
                c.died_round = None;
                c.death_saves = DeathSaves::default();
            }
        }
        Revived { creature } => {
            if let Some(c) = state.creatures.get_mut(creature) {
                c.hp = 1;
                c.death_saves = DeathSaves::default();
            }
        }
        ConditionApplied {
            creature,
            condition,
            source,
        } => {
            if let Some(c) = state.creatures.get_mut(creature) {
                if *condition == Condition::Exhaustion {
                    c.exhaustion = c.exhaustion.saturating_add(1).min(6);
                    // Level 4 halves the hit point maximum.
                    c.hp = c.hp.min(c.effective_max_hp());
                } else {
                    c.conditions.insert(*condition, *source);
                }
            }
        }
        ConditionRemoved {
            creature,
            condition,
        } => {
            if let Some(c) = state.creatures.get_mut(creature) {
                if *condition == Condition::Exhaustion {
                    c.exhaustion = 0;
                } else {
                    c.conditions.remove(condition);
                }
            }
        }
        ExhaustionChanged { creature, level } => {
            if let Some(c) = state.creatures.get_mut(creature) {
                c.exhaustion = (*level).min(6);
                c.hp = c.hp.min(c.effective_max_hp());
            }
        }
        SpellCast {
            caster,
            slot,
            cost,
            again,
            ..
        } => spell_spent(state, *caster, *slot, *cost, *again),
        // A countered spell spends what casting it does.
        SpellCountered {
            caster, slot, cost, ..
        } => spell_spent(state, *caster, *slot, *cost, false),
        // Out of a fight, a zone waits for the next one (`waiting_zones`).
        ZonePlaced { zone } => {
            let zones = state.zones_mut();
            zones.retain(|z| z.id != zone.id);
            zones.push((**zone).clone());
        }
        ZoneStruck { zone, creature } => {
            if let Some(z) = state.zones_mut().iter_mut().find(|z| z.id == *zone) {
                z.moving.remove(creature);
                z.struck.insert(*creature);
            }
        }
        ZoneEnded { zone } => {
            state.zones_mut().retain(|z| z.id != *zone);
        }
        ConcentrationStarted { creature, spell } => {
            if let Some(c) = state.creatures.get_mut(creature) {
                c.concentration = Some(spell.clone());
            }
        }
        ConcentrationEnded { creature, .. } => {
            if let Some(c) = state.creatures.get_mut(creature) {
                c.concentration = None;
            }
            // Its zones end with it (in a fight, or waiting for one).
            state
                .zones_mut()
                .retain(|z| !(z.concentration && z.by == *creature));
        }
        EffectStarted { creature, effect } => {
            if let Some(c) = state.creatures.get_mut(creature) {
                c.effects.insert(*effect);
                // Harm: a lowered maximum lowers hit points above it.
                if matches!(
                    effect,
                    Effect::Spell(crate::effect::Active {
                        mark: crate::effect::Mark::MaxHpReduced { .. },
                        ..
                    })
                ) {
                    c.hp = c.hp.min(c.effective_max_hp());
                }
            }
        }
        EffectEnded { creature, effect } => {
            if let Some(c) = state.creatures.get_mut(creature) {
                c.effects.remove(effect);
                c.hp = c.hp.min(c.effective_max_hp());
            }
        }
        ItemUsed { creature, item } => {
            if let Some(c) = state.creatures.get_mut(creature) {
                let want = crate::data::to_index(item);
                if let Some(pos) = c
                    .inventory
                    .iter()
                    .position(|i| crate::data::to_index(&i.name) == want && i.quantity > 0)
                {
                    c.inventory[pos].quantity -= 1;
                    if c.inventory[pos].quantity == 0 {
                        c.inventory.remove(pos);
                    }
                }
            }
            spend(state, *creature, ActionCost::Action);
        }
        LimitedActionUsed { creature, action } => {
            if let Some(c) = state.creatures.get_mut(creature) {
                let n = c.spent.entry(action.clone()).or_default();
                *n = n.saturating_add(1);
            }
        }
        LegendaryActionUsed { creature, cost, .. } => {
            if let Some(c) = state.creatures.get_mut(creature) {
                c.legendary_used = c.legendary_used.saturating_add(*cost);
            }
        }
        RechargeRolled {
            creature,
            action,
            recharged,
            ..
        } => {
            if *recharged && let Some(c) = state.creatures.get_mut(creature) {
                c.spent.remove(action);
            }
        }
        Dodged { creature } => {
            if let Some(c) = state.creatures.get_mut(creature) {
                c.effects.insert(Effect::Dodging);
            }
            spend(state, *creature, ActionCost::Action);
        }
        SpellsPrepared { creature, spells } => {
            if let Some(c) = state.creatures.get_mut(creature) {
                if let Some(sc) = c.spellcasting.as_mut() {
                    sc.spells = spells.clone();
                }
                if let Some(pc) = c.pc.as_mut() {
                    pc.may_prepare = false;
                }
            }
        }
        FeatureUsed {
            creature,
            feature,
            spent,
            note,
        } => {
            let active = state
                .combat
                .as_ref()
                .and_then(|c| c.active_creature())
                .is_some_and(|a| a == *creature);
            let round = state.combat.as_ref().map_or(0, |c| c.round);
            if let Some(pc) = state
                .creatures
                .get_mut(creature)
                .and_then(|c| c.pc.as_mut())
            {
                // Ki features spend from the ki pool.
                let pool = crate::features::pool_of(feature);
                if crate::features::recharge(&pc.class, pc.level, pool).is_some() {
                    let n = pc.uses.entry(pool.to_string()).or_insert(0);
                    *n = n.saturating_add((*spent).max(1));
                }
                if feature == "sneak-attack" {
                    pc.uses.insert("sneak-attack-round".into(), round);
                }
                if feature == "divine-strike" {
                    pc.uses.insert("divine-strike-round".into(), round);
                }
                // Superior Inspiration: one use of Bardic Inspiration back.
                if feature == "superior-inspiration"
                    && let Some(n) = pc.uses.get_mut("bardic-inspiration")
                {
                    *n = n.saturating_sub(1);
                }
                // A Bardic Inspiration die received, and spent.
                if feature == "inspired" {
                    pc.inspiration = Some((*spent).clamp(4, 12) as u8);
                    pc.inspired_by = crate::features::inspiration_giver(note);
                }
                if feature == "inspiration-die" {
                    pc.inspiration = None;
                    pc.inspired_by = None;
                }
            }
            match feature.as_str() {
                "second-wind" | "rage" | "bardic-inspiration" | "flurry-of-blows"
                | "martial-arts" | "wild-shape-revert" => {
                    spend(state, *creature, ActionCost::BonusAction)
                }
                // The Dash / Disengage / Hide / Dodge that follows costs no action.
                "cunning-action" | "step-of-the-wind" | "patient-defense" => {
                    spend(state, *creature, ActionCost::BonusAction);
                    if active && let Some(c) = state.combat.as_mut() {
                        c.budget.as_bonus = true;
                    }
                }
                "uncanny-dodge" => spend(state, *creature, ActionCost::Reaction),
                "lay-on-hands"
                | "wild-shape"
                | "channel-divinity"
                | "breath-weapon"
                | "turn-undead"
                | "preserve-life"
                | "sacred-weapon"
                | "turn-the-unholy"
                | "wholeness-of-body"
                | "intimidating-presence" => spend(state, *creature, ActionCost::Action),
                // A spell slot of level `spent`; the hit it followed is used up.
                "divine-smite" => {
                    if let Some(sc) = state
                        .creatures
                        .get_mut(creature)
                        .and_then(|c| c.spellcasting.as_mut())
                    {
                        sc.expend(u8::try_from(*spent).unwrap_or(0));
                    }
                    if active && let Some(c) = state.combat.as_mut() {
                        c.budget.last_hit = None;
                    }
                }
                // Stunning Strike uses up the hit it followed.
                "stunning-strike" => {
                    if active && let Some(c) = state.combat.as_mut() {
                        c.budget.last_hit = None;
                    }
                }
                // A level `spent` slot turned into as many sorcery points.
                "font-of-magic-points" => {
                    spend(state, *creature, ActionCost::BonusAction);
                    if let Some(c) = state.creatures.get_mut(creature) {
                        if let Some(sc) = c.spellcasting.as_mut() {
                            sc.expend(u8::try_from(*spent).unwrap_or(0));
                        }
                        if let Some(pc) = c.pc.as_mut()
                            && let Some(n) = pc.uses.get_mut("sorcery-points")
                        {
                            *n = n.saturating_sub(*spent);
                        }
                    }
                }
                "font-of-magic" => spend(state, *creature, ActionCost::BonusAction),
                // One expended slot of level `spent` comes back.
                "arcane-recovery-slot" | "font-of-magic-slot" | "natural-recovery-slot" => {
                    if let Some(sc) = state
                        .creatures
                        .get_mut(creature)
                        .and_then(|c| c.spellcasting.as_mut())
                    {
                        sc.regain(u8::try_from(*spent).unwrap_or(0));
                    }
                }
                "reckless-attack" if active => {
                    if let Some(c) = state.combat.as_mut() {
                        c.budget.reckless = true;
                    }
                }
                "action-surge" if active => {
                    if let Some(c) = state.combat.as_mut() {
                        c.budget.action_used = false;
                        c.budget.attacks_made = 0;
                    }
                }
                _ => {}
            }
        }
        LeveledUp { creature, .. } => {
            if state.creatures.contains_key(&creature.id) {
                state.creatures.insert(creature.id, (**creature).clone());
            }
        }
        Rested {
            creature,
            kind,
            hit_dice_spent,
            hp_regained,
        } => {
            // A character's long rest is a night for the monsters in the scene too:
            // their per-day actions, innate spells and spell slots come back.
            if *kind == RestKind::Long && state.creatures.get(creature).is_some_and(|c| c.is_pc()) {
                for m in state
                    .creatures
                    .values_mut()
                    .filter(|m| m.monster.is_some() && !m.dead)
                {
                    m.spent.clear();
                    if let Some(sc) = m.spellcasting.as_mut() {
                        sc.used_slots = [0; 9];
                    }
                }
            }
            // A rest takes an hour or more: too late for Revivify, and the zones
            // cast before it (a minute, an hour at most) are gone.
            state.waiting_zones.clear();
            for c in state.creatures.values_mut() {
                c.died_round = None;
            }
            if let Some(c) = state.creatures.get_mut(creature) {
                // Bardic Inspiration lasts ten minutes: not through a rest.
                if let Some(pc) = c.pc.as_mut() {
                    pc.inspiration = None;
                    pc.inspired_by = None;
                }
                c.hit_dice.remaining = c.hit_dice.remaining.saturating_sub(*hit_dice_spent);
                if *kind == RestKind::Long {
                    // Exhaustion first: the hit point maximum depends on it.
                    c.exhaustion = c.exhaustion.saturating_sub(1);
                    let regain = (c.hit_dice.total / 2).max(1);
                    c.hit_dice.remaining = c
                        .hit_dice
                        .remaining
                        .saturating_add(regain)
                        .min(c.hit_dice.total);
                    if let Some(sc) = c.spellcasting.as_mut() {
                        sc.used_slots = [0; 9];
                    }
                    // Prepared casters may change their prepared spells.
                    if let Some(pc) = c.pc.as_mut() {
                        let (class, level) = (pc.class.clone(), pc.level);
                        pc.uses
                            .retain(|f, _| crate::features::recharge(&class, level, f).is_none());
                        pc.may_prepare = crate::spell_choice::caster_kind(&pc.class)
                            .is_some_and(|k| k != crate::spell_choice::CasterKind::Known);
                    }
                    c.death_saves = DeathSaves::default();
                    c.temp_hp = 0;
                } else if let Some(pc) = c.pc.as_mut()
                    && !pc.uses.is_empty()
                {
                    let (class, level) = (pc.class.clone(), pc.level);
                    pc.uses.retain(|f, _| {
                        crate::features::recharge(&class, level, f) != Some(RestKind::Short)
                    });
                    // Sorcerous Restoration (sorcerer 20th): 4 sorcery points back.
                    if class == "sorcerer"
                        && level >= 20
                        && let Some(n) = pc.uses.get_mut("sorcery-points")
                    {
                        *n = n.saturating_sub(4);
                    }
                }
                if *kind == RestKind::Short
                    && c.pc.as_ref().is_some_and(|p| p.class == "warlock")
                    && let Some(sc) = c.spellcasting.as_mut()
                {
                    // Pact Magic: a warlock's slots come back on a short rest.
                    sc.used_slots = [0; 9];
                }
                // A rest lasts an hour or more: round-long effects are long gone, and
                // after a long rest so is Aid (8 hours).
                c.effects.remove(&Effect::Dodging);
                c.effects.remove(&Effect::Shielded);
                c.effects.remove(&Effect::Hidden);
                if *kind == RestKind::Long {
                    c.effects.retain(|e| !matches!(e, Effect::Aided { .. }));
                    c.hp = c.hp.min(c.effective_max_hp());
                }
                let was_down = c.hp <= 0;
                c.hp = c.hp.saturating_add(*hp_regained).min(c.effective_max_hp());
                if was_down && c.hp > 0 {
                    c.death_saves = DeathSaves::default();
                }
            }
        }
        CombatStarted { order } => {
            // The dead monsters of earlier fights are told and done with: forget them,
            // so a long campaign does not carry every goblin it ever slew (numbering
            // carries on through `monsters_seen`). Not at the end of a fight: that
            // fight's last events are still being told.
            state
                .creatures
                .retain(|id, c| c.is_pc() || !c.dead || order.iter().any(|e| e.creature == *id));
            // More than a minute since any earlier death: too late for Revivify.
            for c in state.creatures.values_mut() {
                c.died_round = None;
            }
            // Zones cast before the fight start in it, holding those of their
            // creatures that fight.
            let mut zones = std::mem::take(&mut state.waiting_zones);
            for z in &mut zones {
                z.inside
                    .retain(|id| order.iter().any(|e| e.creature == *id));
                z.struck.clear();
                z.moving.clear();
            }
            state.combat = Some(Combat {
                round: 0,
                order: order.clone(),
                active: 0,
                deadline: None,
                warned: false,
                budget: TurnBudget::default(),
                engaged: Default::default(),
                far: Default::default(),
                reaction: None,
                legendary: None,
                opportunity: None,
                zones,
            });
            state.reactions_used.clear();
        }
        CombatantsJoined { entries } => {
            if let Some(c) = state.combat.as_mut() {
                let active = c.active_creature();
                c.order.extend(entries.iter().copied());
                crate::rules::combat::sort_order(&mut c.order);
                if let Some(a) = active {
                    c.active = c.order.iter().position(|e| e.creature == a).unwrap_or(0);
                }
            }
        }
        TurnStarted {
            creature,
            round,
            deadline,
        } => {
            if let Some(c) = state.combat.as_mut() {
                c.active = c
                    .order
                    .iter()
                    .position(|e| e.creature == *creature)
                    .unwrap_or(c.active);
                c.round = *round;
                c.deadline = *deadline;
                c.warned = false;
                c.budget = TurnBudget::default();
                // A new turn: each zone may strike each creature once more.
                for z in &mut c.zones {
                    z.struck.clear();
                    z.moving.clear();
                }
            }
            state.reactions_used.remove(creature);
            if let Some(c) = state.creatures.get_mut(creature) {
                c.legendary_used = 0;
            }
            // A new turn: what swallowed creatures dealt their swallowers starts over.
            for c in state.creatures.values_mut() {
                if let Some(e @ Effect::Swallowed { by, taken }) = c
                    .effects
                    .iter()
                    .find(|e| matches!(e, Effect::Swallowed { .. }))
                    .copied()
                    && taken != 0
                {
                    c.effects.remove(&e);
                    c.effects.insert(Effect::Swallowed { by, taken: 0 });
                }
            }
        }
        TurnWarning { .. } => {
            if let Some(c) = state.combat.as_mut() {
                c.warned = true;
            }
        }
        TurnTimedOut { .. } => {}
        TurnClockResumed { deadline, .. } => {
            if let Some(c) = state.combat.as_mut() {
                // A deadline moved (it passed while the host was down) earns a fresh
                // warning; an unchanged one keeps the warning already given.
                if c.deadline != Some(*deadline) {
                    c.warned = false;
                }
                c.deadline = Some(*deadline);
            }
        }
        TurnEnded { .. } => {
            if let Some(c) = state.combat.as_mut() {
                c.deadline = None;
            }
        }
        CombatEnded { .. } => {
            state.combat = None;
            state.reactions_used.clear();
            for c in state.creatures.values_mut() {
                c.effects.remove(&Effect::Dodging);
                c.effects.remove(&Effect::Shielded);
                c.effects.remove(&Effect::Hidden);
            }
        }
    }
}

/// A creature's move: its melee pairs and distance change; the moves come off its turn.
fn moved(
    state: &mut CampaignState,
    who: crate::ids::CreatureId,
    to: crate::event::Place,
    moves: u8,
) {
    use crate::event::Place;
    let Some(c) = state.combat.as_mut() else {
        return;
    };
    if c.active_creature() == Some(who) {
        c.budget.moves_used = c.budget.moves_used.saturating_add(moves);
    }
    // Zones: it stands where the creature it closes on stands (inside that one's
    // zones), or out of every zone when it moves near or far.
    for z in c.zones.iter_mut().filter(|z| !z.when.aura) {
        let was = z.inside.contains(&who);
        let now = match to {
            Place::Engaged { with } if with == who => was,
            Place::Engaged { with } => z.inside.contains(&with),
            Place::Near | Place::Far => false,
        };
        if now != was {
            if now {
                z.inside.insert(who);
            } else {
                z.inside.remove(&who);
            }
            let strikes = if now { z.when.enter } else { z.when.leave };
            if strikes && (z.when.each_move || !z.struck.contains(&who)) {
                z.moving.insert(who);
            }
        }
    }
    match to {
        Place::Engaged { with } => {
            // Closing on a creature keeps the mover's other melees (it shifts within
            // the fray); it stands where its foe stands.
            if with != who {
                c.engaged.insert(crate::rules::position::pair(who, with));
            }
            if c.far.contains(&with) {
                c.far.insert(who);
            } else {
                c.far.remove(&who);
            }
        }
        Place::Near | Place::Far => {
            c.engaged.retain(|&(a, b)| a != who && b != who);
            if to == Place::Far {
                c.far.insert(who);
            } else {
                c.far.remove(&who);
            }
        }
    }
    // Auras (Spirit Guardians) hold their caster and whoever is engaged with it now;
    // the mover that came in is struck (once a turn).
    for z in c.zones.iter_mut().filter(|z| z.when.aura) {
        let inside: std::collections::BTreeSet<_> = std::iter::once(z.by)
            .chain(
                c.engaged
                    .iter()
                    .filter_map(|&(a, b)| (a == z.by).then_some(b).or((b == z.by).then_some(a))),
            )
            .collect();
        if who != z.by
            && inside.contains(&who)
            && !z.inside.contains(&who)
            && z.when.enter
            && (z.when.each_move || !z.struck.contains(&who))
        {
            z.moving.insert(who);
        }
        z.inside = inside;
    }
}

/// What casting a spell spends: the slot, the turn part, and what the bonus-action
/// spell rule tracks.
fn spell_spent(
    state: &mut CampaignState,
    caster: crate::ids::CreatureId,
    slot: Option<u8>,
    cost: ActionCost,
    again: bool,
) {
    if let Some(c) = state.creatures.get_mut(&caster)
        && let (Some(sc), Some(l)) = (c.spellcasting.as_mut(), slot)
    {
        sc.expend(l);
    }
    spend(state, caster, cost);
    // The bonus-action spell rule: track what kinds of spell the active creature has
    // cast this turn.
    if let Some(c) = state.combat.as_mut()
        && c.active_creature() == Some(caster)
        && !again
    {
        if cost == ActionCost::BonusAction {
            c.budget.bonus_spell_cast = true;
        } else if !(slot.is_none() && cost == ActionCost::Action) {
            c.budget.other_spell_cast = true;
        }
    }
}

fn spend(state: &mut CampaignState, creature: crate::ids::CreatureId, cost: ActionCost) {
    let active = state
        .combat
        .as_ref()
        .and_then(|c| c.active_creature())
        .is_some_and(|a| a == creature);
    match cost {
        ActionCost::Reaction if state.combat.is_some() => {
            state.reactions_used.insert(creature, true);
        }
        ActionCost::Action if active => {
            if let Some(c) = state.combat.as_mut() {
                if c.budget.as_bonus {
                    // Cunning Action and the like: the feature spent the bonus action.
                    c.budget.as_bonus = false;
                } else {
                    c.budget.action_used = true;
                }
            }
        }
        ActionCost::BonusAction if active => {
            if let Some(c) = state.combat.as_mut() {
                c.budget.bonus_action_used = true;
            }
        }
        _ => {}
    }
}
