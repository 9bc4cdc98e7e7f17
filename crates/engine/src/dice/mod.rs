//! Dice: the randomness source the engine is handed, and the dice expression language.
//!
//! The engine never reaches for ambient randomness. Every roll goes through a
//! [`Dice`] handed in by the caller: [`SeededDice`] (a ChaCha8 stream from a stored
//! seed, so any campaign can be replayed) in production, [`ScriptedDice`] in tests.

pub mod expr;

pub use expr::{Crit, DiceError, Expr, Roll, RolledDie, parse, roll};

use rand_chacha::ChaCha8Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// A source of die results. `roll(sides)` returns a value in `1..=sides`.
/// Callers never pass `sides == 0` (the expression language rejects it first).
pub trait Dice {
    fn roll(&mut self, sides: u32) -> u32;
}

/// The production source: a seedable, portable PRNG (ChaCha8).
#[derive(Debug, Clone)]
pub struct SeededDice {
    rng: ChaCha8Rng,
}

impl SeededDice {
    pub fn new(seed: u64) -> Self {
        SeededDice {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    /// A 64-bit value (used by hosts to derive per-command seeds).
    pub fn next_u64(&mut self) -> u64 {
        self.rng.next_u64()
    }
}

impl Dice for SeededDice {
    fn roll(&mut self, sides: u32) -> u32 {
        let sides = sides.max(1);
        // Rejection sampling: no modulo bias.
        let zone = u32::MAX - (u32::MAX % sides);
        loop {
            let v = self.rng.next_u32();
            if v < zone {
                return v % sides + 1;
            }
        }
    }
}

/// Test dice: returns scripted values in order, clamped into `1..=sides`.
/// When the script runs out it keeps returning `fallback`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ScriptedDice {
    values: VecDeque<u32>,
    fallback: u32,
    /// Every (sides, value) handed out, for assertions.
    pub log: Vec<(u32, u32)>,
}

impl ScriptedDice {
    pub fn new(values: impl IntoIterator<Item = u32>) -> Self {
        ScriptedDice {
            values: values.into_iter().collect(),
            fallback: 1,
            log: Vec::new(),
        }
    }

    /// Sets the value returned once the script is exhausted.
    pub fn with_fallback(mut self, v: u32) -> Self {
        self.fallback = v;
        self
    }

    pub fn remaining(&self) -> usize {
        self.values.len()
    }
}

impl Dice for ScriptedDice {
    fn roll(&mut self, sides: u32) -> u32 {
        let v = self
            .values
            .pop_front()
            .unwrap_or(self.fallback)
            .clamp(1, sides.max(1));
        self.log.push((sides, v));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_dice_are_repeatable_and_in_range() {
        let mut a = SeededDice::new(42);
        let mut b = SeededDice::new(42);
        for sides in [2u32, 4, 6, 8, 10, 12, 20, 100] {
            for _ in 0..200 {
                let x = a.roll(sides);
                assert_eq!(x, b.roll(sides));
                assert!((1..=sides).contains(&x));
            }
        }
    }

    #[test]
    fn seeded_d20_hits_every_face() {
        let mut d = SeededDice::new(7);
        let mut seen = [false; 20];
        for _ in 0..2000 {
            seen[d.roll(20) as usize - 1] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }

    #[test]
    fn scripted_dice_clamp_and_fall_back() {
        let mut d = ScriptedDice::new([20, 7]).with_fallback(3);
        assert_eq!(d.roll(20), 20);
        assert_eq!(d.roll(6), 6);
        assert_eq!(d.roll(8), 3);
    }
}
