//! The dice expression language (avrae/d20-style). Being written: see the brief.
use super::Dice;
use serde::{Deserialize, Serialize};

/// Critical result of a roll whose first kept die is a d20.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Crit {
    #[default]
    None,
    Success,
    Failure,
}

/// One die as rolled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RolledDie {
    pub sides: u32,
    pub value: u32,
    /// False when dropped by keep/drop or replaced by a reroll.
    pub kept: bool,
}

/// The result of rolling an expression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roll {
    pub expr: String,
    pub total: i64,
    pub breakdown: String,
    pub crit: Crit,
    pub dice: Vec<RolledDie>,
}

/// Why an expression could not be rolled; messages are fit to show a player.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiceError {
    #[error("{0}")]
    Invalid(String),
}

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    src: String,
}

pub fn parse(s: &str) -> Result<Expr, DiceError> {
    Ok(Expr { src: s.to_string() })
}

pub fn roll(s: &str, dice: &mut dyn Dice) -> Result<Roll, DiceError> {
    parse(s)?.roll(dice)
}

impl Expr {
    pub fn roll(&self, _dice: &mut dyn Dice) -> Result<Roll, DiceError> {
        Err(DiceError::Invalid(format!("not implemented: {}", self.src)))
    }
}
