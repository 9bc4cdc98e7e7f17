//! All integration tests in one binary: each links the whole bot (serenity, songbird,
//! whisper.cpp, ONNX Runtime), so one link instead of fifteen keeps builds short.

mod support;

mod bad_input;
mod cli_roll;
mod config;
mod coordinator;
mod crash;
mod discord_dm;
mod discord_e2e;
mod discord_llm_e2e;
mod feed;
mod feed_order;
mod fuzz_replay;
mod intent;
mod llm_narrator;
mod llm_providers;
mod shutdown;
mod store;
mod table;
mod terminal;
mod terminal_llm;
mod terminal_table;
mod tidy;
mod voice_e2e;
mod voice_heard;
mod web;
mod web_browser;
