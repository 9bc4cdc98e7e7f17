//! Shared test support: the real SRD catalog, dice that log what they hand out, a
//! compact one-line-per-event renderer, and the data-driven scenario runner used by
//! `tests/rules_scenarios.rs` (scenario files live in `tests/scenarios/*.json`).
//!
//! Every scenario step is checked for the engine's invariants, whatever the snapshot
//! says:
//!
//! * `decide` never mutates the state, and a refused command produces no events;
//! * `decide` is deterministic: the same state, command, dice and time give the same
//!   events;
//! * every event round-trips through serde_json unchanged;
//! * replaying the whole log from scratch (from the events and from their JSON) gives
//!   the state built step by step, and the state itself round-trips through JSON;
//! * each step's scripted dice are all used (a scenario that scripts a die the engine
//!   never rolls is wrong about the rules it claims to test).
#![allow(dead_code)]

use dicebard_engine::ability::Advantage;
use dicebard_engine::character::CharacterSpec;
use dicebard_engine::command::{Action, Command, MonsterGroup, NpcOption};
use dicebard_engine::creature::{Creature, Effect};
use dicebard_engine::data::Catalog;
use dicebard_engine::dice::{Dice, ScriptedDice, SeededDice};
use dicebard_engine::event::{Event, EventKind, Visibility};
use dicebard_engine::ids::{CreatureId, Timestamp};
use dicebard_engine::state::{CampaignState, Settings};
use dicebard_engine::{choose_npc_option, decide, next_deadline, npc_options, replay};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

/// The embedded SRD catalog, shared by every test in the binary.
pub fn catalog() -> Arc<Catalog> {
    static CAT: OnceLock<Arc<Catalog>> = OnceLock::new();
    CAT.get_or_init(|| Arc::new(dicebard_srd::catalog().clone()))
        .clone()
}

/// A fresh, unstarted campaign state over the SRD catalog.
pub fn new_state() -> CampaignState {
    CampaignState::new(catalog())
}

/// Wraps a die source and records every (sides, value) handed out.
#[derive(Clone)]
pub struct LoggingDice<D: Dice + Clone> {
    pub inner: D,
    pub log: Vec<(u32, u32)>,
}

impl<D: Dice + Clone> LoggingDice<D> {
    pub fn new(inner: D) -> Self {
        LoggingDice {
            inner,
            log: Vec::new(),
        }
    }
}

impl<D: Dice + Clone> Dice for LoggingDice<D> {
    fn roll(&mut self, sides: u32) -> u32 {
        let v = self.inner.roll(sides);
        self.log.push((sides, v));
        v
    }
}

// ---------------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------------

fn name(state: &CampaignState, id: CreatureId) -> String {
    state
        .creatures
        .get(&id)
        .map_or_else(|| id.to_string(), |c| c.name.clone())
}

fn names(state: &CampaignState, ids: &[CreatureId]) -> String {
    ids.iter()
        .map(|i| name(state, *i))
        .collect::<Vec<_>>()
        .join(", ")
}

fn adv(a: Advantage) -> &'static str {
    match a {
        Advantage::Normal => "",
        Advantage::Advantage => " [adv]",
        Advantage::Disadvantage => " [dis]",
    }
}

fn signed(n: i32) -> String {
    if n >= 0 {
        format!("+{n}")
    } else {
        n.to_string()
    }
}

fn d20s(v: &[u32]) -> String {
    v.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

fn effect(state: &CampaignState, e: &Effect) -> String {
    match e {
        Effect::Dodging => "dodging".into(),
        Effect::Shielded => "shielded".into(),
        Effect::Hidden => "hidden".into(),
        Effect::Swallowed { by, taken } => {
            format!("swallowed(by {}, dealt it {taken})", name(state, *by))
        }
        Effect::Blessed { by } => format!("blessed(by {})", name(state, *by)),
        Effect::Aided { by, amount } => format!("aided(+{amount} by {})", name(state, *by)),
        Effect::Spell(a) => {
            let mut s = mark_name(&a.mark);
            let by = name(state, a.by);
            if let Some(open) = s.strip_suffix(')') {
                s = format!("{open} by {by})");
            } else {
                s = format!("{s}(by {by})");
            }
            s
        }
    }
}

/// A compact name for an effect-language mark: "blessed", "ac+5", "paralyzed",
/// "aided(+5)".
pub fn mark_name(m: &dicebard_engine::effect::Mark) -> String {
    use dicebard_engine::effect::Mark as M;
    match *m {
        M::Condition { condition } => condition.to_string(),
        M::AcBonus { amount } => format!("ac{}", signed(amount)),
        M::AcAtLeast { base, dex } => format!("ac>={base}{}", if dex { "+dex" } else { "" }),
        M::RollDie {
            sides: 4,
            attacks: true,
            saves: true,
        } => "blessed".into(),
        M::RollDie {
            sides: -4,
            attacks: true,
            saves: true,
        } => "baned".into(),
        M::RollDie {
            sides,
            attacks,
            saves,
        } => format!(
            "d{sides}{}{}",
            if attacks { " attacks" } else { "" },
            if saves { " saves" } else { "" }
        ),
        M::SaveBonus { ability, amount } => format!(
            "{}-saves{}",
            ability.map_or("all", |a| a.code()),
            signed(amount)
        ),
        M::SaveAdvantage { ability } => {
            format!("adv-{}-saves", ability.map_or("all", |a| a.code()))
        }
        M::AttackedWithAdvantage => "attacked-with-adv".into(),
        M::AttackedWithDisadvantage => "attacked-with-dis".into(),
        M::NextAttackedWithAdvantage => "next-attacked-with-adv".into(),
        M::NextAttackDisadvantage => "next-attack-dis".into(),
        M::Speed { delta } => format!("speed{}", signed(delta)),
        M::SpeedHalved => "speed/2".into(),
        M::SpeedDoubled => "speed*2".into(),
        M::Resist { damage_type } => format!("resist-{damage_type}"),
        M::BonusDamage {
            count,
            sides,
            damage_type,
        } => format!(
            "marked(+{count}d{sides}{})",
            damage_type.map_or(String::new(), |t| format!(" {t}"))
        ),
        M::WeaponRider {
            count,
            sides,
            damage_type,
            once,
        } => format!(
            "weapon(+{count}d{sides} {damage_type}{})",
            if once { " once" } else { "" }
        ),
        M::Ongoing {
            count,
            sides,
            damage_type,
            ..
        } => format!("ongoing({count}d{sides} {damage_type})"),
        M::NoHealing => "no-healing".into(),
        M::NoReactions => "no-reactions".into(),
        M::MaxHp { amount } if amount < 0 => format!("max-hp{amount}"),
        M::MaxHp { amount } => format!("aided(+{amount})"),
        M::Aura {
            count,
            sides,
            damage_type,
            ..
        } => format!("aura({count}d{sides} {damage_type})"),
        M::MagicMissileWard => "magic-missile-ward".into(),
        M::DeathWard => "death-ward".into(),
        M::Hasted => "hasted".into(),
        M::Slowed => "slowed".into(),
        M::Hopeful => "hopeful".into(),
        M::ImmuneTo { condition } => format!("immune-{condition}"),
        M::TurnTempHp { amount } => format!("temp-hp-each-turn({amount})"),
        M::Recast { slot, .. } => format!("recast(slot {slot})"),
        M::WeaponBonus { amount } => format!("magic-weapon(+{amount})"),
        M::Enlarged => "enlarged".into(),
        M::Reduced => "reduced".into(),
        M::Enfeebled => "enfeebled".into(),
        M::MirrorImage { images } => format!("mirror-image({images})"),
        M::Blink => "blink".into(),
        M::Ethereal => "ethereal".into(),
        M::Sanctuary { dc } => format!("sanctuary(DC {dc})"),
        M::TurnedAway { from } => format!("turned-away(from #{})", from.0),
        M::Silenced => "silenced".into(),
        M::Warded { types, charm } => {
            format!("warded({types:#04x}{})", if charm { ", charm" } else { "" })
        }
        M::AttackBonus { amount } => format!("attack+{amount}"),
        M::Cursed => "cursed".into(),
        M::Commanded { order } => format!("commanded({order:?})").to_lowercase(),
        M::DisadvantageAgainst { who } => format!("disadvantage-against(#{})", who.0),
        M::ImmuneDamage { damage_type } => format!("immune-{damage_type}"),
        M::Burst {
            count,
            sides,
            damage_type,
        } => format!("burst({count}d{sides} {damage_type})"),
        M::Reveal => "reveal".into(),
        M::MaxHpReduced { amount } => format!("max-hp-{amount}"),
        M::Hampered => "hampered".into(),
        M::CheckDisadvantage { ability } => {
            format!("check-disadvantage({ability:?})").to_lowercase()
        }
        M::SkillAdvantage { skill } => format!("skill-advantage({skill:?})").to_lowercase(),
        M::Sealed => "sealed".into(),
        M::Polymorphed => "polymorphed".into(),
        M::Flying => "flying".into(),
        M::Shell => "antilife-shell".into(),
        M::SpellWard { max_level } => format!("spell-ward(<={max_level})"),
    }
}

fn join<T: std::fmt::Display>(it: impl IntoIterator<Item = T>) -> String {
    it.into_iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// A character sheet on one line (creation, import).
pub fn sheet(c: &Creature) -> String {
    let mut s = String::new();
    let a = &c.abilities;
    if let Some(pc) = &c.pc {
        let race = pc.subrace.as_deref().unwrap_or(&pc.race);
        write!(s, "{} {} L{} ", race, pc.class, pc.level).unwrap();
    }
    write!(
        s,
        "STR {} DEX {} CON {} INT {} WIS {} CHA {} | HP {}/{} AC {} speed {} prof +{}",
        a.str,
        a.dex,
        a.con,
        a.int,
        a.wis,
        a.cha,
        c.hp,
        c.max_hp,
        c.armor_class,
        c.speed,
        c.proficiency_bonus
    )
    .unwrap();
    if let Some(pc) = &c.pc {
        write!(
            s,
            " | HD {}x d{} | attacks/action {}",
            c.hit_dice.total, c.hit_dice.die, pc.attacks_per_action
        )
        .unwrap();
    }
    if !c.save_proficiencies.is_empty() {
        write!(
            s,
            " | saves {}",
            join(c.save_proficiencies.iter().map(|a| a.code()))
        )
        .unwrap();
    }
    if !c.skill_proficiencies.is_empty() {
        let sk: Vec<String> = c
            .skill_proficiencies
            .iter()
            .map(|(k, p)| format!("{}({:?})", k.index(), p))
            .collect();
        write!(s, " | skills {}", sk.join(",")).unwrap();
    }
    for atk in &c.attacks {
        let dmg: Vec<String> = atk
            .damage
            .iter()
            .map(|d| format!("{} {}", d.dice, d.damage_type))
            .collect();
        write!(
            s,
            " | {} {} {:?} {}",
            atk.name,
            signed(atk.to_hit),
            atk.reach,
            dmg.join(" + ")
        )
        .unwrap();
    }
    if let Some(m) = &c.multiattack {
        let parts: Vec<String> = m.iter().map(|(n, k)| format!("{k}x {n}")).collect();
        write!(s, " | multiattack {}", parts.join(", ")).unwrap();
    }
    if let Some(sc) = &c.spellcasting {
        let slots: Vec<String> = sc
            .max_slots
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| format!("L{}x{}", i + 1, n))
            .collect();
        write!(
            s,
            " | casting {} DC {} atk {} slots [{}] spells {}",
            sc.ability.code(),
            c.spell_save_dc().unwrap_or(0),
            signed(c.spell_attack_bonus().unwrap_or(0)),
            slots.join(" "),
            sc.spells.join(",")
        )
        .unwrap();
    }
    if let Some(pc) = c.pc.as_ref().filter(|p| !p.spellbook.is_empty()) {
        write!(s, " | book {}", pc.spellbook.join(",")).unwrap();
    }
    if !c.resistances.is_empty() {
        write!(s, " | resist {}", join(&c.resistances)).unwrap();
    }
    if !c.vulnerabilities.is_empty() {
        write!(s, " | vulnerable {}", join(&c.vulnerabilities)).unwrap();
    }
    if !c.immunities.is_empty() {
        write!(s, " | immune {}", join(&c.immunities)).unwrap();
    }
    if !c.condition_immunities.is_empty() {
        write!(s, " | cond-immune {}", join(&c.condition_immunities)).unwrap();
    }
    if c.pc.is_some() && !c.inventory.is_empty() {
        let inv: Vec<String> = c
            .inventory
            .iter()
            .map(|i| format!("{}x{}", i.name, i.quantity))
            .collect();
        write!(s, " | inv {}", inv.join(", ")).unwrap();
    }
    s
}

/// One event on one line, naming creatures as they are in `state` (the state before
/// the event is applied).
pub fn render_event(state: &CampaignState, e: &Event) -> String {
    use EventKind::*;
    let n = |id: CreatureId| name(state, id);
    let body = match &e.kind {
        CampaignStarted { name, gm, settings } => format!(
            "CampaignStarted \"{name}\" gm={gm} timeout={}ms warning={}ms",
            settings.turn_timeout_ms, settings.turn_warning_ms
        ),
        CampaignEnded => "CampaignEnded".into(),
        SettingsChanged { settings } => format!(
            "SettingsChanged timeout={}ms warning={}ms",
            settings.turn_timeout_ms, settings.turn_warning_ms
        ),
        PlayerJoined { player, name } => format!("PlayerJoined {player} as \"{name}\""),
        CharacterCreated { creature } => format!(
            "CharacterCreated {} {} ({}) {}",
            creature.id,
            creature.name,
            creature.owner().map_or("-".into(), |p| p.to_string()),
            sheet(creature)
        ),
        CharacterRetired { creature } => format!("CharacterRetired {}", n(*creature)),
        FeatureUsed {
            creature,
            feature,
            note,
            ..
        } => format!("FeatureUsed {} {feature} {note}", n(*creature)),
        SpellsPrepared { creature, spells } => {
            format!("SpellsPrepared {} [{}]", n(*creature), spells.join(","))
        }
        LeveledUp {
            creature,
            level,
            hp_gained,
            asi,
            learned,
        } => format!(
            "LeveledUp {} to L{level} hp+{hp_gained}{}{} | {}",
            creature.name,
            if asi.is_empty() {
                String::new()
            } else {
                format!(" asi {}", join(asi.iter().map(|a| a.code())))
            },
            if learned.is_empty() {
                String::new()
            } else {
                format!(" learned {}", learned.join(","))
            },
            sheet(creature)
        ),
        MonstersAppeared { creatures } => {
            let parts: Vec<String> = creatures
                .iter()
                .map(|c| {
                    let mut s = format!(
                        "{} {} ({}) HP {} AC {} DEX {}",
                        c.id,
                        c.name,
                        c.monster.as_deref().unwrap_or("?"),
                        c.hp,
                        c.armor_class,
                        c.abilities.dex
                    );
                    for (label, set) in [
                        ("resist", &c.resistances),
                        ("vulnerable", &c.vulnerabilities),
                        ("immune", &c.immunities),
                    ] {
                        if !set.is_empty() {
                            write!(s, " {label} {}", join(set)).unwrap();
                        }
                    }
                    s
                })
                .collect();
            format!("MonstersAppeared {}", parts.join("; "))
        }
        DiceRolled {
            player,
            roll,
            secret,
        } => format!(
            "DiceRolled {player}{} {} = {} ({}){}",
            if *secret { " (secret)" } else { "" },
            roll.expr,
            roll.total,
            roll.breakdown,
            match roll.crit {
                dicebard_engine::dice::Crit::None => "",
                dicebard_engine::dice::Crit::Success => " CRIT",
                dicebard_engine::dice::Crit::Failure => " FUMBLE",
            }
        ),
        ActionDeclared {
            creature,
            player,
            text,
        } => format!(
            "ActionDeclared {} ({player}): {text}",
            creature.map_or("-".into(), n)
        ),
        CheckRolled {
            creature,
            check,
            advantage,
            d20,
            kept,
            modifier,
            total,
            dc,
            success,
        } => {
            let what = match check {
                dicebard_engine::event::CheckKind::Skill(s) => s.name().to_string(),
                dicebard_engine::event::CheckKind::Ability(a) => a.name().to_string(),
            };
            format!(
                "CheckRolled {} {what}{}: d20 [{}] kept {kept} {} = {total}{}",
                n(*creature),
                adv(*advantage),
                d20s(d20),
                signed(*modifier),
                dc.map_or(String::new(), |dc| format!(
                    " vs DC {dc} → {}",
                    if success == &Some(true) {
                        "success"
                    } else {
                        "failure"
                    }
                ))
            )
        }
        SaveRolled {
            creature,
            ability,
            advantage,
            d20,
            kept,
            modifier,
            bonus_dice,
            total,
            dc,
            success,
            auto_fail,
        } => format!(
            "SaveRolled {} {} save{}: {}{} = {total}{}",
            n(*creature),
            ability.code(),
            adv(*advantage),
            if *auto_fail {
                "AUTO-FAIL".to_string()
            } else {
                format!("d20 [{}] kept {kept} {}", d20s(d20), signed(*modifier))
            },
            if *bonus_dice != 0 {
                format!(" +bless {bonus_dice}")
            } else {
                String::new()
            },
            dc.map_or(String::new(), |dc| format!(
                " vs DC {dc} → {}",
                if success == &Some(true) {
                    "success"
                } else {
                    "failure"
                }
            ))
        ),
        AttackRolled {
            attacker,
            target,
            with,
            advantage,
            d20,
            kept,
            bonus,
            bonus_dice,
            total,
            target_ac,
            outcome,
            ..
        } => format!(
            "AttackRolled {} → {} with {with}{}: d20 [{}] kept {kept} {}{} = {total} vs AC {target_ac} → {:?}",
            n(*attacker),
            n(*target),
            adv(*advantage),
            d20s(d20),
            signed(*bonus),
            if *bonus_dice != 0 {
                format!(" +bless {bonus_dice}")
            } else {
                String::new()
            },
            outcome
        ),
        DamageDealt {
            target,
            source,
            damage_type,
            breakdown,
            rolled,
            modifier,
            amount,
        } => format!(
            "DamageDealt {} ← {}: {breakdown} → rolled {rolled} {damage_type}{} → {amount} damage",
            n(*target),
            source.map_or("-".into(), n),
            match modifier {
                dicebard_engine::event::DamageModifier::None => String::new(),
                m => format!(" ({m:?})"),
            }
        ),
        HealingReceived {
            target,
            source,
            breakdown,
            amount,
        } => format!(
            "HealingReceived {} ← {}: {breakdown} → {amount} HP",
            n(*target),
            source.map_or("-".into(), n)
        ),
        TempHpGained { target, amount } => format!("TempHpGained {} {amount}", n(*target)),
        HitPointsSet { target, hp } => format!("HitPointsSet {} = {hp}", n(*target)),
        FellUnconscious { creature } => format!("FellUnconscious {}", n(*creature)),
        Died { creature } => format!("Died {}", n(*creature)),
        DeathSaveRolled {
            creature,
            roll,
            successes,
            failures,
        } => format!(
            "DeathSaveRolled {} d20 {roll} → {successes} successes, {failures} failures",
            n(*creature)
        ),
        DeathSaveFailedByDamage { creature, failures } => format!(
            "DeathSaveFailedByDamage {} → {failures} failures",
            n(*creature)
        ),
        Stabilised { creature } => format!("Stabilised {}", n(*creature)),
        Revived { creature } => format!("Revived {}", n(*creature)),
        RaisedFromDead { creature } => format!("RaisedFromDead {}", n(*creature)),
        WildShape { creature, beast } => format!(
            "WildShape {} {}",
            n(*creature),
            beast.as_deref().unwrap_or("(own form)")
        ),
        ConditionApplied {
            creature,
            condition,
            source,
        } => format!(
            "ConditionApplied {} {condition}{}",
            n(*creature),
            source.map_or(String::new(), |s| format!(" (by {})", n(s)))
        ),
        ConditionRemoved {
            creature,
            condition,
        } => format!("ConditionRemoved {} {condition}", n(*creature)),
        ExhaustionChanged { creature, level } => {
            format!("ExhaustionChanged {} → {level}", n(*creature))
        }
        SpellCast {
            caster,
            spell: _,
            name,
            slot,
            cost,
            targets,
            again,
        } => format!(
            "SpellCast {} {name} ({}, {:?}) → [{}]",
            n(*caster),
            if *again {
                "again".into()
            } else {
                slot.map_or("cantrip".into(), |l| format!("slot {l}"))
            },
            cost,
            names(state, targets)
        ),
        ConcentrationStarted { creature, spell } => {
            format!("ConcentrationStarted {} {spell}", n(*creature))
        }
        ConcentrationEnded { creature, spell } => {
            format!("ConcentrationEnded {} {spell}", n(*creature))
        }
        EffectStarted {
            creature,
            effect: x,
        } => {
            format!("EffectStarted {} {}", n(*creature), effect(state, x))
        }
        EffectEnded {
            creature,
            effect: x,
        } => {
            format!("EffectEnded {} {}", n(*creature), effect(state, x))
        }
        ItemUsed { creature, item } => format!("ItemUsed {} {item}", n(*creature)),
        LimitedActionUsed { creature, action } => {
            format!("LimitedActionUsed {} {action}", n(*creature))
        }
        SpecialAction {
            creature,
            action,
            target,
            note,
        } => format!(
            "SpecialAction {} {action}{}: {note}",
            n(*creature),
            target.map_or(String::new(), |t| format!(" → {}", n(t)))
        ),
        LegendaryActionUsed {
            creature,
            action,
            cost,
        } => format!(
            "LegendaryActionUsed {} {action} (cost {cost})",
            n(*creature)
        ),
        RechargeRolled {
            creature,
            action,
            d6,
            min,
            recharged,
        } => format!(
            "RechargeRolled {} {action}: d6 {d6} (needs {min}) → {}",
            n(*creature),
            if *recharged { "recharged" } else { "not yet" }
        ),
        Dodged { creature } => format!("Dodged {}", n(*creature)),
        Moved {
            creature,
            to,
            moves,
        } => format!(
            "Moved {} → {} ({moves} move{})",
            n(*creature),
            match to {
                dicebard_engine::event::Place::Engaged { with } =>
                    format!("engaged with {}", n(*with)),
                dicebard_engine::event::Place::Near => "near".into(),
                dicebard_engine::event::Place::Far => "far".into(),
            },
            if *moves == 1 { "" } else { "s" }
        ),
        Dashed { creature } => format!("Dashed {}", n(*creature)),
        Disengaged { creature } => format!("Disengaged {}", n(*creature)),
        Helped { creature, target } => format!("Helped {} against {}", n(*creature), n(*target)),
        BreakFreeAttempted { creature, freed } => format!(
            "BreakFreeAttempted {} → {}",
            n(*creature),
            if *freed { "free" } else { "still held" }
        ),
        HideAttempted { creature, hidden } => format!(
            "HideAttempted {} → {}",
            n(*creature),
            if *hidden { "hidden" } else { "seen" }
        ),
        Readied { creature, text } => format!("Readied {}: {text}", n(*creature)),
        OpportunityOffered { opportunity: o } => format!(
            "OpportunityOffered {} may strike {} as they leave",
            n(o.foe),
            n(o.mover)
        ),
        OpportunityPassed { creature } => format!("OpportunityPassed {}", n(*creature)),
        LegendaryTurn { creature, ended } => format!(
            "LegendaryTurn {} (after {}'s turn)",
            n(*creature),
            n(*ended)
        ),
        LegendaryTurnEnded { creature } => format!("LegendaryTurnEnded {}", n(*creature)),
        ReactionOffered { window } if window.cast.is_some() => {
            let p = window.cast.as_ref().expect("checked");
            format!(
                "ReactionOffered {} {:?} until {} (pending cast: {}'s {} at level {} on [{}])",
                n(window.reactor),
                window.reaction,
                window.deadline.0,
                n(p.caster),
                p.name,
                p.level,
                p.targets.join(", ")
            )
        }
        ReactionOffered { window } => {
            format!(
                "ReactionOffered {} {:?} until {} (pending: {} → {} with {} = {}; then [{}])",
                n(window.reactor),
                window.reaction,
                window.deadline.0,
                n(window.pending.attacker),
                n(window.pending.target),
                window.pending.attack,
                window.pending.total,
                window
                    .pending
                    .rest
                    .iter()
                    .map(|(a, t)| format!("{a} → {}", n(*t)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ) + &match &window.pending.then {
                dicebard_engine::event::AfterHit::Turn => String::new(),
                dicebard_engine::event::AfterHit::Opportunity { opportunity: o } => format!(
                    " after it: {} leaves for {:?} ({} moves), then [{}]",
                    n(o.mover),
                    o.to,
                    o.moves,
                    o.rest.iter().map(|c| n(*c)).collect::<Vec<_>>().join(", ")
                ),
                dicebard_engine::event::AfterHit::Swallow => " after it: swallowed on a hit".into(),
                dicebard_engine::event::AfterHit::Spell { spell: s } => format!(
                    " after it: {} strike {} of [{}] (level {})",
                    s.spell,
                    s.strike + 1,
                    s.targets
                        .iter()
                        .map(|c| n(*c))
                        .collect::<Vec<_>>()
                        .join(", "),
                    s.level
                ),
            }
        }
        ReactionResolved {
            reactor,
            reaction,
            used,
            timed_out,
        } => format!(
            "ReactionResolved {} {reaction:?} {}",
            n(*reactor),
            if *used {
                "used"
            } else if *timed_out {
                "timed out"
            } else {
                "skipped"
            }
        ),
        OpportunityAttack { creature, target } => {
            format!("OpportunityAttack {} → {}", n(*creature), n(*target))
        }
        Rested {
            creature,
            kind,
            hit_dice_spent,
            hp_regained,
        } => format!(
            "Rested {} {kind:?}: {hit_dice_spent} hit dice, +{hp_regained} HP",
            n(*creature)
        ),
        InitiativeRolled {
            creature,
            d20,
            modifier,
            total,
        } => format!(
            "InitiativeRolled {} d20 {d20} {} = {total}",
            n(*creature),
            signed(*modifier)
        ),
        CombatStarted { order } => format!(
            "CombatStarted order: {}",
            order
                .iter()
                .map(|o| format!("{} {} (dex {})", n(o.creature), o.total, o.dex))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        CombatantsJoined { entries } => format!(
            "CombatantsJoined {}",
            entries
                .iter()
                .map(|o| format!("{} {} (dex {})", n(o.creature), o.total, o.dex))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        TurnStarted {
            creature,
            round,
            deadline,
        } => format!(
            "TurnStarted round {round}: {}{}",
            n(*creature),
            deadline.map_or(String::new(), |d| format!(" (deadline {})", d.0))
        ),
        TurnWarning { creature, deadline } => {
            format!("TurnWarning {} (deadline {})", n(*creature), deadline.0)
        }
        TurnTimedOut { creature } => format!("TurnTimedOut {}", n(*creature)),
        TurnClockResumed { creature, deadline } => format!(
            "TurnClockResumed {} (deadline {})",
            n(*creature),
            deadline.0
        ),
        TurnEnded { creature } => format!("TurnEnded {}", n(*creature)),
        CombatEnded { outcome } => format!("CombatEnded {outcome:?}"),
        Whispered { from, to, text } => format!("Whispered {from} → {to}: {text}"),
        NpcIntent { creature, intent } => format!("NpcIntent {}: {intent}", n(*creature)),
        GmGranted { player } => format!("GmGranted {player}"),
        ZonePlaced { zone } => format!(
            "ZonePlaced #{} {} by {} [{}]{}",
            zone.id,
            zone.name,
            n(zone.by),
            zone.inside
                .iter()
                .map(|c| n(*c))
                .collect::<Vec<_>>()
                .join(", "),
            if zone.concentration {
                " (concentration)"
            } else {
                ""
            }
        ),
        ZoneStruck { zone, creature } => format!("ZoneStruck #{zone} {}", n(*creature)),
        ZoneEnded { zone } => format!("ZoneEnded #{zone}"),
        Vanished {
            by,
            spell,
            creatures,
        } => format!(
            "Vanished {spell} of {}: {}",
            n(*by),
            creatures
                .iter()
                .map(|c| n(*c))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        SpellCountered {
            caster,
            by,
            name,
            slot,
            cost,
            ..
        } => format!(
            "SpellCountered {}'s {name} by {} (slot {}, {cost:?})",
            n(*caster),
            n(*by),
            slot.map_or("none".to_string(), |s| s.to_string())
        ),
    };
    match &e.visibility {
        Visibility::Public => body,
        v => format!("[{}] {body}", v.key()),
    }
}

/// The state that matters for review, one line per creature plus the fight.
pub fn render_state(state: &CampaignState) -> String {
    let mut s = String::new();
    for c in state.creatures.values() {
        write!(s, "  {} {}: HP {}/{}", c.id, c.name, c.hp, c.max_hp).unwrap();
        if c.temp_hp > 0 {
            write!(s, " (+{} temp)", c.temp_hp).unwrap();
        }
        write!(s, " AC {}", c.effective_ac()).unwrap();
        if !c.conditions.is_empty() {
            write!(s, " | {}", join(c.conditions.keys())).unwrap();
        }
        if c.exhaustion > 0 {
            write!(s, " | exhaustion {}", c.exhaustion).unwrap();
        }
        if !c.effects.is_empty() {
            let es: Vec<String> = c.effects.iter().map(|e| effect(state, e)).collect();
            write!(s, " | {}", es.join(",")).unwrap();
        }
        if let Some(conc) = &c.concentration {
            write!(s, " | concentrating on {conc}").unwrap();
        }
        if let Some(sc) = &c.spellcasting {
            let slots: Vec<String> = (1..=9u8)
                .filter(|l| sc.max_slots[usize::from(*l - 1)] > 0)
                .map(|l| {
                    format!(
                        "L{l} {}/{}",
                        sc.available(l),
                        sc.max_slots[usize::from(l - 1)]
                    )
                })
                .collect();
            if !slots.is_empty() {
                write!(s, " | slots {}", slots.join(" ")).unwrap();
            }
        }
        if c.pc.is_some() {
            write!(s, " | HD {}/{}", c.hit_dice.remaining, c.hit_dice.total).unwrap();
            let potions = c.item_count("Potion of Healing");
            if potions != 2 {
                write!(s, " | potions {potions}").unwrap();
            }
        }
        let ds = c.death_saves;
        if ds.successes > 0 || ds.failures > 0 || ds.stable {
            write!(
                s,
                " | death saves {}✓ {}✗{}",
                ds.successes,
                ds.failures,
                if ds.stable { " stable" } else { "" }
            )
            .unwrap();
        }
        if c.dead {
            s.push_str(" | DEAD");
        }
        s.push('\n');
    }
    match &state.combat {
        Some(cb) => writeln!(
            s,
            "  combat: round {}, active {}, order [{}]",
            cb.round,
            cb.active_creature()
                .map_or("-".into(), |id| name(state, id)),
            cb.order
                .iter()
                .map(|o| name(state, o.creature))
                .collect::<Vec<_>>()
                .join(", ")
        )
        .unwrap(),
        None if state.waiting_zones.is_empty() => s.push_str("  no combat\n"),
        None => {
            let zones: Vec<String> = state
                .waiting_zones
                .iter()
                .map(|z| {
                    let inside: Vec<String> = z.inside.iter().map(|a| name(state, *a)).collect();
                    format!("#{} {} [{}]", z.id, z.name, inside.join(", "))
                })
                .collect();
            writeln!(
                s,
                "  no combat; zones waiting for a fight: {}",
                zones.join("; ")
            )
            .unwrap();
        }
    }
    s
}

// ---------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------

/// A party member: a player and the character they create.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub player: String,
    pub spec: CharacterSpec,
    #[serde(default)]
    pub dice: Vec<u32>,
}

/// What a creature must look like after a step (only the fields given are checked).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatureCheck {
    pub hp: Option<i32>,
    pub max_hp: Option<i32>,
    pub temp_hp: Option<i32>,
    pub ac: Option<i32>,
    /// Exactly these conditions (names as in the SRD).
    pub conditions: Option<Vec<String>>,
    pub exhaustion: Option<u8>,
    pub dead: Option<bool>,
    pub stable: Option<bool>,
    /// [successes, failures]
    pub death_saves: Option<[u8; 2]>,
    /// Slots left for levels 1, 2, 3, ... (as many as given).
    pub slots_left: Option<Vec<u8>>,
    /// The spell concentrated on; "" for none.
    pub concentration: Option<String>,
    /// Exactly these effects ("dodging", "shielded", "blessed").
    pub effects: Option<Vec<String>>,
    pub hit_dice_left: Option<u32>,
    pub items: Option<BTreeMap<String, u32>>,
}

/// What the fight must look like after a step.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CombatCheck {
    pub in_combat: Option<bool>,
    pub round: Option<u32>,
    pub active: Option<String>,
    pub next_deadline: Option<u64>,
    /// `next_deadline` must be `None`.
    #[serde(default)]
    pub no_deadline: bool,
}

/// One command of a scenario.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Who sends it: a player id, or "system". Defaults to the GM.
    pub by: Option<String>,
    /// The action (the engine's serde form of [`Action`]).
    #[serde(rename = "do")]
    pub action: Option<Action>,
    /// Instead of `do`: the active NPC acts as `choose_npc_option` decides.
    #[serde(default)]
    pub npc_auto: bool,
    /// Instead of `do`: apply this event directly (for effects no command produces
    /// yet, such as temporary hit points).
    pub inject: Option<EventKind>,
    /// Scripted die results for this command, in order.
    #[serde(default)]
    pub dice: Vec<u32>,
    /// Result once the script runs out (default 10).
    pub fallback: Option<u32>,
    /// Use seeded dice instead of a script.
    pub seed: Option<u64>,
    /// Absolute time of the command in ms (default: previous + 1000).
    pub at: Option<u64>,
    /// The command must be refused with a message containing this.
    pub expect_error: Option<String>,
    /// Substrings that must appear in the step's rendered output.
    #[serde(default)]
    pub expect: Vec<String>,
    /// Substrings that must not appear.
    #[serde(default)]
    pub expect_not: Vec<String>,
    #[serde(default)]
    pub check: BTreeMap<String, CreatureCheck>,
    pub combat: Option<CombatCheck>,
    /// Print the state after this step.
    #[serde(default)]
    pub show: bool,
    /// Print `npc_options` for the state after this step.
    #[serde(default)]
    pub show_options: bool,
    /// Print the fight's positions (who is engaged with whom, who is far) and the
    /// active creature's moves left after this step.
    #[serde(default)]
    pub show_positions: bool,
    /// Allow scripted dice to be left over.
    #[serde(default)]
    pub leftover_ok: bool,
    /// A note for the reader, printed in the snapshot.
    pub note: Option<String>,
}

/// A scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub title: String,
    #[serde(default)]
    pub notes: Vec<String>,
    /// The GM's player id (default "gm").
    pub gm: Option<String>,
    /// Settings for the campaign (default settings if absent).
    pub settings: Option<Settings>,
    /// Don't start a campaign first.
    #[serde(default)]
    pub no_campaign: bool,
    #[serde(default)]
    pub party: Vec<Member>,
    /// Monsters for a fight started after the party is made.
    #[serde(default)]
    pub foes: Vec<MonsterGroup>,
    /// Initiative d20s for that fight (in order: party, then foes).
    #[serde(default)]
    pub initiative: Vec<u32>,
    pub steps: Vec<Step>,
    /// Print the state at the end (default true).
    pub final_state: Option<bool>,
}

/// Runs a scenario and returns its rendering, checking every invariant on the way.
pub fn run_scenario(file: &str, sc: Scenario) -> String {
    let gm = sc.gm.clone().unwrap_or_else(|| "gm".into());
    let mut steps: Vec<Step> = Vec::new();
    let blank = |by: &str, action: Action| Step {
        by: Some(by.to_string()),
        action: Some(action),
        npc_auto: false,
        inject: None,
        dice: vec![],
        fallback: None,
        seed: None,
        at: None,
        expect_error: None,
        expect: vec![],
        expect_not: vec![],
        check: BTreeMap::new(),
        combat: None,
        show: false,
        show_options: false,
        show_positions: false,
        leftover_ok: false,
        note: None,
    };
    if !sc.no_campaign {
        steps.push(blank(
            &gm,
            Action::StartCampaign {
                name: sc.title.clone(),
                settings: sc.settings.unwrap_or_default(),
            },
        ));
    }
    for m in sc.party {
        let mut s = blank(&m.player, Action::CreateCharacter { spec: m.spec });
        s.dice = m.dice;
        steps.push(s);
    }
    if !sc.foes.is_empty() {
        let mut s = blank(
            &gm,
            Action::StartCombat {
                monsters: sc.foes.clone(),
            },
        );
        s.dice = sc.initiative.clone();
        steps.push(s);
    }
    steps.extend(sc.steps);

    let mut out = String::new();
    writeln!(out, "# {}", sc.title).unwrap();
    for n in &sc.notes {
        writeln!(out, "# {n}").unwrap();
    }
    let mut state = new_state();
    let mut log: Vec<Event> = Vec::new();
    let mut now = 0u64;
    let mut last_deadline = None;
    for (i, step) in steps.into_iter().enumerate() {
        let i = i + 1;
        now = step.at.unwrap_or(if i == 1 { 0 } else { now + 1000 });
        let by = step.by.clone().unwrap_or_else(|| gm.clone());
        if let Some(kind) = step.inject.clone() {
            let e = Event::public(Timestamp(now), kind);
            writeln!(
                out,
                "\n## {i}. injected @{now}\n   {}",
                render_event(&state, &e)
            )
            .unwrap();
            dicebard_engine::apply(&mut state, &e);
            log.push(e);
            for (who, want) in &step.check {
                check_creature(file, i, &state, who, want);
            }
            continue;
        }
        let mut header = String::new();
        let action = if step.npc_auto {
            let opts = npc_options(&state);
            let choice = choose_npc_option(&state, &opts);
            writeln!(
                header,
                "   npc options: {}",
                opts.iter().map(npc_option).collect::<Vec<_>>().join(" | ")
            )
            .unwrap();
            writeln!(header, "   policy chose: {}", npc_option(&choice)).unwrap();
            Action::NpcAct {
                option: choice,
                intent: None,
            }
        } else {
            step.action
                .clone()
                .unwrap_or_else(|| panic!("{file} step {i}: no `do` and no `npc_auto`"))
        };
        let cmd = if by == "system" {
            Command::system(action.clone())
        } else {
            Command::player(by.clone(), action.clone())
        };
        let action_json = serde_json::to_value(&action).unwrap();
        writeln!(
            out,
            "\n## {i}. {by} @{now}: {}",
            compact_action(&action_json)
        )
        .unwrap();
        if let Some(n) = &step.note {
            writeln!(out, "   ({n})").unwrap();
        }
        out.push_str(&header);

        let before = state.clone();
        let before_json = serde_json::to_string(&state).unwrap();
        let (result, dice_log, leftover) = match step.seed {
            Some(seed) => {
                let d = LoggingDice::new(SeededDice::new(seed));
                let mut d1 = d.clone();
                let mut d2 = d;
                let r1 = decide(&state, cmd.clone(), &mut d1, Timestamp(now));
                let r2 = decide(&state, cmd.clone(), &mut d2, Timestamp(now));
                assert_eq!(r1, r2, "{file} step {i}: decide is not deterministic");
                (r1, d1.log, 0)
            }
            None => {
                let d =
                    ScriptedDice::new(step.dice.clone()).with_fallback(step.fallback.unwrap_or(10));
                let mut d1 = d.clone();
                let mut d2 = d;
                let r1 = decide(&state, cmd.clone(), &mut d1, Timestamp(now));
                let r2 = decide(&state, cmd.clone(), &mut d2, Timestamp(now));
                assert_eq!(r1, r2, "{file} step {i}: decide is not deterministic");
                let rem = d1.remaining();
                (r1, d1.log.clone(), rem)
            }
        };
        assert!(
            state == before && serde_json::to_string(&state).unwrap() == before_json,
            "{file} step {i}: decide mutated the state"
        );
        let mut rendered = String::new();
        if !dice_log.is_empty() {
            let ds: Vec<String> = dice_log.iter().map(|(s, v)| format!("d{s}={v}")).collect();
            writeln!(rendered, "   dice: {}", ds.join(" ")).unwrap();
        }
        match result {
            Ok(events) => {
                if let Some(want) = &step.expect_error {
                    panic!(
                        "{file} step {i}: expected refusal containing {want:?}, got events:\n{rendered}{}",
                        events
                            .iter()
                            .map(|e| render_event(&state, e))
                            .collect::<Vec<_>>()
                            .join("\n")
                    );
                }
                assert!(
                    leftover == 0 || step.leftover_ok,
                    "{file} step {i}: {leftover} scripted dice were never rolled (rolled: {dice_log:?})"
                );
                if events.is_empty() {
                    rendered.push_str("   (no events)\n");
                }
                for e in &events {
                    assert_eq!(
                        e.at,
                        Timestamp(now.max(before.clock.0)),
                        "{file} step {i}: event time"
                    );
                    assert_eq!(e.v, dicebard_engine::EVENT_VERSION);
                    let json = serde_json::to_string(e).unwrap();
                    let back: Event = serde_json::from_str(&json).unwrap_or_else(|err| {
                        panic!("{file} step {i}: event does not parse back: {err}\n{json}")
                    });
                    assert_eq!(&back, e, "{file} step {i}: event JSON round trip");
                    writeln!(rendered, "   {}", render_event(&state, e)).unwrap();
                    dicebard_engine::apply(&mut state, e);
                }
                log.extend(events);
            }
            Err(err) => {
                let msg = err.to_string();
                writeln!(rendered, "   REFUSED: {msg}").unwrap();
                match &step.expect_error {
                    Some(want) => assert!(
                        msg.contains(want.as_str()),
                        "{file} step {i}: refusal {msg:?} does not contain {want:?}"
                    ),
                    None => panic!("{file} step {i}: unexpectedly refused: {msg}\n{out}{rendered}"),
                }
            }
        }
        if step.show_positions {
            rendered.push_str(&render_positions(&state));
        }
        let rendered_all = format!("{header}{rendered}");
        for want in &step.expect {
            assert!(
                rendered_all.contains(want.as_str()),
                "{file} step {i}: output lacks {want:?}:\n{rendered}"
            );
        }
        for bad in &step.expect_not {
            assert!(
                !rendered.contains(bad.as_str()),
                "{file} step {i}: output has {bad:?}:\n{rendered}"
            );
        }
        out.push_str(&rendered);
        let nd = next_deadline(&state).map(|t| t.0);
        if nd != last_deadline {
            writeln!(
                out,
                "   next_deadline: {}",
                nd.map_or("none".into(), |t| t.to_string())
            )
            .unwrap();
            last_deadline = nd;
        }
        if step.show_options {
            let opts = npc_options(&state);
            writeln!(
                out,
                "   npc options: {}",
                opts.iter().map(npc_option).collect::<Vec<_>>().join(" | ")
            )
            .unwrap();
        }
        if step.show {
            out.push_str(&render_state(&state));
        }
        for (who, want) in &step.check {
            check_creature(file, i, &state, who, want);
        }
        if let Some(cc) = &step.combat {
            check_combat(file, i, &state, cc);
        }
    }
    if sc.final_state.unwrap_or(true) {
        out.push_str("\n## final state\n");
        out.push_str(&render_state(&state));
    }

    // The log rebuilds the state, from the events and from their JSON.
    let replayed = replay(catalog(), &log);
    assert!(
        replayed == state,
        "{file}: replay differs from the step-by-step state"
    );
    let json: Vec<String> = log
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    let parsed: Vec<Event> = json
        .iter()
        .map(|j| serde_json::from_str(j).unwrap())
        .collect();
    assert!(
        replay(catalog(), &parsed) == state,
        "{file}: replay from JSON differs"
    );
    // The state itself round-trips (the catalog is not part of it).
    let sj = serde_json::to_string(&state).unwrap();
    let back: CampaignState = serde_json::from_str(&sj).unwrap();
    assert!(back == state, "{file}: state JSON round trip");
    out
}

/// The fight's positions: engaged pairs, far creatures, the active one's moves left.
pub fn render_positions(state: &CampaignState) -> String {
    let Some(c) = state.combat.as_ref() else {
        return "   positions: no fight\n".into();
    };
    let pairs: Vec<String> = c
        .engaged
        .iter()
        .map(|(a, b)| format!("{}–{}", name(state, *a), name(state, *b)))
        .collect();
    let far: Vec<String> = c.far.iter().map(|a| name(state, *a)).collect();
    let moves = c.active_creature().map_or(0, |a| {
        dicebard_engine::rules::position::moves_left(state, a)
    });
    let zones: String = c
        .zones
        .iter()
        .map(|z| {
            format!(
                "; zone #{} {} [{}]",
                z.id,
                z.name,
                z.inside
                    .iter()
                    .map(|a| name(state, *a))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect();
    format!(
        "   positions: engaged [{}] far [{}]; moves left {moves}{zones}\n",
        pairs.join(", "),
        far.join(", ")
    )
}

fn npc_option(o: &NpcOption) -> String {
    match o {
        NpcOption::Multiattack { target, targets } if targets.is_empty() => {
            format!("multiattack {target}")
        }
        NpcOption::Multiattack { target, targets } => {
            format!("multiattack {target} split [{}]", targets.join(", "))
        }
        NpcOption::Attack { attack, target } => format!("{attack} → {target}"),
        NpcOption::Cast {
            spell,
            targets,
            slot,
        } => format!(
            "cast {spell}{}{}",
            if targets.is_empty() {
                String::new()
            } else {
                format!(" → {}", targets.join(", "))
            },
            slot.map_or(String::new(), |s| format!(" (slot {s})"))
        ),
        NpcOption::Legendary { action, target } if target.is_empty() => {
            format!("legendary {action}")
        }
        NpcOption::Legendary { action, target } => format!("legendary {action} → {target}"),
        NpcOption::Special {
            action,
            target: Some(t),
        } => format!("{action} → {t}"),
        NpcOption::Special {
            action,
            target: None,
        } => action.clone(),
        NpcOption::OpportunityAttack { target } => format!("opportunity attack → {target}"),
        NpcOption::Dodge => "dodge".into(),
        NpcOption::BreakFree => "break free".into(),
        NpcOption::Disengage => "disengage".into(),
        NpcOption::Withdraw { attack, target } => format!("withdraw, {attack} → {target}"),
        NpcOption::Pass => "pass".into(),
    }
}

fn compact_action(v: &serde_json::Value) -> String {
    let mut v = v.clone();
    let ty = v
        .get("type")
        .and_then(|t| t.as_str())
        .unwrap_or("?")
        .to_string();
    if let Some(o) = v.as_object_mut() {
        o.remove("type");
        o.retain(|_, x| !x.is_null());
        if o.is_empty() {
            return ty;
        }
    }
    format!("{ty} {v}")
}

fn creature_named<'a>(state: &'a CampaignState, who: &str) -> &'a Creature {
    state
        .creatures
        .values()
        .find(|c| c.name == who)
        .unwrap_or_else(|| panic!("no creature named {who}"))
}

fn check_creature(file: &str, step: usize, state: &CampaignState, who: &str, w: &CreatureCheck) {
    let c = creature_named(state, who);
    let ctx = format!("{file} step {step}: {who}");
    if let Some(v) = w.hp {
        assert_eq!(c.hp, v, "{ctx}: hp");
    }
    if let Some(v) = w.max_hp {
        assert_eq!(c.max_hp, v, "{ctx}: max_hp");
    }
    if let Some(v) = w.temp_hp {
        assert_eq!(c.temp_hp, v, "{ctx}: temp_hp");
    }
    if let Some(v) = w.ac {
        assert_eq!(c.effective_ac(), v, "{ctx}: effective AC");
    }
    if let Some(v) = &w.conditions {
        let got: Vec<String> = c.conditions.keys().map(|k| k.to_string()).collect();
        let mut want = v.clone();
        want.sort();
        assert_eq!(got, want, "{ctx}: conditions");
    }
    if let Some(v) = w.exhaustion {
        assert_eq!(c.exhaustion, v, "{ctx}: exhaustion");
    }
    if let Some(v) = w.dead {
        assert_eq!(c.dead, v, "{ctx}: dead");
    }
    if let Some(v) = w.stable {
        assert_eq!(c.death_saves.stable, v, "{ctx}: stable");
    }
    if let Some([s, f]) = w.death_saves {
        assert_eq!(
            (c.death_saves.successes, c.death_saves.failures),
            (s, f),
            "{ctx}: death saves"
        );
    }
    if let Some(v) = &w.slots_left {
        let sc = c.spellcasting.as_ref().expect("a caster");
        let got: Vec<u8> = (1..=v.len() as u8).map(|l| sc.available(l)).collect();
        assert_eq!(&got, v, "{ctx}: slots left");
    }
    if let Some(v) = &w.concentration {
        assert_eq!(
            c.concentration.clone().unwrap_or_default(),
            *v,
            "{ctx}: concentration"
        );
    }
    if let Some(v) = &w.effects {
        let got: Vec<String> = c
            .effects
            .iter()
            .map(|e| match e {
                Effect::Dodging => "dodging".to_string(),
                Effect::Shielded => "shielded".to_string(),
                Effect::Hidden => "hidden".to_string(),
                Effect::Swallowed { taken, .. } => format!("swallowed(dealt {taken})"),
                Effect::Blessed { .. } => "blessed".to_string(),
                Effect::Aided { amount, .. } => format!("aided(+{amount})"),
                Effect::Spell(a) => mark_name(&a.mark),
            })
            .collect();
        assert_eq!(&got, v, "{ctx}: effects");
    }
    if let Some(v) = w.hit_dice_left {
        assert_eq!(c.hit_dice.remaining, v, "{ctx}: hit dice left");
    }
    if let Some(items) = &w.items {
        for (item, n) in items {
            assert_eq!(c.item_count(item), *n, "{ctx}: {item}");
        }
    }
}

fn check_combat(file: &str, step: usize, state: &CampaignState, w: &CombatCheck) {
    let ctx = format!("{file} step {step}: combat");
    if let Some(v) = w.in_combat {
        assert_eq!(state.in_combat(), v, "{ctx}: in combat");
    }
    if let Some(v) = w.round {
        assert_eq!(
            state.combat.as_ref().map(|c| c.round),
            Some(v),
            "{ctx}: round"
        );
    }
    if let Some(v) = &w.active {
        assert_eq!(
            state.active_creature().map(|c| c.name.as_str()),
            Some(v.as_str()),
            "{ctx}: active"
        );
    }
    if let Some(v) = w.next_deadline {
        assert_eq!(
            next_deadline(state).map(|t| t.0),
            Some(v),
            "{ctx}: next_deadline"
        );
    }
    if w.no_deadline {
        assert_eq!(next_deadline(state), None, "{ctx}: next_deadline");
    }
}

/// Loads and runs `tests/scenarios/<name>.json`.
pub fn run_file(name: &str) -> String {
    let path = format!("{}/tests/scenarios/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let sc: Scenario =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} does not parse: {e}"));
    run_scenario(name, sc)
}
