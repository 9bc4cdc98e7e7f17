//! dicebard: a self-hosted Discord bot that runs a D&D 5e table with an AI game master;
//! the same table is also played at the terminal (`dicebard play`).
//!
//! The rules live in the `dicebard-engine` crate (pure: no IO, no clock); this crate is
//! the runtime around it. See ARCHITECTURE.md for the code map and invariants. The
//! modules are layered, each importing only those below it (checked by
//! `tests/it/tidy.rs`): `cli` → `app` (the composition root) → the front ends
//! (`terminal`, `discord`, `web`; they never import each other) → `table` (links,
//! kicks, presence) → `feed`, `voice` → `gm` →
//! `narrator`, `intent` → `llm` → `coordinator` → `store` → `config`, `clock`,
//! `shutdown`.

pub mod app;
pub mod cli;
pub mod config;
pub mod feed;
pub mod gm;
pub mod intent;
pub mod llm;
pub mod store;

pub mod clock;
pub mod coordinator;
pub mod discord;
pub mod narrator;
pub mod shutdown;
pub mod table;
pub mod terminal;
pub mod voice;
pub mod web;
