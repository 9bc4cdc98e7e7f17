//! Slash-command options, the character form's fields and button custom ids, as a
//! member (or a modified client) sends them: parsing, the rules and rendering back
//! within Discord's limits must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        dicebard::discord::fuzzing::inputs(text);
    }
});
