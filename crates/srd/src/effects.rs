//! Every SRD spell's entry in the engine's effect language
//! ([`dicebard_engine::effect`]).
//!
//! Three sources, in this order:
//!
//! 1. **Narrative** lists: out-of-combat utility spells ([`UTILITY`]) and spells whose
//!    effect lies outside what the engine models ([`OUT_OF_MODEL`], now empty).
//!    Casting one spends the slot (and starts concentration); the narrator describes it.
//! 2. **Hand-written** entries ([`hand`]) from the spell text: conditions, buffs and
//!    debuffs, riders, beams and rays, hit point pools; first those of
//!    `effects_outside.rs` (summons, shapes, seals, barriers, movers: the spells that
//!    used to be outside the model, with their theatre-of-the-mind rulings).
//! 3. **Generated** from the data ([`dicebard_engine::effect::generate`]): damage by
//!    attack or save with its scaling, healing; with the per-level increases the text
//!    gives where the data lists only the base level, and partial notes / lingering
//!    damage for the spells whose text does more.
//!
//! A spell in none of them gets no entry (`None`), which the coverage test reports as
//! "does nothing" and fails on.

use dicebard_engine::ability::Ability::{self, *};
use dicebard_engine::condition::Condition::{self, *};
use dicebard_engine::data::{DamageType, DamageType::*, Reach, SaveEffect, SpellData};
use dicebard_engine::effect::{
    Again, Amount, Coverage, Duration, Duration::*, EndsOn, Mark, Repeat, Spare, SpellEffect, Step,
    Target, ZoneSpec, ZoneTriggers, generate,
};
use dicebard_engine::event::ActionCost;

/// Utility spells with no effect the engine tracks: the slot is spent and the narrator
/// describes the rest.
pub const UTILITY: &[&str] = &[
    "alarm",
    "alter-self",
    "animal-friendship",
    "animal-messenger",
    "arcane-eye",
    "arcane-lock",
    "arcanists-magic-aura",
    "astral-projection",
    "augury",
    "awaken",
    "clairvoyance",
    "clone",
    "commune",
    "commune-with-nature",
    "comprehend-languages",
    "contact-other-plane",
    "contingency",
    "continual-flame",
    "control-weather",
    "create-food-and-water",
    "create-or-destroy-water",
    "creation",
    "dancing-lights",
    "darkvision",
    "daylight",
    "demiplane",
    "detect-evil-and-good",
    "detect-magic",
    "detect-poison-and-disease",
    "detect-thoughts",
    "disguise-self",
    "divination",
    "dream",
    "druidcraft",
    "enhance-ability",
    "expeditious-retreat",
    "fabricate",
    "feather-fall",
    "find-the-path",
    "find-traps",
    "floating-disk",
    "forbiddance",
    "gentle-repose",
    "geas",
    "glibness",
    "goodberry",
    "guards-and-wards",
    "guidance",
    "hallow",
    "hallucinatory-terrain",
    "heroes-feast",
    "identify",
    "illusory-script",
    "instant-summons",
    "jump",
    "knock",
    "legend-lore",
    "light",
    "locate-animals-or-plants",
    "locate-creature",
    "locate-object",
    "mage-hand",
    "magic-mouth",
    "magnificent-mansion",
    "meld-into-stone",
    "mending",
    "message",
    "mind-blank",
    "minor-illusion",
    "mirage-arcane",
    "modify-memory",
    "nondetection",
    "pass-without-trace",
    "passwall",
    "phantom-steed",
    "prestidigitation",
    "private-sanctum",
    "programmed-illusion",
    "purify-food-and-drink",
    "raise-dead",
    "reincarnate",
    "remove-curse",
    "resurrection",
    "rope-trick",
    "scrying",
    "secret-chest",
    "see-invisibility",
    "seeming",
    "sending",
    "sequester",
    "simulacrum",
    "speak-with-animals",
    "speak-with-dead",
    "speak-with-plants",
    "spider-climb",
    "stone-shape",
    "suggestion",
    "telepathic-bond",
    "teleportation-circle",
    "thaumaturgy",
    "tiny-hut",
    "tongues",
    "transport-via-plants",
    "tree-stride",
    "true-resurrection",
    "true-seeing",
    "unseen-servant",
    "water-breathing",
    "water-walk",
    "wind-walk",
    "word-of-recall",
    "zone-of-truth",
    "find-familiar",
    "find-steed",
    "mass-suggestion",
    "wish",
    "etherealness",
    "gate",
    "plane-shift",
    "teleport",
    "symbol",
    "glyph-of-warding",
    "magic-jar",
    "project-image",
    "major-image",
    "silent-image",
    "mislead",
    "antipathy-sympathy",
    "imprisonment",
    "earthquake",
    "move-earth",
    "control-water",
    "dimension-door",
    "planar-ally",
    "planar-binding",
    "create-undead",
    "animate-dead",
    "shillelagh",
];

/// Spells that matter in a fight but act through things the engine does not model:
/// the GM adjudicates them. Empty since the summons, shapes, seals, barriers and movers
/// got their theatre-of-the-mind entries (`effects_outside.rs`); kept for the
/// coverage report's category.
pub const OUT_OF_MODEL: &[&str] = &[];

const UTILITY_NOTE: &str = "Utility: the slot is spent and the narrator describes it.";
const OUT_OF_MODEL_NOTE: &str = "Outside the engine's model (positions, summons, \
    teleports, shape changes or reactions to spells): the slot is spent and the GM \
    adjudicates the effect.";

/// The entry for one spell, or `None` when no source covers it.
pub fn for_spell(s: &SpellData) -> Option<SpellEffect> {
    let idx = s.index.as_str();
    if UTILITY.contains(&idx) {
        return Some(SpellEffect::narrative(UTILITY_NOTE));
    }
    if OUT_OF_MODEL.contains(&idx) {
        return Some(SpellEffect::narrative(OUT_OF_MODEL_NOTE));
    }
    if let Some(e) = hand(s) {
        return Some(e);
    }
    let mut e = generate(s);
    if e.does_nothing() {
        return None;
    }
    tune_generated(s, &mut e);
    Some(e)
}

// ---------------------------------------------------------------------------------------
// Builders

fn amt(d: &str) -> Amount {
    Amount::fixed(d)
}
fn up(d: &str, per: &str) -> Amount {
    Amount::scaling(d, per)
}
fn dmg(a: Amount, t: DamageType) -> Step {
    Step::Damage {
        amount: a,
        damage_type: t,
        half: false,
    }
}
fn mark(m: Mark, d: Duration) -> Step {
    Step::Apply {
        mark: m,
        duration: d,
        save_ends: None,
    }
}
fn cond(c: Condition, d: Duration) -> Step {
    mark(Mark::Condition { condition: c }, d)
}
fn cond_save_ends(c: Condition, d: Duration, a: Ability) -> Step {
    Step::Apply {
        mark: Mark::Condition { condition: c },
        duration: d,
        save_ends: Some(a),
    }
}
fn save_ends(m: Mark, d: Duration, a: Ability) -> Step {
    Step::Apply {
        mark: m,
        duration: d,
        save_ends: Some(a),
    }
}
fn save(a: Ability, steps: Vec<Step>) -> Step {
    Step::Save {
        ability: a,
        half: false,
        on_fail: steps,
    }
}
fn save_half(a: Ability, steps: Vec<Step>) -> Step {
    Step::Save {
        ability: a,
        half: true,
        on_fail: steps,
    }
}
fn attack(r: Reach, on_hit: Vec<Step>) -> Step {
    Step::Attack {
        reach: r,
        on_hit,
        on_miss: vec![],
    }
}
fn one() -> Target {
    Target::Creatures {
        max: 1,
        per_slot_above: 0,
    }
}
fn n(max: u8, per_slot_above: u8) -> Target {
    Target::Creatures {
        max,
        per_slot_above,
    }
}
const MINUTE: Duration = Rounds(10);

fn auto(target: Target, hostile: bool, steps: Vec<Step>) -> SpellEffect {
    SpellEffect {
        coverage: Coverage::Automated,
        note: String::new(),
        target,
        hostile,
        repeat: Repeat::Once,
        steps,
        again: None,
        zone: None,
    }
}
/// A zone that strikes whoever starts a turn in it or enters it (see
/// `dicebard_engine::effect::Zone`).
fn zone(e: SpellEffect, steps: Vec<Step>, duration: Duration) -> SpellEffect {
    SpellEffect {
        zone: Some(Box::new(ZoneSpec {
            steps,
            when: ZoneTriggers {
                turn_start: true,
                enter: true,
                ..ZoneTriggers::default()
            },
            duration,
        })),
        ..e
    }
}
/// A zone whose steps last while a creature is inside it (Darkness's blindness).
fn while_inside(e: SpellEffect, steps: Vec<Step>) -> SpellEffect {
    SpellEffect {
        zone: Some(Box::new(ZoneSpec {
            steps,
            when: ZoneTriggers {
                enter: true,
                each_move: true,
                while_inside: true,
                ..ZoneTriggers::default()
            },
            duration: Long,
        })),
        ..e
    }
}
/// A lasting spell's part its caster can use again on later turns (no slot).
fn with_again(
    e: SpellEffect,
    cost: ActionCost,
    target: Target,
    steps: Vec<Step>,
    duration: Duration,
) -> SpellEffect {
    SpellEffect {
        again: Some(Box::new(Again {
            cost,
            target,
            hostile: true,
            steps,
            duration,
        })),
        ..e
    }
}
/// An automated entry with a note on the rulings it makes.
fn auto_note(note: &str, target: Target, hostile: bool, steps: Vec<Step>) -> SpellEffect {
    SpellEffect {
        note: note.into(),
        ..auto(target, hostile, steps)
    }
}
fn part(note: &str, target: Target, hostile: bool, steps: Vec<Step>) -> SpellEffect {
    SpellEffect {
        coverage: Coverage::Partial,
        note: note.into(),
        ..auto(target, hostile, steps)
    }
}

/// The spell's own damage from the data, with its scaling (cantrip or slot).
fn data_damage(s: &SpellData) -> Option<Step> {
    let t = s.damage_type?;
    let mut a = Amount {
        dice: s
            .damage_at_slot_level
            .values()
            .next()
            .or(s.damage_at_character_level.values().next())?
            .clone(),
        by_slot: s.damage_at_slot_level.clone(),
        by_character_level: s.damage_at_character_level.clone(),
        per_slot_above: None,
    };
    a.per_slot_above = per_level_increase(&s.index).map(str::to_string);
    Some(dmg(a, t))
}

/// Per-slot increases the text gives where the data lists only the base level.
fn per_level_increase(index: &str) -> Option<&'static str> {
    Some(match index {
        "disintegrate" => "3d6",
        "freezing-sphere" => "1d6",
        "phantasmal-killer" => "1d10",
        "wall-of-fire" => "1d8",
        "flaming-sphere" => "1d6",
        "heat-metal" => "1d8",
        "call-lightning" => "1d10",
        "acid-arrow" => "1d4",
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------
// Hand-written entries

fn hand(s: &SpellData) -> Option<SpellEffect> {
    use Mark as M;
    let dd = data_damage(s);
    let slot_heal = || Amount {
        dice: s
            .heal_at_slot_level
            .values()
            .next()
            .cloned()
            .unwrap_or_default(),
        by_slot: s.heal_at_slot_level.clone(),
        ..Amount::default()
    };
    // The spells that were outside the model (seals, movers, summons, shapes).
    if let Some(e) = crate::effects_outside::outside(s) {
        return Some(e);
    }
    let area = Target::Area;
    Some(match s.index.as_str() {
        // Strikes: darts, beams, rays.
        "magic-missile" => SpellEffect {
            target: Target::Spread,
            repeat: Repeat::BySlot {
                base: 3,
                per_slot_above: 1,
            },
            ..auto(one(), true, vec![dmg(amt("1d4+1"), Force)])
        },
        "eldritch-blast" => SpellEffect {
            target: Target::Spread,
            repeat: Repeat::ByCharacterLevel {
                counts: [(1, 1), (5, 2), (11, 3), (17, 4)].into(),
            },
            ..auto(
                one(),
                true,
                vec![attack(Reach::Ranged, vec![dmg(amt("1d10"), Force)])],
            )
        },
        "scorching-ray" => SpellEffect {
            target: Target::Spread,
            repeat: Repeat::BySlot {
                base: 3,
                per_slot_above: 1,
            },
            ..auto(
                one(),
                true,
                vec![attack(Reach::Ranged, vec![dmg(amt("2d6"), Fire)])],
            )
        },
        // Attack riders.
        "guiding-bolt" => auto(
            one(),
            true,
            vec![attack(
                Reach::Ranged,
                vec![
                    dd.clone()?,
                    mark(M::NextAttackedWithAdvantage, EndOfCastersNextTurn),
                ],
            )],
        ),
        "ray-of-frost" => auto(
            one(),
            true,
            vec![attack(
                Reach::Ranged,
                vec![
                    dd.clone()?,
                    mark(M::Speed { delta: -10 }, StartOfCastersNextTurn),
                ],
            )],
        ),
        // An undead it hits attacks the caster with disadvantage until the end of the
        // caster's next turn (the mark names the caster when it is put).
        "chill-touch" => auto(
            one(),
            true,
            vec![attack(
                Reach::Ranged,
                vec![
                    dd.clone()?,
                    mark(M::NoHealing, StartOfCastersNextTurn),
                    Step::IfType {
                        types: vec!["undead".into()],
                        except: false,
                        then: vec![mark(
                            M::DisadvantageAgainst {
                                who: dicebard_engine::ids::CreatureId(0),
                            },
                            EndOfCastersNextTurn,
                        )],
                    },
                ],
            )],
        ),
        "shocking-grasp" => part(
            "Advantage against a target in metal armour is not applied.",
            one(),
            true,
            vec![attack(
                Reach::Melee,
                vec![dd.clone()?, mark(M::NoReactions, StartOfTargetsNextTurn)],
            )],
        ),
        "vicious-mockery" => auto(
            one(),
            true,
            vec![save(
                Wis,
                vec![
                    dd.clone()?,
                    mark(M::NextAttackDisadvantage, EndOfTargetsNextTurn),
                ],
            )],
        ),
        // The later acid comes at the end of the target's next turn.
        "acid-arrow" => auto(
            one(),
            true,
            vec![Step::Attack {
                reach: Reach::Ranged,
                on_hit: vec![
                    dd.clone()?,
                    Step::Later {
                        amount: up("2d4", "1d4"),
                        damage_type: Acid,
                    },
                ],
                on_miss: vec![Step::Damage {
                    amount: up("4d4", "1d4"),
                    damage_type: Acid,
                    half: true,
                }],
            }],
        ),
        "true-strike" => auto(
            one(),
            true,
            vec![mark(M::NextAttackedWithAdvantage, EndOfCastersNextTurn)],
        ),
        "contagion" => part(
            "The disease itself (after three failed saves) is narrated; the target is \
             poisoned meanwhile.",
            one(),
            true,
            vec![attack(Reach::Melee, vec![cond(Poisoned, Long)])],
        ),
        // Weapon riders and marks.
        "divine-favor" => auto(
            Target::SelfOnly,
            false,
            vec![mark(
                M::WeaponRider {
                    count: 1,
                    sides: 4,
                    damage_type: Radiant,
                    once: false,
                },
                MINUTE,
            )],
        ),
        // The next weapon hit: 2d6 radiant (1d6 more a slot above); an invisible
        // target it hits becomes visible and can't turn invisible while the spell lasts.
        "branding-smite" => auto(
            Target::SelfOnly,
            false,
            vec![
                Step::WeaponRider {
                    amount: up("2d6", "1d6"),
                    damage_type: Radiant,
                    once: true,
                    duration: MINUTE,
                },
                mark(M::Reveal, MINUTE),
            ],
        ),
        "hex" => {
            let curse = vec![mark(
                M::BonusDamage {
                    count: 1,
                    sides: 6,
                    damage_type: Some(Necrotic),
                },
                Long,
            )];
            with_again(
                part(
                    "Moving the curse is casting it again (a bonus action, no slot), allowed \
                     at any time rather than only when the target drops; the disadvantage on \
                     one ability's checks is narrated.",
                    one(),
                    true,
                    curse.clone(),
                ),
                ActionCost::BonusAction,
                one(),
                curse,
                Long,
            )
        }
        // The hunter's advantage on finding its quarry: its Perception and Survival
        // checks have advantage while the mark lasts (the engine's checks name no
        // quarry).
        "hunters-mark" => {
            let quarry = vec![
                mark(
                    M::BonusDamage {
                        count: 1,
                        sides: 6,
                        damage_type: None,
                    },
                    Long,
                ),
                Step::Caster {
                    then: [
                        dicebard_engine::ability::Skill::Perception,
                        dicebard_engine::ability::Skill::Survival,
                    ]
                    .into_iter()
                    .map(|skill| mark(M::SkillAdvantage { skill }, Long))
                    .collect(),
                },
            ];
            with_again(
                auto_note(
                    "Moving the mark is casting it again (a bonus action, no slot), allowed \
                     once the marked creature has dropped to 0 hit points. The hunter's \
                     Perception and Survival checks have advantage while it lasts (the \
                     checks name no quarry).",
                    one(),
                    true,
                    quarry.clone(),
                ),
                ActionCost::BonusAction,
                one(),
                quarry,
                Long,
            )
        }
        "bestow-curse" => part(
            "The extra-damage curse (1d8 necrotic from the caster's attacks); the other \
             curses are narrated.",
            one(),
            true,
            vec![save(
                Wis,
                vec![mark(
                    M::BonusDamage {
                        count: 1,
                        sides: 8,
                        damage_type: Some(Necrotic),
                    },
                    MINUTE,
                )],
            )],
        ),
        // Buffs.
        "bless" => auto(
            n(3, 1),
            false,
            vec![mark(
                M::RollDie {
                    sides: 4,
                    attacks: true,
                    saves: true,
                },
                MINUTE,
            )],
        ),
        "resistance" => auto(
            one(),
            false,
            vec![Step::EndsOn {
                on: EndsOn::Save,
                then: vec![mark(
                    M::RollDie {
                        sides: 4,
                        attacks: false,
                        saves: true,
                    },
                    MINUTE,
                )],
            }],
        ),
        "shield" => auto(
            Target::SelfOnly,
            false,
            vec![
                mark(M::AcBonus { amount: 5 }, StartOfCastersNextTurn),
                mark(M::MagicMissileWard, StartOfCastersNextTurn),
            ],
        ),
        "misty-step" => auto(Target::SelfOnly, false, vec![Step::Teleport]),
        "dispel-magic" => part(
            "Every spell mark on the target ends (the ability check against spells of 4th \
             level or higher is the GM's); dispelling an area or an object is narrated.",
            one(),
            false,
            vec![Step::Dispel],
        ),
        "death-ward" => auto(one(), false, vec![mark(M::DeathWard, Long)]),
        "shield-of-faith" => auto(one(), false, vec![mark(M::AcBonus { amount: 2 }, Long)]),
        "mage-armor" => auto(
            one(),
            false,
            vec![mark(
                M::AcAtLeast {
                    base: 13,
                    dex: true,
                },
                Long,
            )],
        ),
        "barkskin" => auto(
            one(),
            false,
            vec![mark(
                M::AcAtLeast {
                    base: 16,
                    dex: false,
                },
                Long,
            )],
        ),
        "stoneskin" => part(
            "Resistance to all bludgeoning, piercing and slashing (magic weapons too).",
            one(),
            false,
            [Bludgeoning, Piercing, Slashing]
                .into_iter()
                .map(|t| mark(M::Resist { damage_type: t }, Long))
                .collect(),
        ),
        "fire-shield" => part(
            "The warm shield (cold resistance); the chill shield and the retaliation \
             damage are narrated.",
            Target::SelfOnly,
            false,
            vec![mark(M::Resist { damage_type: Cold }, Long)],
        ),
        "blur" => auto(
            Target::SelfOnly,
            false,
            vec![mark(M::AttackedWithDisadvantage, MINUTE)],
        ),
        "greater-invisibility" => auto(one(), false, vec![cond(Invisible, MINUTE)]),
        "invisibility" => auto(
            n(1, 1),
            false,
            vec![Step::EndsOn {
                on: EndsOn::AttackOrCast,
                then: vec![cond(Invisible, Long)],
            }],
        ),
        "longstrider" => auto(n(1, 1), false, vec![mark(M::Speed { delta: 10 }, Long)]),
        "haste" => part(
            "The extra action is one more weapon attack with the Attack action; when the \
             spell ends the target is lethargic (its next turn is spent: it can't move \
             or act). Using the extra action to Dash, Disengage, Hide or Use an Object is \
             not offered yet (the turn budget has one action).",
            one(),
            false,
            vec![
                mark(M::Hasted, MINUTE),
                mark(M::AcBonus { amount: 2 }, MINUTE),
                mark(M::SaveAdvantage { ability: Some(Dex) }, MINUTE),
                mark(M::SpeedDoubled, MINUTE),
            ],
        ),
        // The weapon is its wielder's: every weapon attack of the target gets the
        // bonus while it lasts.
        "magic-weapon" => auto(
            one(),
            false,
            vec![Step::WeaponBonus {
                amount: Amount {
                    dice: "1".into(),
                    by_slot: [(2, "1".into()), (4, "2".into()), (6, "3".into())].into(),
                    ..Amount::default()
                },
                duration: Long,
            }],
        ),
        // The type is a word among the cast's targets: `cast protection-from-energy
        // on Thorin, fire`.
        "protection-from-energy" => auto(
            one(),
            false,
            vec![Step::Choose {
                options: [Acid, Cold, Fire, Lightning, Thunder]
                    .into_iter()
                    .map(|t| {
                        (
                            t.to_string(),
                            vec![mark(M::Resist { damage_type: t }, Long)],
                        )
                    })
                    .collect(),
            }],
        ),
        // `enlarge` or `reduce` among the targets; Reduce allows a Constitution save
        // (a willing target may fail it).
        "enlarge-reduce" => auto(
            one(),
            false,
            vec![Step::Choose {
                options: [
                    ("enlarge".to_string(), vec![mark(M::Enlarged, MINUTE)]),
                    (
                        "reduce".to_string(),
                        vec![save(Con, vec![mark(M::Reduced, MINUTE)])],
                    ),
                ]
                .into(),
            }],
        ),
        // Creatures that can't see or rely on blindsight are not fooled: not modelled
        // (every attacker rolls for the duplicates).
        "mirror-image" => auto(
            Target::SelfOnly,
            false,
            vec![mark(M::MirrorImage { images: 3 }, MINUTE)],
        ),
        // Where the creature reappears (within 10 feet) is narrated: it comes back where
        // it was.
        "blink" => auto(Target::SelfOnly, false, vec![mark(M::Blink, MINUTE)]),
        // Area spells don't target: they are not warded against (as the text says).
        "sanctuary" => auto(
            one(),
            false,
            vec![Step::EndsOn {
                on: EndsOn::AttackOrHarm,
                then: vec![mark(M::Sanctuary { dc: 0 }, MINUTE)],
            }],
        ),
        // The diamonds are narrated; a death from old age can't be undone (not
        // modelled: every death counts).
        "revivify" => auto(one(), false, vec![Step::Revive]),
        "ray-of-enfeeblement" => auto(
            one(),
            true,
            vec![attack(
                Reach::Ranged,
                vec![save_ends(M::Enfeebled, MINUTE, Con)],
            )],
        ),
        "heroism" => auto(
            n(1, 1),
            false,
            vec![
                Step::Cure {
                    conditions: vec![Frightened],
                    all: true,
                },
                mark(
                    M::ImmuneTo {
                        condition: Frightened,
                    },
                    MINUTE,
                ),
                Step::TurnTempHp {
                    amount: amt("MOD"),
                    duration: MINUTE,
                },
            ],
        ),
        "freedom-of-movement" => auto(
            one(),
            false,
            vec![
                Step::Cure {
                    conditions: vec![Paralyzed, Restrained, Grappled],
                    all: true,
                },
                mark(
                    M::ImmuneTo {
                        condition: Paralyzed,
                    },
                    Long,
                ),
                mark(
                    M::ImmuneTo {
                        condition: Restrained,
                    },
                    Long,
                ),
            ],
        ),
        "beacon-of-hope" => auto_note(
            "Advantage on Wisdom saves and death saves; any healing the creatures regain \
             is the most its dice can give (no dice rolled).",
            Target::Area,
            false,
            vec![
                mark(M::SaveAdvantage { ability: Some(Wis) }, MINUTE),
                mark(M::Hopeful, MINUTE),
            ],
        ),
        "holy-aura" => part(
            "Blinding fiends and undead that hit is narrated.",
            Target::Area,
            false,
            vec![
                mark(M::SaveAdvantage { ability: None }, MINUTE),
                mark(M::AttackedWithDisadvantage, MINUTE),
            ],
        ),
        "foresight" => part(
            "The target's own advantage on attacks and checks is narrated.",
            one(),
            false,
            vec![
                mark(M::SaveAdvantage { ability: None }, Long),
                mark(M::AttackedWithDisadvantage, Long),
            ],
        ),
        "warding-bond" => part(
            "AC and saves +1; resistance to all damage and the shared damage are narrated.",
            one(),
            false,
            vec![
                mark(M::AcBonus { amount: 1 }, Long),
                mark(
                    M::SaveBonus {
                        ability: None,
                        amount: 1,
                    },
                    Long,
                ),
            ],
        ),
        "protection-from-poison" => auto(
            one(),
            false,
            vec![
                Step::Cure {
                    conditions: vec![Poisoned],
                    all: true,
                },
                mark(
                    M::Resist {
                        damage_type: Poison,
                    },
                    Long,
                ),
                mark(M::SaveAdvantage { ability: Some(Con) }, Long),
            ],
        ),
        "aid" => auto(
            n(3, 0),
            false,
            vec![Step::MaxHp {
                amount: slot_heal(),
                duration: Long,
            }],
        ),
        "false-life" => auto(
            Target::SelfOnly,
            false,
            vec![Step::TempHp {
                amount: slot_heal(),
            }],
        ),
        // Conditions.
        "hold-person" => auto(
            n(1, 1),
            true,
            vec![Step::IfType {
                types: vec!["humanoid".into()],
                except: false,
                then: vec![save(Wis, vec![cond_save_ends(Paralyzed, MINUTE, Wis)])],
            }],
        ),
        "hold-monster" => auto(
            n(1, 1),
            true,
            vec![Step::IfType {
                types: vec!["undead".into()],
                except: true,
                then: vec![save(Wis, vec![cond_save_ends(Paralyzed, MINUTE, Wis)])],
            }],
        ),
        "sleep" => auto(
            area.clone(),
            true,
            vec![Step::EndsOn {
                on: EndsOn::Damage,
                then: vec![Step::HpPool {
                    amount: up("5d8", "2d8"),
                    mark: M::Condition {
                        condition: Unconscious,
                    },
                    duration: MINUTE,
                    spare: Some(Spare {
                        types: vec!["undead".into()],
                        immune_to: Some(Charmed),
                    }),
                }],
            }],
        ),
        "color-spray" => auto(
            area.clone(),
            true,
            vec![Step::HpPool {
                amount: up("6d10", "2d10"),
                mark: M::Condition { condition: Blinded },
                duration: EndOfCastersNextTurn,
                spare: None,
            }],
        ),
        // Zones are not modelled: the creatures in the cloud when it is cast (those
        // named, or every standing foe) are heavily obscured, so blinded while it lasts.
        // Heavily obscured zones: a creature inside is blinded while it stays in (it
        // sees nothing out, nothing sees in); moving away ends it, moving in starts it.
        "darkness" => while_inside(
            SpellEffect {
                note: "A zone on the creatures named (or the caster's foes, and those in \
                       melee with them): blinded while inside it (darkvision included), \
                       unseen from outside (attacks into it lose the blindness's \
                       advantage), moving in blinds, moving away ends it. The engine \
                       models no light sources, so the light it dispels is narrated."
                    .into(),
                ..auto(area.clone(), true, vec![cond(Blinded, Long)])
            },
            vec![cond(Blinded, Long)],
        ),
        "silence" => {
            let hush = vec![
                cond(Deafened, Long),
                mark(Mark::Silenced, Long),
                mark(
                    Mark::ImmuneDamage {
                        damage_type: Thunder,
                    },
                    Long,
                ),
            ];
            while_inside(
                auto_note(
                    "A zone on the creatures named (or the caster's foes, and those in \
                     melee with them): while inside they are deafened, immune to thunder \
                     damage and can't cast spells with a verbal component; moving in \
                     silences, moving away ends it.",
                    area.clone(),
                    true,
                    hush.clone(),
                ),
                hush,
            )
        }
        "fog-cloud" => while_inside(
            auto_note(
                "A zone on the creatures named (or the caster's foes, and those in melee \
                 with them): blinded while inside it, unseen from outside (attacks into it \
                 lose the blindness's advantage), moving in blinds, moving away ends it. \
                 The engine models no wind: a strong wind dispersing it is the GM's.",
                area.clone(),
                true,
                vec![cond(Blinded, Long)],
            ),
            vec![cond(Blinded, Long)],
        ),
        // Restrained while in the webs: a creature already caught is not caught again
        // (no second save, no second mark), and leaving the webs frees it.
        "web" => {
            let caught = vec![save(
                Dex,
                vec![Step::BreakFree {
                    then: vec![cond_save_ends(Restrained, Long, Str)],
                }],
            )];
            SpellEffect {
                zone: Some(Box::new(ZoneSpec {
                    steps: caught.clone(),
                    when: ZoneTriggers {
                        turn_start: true,
                        enter: true,
                        while_inside: true,
                        ..ZoneTriggers::default()
                    },
                    duration: Long,
                })),
                ..part(
                    "A zone: a creature in it at the start of its turn or entering it saves \
                     or is restrained while it stays in the webs (one caught is not caught \
                     again); `break free` is its action: a Strength check against the \
                     caster's DC (monsters try it too). Burning the webs is narrated; \
                     their difficult terrain changes nothing in the theatre-of-the-mind \
                     model.",
                    area.clone(),
                    true,
                    caught,
                )
            }
        }
        "entangle" => auto_note(
            "A creature restrained by the plants uses `break free`, its action: a Strength \
             check against the caster's DC (monsters try it too). The difficult terrain \
             changes nothing in the theatre-of-the-mind model.",
            area.clone(),
            true,
            vec![save(
                Str,
                vec![Step::BreakFree {
                    then: vec![cond_save_ends(Restrained, MINUTE, Str)],
                }],
            )],
        ),
        "black-tentacles" => part(
            "Damage to creatures entering or starting in the area later is narrated.",
            area.clone(),
            true,
            vec![save(
                Dex,
                vec![dd.clone()?, cond_save_ends(Restrained, MINUTE, Str)],
            )],
        ),
        "grease" => part(
            "The slick area afterwards is narrated.",
            area.clone(),
            true,
            vec![save(Dex, vec![Step::Condition { condition: Prone }])],
        ),
        "faerie-fire" => auto(
            area.clone(),
            true,
            vec![save(
                Dex,
                vec![
                    Step::Cure {
                        conditions: vec![Invisible],
                        all: true,
                    },
                    mark(M::AttackedWithAdvantage, MINUTE),
                ],
            )],
        ),
        // The word among the targets (`cast command on Goblin grovel`): on a failed
        // save the target obeys at the start of its next turn and its turn ends.
        "command" => {
            use dicebard_engine::effect::Order;
            SpellEffect {
                note: "The word is one of approach, drop, flee, grovel, halt: on its next \
                       turn the target closes on the caster, drops what it holds \
                       (narrated: no held items), moves far away, falls prone, or stays \
                       put, and its turn ends. No effect on undead; every other creature \
                       is taken to understand the caster."
                    .into(),
                ..auto(
                    n(1, 1),
                    true,
                    vec![Step::IfType {
                        types: vec!["undead".into()],
                        except: true,
                        then: vec![Step::Choose {
                            options: [
                                ("approach", Order::Approach),
                                ("drop", Order::Drop),
                                ("flee", Order::Flee),
                                ("grovel", Order::Grovel),
                                ("halt", Order::Halt),
                            ]
                            .into_iter()
                            .map(|(w, order)| {
                                (
                                    w.to_string(),
                                    vec![save(
                                        Wis,
                                        vec![mark(M::Commanded { order }, EndOfTargetsNextTurn)],
                                    )],
                                )
                            })
                            .collect(),
                        }],
                    }],
                )
            }
        }
        "bane" => auto(
            n(3, 1),
            true,
            vec![save(
                Cha,
                vec![mark(
                    M::RollDie {
                        sides: -4,
                        attacks: true,
                        saves: true,
                    },
                    MINUTE,
                )],
            )],
        ),
        "hideous-laughter" => auto(
            one(),
            true,
            vec![save(
                Wis,
                vec![
                    Step::Condition { condition: Prone },
                    Step::EndsOn {
                        on: EndsOn::SaveOnDamage,
                        then: vec![cond_save_ends(Incapacitated, MINUTE, Wis)],
                    },
                ],
            )],
        ),
        "irresistible-dance" => part(
            "Attacks against have advantage, ending on a Wisdom save; the dancer's own \
             disadvantage is narrated.",
            one(),
            true,
            vec![save_ends(M::AttackedWithAdvantage, MINUTE, Wis)],
        ),
        // The word among the targets: `cast blindness-deafness on Goblin blinded`.
        "blindness-deafness" => auto(
            n(1, 1),
            true,
            vec![Step::Choose {
                options: [("blinded", Blinded), ("deafened", Deafened)]
                    .into_iter()
                    .map(|(w, c)| {
                        (
                            w.to_string(),
                            vec![save(Con, vec![cond_save_ends(c, MINUTE, Con)])],
                        )
                    })
                    .collect(),
            }],
        ),
        // Theatre of the mind: a frightened creature's turn is spent dashing away (far
        // from the fray, no opportunity attack); having fled it is out of the caster's
        // sight, so it repeats the save at the end of each turn.
        "fear" => SpellEffect {
            note: "A frightened creature spends each of its turns dashing far away (its \
                   turn ends; no opportunity attack) and, out of sight then, repeats the \
                   save at the end of each turn; what it drops is narrated (no held items)."
                .into(),
            ..auto(
                area.clone(),
                true,
                vec![save(
                    Wis,
                    vec![
                        cond_save_ends(Frightened, MINUTE, Wis),
                        save_ends(
                            M::Commanded {
                                order: dicebard_engine::effect::Order::Fear,
                            },
                            MINUTE,
                            Wis,
                        ),
                    ],
                )],
            )
        },
        "slow" => part(
            "An action or a bonus action a turn and one attack (no Extra Attack or \
             multiattack) are enforced; the chance that a spell it casts is delayed is \
             narrated.",
            n(6, 0),
            true,
            vec![save(
                Wis,
                vec![
                    save_ends(M::AcBonus { amount: -2 }, MINUTE, Wis),
                    save_ends(
                        M::SaveBonus {
                            ability: Some(Dex),
                            amount: -2,
                        },
                        MINUTE,
                        Wis,
                    ),
                    save_ends(M::SpeedHalved, MINUTE, Wis),
                    save_ends(M::NoReactions, MINUTE, Wis),
                    save_ends(M::Slowed, MINUTE, Wis),
                ],
            )],
        ),
        "hypnotic-pattern" => auto(
            area.clone(),
            true,
            vec![save(
                Wis,
                vec![Step::EndsOn {
                    on: EndsOn::Damage,
                    then: vec![cond(Charmed, MINUTE), cond(Incapacitated, MINUTE)],
                }],
            )],
        ),
        // Banished: out of the fight's reach (as on another plane: no attack, spell or
        // area reaches it) and incapacitated, while the caster concentrates.
        "banishment" => part(
            "The target is gone while the caster concentrates: out of reach (no attack, \
             spell or area touches it) and incapacitated; it comes back when the spell \
             ends. An extraplanar creature kept away the full minute does not come back \
             (it returns here): the GM removes it.",
            n(1, 1),
            true,
            vec![save(
                Cha,
                vec![mark(M::Ethereal, MINUTE), cond(Incapacitated, MINUTE)],
            )],
        ),
        "charm-person" => auto(n(1, 1), true, vec![save(Wis, vec![cond(Charmed, Long)])]),
        "dominate-beast" | "dominate-person" | "dominate-monster" => part(
            "The GM directs the charmed creature; the save on taking damage is not rolled.",
            one(),
            true,
            vec![save(Wis, vec![cond(Charmed, Long)])],
        ),
        "calm-emotions" => part(
            "Ends charm and fear; making hostile creatures indifferent is narrated.",
            area.clone(),
            false,
            vec![Step::Cure {
                conditions: vec![Charmed, Frightened],
                all: true,
            }],
        ),
        // Zones: the creatures caught stay in it while they don't move away (see
        // dicebard_engine::effect::Zone).
        // Heavily obscured (blinded while inside, unseen from outside); a creature in
        // it when its turn starts (or moving in) saves or spends its turn retching;
        // the poison-immune are spared.
        "stinking-cloud" => {
            let cloud = vec![
                cond(Blinded, Long),
                Step::UnlessImmune {
                    damage_type: Poison,
                    then: vec![save(Con, vec![cond(Incapacitated, EndOfTargetsTurn)])],
                },
            ];
            SpellEffect {
                zone: Some(Box::new(ZoneSpec {
                    steps: cloud,
                    when: ZoneTriggers {
                        turn_start: true,
                        enter: true,
                        while_inside: true,
                        ..ZoneTriggers::default()
                    },
                    duration: MINUTE,
                })),
                ..auto_note(
                    "A zone on the creatures caught: heavily obscured (blinded inside, \
                     unseen from outside); one in it when its turn starts, or moving in, \
                     makes a Con save or is incapacitated retching until its turn ends \
                     (creatures immune to poison succeed). Casting it makes no save: the \
                     first comes at their turns.",
                    area.clone(),
                    true,
                    vec![cond(Blinded, Long)],
                )
            }
        }
        "sleet-storm" => zone(
            part(
                "A zone: a creature in it when it is cast, at the start of its turn or \
                 entering it makes a Dex save or falls prone; the heavy obscurement, \
                 difficult terrain, concentration saves and doused flames are narrated.",
                area.clone(),
                true,
                vec![save(Dex, vec![Step::Condition { condition: Prone }])],
            ),
            vec![save(Dex, vec![Step::Condition { condition: Prone }])],
            MINUTE,
        ),
        "spike-growth" => {
            let thorns = vec![dmg(amt("4d4"), Piercing)];
            SpellEffect {
                zone: Some(Box::new(ZoneSpec {
                    steps: thorns,
                    when: ZoneTriggers {
                        enter: true,
                        leave: true,
                        each_move: true,
                        ..ZoneTriggers::default()
                    },
                    duration: Long,
                })),
                ..auto_note(
                    "A zone on the creatures named (or the caster's foes): each move into \
                     or out of it deals 4d4 piercing (theatre of the mind: the text's 2d4 \
                     per 5 ft, counted as 10 ft of thorns a move). Its camouflage only \
                     matters to whether a creature chooses to move, which is the player's, \
                     the LLM's or the GM's call (a Perception check the GM may ask for).",
                    area.clone(),
                    true,
                    vec![],
                )
            }
        }
        "protection-from-evil-and-good" => part(
            "Aberrations, celestials, elementals, fey, fiends and undead attack the target \
             with disadvantage and can't charm or frighten it; possession, and advantage on \
             a new save against a charm or fright already on it, are narrated.",
            one(),
            false,
            vec![mark(
                Mark::Warded {
                    types: dicebard_engine::effect::WARD_ALL,
                    charm: true,
                },
                Long,
            )],
        ),
        "dispel-evil-and-good" => part(
            "The ward on the caster is resolved (celestials, elementals, fey, fiends and \
             undead attack it with disadvantage); Break Enchantment and Dismissal are \
             narrated.",
            Target::SelfOnly,
            false,
            vec![mark(
                // Celestials, elementals, fey, fiends and undead (no aberrations).
                Mark::Warded {
                    types: dicebard_engine::effect::WARD_ALL & !1,
                    charm: false,
                },
                Long,
            )],
        ),
        "counterspell" => SpellEffect {
            note: "Cast only as a reaction: when a foe within 60 ft (engaged or near) \
                   casts a spell, a caster with a 3rd+ slot and its reaction is offered \
                   it (react use); a spell above the slot's level needs a check, DC 10 \
                   + its level."
                .into(),
            ..auto(Target::Any, false, vec![Step::Counter])
        },
        "confusion" => part(
            "The behaviour table is narrated; a confused creature is incapacitated here.",
            area.clone(),
            true,
            vec![save(Wis, vec![cond_save_ends(Incapacitated, MINUTE, Wis)])],
        ),
        "eyebite" => part(
            "The 'asleep' option; 'panicked' and 'sickened' are narrated.",
            one(),
            true,
            vec![save(Wis, vec![cond(Unconscious, MINUTE)])],
        ),
        "flesh-to-stone" => part(
            "Restrained; turning to stone after three failed saves is narrated.",
            one(),
            true,
            vec![save(Con, vec![cond_save_ends(Restrained, MINUTE, Con)])],
        ),
        "weird" => part(
            "The fear damage comes at the start of each turn (the text: at its end).",
            area.clone(),
            true,
            vec![save(
                Wis,
                vec![
                    cond_save_ends(Frightened, MINUTE, Wis),
                    Step::Ongoing {
                        amount: amt("4d10"),
                        damage_type: Psychic,
                        save: None,
                        duration: MINUTE,
                    },
                ],
            )],
        ),
        "divine-word" => part(
            "The tiers by hit points are approximated; banishing celestials and fiends is \
             narrated.",
            area.clone(),
            true,
            vec![save(
                Cha,
                vec![
                    Step::IfHpAtMost {
                        hp: 20,
                        then: vec![Step::Kill],
                    },
                    Step::IfHpAtMost {
                        hp: 30,
                        then: vec![cond(Stunned, Long)],
                    },
                    Step::IfHpAtMost {
                        hp: 40,
                        then: vec![cond(Blinded, Long)],
                    },
                    Step::IfHpAtMost {
                        hp: 50,
                        then: vec![cond(Deafened, MINUTE)],
                    },
                ],
            )],
        ),
        "power-word-kill" => auto(
            one(),
            true,
            vec![Step::IfHpAtMost {
                hp: 100,
                then: vec![Step::Kill],
            }],
        ),
        "power-word-stun" => auto(
            one(),
            true,
            vec![Step::IfHpAtMost {
                hp: 150,
                then: vec![cond_save_ends(Stunned, Long, Con)],
            }],
        ),
        // Healing and restoration.
        "spare-the-dying" => auto(one(), false, vec![Step::Stabilize]),
        "lesser-restoration" => auto(
            one(),
            false,
            vec![Step::Cure {
                conditions: vec![Blinded, Deafened, Paralyzed, Poisoned],
                all: false,
            }],
        ),
        // What it ends is a word among the targets: `cast greater-restoration on Mira
        // charmed`.
        "greater-restoration" => auto_note(
            "The word names what ends: charmed, petrified, exhaustion (one level), curse \
             (Bestow Curse's) or maximum (a lowered hit point maximum, Harm's). No effect \
             in the engine lowers an ability score, so there is none to end.",
            one(),
            false,
            vec![Step::Choose {
                options: [
                    ("charmed", Charmed),
                    ("petrified", Petrified),
                    ("exhaustion", Exhaustion),
                ]
                .into_iter()
                .map(|(w, c)| {
                    (
                        w.to_string(),
                        vec![Step::Cure {
                            conditions: vec![c],
                            all: false,
                        }],
                    )
                })
                .chain([
                    (
                        "maximum".to_string(),
                        vec![Step::EndMark {
                            mark: M::MaxHpReduced { amount: 0 },
                            same_kind: true,
                        }],
                    ),
                    (
                        "curse".to_string(),
                        vec![Step::EndMark {
                            mark: M::BonusDamage {
                                count: 1,
                                sides: 8,
                                damage_type: Some(Necrotic),
                            },
                            same_kind: false,
                        }],
                    ),
                ])
                .collect(),
            }],
        ),
        // Damage spells whose data lacks the attack or save the text gives.
        "call-lightning" => {
            let bolt = vec![save_half(Dex, vec![dd.clone()?])];
            with_again(
                auto(area.clone(), true, bolt.clone()),
                ActionCost::Action,
                area.clone(),
                bolt,
                Long,
            )
        }
        // A zone: the sphere stands by the creatures it caught (the text's "ends its
        // turn within 5 ft" counts at the start of its next turn); ramming it into a
        // creature (a bonus action, no slot) moves it there and burns that one.
        "flaming-sphere" => {
            let burn = vec![save_half(Dex, vec![dd.clone()?])];
            with_again(
                SpellEffect {
                    zone: Some(Box::new(ZoneSpec {
                        steps: burn.clone(),
                        when: ZoneTriggers {
                            turn_start: true,
                            ..ZoneTriggers::default()
                        },
                        duration: MINUTE,
                    })),
                    ..auto_note(
                        "A zone by the creature it is cast next to (no damage on casting): \
                         a creature beside the sphere when its turn starts saves (Dex) or \
                         burns (the text's 'ends its turn within 5 feet'). Ramming it into \
                         a creature is casting it again (a bonus action, no slot): that \
                         creature saves at once and the sphere stays by it.",
                        one(),
                        true,
                        vec![],
                    )
                },
                ActionCost::BonusAction,
                one(),
                burn,
                MINUTE,
            )
        }
        "flame-blade" => with_again(
            auto(Target::SelfOnly, false, vec![]),
            ActionCost::Action,
            one(),
            vec![attack(Reach::Melee, vec![dd.clone()?])],
            Long,
        ),
        // The engine has no dropped items: the heated object is taken to be armour or
        // a weapon the creature keeps, so each burn leaves it at disadvantage.
        "heat-metal" => {
            let burn = vec![dd.clone()?, mark(M::Hampered, StartOfCastersNextTurn)];
            with_again(
                auto_note(
                    "The damage on casting and again as a bonus action on later turns (no \
                     slot). The engine has no dropped items: the object is taken to be \
                     armour or a weapon the creature keeps, so no save to drop it; after \
                     each burn its attack rolls and ability checks have disadvantage until \
                     the start of the caster's next turn.",
                    one(),
                    true,
                    burn.clone(),
                ),
                ActionCost::BonusAction,
                one(),
                burn,
                MINUTE,
            )
        }
        "prismatic-spray" => part(
            "Every ray is treated as the red one (fire); the other colours are narrated.",
            area.clone(),
            true,
            vec![save_half(Dex, vec![dmg(amt("10d6"), Fire)])],
        ),
        // An aura zone on the caster: it holds the caster and whoever is engaged with
        // it, and moves with the caster. A foe in it when its turn starts, or closing
        // on the caster (entering it, once a turn), saves or takes the damage.
        "spirit-guardians" => SpellEffect {
            zone: Some(Box::new(ZoneSpec {
                steps: vec![save_half(Wis, vec![dmg(up("3d8", "1d8"), Radiant)])],
                when: ZoneTriggers {
                    turn_start: true,
                    enter: true,
                    aura: true,
                    ..ZoneTriggers::default()
                },
                duration: Long,
            })),
            ..auto_note(
                "An aura on the caster (a zone that moves with it): each foe engaged with \
                 the caster when its turn starts, or closing on the caster (once a turn), \
                 saves or takes the damage (half on a save); the caster's allies are \
                 spared. The halved speed changes nothing in the theatre-of-the-mind \
                 model (a move is a move), so it is not tracked.",
                Target::SelfOnly,
                false,
                vec![],
            )
        },
        "guardian-of-faith" => part(
            "The guardian stands by its caster: each foe engaged with the caster when its \
             turn starts saves or takes 20 radiant (half on a save); its vanishing after \
             60 damage is narrated.",
            Target::SelfOnly,
            false,
            vec![Step::Aura {
                amount: amt("20"),
                damage_type: Radiant,
                save: Some((Dex, SaveEffect::Half)),
                duration: Long,
            }],
        ),
        "spiritual-weapon" => {
            let strike = vec![Step::Detached {
                then: vec![attack(Reach::Melee, vec![dd.clone()?])],
            }];
            with_again(
                auto(one(), true, strike.clone()),
                ActionCost::BonusAction,
                one(),
                strike,
                MINUTE,
            )
        }
        "arcane-sword" => {
            let strike = vec![Step::Detached {
                then: vec![attack(Reach::Melee, vec![dd.clone()?])],
            }];
            with_again(
                auto(one(), true, strike.clone()),
                ActionCost::BonusAction,
                one(),
                strike,
                MINUTE,
            )
        }
        "vampiric-touch" => {
            let strike = vec![attack(
                Reach::Melee,
                vec![dd.clone()?, Step::Drain { percent: 50 }],
            )];
            with_again(
                auto(one(), true, strike.clone()),
                ActionCost::Action,
                one(),
                strike,
                MINUTE,
            )
        }
        "phantasmal-killer" => part(
            "The damage each turn is rolled once, at casting.",
            one(),
            true,
            vec![save(
                Wis,
                vec![dd.clone()?, cond_save_ends(Frightened, MINUTE, Wis)],
            )],
        ),
        "sunburst" => auto(
            area.clone(),
            true,
            vec![save_half(
                Con,
                vec![dd.clone()?, cond_save_ends(Blinded, MINUTE, Con)],
            )],
        ),
        "sunbeam" => {
            let beam = vec![save_half(
                Con,
                vec![dd.clone()?, cond(Blinded, EndOfCastersNextTurn)],
            )];
            with_again(
                auto(area.clone(), true, beam.clone()),
                ActionCost::Action,
                area.clone(),
                beam,
                MINUTE,
            )
        }
        "flame-strike" => auto(
            area.clone(),
            true,
            vec![save_half(
                Dex,
                vec![dmg(up("4d6", "1d6"), Fire), dmg(amt("4d6"), Radiant)],
            )],
        ),
        "ice-storm" => auto(
            area.clone(),
            true,
            vec![save_half(
                Dex,
                vec![dmg(up("2d8", "1d8"), Bludgeoning), dmg(amt("4d6"), Cold)],
            )],
        ),
        "meteor-swarm" => auto(
            area.clone(),
            true,
            vec![save_half(
                Dex,
                vec![dmg(amt("20d6"), Fire), dmg(amt("20d6"), Bludgeoning)],
            )],
        ),
        _ => return None,
    })
}

/// Lingering damage areas: creatures in them take the damage again at the start of
/// their turns.
const LINGERING: &[&str] = &[
    "cloudkill",
    "incendiary-cloud",
    "insect-plague",
    "moonbeam",
    "blade-barrier",
    "wall-of-fire",
    "wall-of-thorns",
];

/// Generated entries whose text does more than the data says.
fn partial_note(index: &str) -> Option<&'static str> {
    Some(match index {
        "faithful-hound" => "One attack on casting; the later attacks are narrated.",
        "storm-of-vengeance" | "wall-of-ice" | "wind-wall" | "delayed-blast-fireball" => {
            "One round of damage on casting; the rest is narrated."
        }
        "feeblemind" => "The damage only on a failed save; Int and Cha 1 is narrated.",
        "regenerate" => "The regeneration each round and regrown limbs are narrated.",
        _ => return None,
    })
}

fn tune_generated(s: &SpellData, e: &mut SpellEffect) {
    let idx = s.index.as_str();
    // Per-level increases the data leaves out.
    if let Some(per) = per_level_increase(idx) {
        visit_damage(&mut e.steps, &mut |a| a.per_slot_above = Some(per.into()));
    }
    match idx {
        "mass-cure-wounds" | "mass-healing-word" | "prayer-of-healing" => {
            e.target = Target::Creatures {
                max: 6,
                per_slot_above: 0,
            }
        }
        "chain-lightning" => {
            e.target = Target::Creatures {
                max: 4,
                per_slot_above: 1,
            }
        }
        // Mass Heal: one pool of 700 shared out in the order the targets are named,
        // each regaining what it is missing; it also ends blindness and deafness.
        "mass-heal" => {
            let amount = e.steps.iter().find_map(|s| match s {
                Step::Heal { amount } => Some(amount.clone()),
                _ => None,
            });
            if let Some(amount) = amount {
                e.target = Target::Area;
                e.note = "One pool shared out in the order the targets are named: each \
                          regains what it is missing while the pool lasts."
                    .into();
                e.steps = vec![
                    Step::HealPool { amount },
                    Step::Cure {
                        conditions: vec![Blinded, Deafened],
                        all: true,
                    },
                ];
            }
        }
        // Harm: the necrotic damage can't take the target below 1 hit point and
        // lowers its maximum by as much for an hour.
        "harm" => {
            if let Some(Step::Save { on_fail, .. }) = e.steps.first_mut() {
                on_fail.push(Step::LowerMaxHp { duration: Long });
                e.note = "The damage leaves at least 1 hit point; the hit point maximum \
                          drops by the damage taken (on a save too) for an hour (until a \
                          long rest here: the engine keeps no clock outside fights)."
                    .into();
            }
        }
        // Heal also ends blindness and deafness (and diseases, which the engine
        // knows only as conditions).
        "heal" => e.steps.push(Step::Cure {
            conditions: vec![Blinded, Deafened],
            all: true,
        }),
        _ => {}
    }
    if LINGERING.contains(&idx)
        && let Some(first @ Step::Save { .. }) = e.steps.first().cloned()
    {
        let minutes_long = s.duration.contains("10 minutes") || s.duration.contains("hour");
        let mut when = ZoneTriggers {
            turn_start: true,
            enter: true,
            ..ZoneTriggers::default()
        };
        let mut steps = vec![first.clone()];
        e.coverage = Coverage::Automated;
        e.note = "A zone: the creatures caught are in it; one starting its turn in it or \
                  moving in takes the damage again (save again), once a turn (the text's \
                  'ends its turn there' counts at the start of the next)."
            .into();
        match idx {
            // Heavily obscured clouds: blinded while inside, unseen from outside. The
            // cloud stays on the creatures it caught (theatre of the mind: its drift is
            // where they stand, so leaving it is moving away).
            "cloudkill" | "incendiary-cloud" => {
                when.while_inside = true;
                steps.insert(0, cond(Blinded, Long));
                e.steps.insert(0, cond(Blinded, Long));
                e.note.push_str(
                    " Heavily obscured: blinded inside, unseen from outside. Its drift \
                     (10 ft a turn) is theatre of the mind: the cloud stays with the \
                     creatures it caught until they move away.",
                );
            }
            "insect-plague" => e.note.push_str(
                " Its light obscurement only hinders sight-based Perception checks, which \
                 are the GM's to call (the engine's checks take no circumstances).",
            ),
            // The wall's burning side: a creature in the zone (caught by it, or moving
            // in) takes the damage with no save; the save is only at its appearing.
            "wall-of-fire" => {
                if let Step::Save { on_fail, .. } = &first {
                    steps = on_fail.clone();
                }
                e.note = "A wall is a zone: the creatures it caught stand on its burning \
                          side (Dex save for half as it appears); one starting its turn \
                          there or moving in takes the damage, no save, once a turn. The \
                          harmless side is the rest of the field."
                    .into();
            }
            // Entering the thorns or starting a turn in them: slashing, not piercing.
            "wall-of-thorns" => {
                if let Step::Save { on_fail, .. } = &mut steps[0] {
                    for d in on_fail.iter_mut() {
                        if let Step::Damage { damage_type, .. } = d {
                            *damage_type = Slashing;
                        }
                    }
                }
                e.note = "A wall is a zone: the creatures it caught are in it (Dex save, \
                          piercing, as it appears); one starting its turn in it or moving \
                          in saves again against slashing damage, once a turn. Its \
                          difficult terrain changes nothing in the theatre-of-the-mind \
                          model (a move is a move)."
                    .into();
            }
            "blade-barrier" => {
                e.coverage = Coverage::Partial;
                e.note = "A wall is a zone: the creatures it caught are in it; one starting \
                          its turn in it or moving in saves again, once a turn. The \
                          three-quarters cover it gives creatures behind it needs lines of \
                          sight the theatre-of-the-mind model does not have: the GM grants \
                          it (+5 AC and Dex saves)."
                    .into();
            }
            _ => {}
        }
        e.zone = Some(Box::new(ZoneSpec {
            steps,
            when,
            duration: if minutes_long { Long } else { MINUTE },
        }));
        if idx == "moonbeam" {
            e.note = "A zone: the creatures caught are in the beam; one starting its turn \
                      in it or moving in takes the damage (save for half), once a turn."
                .into();
        }
    }
    // Moonbeam: moving the beam onto other creatures is casting it again (an action).
    if idx == "moonbeam" {
        e.again = Some(Box::new(Again {
            cost: ActionCost::Action,
            target: Target::Area,
            hostile: true,
            steps: e.steps.clone(),
            duration: MINUTE,
        }));
        e.note
            .push_str(" Moving the beam is casting it again (an action, no slot).");
    }
    if let Some(note) = partial_note(idx) {
        e.coverage = Coverage::Partial;
        e.note = note.into();
    }
}

fn visit_damage(steps: &mut [Step], f: &mut impl FnMut(&mut Amount)) {
    for s in steps {
        match s {
            Step::Damage { amount, .. } => f(amount),
            Step::Attack {
                on_hit, on_miss, ..
            } => {
                visit_damage(on_hit, f);
                visit_damage(on_miss, f);
            }
            Step::Save { on_fail, .. } => visit_damage(on_fail, f),
            _ => {}
        }
    }
}

/// The spell coverage report (`dicebard srd coverage`): counts per kind, then each
/// kind's spells. Spells with no entry, or an entry that does nothing, are listed
/// as "does nothing" (the engine's coverage test fails on any).
pub fn coverage_report(cat: &dicebard_engine::data::Catalog) -> String {
    use std::collections::BTreeMap;
    let mut by: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (idx, s) in &cat.spells {
        let kind = match &s.effect {
            None => "does nothing",
            Some(e) if e.does_nothing() => "does nothing",
            Some(e) => match e.coverage {
                Coverage::Automated => "automated",
                Coverage::Partial => "partial",
                Coverage::Narrative if e.note == UTILITY_NOTE => "narrative (utility)",
                Coverage::Narrative => "narrative (outside the model)",
            },
        };
        by.entry(kind).or_default().push(idx);
    }
    let mut out = format!("SRD spells: {}\n", cat.spells.len());
    for (k, v) in &by {
        out.push_str(&format!("  {k}: {}\n", v.len()));
    }
    for (k, v) in &by {
        out.push_str(&format!("\n{k} ({}):\n  {}\n", v.len(), v.join(", ")));
    }
    out
}
