//! Every SRD spell, through the engine:
//!
//! * `coverage_report`: prints each spell as automated / partial / narrative (with the
//!   counts) and FAILS if any spell would silently do nothing — no effect entry, an
//!   automated or partial entry with no steps, or a cast (saves failed, attacks hit)
//!   that changes nothing beyond the slot and concentration.
//! * `cast_any_spell_at_any_level`: every spell at every legal slot level on every kind
//!   of target, in and out of a fight, never panics and is either refused with a reason
//!   or emits events; replaying the log gives the same state.
// Tests may read files; clippy.toml's IO ban is for the engine's own code.
#![allow(clippy::disallowed_methods)]

mod common;

use dicebard_engine::character::CharacterSpec;
use dicebard_engine::command::{Action, Command, MonsterGroup};
use dicebard_engine::data::{DamageType, SpellData};
use dicebard_engine::dice::{Dice, SeededDice};
use dicebard_engine::effect::{Coverage, SpellEffect, Step};
use dicebard_engine::event::{Event, EventKind};
use dicebard_engine::ids::Timestamp;
use dicebard_engine::state::{CampaignState, Settings};
use dicebard_engine::{apply, decide, replay};
use std::collections::BTreeMap;

/// A table: Zed (a level-20 wizard who knows every SRD spell, with a full caster's
/// slots), Mira (a cleric, blinded, poisoned, charmed and petrified by the GM so cures
/// have something to cure), Pip (a rogue, dying), a goblin and an ogre in the scene.
/// `in_fight`: a fight is on and it is Zed's turn. Returns the log and the state.
fn table(in_fight: bool) -> (Vec<Event>, CampaignState) {
    let mut s = common::new_state();
    let mut log: Vec<Event> = Vec::new();
    let mut dice = SeededDice::new(7);
    let mut now = 0u64;
    let mut run = |s: &mut CampaignState, log: &mut Vec<Event>, cmd: Command| {
        now += 1_000;
        let events = decide(s, cmd.clone(), &mut dice, Timestamp(now))
            .unwrap_or_else(|e| panic!("setup {cmd:?}: {e}"));
        for e in events {
            apply(s, &e);
            log.push(e);
        }
    };
    run(
        &mut s,
        &mut log,
        Command::player(
            "gm",
            Action::StartCampaign {
                name: "Spells".into(),
                settings: Settings::default(),
            },
        ),
    );
    for (p, n, class, level) in [
        ("alice", "Zed", "wizard", 20u8),
        ("bob", "Mira", "cleric", 20),
        ("carol", "Pip", "rogue", 5),
    ] {
        let mut spec = CharacterSpec::quick(n, class, "human");
        spec.level = level;
        run(
            &mut s,
            &mut log,
            Command::player(p, Action::CreateCharacter { spec }),
        );
    }
    // Zed knows every spell: rewrite his creation event (the log is the truth).
    let all: Vec<String> = common::catalog().spells.keys().cloned().collect();
    for e in &mut log {
        if let EventKind::CharacterCreated { creature } = &mut e.kind
            && creature.name == "Zed"
        {
            let sc = creature.spellcasting.as_mut().expect("a wizard casts");
            sc.spells = all.clone();
        }
    }
    s = replay(common::catalog(), &log);
    run(
        &mut s,
        &mut log,
        Command::player(
            "gm",
            Action::StartCombat {
                monsters: vec![
                    MonsterGroup {
                        monster: "goblin".into(),
                        count: 1,
                    },
                    MonsterGroup {
                        monster: "ogre".into(),
                        count: 1,
                    },
                ],
            },
        ),
    );
    if in_fight {
        // Zed's turn first: rewrite the order and the first turn.
        let zed = s.creatures.values().find(|c| c.name == "Zed").unwrap().id;
        for e in log.iter_mut().rev() {
            match &mut e.kind {
                EventKind::CombatStarted { order } => {
                    let i = order.iter().position(|x| x.creature == zed).unwrap();
                    let z = order.remove(i);
                    order.insert(0, z);
                    break;
                }
                EventKind::TurnStarted { creature, .. } => *creature = zed,
                _ => {}
            }
        }
        // Only the first turn may stand: drop anything after it.
        let first = log
            .iter()
            .position(|e| matches!(e.kind, EventKind::TurnStarted { .. }))
            .unwrap();
        log.truncate(first + 1);
        s = replay(common::catalog(), &log);
        assert_eq!(s.active_creature().map(|c| c.name.as_str()), Some("Zed"));
    } else {
        run(&mut s, &mut log, Command::player("gm", Action::EndCombat));
    }
    for c in ["blinded", "poisoned", "charmed", "petrified"] {
        run(
            &mut s,
            &mut log,
            Command::player(
                "gm",
                Action::SetCondition {
                    target: "Mira".into(),
                    condition: dicebard_engine::condition::Condition::parse(c).unwrap(),
                    on: true,
                },
            ),
        );
    }
    run(
        &mut s,
        &mut log,
        Command::player(
            "gm",
            Action::Damage {
                target: "Pip".into(),
                dice: "40".into(),
                damage_type: DamageType::Fire,
            },
        ),
    );
    (log, s)
}

fn has_step(steps: &[Step], f: &dyn Fn(&Step) -> bool) -> bool {
    steps.iter().any(|s| {
        f(s) || match s {
            Step::Attack {
                on_hit, on_miss, ..
            } => has_step(on_hit, f) || has_step(on_miss, f),
            Step::Save { on_fail, .. } => has_step(on_fail, f),
            Step::IfHpAtMost { then, .. }
            | Step::IfType { then, .. }
            | Step::EndsOn { then, .. }
            | Step::Detached { then }
            | Step::BreakFree { then } => has_step(then, f),
            Step::Choose { options } => options.values().any(|then| has_step(then, f)),
            _ => false,
        }
    })
}

/// Dice that hit (a 20 on attack rolls) or fail saves (a 1), and roll every other die
/// high.
struct Rigged {
    d20: u32,
}
impl Dice for Rigged {
    fn roll(&mut self, sides: u32) -> u32 {
        if sides == 20 { self.d20 } else { sides.max(1) }
    }
}

/// Events that only record the casting.
fn bookkeeping(k: &EventKind) -> bool {
    matches!(
        k,
        EventKind::SpellCast { .. }
            | EventKind::ConcentrationStarted { .. }
            | EventKind::ConcentrationEnded { .. }
            | EventKind::DiceRolled { .. }
    )
}

#[test]
fn coverage_report() {
    let cat = common::catalog();
    let (_, base) = table(false);
    let (_, fight) = table(true);
    let mut by: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut nothing: Vec<String> = Vec::new();
    for (idx, spell) in &cat.spells {
        let Some(effect) = &spell.effect else {
            nothing.push(format!("{idx}: no effect entry"));
            continue;
        };
        if effect.does_nothing() {
            nothing.push(format!("{idx}: {:?} with no steps", effect.coverage));
            continue;
        }
        let kind = match effect.coverage {
            Coverage::Automated => "automated",
            Coverage::Partial => "partial",
            Coverage::Narrative if effect.note.starts_with("Utility") => "narrative (utility)",
            Coverage::Narrative => "narrative (outside the model: GM adjudicates)",
        };
        by.entry(kind).or_default().push(idx);
        if effect.coverage == Coverage::Partial && effect.note.is_empty() {
            nothing.push(format!("{idx}: partial without a note"));
        }
        if effect.coverage != Coverage::Narrative
            && let Err(why) = casting_changes_something(&base, spell, effect)
                .or_else(|_| casting_changes_something(&fight, spell, effect))
        {
            nothing.push(format!("{idx}: {why}"));
        }
    }
    // The narrative lists name only real spells, once.
    for list in [
        dicebard_srd::effects::UTILITY,
        dicebard_srd::effects::OUT_OF_MODEL,
    ] {
        for n in list {
            if !cat.spells.contains_key(*n) {
                nothing.push(format!("{n}: in a narrative list but not an SRD spell"));
            }
        }
    }
    for n in dicebard_srd::effects::UTILITY {
        if dicebard_srd::effects::OUT_OF_MODEL.contains(n) {
            nothing.push(format!("{n}: in both narrative lists"));
        }
    }
    // The same report `dicebard srd coverage` prints.
    let report = dicebard_srd::effects::coverage_report(&cat);
    println!("{report}");
    assert!(!report.contains("does nothing"), "{report}");
    assert!(
        nothing.is_empty(),
        "{} spells would silently do nothing:\n{}",
        nothing.len(),
        nothing.join("\n")
    );
    let automated = by.get("automated").map_or(0, Vec::len);
    let partial = by.get("partial").map_or(0, Vec::len);
    assert_eq!(
        automated
            + partial
            + by.iter()
                .filter(|(k, _)| k.starts_with("narrative"))
                .map(|(_, v)| v.len())
                .sum::<usize>(),
        cat.spells.len()
    );
}

/// Casts the spell at its own level on the likeliest target with rigged dice and
/// checks that something beyond the casting itself happened.
fn casting_changes_something(
    base: &CampaignState,
    spell: &SpellData,
    effect: &SpellEffect,
) -> Result<(), String> {
    // Dispel Magic ends what is on its target (nothing on this table; scenario
    // spell_primitives shows it ending an aura).
    if has_step(&effect.steps, &|s| matches!(s, Step::Dispel)) {
        return Ok(());
    }
    // Counterspell is cast through the reaction window (scenario counterspell).
    if has_step(&effect.steps, &|s| matches!(s, Step::Counter)) {
        return Ok(());
    }
    // Revivify needs a creature that has just died (scenario revivify).
    if has_step(&effect.steps, &|s| matches!(s, Step::Revive)) {
        return Ok(());
    }
    let target = if has_step(&effect.steps, &|s| matches!(s, Step::Stabilize)) {
        "Pip"
    } else if effect.hostile {
        "goblin"
    } else if effect.target == dicebard_engine::effect::Target::SelfOnly {
        "Zed"
    } else {
        "Mira"
    };
    let attack = has_step(&effect.steps, &|s| matches!(s, Step::Attack { .. }));
    let mut dice = Rigged {
        d20: if attack { 20 } else { 1 },
    };
    // A spell with a choice (Protection from Energy's type): its first word.
    // (Command's word sits under its 'not undead' test.)
    let mut targets = vec![target.to_string()];
    let mut words = Vec::new();
    dicebard_engine::rules::spells::choice_words(&effect.steps, &mut words);
    targets.extend(words.first().cloned());
    // A summons: its first word, or the first SRD creature of its type it allows.
    if let Some(Step::Summon {
        types,
        by_cr,
        named,
        ..
    }) = effect
        .steps
        .iter()
        .find(|s| matches!(s, Step::Summon { .. }))
    {
        let limit = by_cr
            .iter()
            .map(|(cr, _)| f64::from(*cr) / 8.0)
            .fold(0.0, f64::max);
        targets.extend(named.keys().next().cloned().or_else(|| {
            base.catalog
                .monsters
                .values()
                .find(|m| {
                    types
                        .iter()
                        .any(|t| m.kind.to_ascii_lowercase().starts_with(t.as_str()))
                        && m.challenge_rating <= limit
                })
                .map(|m| m.name.clone())
        }));
    }
    // A shape: the first SRD creature of its type within a level-1 target's reach.
    if let Some(Step::Shape { types, except, .. }) = effect
        .steps
        .iter()
        .find(|s| matches!(s, Step::Shape { .. }))
    {
        targets.extend(
            base.catalog
                .monsters
                .values()
                .find(|m| {
                    let k = m.kind.to_ascii_lowercase();
                    (types.is_empty() || types.iter().any(|t| k.starts_with(t.as_str())) != *except)
                        && m.challenge_rating <= 0.125
                        && !base
                            .creatures
                            .values()
                            .any(|c| c.monster.as_deref() == Some(m.index.as_str()))
                })
                .map(|m| m.name.clone()),
        );
    }
    let cmd = Command::player(
        "alice",
        Action::Cast {
            spell: spell.index.clone(),
            targets,
            slot: None,
        },
    );
    let events = decide(base, cmd, &mut dice, Timestamp(1_000_000))
        .map_err(|e| format!("refused on {target}: {e}"))?;
    if events.iter().all(|e| bookkeeping(&e.kind)) {
        return Err(format!("cast on {target} changed nothing"));
    }
    Ok(())
}

#[test]
fn cast_any_spell_at_any_level() {
    let cat = common::catalog();
    let targets: [&[&str]; 7] = [
        &[],
        &["Zed"],
        &["Mira"],
        &["goblin"],
        &["goblin", "ogre"],
        &["Mira", "goblin", "Pip"],
        &["nobody"],
    ];
    let (mut ok, mut refused) = (0u32, 0u32);
    for in_fight in [false, true] {
        let (log, base) = table(in_fight);
        for (i, (idx, spell)) in cat.spells.iter().enumerate() {
            let slots: Vec<Option<u8>> = if spell.level == 0 {
                vec![None]
            } else {
                (spell.level..=9).map(Some).chain([None]).collect()
            };
            for slot in slots {
                for (j, t) in targets.iter().enumerate() {
                    let cmd = Command::player(
                        "alice",
                        Action::Cast {
                            spell: idx.clone(),
                            targets: t.iter().map(|x| x.to_string()).collect(),
                            slot,
                        },
                    );
                    let seed = (i as u64) << 16 | u64::from(slot.unwrap_or(0)) << 8 | j as u64;
                    let mut dice = SeededDice::new(seed);
                    match decide(&base, cmd, &mut dice, Timestamp(10_000_000)) {
                        Ok(events) => {
                            ok += 1;
                            assert!(!events.is_empty(), "{idx} {slot:?} {t:?}: no events");
                            let mut s = base.clone();
                            for e in &events {
                                let back: Event =
                                    serde_json::from_str(&serde_json::to_string(e).unwrap())
                                        .unwrap();
                                assert_eq!(&back, e, "{idx}: event round trip");
                                apply(&mut s, e);
                            }
                            let again = replay(cat.clone(), log.iter().chain(events.iter()));
                            assert_eq!(again, s, "{idx} {slot:?} {t:?}: replay differs");
                        }
                        Err(e) => {
                            refused += 1;
                            assert!(
                                !e.to_string().trim().is_empty(),
                                "{idx} {slot:?} {t:?}: refused without a reason"
                            );
                        }
                    }
                }
            }
        }
    }
    println!("casts: {ok} resolved, {refused} refused with a reason");
    assert!(ok > 1_000, "most casts resolve ({ok})");
}

/// Monsters: how many stat-block actions become options the NPC list offers (attacks,
/// save actions such as breath weapons, limited ones while a use is left), how many
/// carry an on-hit rider; printed, not enforced (legendary actions, spellcasting and
/// actions with no damage are not offered yet).
#[test]
fn monster_action_report() {
    use dicebard_engine::creature::Creature;
    use dicebard_engine::ids::CreatureId;
    let cat = common::catalog();
    let (mut actions, mut offered, mut riders, mut limited, mut all_offered) = (0, 0, 0, 0, 0);
    let mut missing: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let (mut legendary_monsters, mut legendary, mut legendary_resolved) = (0, 0, 0);
    for m in cat.monsters.values() {
        let c = Creature::from_monster(m, CreatureId(1), m.name.clone());
        let mut every = true;
        for a in m.actions.iter().filter(|a| a.name != "Multiattack") {
            actions += 1;
            match c.find_attack(&a.name) {
                Some(atk) => {
                    offered += 1;
                    riders += usize::from(atk.rider.is_some());
                    limited += usize::from(atk.usage.is_some());
                }
                // A special action (Swallow, Teleport, Invisibility…).
                None if dicebard_engine::rules::monster_actions::read(&a.name, &a.desc)
                    .is_some() =>
                {
                    offered += 1;
                }
                None => {
                    every = false;
                    missing
                        .entry(m.index.clone())
                        .or_default()
                        .push(a.name.clone());
                }
            }
        }
        all_offered += usize::from(every);
        if !c.legendary.is_empty() {
            legendary_monsters += 1;
            legendary += c.legendary.len();
            legendary_resolved += c.legendary.iter().filter(|l| l.attack.is_some()).count();
        }
    }
    println!(
        "legendary monsters: {legendary_monsters}; legendary actions: {legendary}, \
         {legendary_resolved} resolved as an attack (the rest are narrated)"
    );
    assert!(legendary_monsters >= 30 && legendary_resolved >= 25);
    println!(
        "SRD monsters: {} ({all_offered} with every action offered); actions: {actions}, \
         offered {offered} (limited-use {limited}, with on-hit riders {riders}), not offered {}",
        cat.monsters.len(),
        actions - offered
    );
    for (m, v) in missing.iter().take(15) {
        println!("  not offered: {m}: {}", v.join(", "));
    }
    assert!(offered > 0 && riders > 20 && limited > 20);
    // The coverage report's own count (what `dicebard srd coverage` prints).
    let cov = dicebard_engine::monster_coverage::coverage(&cat);
    print!("{}", dicebard_engine::monster_coverage::report(&cat));
    println!();
    assert_eq!(cov.monsters, 334);
    assert!(
        cov.complete >= 300 && cov.complete <= all_offered,
        "{}",
        cov.complete
    );

    // Spellcasting: every caster's spells are SRD spells the catalog knows; those the
    // engine resolves (not narrative) are offered while a slot or use is left.
    let (mut casters, mut known, mut resolved) = (0, 0, 0);
    let mut unknown = Vec::new();
    for m in cat.monsters.values() {
        let Some(sc) = &m.spellcasting else { continue };
        casters += 1;
        let c = Creature::from_monster(m, CreatureId(1), m.name.clone());
        assert_eq!(
            c.spellcasting.as_ref().map(|s| s.spells.len()),
            Some(sc.spells.len()),
            "{}",
            m.index
        );
        for (i, _) in &sc.spells {
            known += 1;
            match cat.spell(i) {
                Some(s) => {
                    resolved += usize::from(s.effect.as_ref().is_some_and(|e| {
                        e.coverage != dicebard_engine::effect::Coverage::Narrative
                    }))
                }
                None => unknown.push(format!("{}: {i}", m.index)),
            }
        }
    }
    println!(
        "SRD spellcasting monsters: {casters}; their spells: {known}, resolved by the \
         effect interpreter {resolved} (the rest narrated)"
    );
    assert_eq!(casters, 36);
    assert!(
        unknown.is_empty(),
        "monster spells not in the catalog: {unknown:?}"
    );
}

/// A monster that knows helpful spells with a choice (Protection from Energy,
/// Enlarge/Reduce) is offered each choice on itself, and Revivify not at all: every
/// spell option it is offered is one the engine accepts.
#[test]
fn npc_spell_options_with_choices_are_castable() {
    use dicebard_engine::NpcOption;
    let (_, mut s) = table(true);
    let zed = s
        .creatures
        .values()
        .find(|c| c.name == "Zed")
        .unwrap()
        .clone();
    let ogre = s.creatures.values().find(|c| c.name == "Ogre").unwrap().id;
    let mut sc = zed.spellcasting.clone().unwrap();
    sc.spells = vec![
        "protection-from-energy".into(),
        "enlarge-reduce".into(),
        "revivify".into(),
    ];
    s.creatures.get_mut(&ogre).unwrap().spellcasting = Some(sc);
    let combat = s.combat.as_mut().unwrap();
    combat.active = combat
        .order
        .iter()
        .position(|e| e.creature == ogre)
        .unwrap();
    let casts: Vec<NpcOption> = dicebard_engine::npc_options(&s)
        .into_iter()
        .filter(|o| matches!(o, NpcOption::Cast { .. }))
        .collect();
    let named = |spell: &str, word: &str| {
        casts.iter().any(|o| {
            matches!(o, NpcOption::Cast { spell: s, targets, .. }
                if s == spell && targets == &vec![word.to_string()])
        })
    };
    assert!(named("enlarge-reduce", "enlarge"), "{casts:?}");
    assert!(named("enlarge-reduce", "reduce"), "{casts:?}");
    assert!(named("protection-from-energy", "fire"), "{casts:?}");
    assert!(
        !casts
            .iter()
            .any(|o| matches!(o, NpcOption::Cast { spell, .. } if spell == "revivify")),
        "{casts:?}"
    );
    for option in casts {
        let cmd = Command::player(
            "gm",
            Action::NpcAct {
                option: option.clone(),
                intent: None,
            },
        );
        decide(&s, cmd, &mut SeededDice::new(3), Timestamp(10_000_000))
            .unwrap_or_else(|e| panic!("{option:?} refused: {e}"));
    }
}

/// Legendary actions that make no attack are read from their stat-block text: who they
/// catch, the save, the damage (rolled once) and the condition with its duration.
#[test]
fn legendary_saves_are_read_from_the_text() {
    use dicebard_engine::rules::monster_actions::{
        BurstTargets, LegendarySpecial as L, Spares, read_legendary,
    };
    let cat = common::catalog();
    let read = |m: &str, name: &str| {
        let m = cat.monster(m).unwrap();
        let (n, d) = m
            .legendary_actions
            .iter()
            .find(|(n, _)| n.starts_with(name))
            .unwrap();
        read_legendary(n, d).unwrap_or_else(|| panic!("{name} not read"))
    };
    let burst = |l: L| match l {
        L::Burst(b) => b,
        other => panic!("not a burst: {other:?}"),
    };
    let b = burst(read("lich", "Disrupt Life"));
    assert_eq!(
        (b.targets, b.spares, b.dc, b.half),
        (BurstTargets::Near, Spares::Unliving, 18, true)
    );
    assert_eq!(b.damage, vec![("6d6".to_string(), DamageType::Necrotic)]);
    let b = burst(read("lich", "Frightening Gaze"));
    assert_eq!(b.targets, BurstTargets::Gaze);
    let l = b.lasting.unwrap();
    assert_eq!(
        (l.condition, l.duration, l.save_ends),
        (
            dicebard_engine::condition::Condition::Frightened,
            dicebard_engine::effect::Duration::Rounds(10),
            Some(dicebard_engine::ability::Ability::Wis)
        )
    );
    let b = burst(read("mummy-lord", "Blinding Dust"));
    assert_eq!(b.targets, BurstTargets::Engaged);
    assert_eq!(
        b.lasting.unwrap().duration,
        dicebard_engine::effect::Duration::EndOfTargetsNextTurn
    );
    let b = burst(read("mummy-lord", "Blasphemous Word"));
    assert_eq!(
        (b.targets, b.spares),
        (BurstTargets::Engaged, Spares::Undead)
    );
    assert_eq!(
        b.lasting.unwrap().duration,
        dicebard_engine::effect::Duration::EndOfCastersNextTurn
    );
    let b = burst(read("solar", "Searing Burst"));
    assert_eq!(b.damage.len(), 2);
    assert!(b.half && b.lasting.is_none());
    let b = burst(read("solar", "Blinding Gaze"));
    assert_eq!(
        (b.targets, b.lasting.unwrap().duration),
        (BurstTargets::Gaze, dicebard_engine::effect::Duration::Long)
    );
    let b = burst(read("kraken", "Ink Cloud"));
    assert_eq!((b.targets, b.dc, b.half), (BurstTargets::Near, 23, true));
    assert!(matches!(read("aboleth", "Psychic Drain"), L::Drain { .. }));
    assert_eq!(read("unicorn", "Shimmering Shield"), L::Shield);
    assert_eq!(read("mummy-lord", "Channel Negative Energy"), L::NoHealing);
    assert_eq!(read("mummy-lord", "Whirlwind of Sand"), L::Move);
}

/// Swallow reads the size it takes and whether one creature inside is the limit.
#[test]
fn swallow_sizes_and_limits_are_read() {
    use dicebard_engine::rules::monster_actions::{Special, read};
    let cat = common::catalog();
    let inside = |m: &str| {
        let a = cat
            .monster(m)
            .unwrap()
            .actions
            .iter()
            .find(|a| a.name == "Swallow" || a.name == "Engulf")
            .unwrap();
        match read(&a.name, &a.desc) {
            Some(Special::Swallow { inside, .. }) => (inside.max_size, inside.one),
            other => panic!("{m}: {other:?}"),
        }
    };
    assert_eq!(inside("behir"), (2, true));
    assert_eq!(inside("giant-frog"), (1, true));
    assert_eq!(inside("remorhaz"), (2, false));
    assert_eq!(inside("tarrasque"), (3, false));
    assert_eq!(inside("shambling-mound"), (2, true));
}
