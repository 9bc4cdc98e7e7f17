//! Abilities, skills and advantage: the vocabulary every check, save and attack uses.

use serde::{Deserialize, Serialize};
use std::fmt;

/// One of the six ability scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ability {
    Str,
    Dex,
    Con,
    Int,
    Wis,
    Cha,
}

impl Ability {
    pub const ALL: [Ability; 6] = [
        Ability::Str,
        Ability::Dex,
        Ability::Con,
        Ability::Int,
        Ability::Wis,
        Ability::Cha,
    ];

    /// Full English name ("Strength").
    pub fn name(self) -> &'static str {
        match self {
            Ability::Str => "Strength",
            Ability::Dex => "Dexterity",
            Ability::Con => "Constitution",
            Ability::Int => "Intelligence",
            Ability::Wis => "Wisdom",
            Ability::Cha => "Charisma",
        }
    }

    /// Three-letter lower-case code as used by the SRD data ("str").
    pub fn code(self) -> &'static str {
        match self {
            Ability::Str => "str",
            Ability::Dex => "dex",
            Ability::Con => "con",
            Ability::Int => "int",
            Ability::Wis => "wis",
            Ability::Cha => "cha",
        }
    }

    /// Parses "str", "STR", "strength", "Strength".
    pub fn parse(s: &str) -> Option<Ability> {
        let s = s.trim().to_ascii_lowercase();
        Ability::ALL
            .into_iter()
            .find(|a| a.code() == s || a.name().eq_ignore_ascii_case(&s))
    }
}

impl fmt::Display for Ability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The six scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Abilities {
    pub str: i32,
    pub dex: i32,
    pub con: i32,
    pub int: i32,
    pub wis: i32,
    pub cha: i32,
}

impl Abilities {
    pub fn new(str: i32, dex: i32, con: i32, int: i32, wis: i32, cha: i32) -> Self {
        Abilities {
            str,
            dex,
            con,
            int,
            wis,
            cha,
        }
    }

    pub fn score(&self, a: Ability) -> i32 {
        match a {
            Ability::Str => self.str,
            Ability::Dex => self.dex,
            Ability::Con => self.con,
            Ability::Int => self.int,
            Ability::Wis => self.wis,
            Ability::Cha => self.cha,
        }
    }

    pub fn score_mut(&mut self, a: Ability) -> &mut i32 {
        match a {
            Ability::Str => &mut self.str,
            Ability::Dex => &mut self.dex,
            Ability::Con => &mut self.con,
            Ability::Int => &mut self.int,
            Ability::Wis => &mut self.wis,
            Ability::Cha => &mut self.cha,
        }
    }

    /// The 5e modifier: floor((score - 10) / 2).
    pub fn modifier(&self, a: Ability) -> i32 {
        modifier(self.score(a))
    }
}

/// The 5e ability modifier for a score: floor((score - 10) / 2).
pub fn modifier(score: i32) -> i32 {
    (score - 10).div_euclid(2)
}

/// The 18 SRD skills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Skill {
    Acrobatics,
    AnimalHandling,
    Arcana,
    Athletics,
    Deception,
    History,
    Insight,
    Intimidation,
    Investigation,
    Medicine,
    Nature,
    Perception,
    Performance,
    Persuasion,
    Religion,
    SleightOfHand,
    Stealth,
    Survival,
}

impl Skill {
    pub const ALL: [Skill; 18] = [
        Skill::Acrobatics,
        Skill::AnimalHandling,
        Skill::Arcana,
        Skill::Athletics,
        Skill::Deception,
        Skill::History,
        Skill::Insight,
        Skill::Intimidation,
        Skill::Investigation,
        Skill::Medicine,
        Skill::Nature,
        Skill::Perception,
        Skill::Performance,
        Skill::Persuasion,
        Skill::Religion,
        Skill::SleightOfHand,
        Skill::Stealth,
        Skill::Survival,
    ];

    pub fn ability(self) -> Ability {
        use Skill::*;
        match self {
            Athletics => Ability::Str,
            Acrobatics | SleightOfHand | Stealth => Ability::Dex,
            Arcana | History | Investigation | Nature | Religion => Ability::Int,
            AnimalHandling | Insight | Medicine | Perception | Survival => Ability::Wis,
            Deception | Intimidation | Performance | Persuasion => Ability::Cha,
        }
    }

    pub fn name(self) -> &'static str {
        use Skill::*;
        match self {
            Acrobatics => "Acrobatics",
            AnimalHandling => "Animal Handling",
            Arcana => "Arcana",
            Athletics => "Athletics",
            Deception => "Deception",
            History => "History",
            Insight => "Insight",
            Intimidation => "Intimidation",
            Investigation => "Investigation",
            Medicine => "Medicine",
            Nature => "Nature",
            Perception => "Perception",
            Performance => "Performance",
            Persuasion => "Persuasion",
            Religion => "Religion",
            SleightOfHand => "Sleight of Hand",
            Stealth => "Stealth",
            Survival => "Survival",
        }
    }

    /// Kebab-case index as in the SRD ("sleight-of-hand").
    pub fn index(self) -> String {
        self.name().to_ascii_lowercase().replace(' ', "-")
    }

    /// Parses "stealth", "Sleight of Hand", "sleight-of-hand", "sleight_of_hand".
    pub fn parse(s: &str) -> Option<Skill> {
        let norm: String = s
            .trim()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        Skill::ALL.into_iter().find(|sk| {
            let n: String = sk
                .name()
                .chars()
                .filter(|c| c.is_ascii_alphanumeric())
                .map(|c| c.to_ascii_lowercase())
                .collect();
            n == norm
        })
    }
}

impl fmt::Display for Skill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Advantage state of a d20 roll, after combining every source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Advantage {
    #[default]
    Normal,
    Advantage,
    Disadvantage,
}

impl Advantage {
    /// Combines sources per the 5e rule: any advantage and any disadvantage cancel out,
    /// however many of each there are.
    pub fn combine(sources: impl IntoIterator<Item = Advantage>) -> Advantage {
        let (mut adv, mut dis) = (false, false);
        for s in sources {
            match s {
                Advantage::Advantage => adv = true,
                Advantage::Disadvantage => dis = true,
                Advantage::Normal => {}
            }
        }
        match (adv, dis) {
            (true, false) => Advantage::Advantage,
            (false, true) => Advantage::Disadvantage,
            _ => Advantage::Normal,
        }
    }
}

/// Proficiency level in a skill or save.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proficiency {
    Proficient,
    Expertise,
}

/// Proficiency bonus by character level (1..=20).
pub fn proficiency_bonus_for_level(level: u8) -> i32 {
    2 + (i32::from(level.clamp(1, 20)) - 1) / 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modifiers_follow_the_table() {
        assert_eq!(modifier(1), -5);
        assert_eq!(modifier(8), -1);
        assert_eq!(modifier(9), -1);
        assert_eq!(modifier(10), 0);
        assert_eq!(modifier(11), 0);
        assert_eq!(modifier(15), 2);
        assert_eq!(modifier(20), 5);
    }

    #[test]
    fn proficiency_by_level() {
        let expect = [2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6];
        for (i, p) in expect.iter().enumerate() {
            assert_eq!(proficiency_bonus_for_level(i as u8 + 1), *p);
        }
    }

    #[test]
    fn advantage_cancels() {
        use Advantage::{Disadvantage as Dis, Normal as Norm};
        const ADV: Advantage = Advantage::Advantage;
        assert_eq!(Advantage::combine([ADV, ADV, Dis]), Norm);
        assert_eq!(Advantage::combine([ADV, Norm]), ADV);
        assert_eq!(Advantage::combine([Dis]), Dis);
    }

    #[test]
    fn parsing_names() {
        assert_eq!(Skill::parse("sleight of hand"), Some(Skill::SleightOfHand));
        assert_eq!(Skill::parse("Animal-Handling"), Some(Skill::AnimalHandling));
        assert_eq!(Ability::parse("DEX"), Some(Ability::Dex));
        assert_eq!(Ability::parse("wisdom"), Some(Ability::Wis));
        assert_eq!(Skill::SleightOfHand.index(), "sleight-of-hand");
    }
}
