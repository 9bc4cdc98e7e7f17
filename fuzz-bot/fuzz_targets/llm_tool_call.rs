//! An LLM's tool-call JSON (or JSON buried in prose) for the intent reader and the NPC
//! policy, validated against a real scene: never a panic, and only commands a player
//! may issue, naming creatures that are there. The body is
//! `dicebard::intent::fuzzing::llm_tool_call`, which CI's corpus replay also runs.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    dicebard::intent::fuzzing::llm_tool_call(data);
});
