//! Which spells a character can cast, by its class's rules (SRD 5.1):
//!
//! - **Cantrips**: as many as the class table's "Cantrips Known" column.
//! - **Known casters** (bard, ranger, sorcerer, warlock) know as many levelled spells as
//!   the table's "Spells Known" column, chosen at creation and on level up.
//! - **Prepared casters** (cleric, druid, paladin, wizard) prepare *ability modifier +
//!   level* spells (paladin: + half the level), at least one, from the whole class list
//!   (a wizard: from its spellbook, six spells at level 1 and two more a level), and may
//!   change the list after a long rest (`prepare`).
//!
//! Every spell must be on the class's list and of a level the character has slots for.
//! [`Creature::spellcasting`]'s `spells` is what it can cast now (cantrips + known or
//! prepared spells); a wizard's book is [`crate::creature::PcInfo::spellbook`].

use crate::ability::{Abilities, modifier};
use crate::data::{Catalog, ClassData, SpellData, to_index};
use crate::error::RuleError;

/// How a class chooses its spells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CasterKind {
    /// Knows a fixed number of spells (bard, ranger, sorcerer, warlock).
    Known,
    /// Prepares from the whole class list after a long rest (cleric, druid, paladin).
    Prepared,
    /// Prepares from a spellbook (wizard).
    Spellbook,
}

/// The way a class chooses spells; `None` for classes that cast none.
pub fn caster_kind(class: &str) -> Option<CasterKind> {
    match class {
        "bard" | "ranger" | "sorcerer" | "warlock" => Some(CasterKind::Known),
        "cleric" | "druid" | "paladin" => Some(CasterKind::Prepared),
        "wizard" => Some(CasterKind::Spellbook),
        _ => None,
    }
}

/// The highest spell level a class has slots for at a level (0: none yet).
pub fn max_spell_level(class: &ClassData, level: u8) -> u8 {
    class
        .spell_slots
        .get(usize::from(level.clamp(1, 20)) - 1)
        .and_then(|s| s.iter().rposition(|n| *n > 0))
        .map_or(0, |i| i as u8 + 1)
}

/// Cantrips known at a level.
pub fn cantrips_allowed(class: &ClassData, level: u8) -> usize {
    usize::from(
        class
            .cantrips_known
            .get(usize::from(level.clamp(1, 20)) - 1)
            .copied()
            .unwrap_or(0),
    )
}

/// How many levelled spells the character may know or have prepared.
pub fn spells_allowed(class: &ClassData, level: u8, abilities: &Abilities) -> usize {
    let level = level.clamp(1, 20);
    match caster_kind(&class.index) {
        None => 0,
        Some(CasterKind::Known) => usize::from(
            class
                .spells_known
                .get(usize::from(level) - 1)
                .copied()
                .unwrap_or(0),
        ),
        Some(_) => {
            if max_spell_level(class, level) == 0 {
                return 0;
            }
            let m = class
                .spellcasting_ability
                .map_or(0, |a| modifier(abilities.score(a)));
            let l = if class.index == "paladin" {
                i32::from(level) / 2
            } else {
                i32::from(level)
            };
            (m + l).max(1) as usize
        }
    }
}

/// The size of a wizard's spellbook at a level (six, and two more each level).
pub fn spellbook_size(level: u8) -> usize {
    6 + 2 * (usize::from(level.clamp(1, 20)) - 1)
}

/// The class's word for its levelled spells ("prepared" or "known").
pub fn chosen_word(class: &str) -> &'static str {
    match caster_kind(class) {
        Some(CasterKind::Known) | None => "known",
        _ => "prepared",
    }
}

/// Looks one spell up and checks it is on the class list and castable at this level.
pub fn legal_spell<'c>(
    catalog: &'c Catalog,
    class: &ClassData,
    level: u8,
    name: &str,
) -> Result<&'c SpellData, RuleError> {
    let idx = to_index(name);
    let Some(sd) = catalog.spell(&idx) else {
        return Err(RuleError::invalid(format!(
            "There is no spell called \"{}\".",
            crate::error::echo(name)
        )));
    };
    if !sd.classes.iter().any(|c| c == &class.index) {
        return Err(RuleError::invalid(format!(
            "{} is not on the {} spell list.",
            sd.name, class.name
        )));
    }
    let max = max_spell_level(class, level);
    if sd.level > max {
        return Err(RuleError::invalid(format!(
            "A level {level} {} can't cast level {} spells like {} yet.",
            class.name, sd.level, sd.name
        )));
    }
    Ok(sd)
}

/// A character's spells after a choice: `spells` to cast now (cantrips first), and a
/// wizard's `spellbook`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chosen {
    pub spells: Vec<String>,
    pub spellbook: Vec<String>,
}

/// A sensible default list per class and level (SRD indexes), before the class's
/// counts trim it.
fn default_spells(class: &str, level: u8) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = match class {
        "wizard" | "sorcerer" => vec!["fire-bolt", "magic-missile", "shield", "burning-hands"],
        "cleric" => vec!["sacred-flame", "cure-wounds", "healing-word", "bless"],
        "bard" => vec!["vicious-mockery", "healing-word", "cure-wounds"],
        "druid" => vec!["produce-flame", "cure-wounds", "healing-word"],
        "warlock" => vec!["eldritch-blast"],
        "paladin" if level >= 2 => vec!["bless", "cure-wounds"],
        "ranger" if level >= 2 => vec!["cure-wounds"],
        _ => vec![],
    };
    if level >= 5 && matches!(class, "wizard" | "sorcerer") {
        v.push("fireball");
    }
    v
}

/// Spells a default wizard's book holds besides its prepared ones, before the rest of
/// the wizard list fills it.
const WIZARD_BOOK: &[&str] = &[
    "mage-armor",
    "sleep",
    "thunderwave",
    "hold-person",
    "misty-step",
    "scorching-ray",
    "counterspell",
    "lightning-bolt",
];

/// The default list for a class and level (what a quick start gets): a few useful
/// spells that fit, within the class's counts.
pub fn default_choice(
    class: &ClassData,
    level: u8,
    abilities: &Abilities,
    catalog: &Catalog,
) -> Chosen {
    let legal: Vec<&SpellData> = default_spells(&class.index, level)
        .into_iter()
        .filter_map(|s| legal_spell(catalog, class, level, s).ok())
        .collect();
    let cantrips = legal
        .iter()
        .filter(|s| s.level == 0)
        .take(cantrips_allowed(class, level));
    let levelled: Vec<String> = legal
        .iter()
        .filter(|s| s.level > 0)
        .map(|s| s.index.clone())
        .collect();
    let n = spells_allowed(class, level, abilities);
    let mut spellbook = Vec::new();
    if caster_kind(&class.index) == Some(CasterKind::Spellbook) {
        spellbook = levelled.clone();
        for s in WIZARD_BOOK {
            if let Ok(sd) = legal_spell(catalog, class, level, s)
                && spellbook.len() < spellbook_size(level)
            {
                spellbook.push(sd.index.clone());
            }
        }
        fill_book(&mut spellbook, class, level, catalog);
    }
    let mut spells: Vec<String> = cantrips.map(|s| s.index.clone()).collect();
    spells.extend(levelled.into_iter().take(n));
    Chosen { spells, spellbook }
}

/// Fills a wizard's spellbook up to its size with wizard spells it can cast (in catalog
/// order, lowest level first).
fn fill_book(book: &mut Vec<String>, class: &ClassData, level: u8, catalog: &Catalog) {
    let size = spellbook_size(level);
    let max = max_spell_level(class, level);
    for l in 1..=max {
        for sd in catalog.spells.values() {
            if book.len() >= size {
                return;
            }
            if sd.level == l
                && sd.classes.iter().any(|c| c == &class.index)
                && !book.contains(&sd.index)
            {
                book.push(sd.index.clone());
            }
        }
    }
}

/// Checks a player's choice at creation (cantrips and levelled spells in one list)
/// against the class's rules. A wizard's book holds the chosen spells and is filled
/// up to its size from the wizard list; its prepared spells are the chosen ones.
pub fn choose_at_creation(
    class: &ClassData,
    level: u8,
    abilities: &Abilities,
    catalog: &Catalog,
    wanted: &[String],
) -> Result<Chosen, RuleError> {
    if wanted.is_empty() {
        return Ok(default_choice(class, level, abilities, catalog));
    }
    if wanted.len() > 100 {
        return Err(RuleError::invalid("That is far too many spells."));
    }
    let mut cantrips = Vec::new();
    let mut levelled = Vec::new();
    for w in wanted {
        let sd = legal_spell(catalog, class, level, w)?;
        let list = if sd.level == 0 {
            &mut cantrips
        } else {
            &mut levelled
        };
        if !list.contains(&sd.index) {
            list.push(sd.index.clone());
        }
    }
    check_counts(class, level, abilities, cantrips.len(), levelled.len())?;
    let mut spellbook = Vec::new();
    if caster_kind(&class.index) == Some(CasterKind::Spellbook) {
        // The chosen spells, then the default book's, then the rest of the list.
        spellbook = levelled.clone();
        let default = default_choice(class, level, abilities, catalog).spellbook;
        for s in default {
            if spellbook.len() < spellbook_size(level) && !spellbook.contains(&s) {
                spellbook.push(s);
            }
        }
        fill_book(&mut spellbook, class, level, catalog);
    }
    let mut spells = cantrips;
    spells.extend(levelled);
    Ok(Chosen { spells, spellbook })
}

/// Refuses more cantrips or levelled spells than the class allows, naming the rule.
pub fn check_counts(
    class: &ClassData,
    level: u8,
    abilities: &Abilities,
    cantrips: usize,
    levelled: usize,
) -> Result<(), RuleError> {
    let c = cantrips_allowed(class, level);
    if cantrips > c {
        return Err(RuleError::invalid(format!(
            "A level {level} {} knows {c} cantrip{} (you chose {cantrips}).",
            class.name,
            if c == 1 { "" } else { "s" }
        )));
    }
    let n = spells_allowed(class, level, abilities);
    if levelled > n {
        let rule = match caster_kind(&class.index) {
            Some(CasterKind::Known) | None => {
                format!("A level {level} {} knows {n} spells", class.name)
            }
            Some(_) => {
                let a = class.spellcasting_ability.map_or("", |a| a.name());
                let lv = if class.index == "paladin" {
                    "half the paladin level"
                } else {
                    "the level"
                };
                format!(
                    "A level {level} {} prepares {n} spells ({a} modifier + {lv}, at least 1)",
                    class.name
                )
            }
        };
        return Err(RuleError::invalid(format!("{rule}; you chose {levelled}.")));
    }
    Ok(())
}
