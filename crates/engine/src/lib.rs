//! dicebard's rules engine: dice, 5e characters and rules, and the turn state machine.
//!
//! This crate owns every mechanical outcome at the table and nothing else. It does no
//! IO, has no async, reads no clock and has no ambient randomness: callers hand it the
//! time (`now`) and a [`dice::Dice`]. See ARCHITECTURE.md for the API and invariants.

pub mod ability;
pub mod data;
pub mod dice;
