//! Character import JSON: any bytes are refused or give a character within the rules,
//! who can then fight, be hurt, die, rest and be exported again without a panic.
#![no_main]

mod common;

use dicebard_engine::character::CharacterExport;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(ex) = serde_json::from_slice::<CharacterExport>(data) else {
        return;
    };
    common::import_and_play(ex, data.len() as u64);
});
