//! The 15 SRD conditions and what each does to rolls.
//!
//! Only the mechanical effects the engine can adjudicate are modelled (advantage,
//! disadvantage, automatic failures, incapacitation, speed, automatic crits); the rest
//! (e.g. a deafened creature failing hearing checks) is left to the GM.

use crate::ability::Ability;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An SRD condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Condition {
    Blinded,
    Charmed,
    Deafened,
    Exhaustion,
    Frightened,
    Grappled,
    Incapacitated,
    Invisible,
    Paralyzed,
    Petrified,
    Poisoned,
    Prone,
    Restrained,
    Stunned,
    Unconscious,
}

impl Condition {
    pub const ALL: [Condition; 15] = [
        Condition::Blinded,
        Condition::Charmed,
        Condition::Deafened,
        Condition::Exhaustion,
        Condition::Frightened,
        Condition::Grappled,
        Condition::Incapacitated,
        Condition::Invisible,
        Condition::Paralyzed,
        Condition::Petrified,
        Condition::Poisoned,
        Condition::Prone,
        Condition::Restrained,
        Condition::Stunned,
        Condition::Unconscious,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Condition::Blinded => "blinded",
            Condition::Charmed => "charmed",
            Condition::Deafened => "deafened",
            Condition::Exhaustion => "exhaustion",
            Condition::Frightened => "frightened",
            Condition::Grappled => "grappled",
            Condition::Incapacitated => "incapacitated",
            Condition::Invisible => "invisible",
            Condition::Paralyzed => "paralyzed",
            Condition::Petrified => "petrified",
            Condition::Poisoned => "poisoned",
            Condition::Prone => "prone",
            Condition::Restrained => "restrained",
            Condition::Stunned => "stunned",
            Condition::Unconscious => "unconscious",
        }
    }

    pub fn parse(s: &str) -> Option<Condition> {
        let s = s.trim().to_ascii_lowercase();
        let s = if s == "paralysed" {
            "paralyzed".into()
        } else {
            s
        };
        Condition::ALL.into_iter().find(|c| c.name() == s)
    }

    /// Conditions that include being incapacitated (no actions, no reactions).
    pub fn incapacitates(self) -> bool {
        matches!(
            self,
            Condition::Incapacitated
                | Condition::Paralyzed
                | Condition::Petrified
                | Condition::Stunned
                | Condition::Unconscious
        )
    }

    /// Str and Dex saves fail automatically.
    pub fn auto_fails_save(self, ability: Ability) -> bool {
        matches!(ability, Ability::Str | Ability::Dex)
            && matches!(
                self,
                Condition::Paralyzed
                    | Condition::Petrified
                    | Condition::Stunned
                    | Condition::Unconscious
            )
    }

    /// Melee hits from within 5 feet are critical hits.
    pub fn melee_hits_are_crits(self) -> bool {
        matches!(self, Condition::Paralyzed | Condition::Unconscious)
    }

    /// Speed becomes 0.
    pub fn zero_speed(self) -> bool {
        matches!(
            self,
            Condition::Grappled
                | Condition::Restrained
                | Condition::Paralyzed
                | Condition::Petrified
                | Condition::Stunned
                | Condition::Unconscious
        )
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
