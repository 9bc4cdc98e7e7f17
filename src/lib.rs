//! dicebard: a self-hosted Discord bot that runs a D&D 5e table with an AI game master.
//!
//! The rules live in the `dicebard-engine` crate (pure: no IO, no clock); this crate is
//! the runtime around it. See ARCHITECTURE.md for the code map and invariants.

pub mod app;
pub mod cli;
pub mod config;
pub mod feed;
pub mod intent;
pub mod llm;
pub mod store;

// ---- runtime modules (coordinator, narrator, front ends) ------------------------------
// `terminal` is a stub until the terminal table lands; it will be replaced, and
// `coordinator` and `narrator` join it here.
pub mod clock;
pub mod coordinator;
pub mod discord;
pub mod narrator;
pub mod terminal;
pub mod web;
