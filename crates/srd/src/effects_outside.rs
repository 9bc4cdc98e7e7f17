//! Entries for the SRD spells that used to lie "outside the model" (issue #14):
//! seals and walls, movers, summons and shapes, each with a theatre-of-the-mind ruling
//! (there is no grid: only who is engaged, near or far, and who is sealed away).
//!
//! [`outside`] is consulted first by [`crate::effects`]'s `hand`. The rulings, per
//! family (each is also in the spell's note, which the narrator and the GM read):
//!
//! * **Seals** (Resilient Sphere, Forcecage, Wall of Force, Wall of Stone, Maze): a
//!   creature sealed away is [`Mark::Sealed`] and incapacitated until the spell ends:
//!   it can't be attacked, targeted or caught in an area, and nothing it does inside
//!   reaches the fight. A wall is read as the enclosure it can make around the
//!   creatures named; one used as a plain barrier is narrated.
//! * **Wards** (Magic Circle): the cylinder protects the creatures named in it, as
//!   Protection from Evil and Good's ward against celestials, elementals, fey, fiends
//!   and undead.
//! * **Movers** (Gust of Wind, Reverse Gravity, Compulsion, Telekinesis, Levitate): a
//!   push or a forced move takes the creature out of melee (to near, no opportunity
//!   attack); held in the air or in the caster's grip is restrained.
//! * **Hindrances** (Plant Growth, Prismatic Wall's flash): a speed cut, a blinding.
//! * **Conjured force** (Arcane Hand): its Clenched Fist, as Arcane Sword's strike.
//! * **Forms** (Gaseous Form): the resistances and advantages the text gives.

use dicebard_engine::ability::Ability::{self, *};
use dicebard_engine::condition::Condition::{self, *};
use dicebard_engine::data::{DamageType, DamageType::*, Reach, SpellData};
use dicebard_engine::effect::{
    Again, Amount, Coverage, Duration, Duration::*, Mark, Repeat, SpellEffect, Step, Target,
    ward_bit,
};
use dicebard_engine::event::ActionCost;

const MINUTE: Duration = Rounds(10);

fn part(note: &str, target: Target, hostile: bool, steps: Vec<Step>) -> SpellEffect {
    SpellEffect {
        coverage: Coverage::Partial,
        note: note.into(),
        target,
        hostile,
        repeat: Repeat::Once,
        steps,
        again: None,
        zone: None,
    }
}
fn one() -> Target {
    Target::Creatures {
        max: 1,
        per_slot_above: 0,
    }
}
fn n(max: u8) -> Target {
    Target::Creatures {
        max,
        per_slot_above: 0,
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
fn save(a: Ability, on_fail: Vec<Step>) -> Step {
    Step::Save {
        ability: a,
        half: false,
        on_fail,
    }
}
/// Sealed away and incapacitated for `d`; with `ends`, a save of that ability at the
/// end of each of its turns ends both.
fn sealed(d: Duration, ends: Option<Ability>) -> Vec<Step> {
    [
        Mark::Sealed,
        Mark::Condition {
            condition: Incapacitated,
        },
    ]
    .into_iter()
    .map(|m| Step::Apply {
        mark: m,
        duration: d,
        save_ends: ends,
    })
    .collect()
}

/// The entry for one of these spells, or `None` for any other.
pub fn outside(s: &SpellData) -> Option<SpellEffect> {
    Some(match s.index.as_str() {
        // ---- Seals
        "resilient-sphere" => part(
            "Sealed: on a failed Dexterity save the creature is enclosed (sealed away and \
             incapacitated: it can't attack or be attacked, targeted or caught in an area) \
             while the caster concentrates. A willing creature, rolling the sphere and \
             Disintegrate popping it are narrated.",
            one(),
            true,
            vec![save(Dex, sealed(MINUTE, None))],
        ),
        "forcecage" => part(
            "Sealed: the creatures named are caged (sealed away and incapacitated) for the \
             hour, no save. Escaping by teleport (a Charisma save) and Dispel Magic's \
             failing are narrated: the GM ends it.",
            Target::Area,
            true,
            sealed(Long, None),
        ),
        "wall-of-force" => part(
            "Sealed: read as the hemisphere or sphere around the creatures named (sealed \
             away and incapacitated while the caster concentrates, no save). A flat wall \
             used as a barrier is narrated.",
            Target::Area,
            true,
            sealed(Long, None),
        ),
        "wall-of-stone" => part(
            "Sealed: read as the enclosure around the creatures named: each that fails a \
             Dexterity save is walled in (sealed away and incapacitated while the caster \
             concentrates). A wall as a barrier, its panels' hit points and a creature \
             breaking out are narrated.",
            Target::Area,
            true,
            vec![save(Dex, sealed(Long, None))],
        ),
        "maze" => part(
            "Sealed: banished into the labyrinth (sealed away and incapacitated) while the \
             caster concentrates. The text's DC 20 Intelligence check to escape is made as \
             an Intelligence save against the caster's spell save DC at the end of each of \
             its turns; minotaurs and goristro demons escape at once (the GM ends it).",
            one(),
            true,
            sealed(Long, Some(Int)),
        ),
        // ---- Wards
        "magic-circle" => part(
            "The creatures named stand in the circle: celestials, elementals, fey, fiends \
             and undead attack them with disadvantage and can't charm or frighten them for \
             the hour (Protection from Evil and Good's ward). Keeping such creatures from \
             entering, the inverted circle and longer upcast durations are narrated.",
            n(8),
            false,
            vec![mark(
                Mark::Warded {
                    types: ["celestial", "elemental", "fey", "fiend", "undead"]
                        .into_iter()
                        .map(ward_bit)
                        .fold(0, |a, b| a | b),
                    charm: true,
                },
                Long,
            )],
        ),
        // ---- Movers
        "gust-of-wind" => part(
            "Mover: each creature in the line that fails a Strength save is pushed out of \
             melee (to near, no opportunity attack). The wind's hindrance to moving against \
             it and dispersing gas are narrated.",
            Target::Area,
            true,
            vec![save(Str, vec![Step::Teleport])],
        ),
        "reverse-gravity" => part(
            "Mover: each creature in the area that fails a Dexterity save falls upward out \
             of melee and hangs in the air, restrained, while the caster concentrates. The \
             damage from striking a ceiling and the fall when the spell ends are narrated.",
            Target::Area,
            true,
            vec![save(Dex, vec![Step::Teleport, cond(Restrained, MINUTE)])],
        ),
        "telekinesis" => {
            let grip = vec![save(
                Str,
                vec![Step::Teleport, cond(Restrained, EndOfCastersNextTurn)],
            )];
            SpellEffect {
                again: Some(Box::new(Again {
                    cost: ActionCost::Action,
                    target: one(),
                    hostile: true,
                    steps: grip.clone(),
                    duration: Long,
                })),
                ..part(
                    "Mover: the creature makes a Strength save (for the text's contest \
                     against the caster's ability); on a failure it is moved out of melee \
                     and held, restrained, until the end of the caster's next turn. Casting \
                     again while concentrating (an action, no slot) grips again. Moving \
                     objects is narrated.",
                    one(),
                    true,
                    grip,
                )
            }
        }
        "compulsion" => {
            let push = vec![save(Wis, vec![Step::Teleport])];
            SpellEffect {
                again: Some(Box::new(Again {
                    cost: ActionCost::BonusAction,
                    target: Target::Area,
                    hostile: true,
                    steps: push.clone(),
                    duration: MINUTE,
                })),
                ..part(
                    "Mover: each creature that fails a Wisdom save uses its movement as the \
                     caster directs: it is moved out of melee (no opportunity attack). On \
                     later turns, casting again (a bonus action, no slot) directs them \
                     again, each saving again. Charm-immune creatures are the GM's.",
                    Target::Area,
                    true,
                    push,
                )
            }
        }
        "levitate" => part(
            "Mover: on a failed Constitution save the creature rises and hangs in the air, \
             restrained (it can't move, and can only push or pull against things) while the \
             caster concentrates. A willing creature levitating itself is narrated.",
            one(),
            true,
            vec![save(Con, vec![Step::Teleport, cond(Restrained, Long)])],
        ),
        // ---- Hindrances
        "plant-growth" => part(
            "Hindrance: the creatures in the overgrowth (named, or every standing foe) move \
             at 20 feet less speed (a quarter, near enough) for the 8 hours; the enrichment \
             version is narrated.",
            Target::Area,
            true,
            vec![mark(Mark::Speed { delta: -20 }, Long)],
        ),
        "prismatic-wall" => part(
            "Hindrance: the flash as the wall appears: each creature named (or every foe) \
             that fails a Constitution save is blinded for a minute. The seven layers' \
             damage to a creature passing through is narrated.",
            Target::Area,
            true,
            vec![save(Con, vec![cond(Blinded, MINUTE)])],
        ),
        // ---- Conjured force
        "arcane-hand" => {
            let fist = vec![Step::Detached {
                then: vec![Step::Attack {
                    reach: Reach::Melee,
                    on_hit: vec![force("4d8", "2d8")],
                    on_miss: vec![],
                }],
            }];
            SpellEffect {
                again: Some(Box::new(Again {
                    cost: ActionCost::BonusAction,
                    target: one(),
                    hostile: true,
                    steps: fist.clone(),
                    duration: MINUTE,
                })),
                ..part(
                    "The hand's Clenched Fist (a melee spell attack, 4d8 force, 2d8 more per \
                     slot above 5th); casting again while concentrating (a bonus action, no \
                     slot) strikes again. The Forceful, Grasping and Interposing hands are \
                     narrated.",
                    one(),
                    true,
                    fist,
                )
            }
        }
        // ---- Forms
        "gaseous-form" => part(
            "The misty form: resistance to bludgeoning, piercing and slashing damage and \
             advantage on Strength, Dexterity and Constitution saves while the caster \
             concentrates. That it can't attack or cast, flies at 10 feet and slips through \
             cracks is narrated (the text's resistance is to nonmagical damage).",
            one(),
            false,
            [Bludgeoning, Piercing, Slashing]
                .into_iter()
                .map(|t| mark(Mark::Resist { damage_type: t }, Long))
                .chain(
                    [Str, Dex, Con]
                        .into_iter()
                        .map(|a| mark(Mark::SaveAdvantage { ability: Some(a) }, Long)),
                )
                .collect(),
        ),
        // ---- Summons (the rule: dicebard_engine::rules::summon)
        "conjure-animals" => also(
            "Each beast also counting as a fey (against wards) is narrated.",
            summon(
                "beasts",
                &["beast"],
                HORDE,
                &[(5, 2), (7, 3), (9, 4)],
                false,
                &[],
            ),
        ),
        "conjure-woodland-beings" => automated(summon(
            "fey",
            &["fey"],
            HORDE,
            &[(6, 2), (8, 3)],
            false,
            &[],
        )),
        "conjure-minor-elementals" => automated(summon(
            "elementals",
            &["elemental"],
            HORDE,
            &[(6, 2), (8, 3)],
            false,
            &[],
        )),
        "conjure-elemental" => also(
            LOSE_CONTROL,
            summon("an elemental", &["elemental"], &[(40, 1)], &[], true, &[]),
        ),
        "conjure-fey" => also(
            LOSE_CONTROL,
            summon(
                "a fey or beast",
                &["fey", "beast"],
                &[(48, 1)],
                &[],
                true,
                &[],
            ),
        ),
        "conjure-celestial" => also(
            "A 9th-level slot's celestial of challenge rating 5 is not done: 4 at most.",
            summon("a celestial", &["celestial"], &[(32, 1)], &[], false, &[]),
        ),
        "giant-insect" => summon(
            "giant insects",
            &[],
            &[],
            &[],
            false,
            &[
                ("centipedes", "giant-centipede", 10),
                ("spiders", "giant-spider", 3),
                ("wasps", "giant-wasp", 5),
                ("scorpion", "giant-scorpion", 1),
            ],
        ),
        "animate-objects" => summon(
            "animated objects",
            &[],
            &[],
            &[],
            false,
            &[
                ("swords", "flying-sword", 10),
                ("armor", "animated-armor", 5),
                ("rugs", "rug-of-smothering", 2),
            ],
        ),
        // ---- Barriers (the rule: dicebard_engine::rules::barriers / position)
        "fly" => part(
            "Flying: while the caster concentrates, a creature that does not fly can't \
             close on the target in melee (one already engaged stays so until one of them \
             moves); it attacks at range. Monsters' own flying speeds are not in the data \
             (the GM lets a flying monster close), and falling when the spell ends is \
             narrated.",
            Target::Creatures {
                max: 1,
                per_slot_above: 1,
            },
            false,
            vec![mark(Mark::Flying, Long)],
        ),
        "antilife-shell" => part(
            "Barrier: the caster steps out of melee and creatures other than undead and \
             constructs can't close on it in melee while it concentrates (they attack at \
             range). The text's ending when the caster forces the barrier against a \
             creature is the GM's.",
            Target::SelfOnly,
            false,
            vec![Step::Teleport, mark(Mark::Shell, Long)],
        ),
        "globe-of-invulnerability" => part(
            "Barrier: the caster and the creatures named are inside the globe while it \
             concentrates: a spell of 5th level or lower (one more per slot level above \
             6th) cast from outside can't target them or catch them in its area; a cast \
             with every target inside is refused. Spells already on them and zones are \
             narrated.",
            Target::Creatures {
                max: 6,
                per_slot_above: 0,
            },
            false,
            vec![mark(Mark::SpellWard { max_level: 5 }, MINUTE)],
        ),
        "antimagic-field" => part(
            "Barrier: no spell cast from outside the field reaches the caster, and it can't \
             cast spells with a verbal component (silenced) while it concentrates. \
             Suppressing spells and magic items already at work, and other creatures \
             inside the sphere, are narrated.",
            Target::SelfOnly,
            false,
            vec![
                mark(Mark::SpellWard { max_level: 9 }, Long),
                mark(Mark::Silenced, Long),
            ],
        ),
        // ---- Time and attention
        "time-stop" => part(
            "Time stops for everyone else: the caster rolls the text's 1d4 + 1 and takes \
             that many turns in a row: its foes (named, or every standing one) are frozen \
             (sealed away and incapacitated: they neither act nor can be reached) until \
             the end of the caster's turn that many rounds on, each losing that many \
             turns. Its allies' turns (no time passes for them either), and the spell \
             ending early when the caster affects a frozen creature, are narrated.",
            Target::Area,
            true,
            sealed(
                RolledTurns {
                    count: 1,
                    sides: 4,
                    plus: 1,
                },
                None,
            ),
        ),
        "enthrall" => part(
            "Attention: each creature named (or every foe) that fails a Wisdom save is \
             enthralled for the minute: its attention is on the caster, so it takes no \
             reactions (allies slip past without opportunity attacks). The text's \
             disadvantage on Perception to notice others and its advantage for hostile \
             creatures are narrated.",
            Target::Area,
            true,
            vec![save(Wis, vec![mark(Mark::NoReactions, MINUTE)])],
        ),
        // ---- Shapes (the rule: dicebard_engine::rules::shapes)
        "polymorph" => shape(
            "Shape: name a beast among the targets ('polymorph Goblin 1 toad'); its \
             challenge rating at most the target's rating or level. A foe saves (Wisdom) \
             or becomes the beast: the beast's stat block replaces its own until the \
             beast's hit points run out (the rest carries over) or the caster's \
             concentration ends. A willing ally takes the shape as Wild Shape does (its \
             mental scores stay: narrated).",
            one(),
            &["beast"],
            false,
            None,
            true,
            false,
            false,
        ),
        "true-polymorph" => shape(
            "Shape: name any creature among the targets, its challenge rating at most the \
             target's rating or level; a foe saves (Wisdom). As Polymorph while the caster \
             concentrates; turning objects into creatures (and back), and the shape \
             becoming permanent after the full hour, are narrated (the GM).",
            one(),
            &[],
            false,
            None,
            true,
            false,
            false,
        ),
        "animal-shapes" => at_most(
            "Large",
            shape(
                "Shape: the willing creatures named (the caster's side) take the shape of a \
                 beast of challenge rating 4 or lower and Large or smaller (a larger one is \
                 refused), named among the targets, as Wild Shape does, while the caster \
                 concentrates. One beast for all (the text lets each take its own: cast \
                 again), and changing shape as an action, are narrated.",
                Target::Creatures {
                    max: 10,
                    per_slot_above: 0,
                },
                &["beast"],
                false,
                Some(32),
                false,
                false,
                true,
            ),
        ),
        "shapechange" => shape(
            "Shape: the caster takes the shape of a creature named among the targets (not \
             a construct or undead), its challenge rating at most the caster's level, as \
             Wild Shape does, while concentrating. Keeping spellcasting in the new shape \
             and changing shape again as an action are narrated.",
            Target::SelfOnly,
            &["construct", "undead"],
            true,
            None,
            false,
            true,
            true,
        ),
        _ => return None,
    })
}

const LOSE_CONTROL: &str = "The text's loss of control when the caster's concentration \
     breaks (the creature turns on the caster and its companions instead of vanishing, for \
     the rest of the hour) is not done: it vanishes.";

/// The entry, its whole text resolved under the note's ruling.
fn automated(mut e: SpellEffect) -> SpellEffect {
    e.coverage = Coverage::Automated;
    e
}

/// The note, with what else is narrated (or not done).
fn also(more: &str, mut e: SpellEffect) -> SpellEffect {
    e.note = format!("{} {more}", e.note);
    e
}

/// The shape may be at most this size (Animal Shapes: Large).
fn at_most(size: &str, mut e: SpellEffect) -> SpellEffect {
    for s in &mut e.steps {
        if let Step::Shape { max_size, .. } = s {
            *max_size = Some(size.to_string());
        }
    }
    e
}

#[allow(clippy::too_many_arguments)]
fn shape(
    note: &str,
    target: Target,
    types: &[&str],
    except: bool,
    max_cr: Option<u16>,
    up_to_target: bool,
    up_to_caster: bool,
    willing_only: bool,
) -> SpellEffect {
    part(
        note,
        target,
        false,
        vec![Step::Shape {
            types: types.iter().map(|t| t.to_string()).collect(),
            except,
            max_cr,
            up_to_target,
            up_to_caster,
            willing_only,
            max_size: None,
            duration: Long,
            chosen: None,
        }],
    )
}

/// One of challenge rating 2, two of 1, four of 1/2, eight of 1/4 (in eighths).
const HORDE: &[(u16, u8)] = &[(16, 1), (8, 2), (4, 4), (2, 8)];

/// A summons' entry: the caster names the creature (see `rules::summon`).
fn summon(
    what: &str,
    types: &[&str],
    by_cr: &[(u16, u8)],
    multiply: &[(u8, u8)],
    cr_per_slot: bool,
    named: &[(&str, &str, u8)],
) -> SpellEffect {
    let choose = if named.is_empty() {
        format!("name the creature with the cast (e.g. 'wolf'): {what}")
    } else {
        format!(
            "name one of {} with the cast",
            named
                .iter()
                .map(|(w, m, c)| format!("{w} ({c} {m})"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let init = if by_cr == HORDE {
        "one initiative roll for the group (their turns one after another)"
    } else {
        "their own initiative"
    };
    part(
        &format!(
            "Summons: {choose}; they join the fight on the caster's side with {init} and \
             are run like every NPC (the engine's policy, the LLM or the GM) against the \
             caster's foes (the ruling: their turn is the caster's command obeyed; the \
             spoken commands are narration). As many come as the text allows of the \
             creature named (most for its challenge rating and the slot: the caster names \
             it, the GM's say is to refuse the cast). They vanish at 0 hit points and when \
             the caster's concentration ends."
        ),
        Target::SelfOnly,
        false,
        vec![Step::Summon {
            types: types.iter().map(|t| t.to_string()).collect(),
            by_cr: by_cr.to_vec(),
            multiply: multiply.to_vec(),
            cr_per_slot,
            named: named
                .iter()
                .map(|(w, m, c)| (w.to_string(), (m.to_string(), *c)))
                .collect(),
            // The three spells of the horde table roll initiative "as a group".
            group_initiative: by_cr == HORDE,
            chosen: None,
        }],
    )
}

fn force(dice: &str, per: &str) -> Step {
    damage(Amount::scaling(dice, per), Force)
}
fn damage(amount: Amount, damage_type: DamageType) -> Step {
    Step::Damage {
        amount,
        damage_type,
        half: false,
    }
}
