//! The one parser for typed monster lists ("3 goblins, 1 bugbear", "goblin & 2 wolves"),
//! shared by every front end. Counts are bounded before any arithmetic, names resolve
//! against the catalog (plurals included), and whatever is typed the answer is either
//! a short list of groups within [`MAX_MONSTERS_PER_COMMAND`] or a clear refusal.

use crate::command::MonsterGroup;
use crate::data::{Catalog, MonsterData, to_index};
use crate::error::RuleError;
use crate::rules::MAX_MONSTERS_PER_COMMAND;

/// The longest monster list accepted, in characters.
pub const MAX_MONSTER_LIST_LEN: usize = 500;

/// Parses a monster list against the catalog. Groups are separated by commas, `&`,
/// `;`, `+` or the word "and"; each is an optional count (digits, "a"/"an", or a number
/// word up to twenty, optionally followed by "x") and an SRD monster name, singular or
/// plural ("wolves", "giant rats", "swarms of bats"). The same monster named twice is
/// one group. The total is at most [`MAX_MONSTERS_PER_COMMAND`]; anything else is a
/// [`RuleError`] a player can read.
pub fn parse_monster_list(s: &str, catalog: &Catalog) -> Result<Vec<MonsterGroup>, RuleError> {
    if s.chars().count() > MAX_MONSTER_LIST_LEN {
        return Err(RuleError::invalid(format!(
            "That monster list is too long (at most {MAX_MONSTER_LIST_LEN} characters)."
        )));
    }
    let segments = split(s);
    let mut out: Vec<MonsterGroup> = Vec::new();
    let mut total: u32 = 0;
    let mut i = 0;
    while i < segments.len() {
        let seg = &segments[i];
        let (count, name) = split_count(seg)?;
        // "Vampire, Bat Form": a comma inside an SRD name joins two segments.
        let mut m = resolve(catalog, name);
        if let Some(next) = segments.get(i + 1)
            && split_count(next).is_ok_and(|(n, _)| n.is_none())
            && let Some(joined) = resolve(catalog, &format!("{name}, {next}"))
        {
            m = Some(joined);
            i += 1;
        }
        i += 1;
        let Some(m) = m else {
            return Err(RuleError::UnknownTarget {
                what: "monster in the SRD",
                name: crate::error::echo(name),
            });
        };
        let count = count.unwrap_or(1);
        if count == 0 {
            return Err(RuleError::invalid(format!(
                "Zero {} is no monster at all — name at least one.",
                m.name
            )));
        }
        total = total
            .checked_add(count)
            .filter(|t| *t <= MAX_MONSTERS_PER_COMMAND)
            .ok_or_else(too_many)?;
        match out.iter_mut().find(|g| g.monster == m.index) {
            Some(g) => g.count += count,
            None => out.push(MonsterGroup {
                monster: m.index.clone(),
                count,
            }),
        }
    }
    if out.is_empty() {
        return Err(RuleError::invalid(
            "Name at least one monster, e.g. \"3 goblins, 1 bugbear\".",
        ));
    }
    Ok(out)
}

pub(crate) fn too_many() -> RuleError {
    RuleError::invalid(format!(
        "At most {MAX_MONSTERS_PER_COMMAND} monsters at once."
    ))
}

/// Splits on separators, trimming and dropping empty segments.
fn split(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in s.split([',', '&', ';', '+', '\n']) {
        // The word "and" separates too ("a goblin and two wolves").
        let mut cur: Vec<&str> = Vec::new();
        for w in part.split_whitespace() {
            if w.eq_ignore_ascii_case("and") {
                if !cur.is_empty() {
                    out.push(cur.join(" "));
                }
                cur.clear();
            } else {
                cur.push(w);
            }
        }
        if !cur.is_empty() {
            out.push(cur.join(" "));
        }
    }
    out
}

const NUMBER_WORDS: [&str; 21] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
];

/// A count word: digits (bounded: anything over the cap is refused, never wrapped),
/// "a"/"an", or a number word. `Ok(None)` when the word is not a count.
fn count_word(w: &str) -> Result<Option<u32>, RuleError> {
    let w = w.trim_end_matches(['x', 'X', '×']);
    let w = w.trim_start_matches(['x', 'X', '×']);
    if !w.is_empty() && w.chars().all(|c| c.is_ascii_digit()) {
        let digits = w.trim_start_matches('0');
        if digits.len() > 3 {
            return Err(too_many());
        }
        let n: u32 = if digits.is_empty() {
            0
        } else {
            digits.parse().map_err(|_| too_many())?
        };
        if n > MAX_MONSTERS_PER_COMMAND {
            return Err(too_many());
        }
        return Ok(Some(n));
    }
    let lower = w.to_lowercase();
    if matches!(lower.as_str(), "a" | "an") {
        return Ok(Some(1));
    }
    Ok(NUMBER_WORDS
        .iter()
        .position(|n| *n == lower)
        .map(|n| n as u32))
}

/// "3 goblins" -> (Some(3), "goblins"); "goblin x3" -> (Some(3), "goblin");
/// "goblin" -> (None, "goblin").
fn split_count(seg: &str) -> Result<(Option<u32>, &str), RuleError> {
    let seg = seg.trim();
    if let Some((first, rest)) = seg.split_once(char::is_whitespace)
        && let Some(n) = count_word(first)?
    {
        return Ok((Some(n), rest.trim()));
    }
    if let Some((rest, last)) = seg.rsplit_once(char::is_whitespace)
        && last.starts_with(['x', 'X', '×'])
        && let Some(n) = count_word(last)?
    {
        return Ok((Some(n), rest.trim()));
    }
    // A bare number with no monster ("3") or digits glued to a name are refused by
    // the name lookup.
    if !seg.is_empty() && seg.chars().all(|c| c.is_ascii_digit()) {
        count_word(seg)?;
    }
    Ok((None, seg))
}

/// The singular forms a plural word may come from.
fn singulars(w: &str) -> Vec<String> {
    let mut v = Vec::new();
    if let Some(stem) = w.strip_suffix("ies") {
        v.push(format!("{stem}y"));
    }
    if let Some(stem) = w.strip_suffix("ves") {
        v.push(format!("{stem}f"));
        v.push(format!("{stem}fe"));
    }
    if let Some(stem) = w.strip_suffix("es") {
        v.push(stem.to_string());
    }
    if let Some(stem) = w.strip_suffix('s') {
        v.push(stem.to_string());
    }
    if let Some(stem) = w.strip_suffix("men") {
        v.push(format!("{stem}man"));
    }
    v
}

/// Finds a monster by index, by display name, or by a singular of one of its words
/// ("wolves" -> wolf, "swarms of bats" -> swarm of bats, "giant rats" -> giant rat).
fn resolve<'c>(catalog: &'c Catalog, name: &str) -> Option<&'c MonsterData> {
    let idx = to_index(name);
    if idx.is_empty() || idx.len() > 100 {
        return None;
    }
    let by_index = |i: &str| {
        catalog
            .monsters
            .get(i)
            .or_else(|| catalog.monsters.values().find(|m| to_index(&m.name) == i))
    };
    if let Some(m) = by_index(&idx) {
        return Some(m);
    }
    let words: Vec<&str> = idx.split('-').collect();
    // One word made singular at a time, last word first.
    for i in (0..words.len()).rev() {
        for s in singulars(words[i]) {
            let mut w: Vec<&str> = words.clone();
            w[i] = &s;
            if let Some(m) = by_index(&w.join("-")) {
                return Some(m);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::MonsterData;

    fn monster(index: &str, name: &str) -> MonsterData {
        MonsterData {
            index: index.into(),
            name: name.into(),
            size: "Small".into(),
            kind: "humanoid".into(),
            alignment: String::new(),
            armor_class: 10,
            hit_points: 5,
            hit_dice: "1d6".into(),
            speed: 30,
            abilities: crate::ability::Abilities::new(10, 10, 10, 10, 10, 10),
            proficiency_bonus: 2,
            save_bonuses: Default::default(),
            skill_bonuses: Default::default(),
            damage_vulnerabilities: vec![],
            damage_resistances: vec![],
            damage_immunities: vec![],
            condition_immunities: vec![],
            challenge_rating: 0.25,
            xp: 50,
            actions: vec![],
            multiattack: None,
            special_abilities: vec![],
            legendary_actions: vec![],
            spellcasting: None,
        }
    }

    fn cat() -> Catalog {
        let mut c = Catalog::default();
        for (i, n) in [
            ("goblin", "Goblin"),
            ("bugbear", "Bugbear"),
            ("wolf", "Wolf"),
            ("giant-rat", "Giant Rat"),
            ("swarm-of-bats", "Swarm of Bats"),
            ("erinyes", "Erinyes"),
            ("vampire-bat", "Vampire, Bat Form"),
            ("harpy", "Harpy"),
            ("merfolk", "Merfolk"),
        ] {
            c.monsters.insert(i.into(), monster(i, n));
        }
        c
    }

    fn g(m: &str, n: u32) -> MonsterGroup {
        MonsterGroup {
            monster: m.into(),
            count: n,
        }
    }

    #[test]
    fn lists() {
        let c = cat();
        let p = |s: &str| parse_monster_list(s, &c);
        assert_eq!(
            p("3 goblin, 1 bugbear").unwrap(),
            vec![g("goblin", 3), g("bugbear", 1)]
        );
        assert_eq!(
            p("goblin & 2 wolves").unwrap(),
            vec![g("goblin", 1), g("wolf", 2)]
        );
        assert_eq!(p("2 goblins and a bugbear").unwrap().len(), 2);
        assert_eq!(p("two Giant Rats").unwrap(), vec![g("giant-rat", 2)]);
        assert_eq!(p("swarms of bats x3").unwrap(), vec![g("swarm-of-bats", 3)]);
        assert_eq!(p("erinyes").unwrap(), vec![g("erinyes", 1)]);
        assert_eq!(p("3 harpies").unwrap(), vec![g("harpy", 3)]);
        assert_eq!(
            p("2 Vampire, Bat Form, goblin").unwrap(),
            vec![g("vampire-bat", 2), g("goblin", 1)]
        );
        assert_eq!(p("2 goblin, 3 goblins").unwrap(), vec![g("goblin", 5)]);
        assert_eq!(p("3x goblin").unwrap(), vec![g("goblin", 3)]);
    }

    #[test]
    fn refusals_are_clear() {
        let c = cat();
        let p = |s: &str| parse_monster_list(s, &c);
        for s in [
            "4294967295 goblin, 2 goblin",
            "4294967296 goblin",
            "99999999999999999999999999 goblin",
            "21 goblin",
            "20 goblin, 1 wolf",
            "15 goblin, 15 goblin",
        ] {
            assert_eq!(p(s), Err(too_many()), "{s}");
        }
        assert!(matches!(
            p("3 dragons of doom"),
            Err(RuleError::UnknownTarget { .. })
        ));
        assert!(matches!(p("0 goblin"), Err(RuleError::Invalid(_))));
        assert!(matches!(p(""), Err(RuleError::Invalid(_))));
        assert!(matches!(p(" , & ,"), Err(RuleError::Invalid(_))));
        assert!(matches!(p("3"), Err(RuleError::UnknownTarget { .. })));
        assert!(matches!(
            p(&"goblin ".repeat(2000)),
            Err(RuleError::Invalid(_))
        ));
        assert!(p("ゴブリン").is_err());
        assert_eq!(p("020 goblin").unwrap(), vec![g("goblin", 20)]);
    }
}
