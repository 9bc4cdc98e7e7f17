//! Character import, structure-aware: a valid export of any class and level with a
//! list of field edits (numbers at their extremes, hostile text, granted immunities,
//! extra attacks, slots, items) applied, then imported and played as in
//! `character_import`. Reaches the checks that random JSON bytes rarely do.
#![no_main]

mod common;

use dicebard_engine::character::{CharacterSpec, create_character, export_character};
use dicebard_engine::condition::Condition;
use dicebard_engine::creature::{Attack, Item};
use dicebard_engine::data::{DamagePart, DamageType, Reach};
use dicebard_engine::dice::SeededDice;
use dicebard_engine::ids::{CreatureId, PlayerId};
use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    class: u8,
    race: u8,
    level: u8,
    edits: Vec<(u8, i64, String)>,
}

const CLASSES: [&str; 12] = [
    "barbarian",
    "bard",
    "cleric",
    "druid",
    "fighter",
    "monk",
    "paladin",
    "ranger",
    "rogue",
    "sorcerer",
    "warlock",
    "wizard",
];
const RACES: [&str; 9] = [
    "dwarf",
    "elf",
    "halfling",
    "human",
    "dragonborn",
    "gnome",
    "half-elf",
    "half-orc",
    "tiefling",
];

fuzz_target!(|input: Input| {
    let cat = common::table().catalog.clone();
    let mut spec = CharacterSpec::quick(
        "Hero",
        CLASSES[usize::from(input.class) % CLASSES.len()],
        RACES[usize::from(input.race) % RACES.len()],
    );
    spec.level = input.level % 20 + 1;
    let Ok(c) = create_character(
        &spec,
        &cat,
        CreatureId(1),
        PlayerId::new("a"),
        &mut SeededDice::new(1),
    ) else {
        return;
    };
    let mut ex = export_character(&c);
    let c = &mut ex.character;
    for (field, n, text) in input.edits.into_iter().take(16) {
        let small = n as i32;
        match field % 30 {
            0 => c.hp = small,
            1 => c.max_hp = small,
            2 => c.temp_hp = small,
            3 => {
                let a = dicebard_engine::ability::Ability::ALL[(n as usize) % 6];
                *c.abilities.score_mut(a) = (n >> 8) as i32;
            }
            4 => {
                if let Some(pc) = c.pc.as_mut() {
                    pc.level = n as u8;
                }
            }
            5 => {
                if let Some(pc) = c.pc.as_mut() {
                    pc.attacks_per_action = n as u8;
                }
            }
            6 => c.death_saves.failures = n as u8,
            7 => c.death_saves.successes = n as u8,
            8 => c.exhaustion = n as u8,
            9 => c.hit_dice.remaining = n as u32,
            10 => c.hit_dice.total = n as u32,
            11 => c.hit_dice.die = n as u32,
            12 => c.armor_class = small,
            13 => c.speed = n as u32,
            14 => {
                if let Some(a) = c.attacks.first_mut()
                    && let Some(d) = a.damage.first_mut()
                {
                    d.dice = text;
                }
            }
            15 => {
                if let Some(a) = c.attacks.first_mut() {
                    a.to_hit = small;
                }
            }
            16 => c.attacks.push(Attack {
                name: text.clone(),
                to_hit: small,
                reach: Reach::Melee,
                damage: vec![
                    DamagePart {
                        dice: text,
                        damage_type: DamageType::ALL[(n as usize) % 13],
                    };
                    (n as usize) % 8
                ],
                save: None,
                usage: None,
            }),
            17 => c.inventory.push(Item {
                name: text,
                quantity: n as u32,
            }),
            18 => {
                c.resistances.insert(DamageType::ALL[(n as usize) % 13]);
            }
            19 => {
                c.immunities.insert(DamageType::ALL[(n as usize) % 13]);
            }
            20 => {
                c.condition_immunities
                    .insert(Condition::ALL[(n as usize) % Condition::ALL.len()]);
            }
            21 => {
                if let Some(sc) = c.spellcasting.as_mut() {
                    sc.max_slots[(n as usize) % 9] = (n >> 8) as u8;
                }
            }
            22 => {
                if let Some(sc) = c.spellcasting.as_mut() {
                    sc.used_slots[(n as usize) % 9] = (n >> 8) as u8;
                }
            }
            23 => {
                if let Some(sc) = c.spellcasting.as_mut() {
                    sc.spells.push(text);
                }
            }
            24 => c.name = text,
            25 => {
                if let Some(pc) = c.pc.as_mut() {
                    pc.class = text;
                }
            }
            26 => {
                if let Some(pc) = c.pc.as_mut() {
                    pc.race = text;
                }
            }
            27 => {
                c.conditions
                    .insert(Condition::ALL[(n as usize) % Condition::ALL.len()], None);
            }
            28 => {
                c.save_bonus_overrides.insert(
                    dicebard_engine::ability::Ability::ALL[(n as usize) % 6],
                    small,
                );
            }
            _ => {
                if let Some(a) = c.attacks.first_mut() {
                    a.usage = Some(text);
                }
            }
        }
    }
    common::import_and_play(ex, input.level as u64);
});
