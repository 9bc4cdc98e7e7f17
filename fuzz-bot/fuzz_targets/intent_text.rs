//! Free text a player types (`/act`) or says (speech-to-text): the phrase parser's
//! reading and the rules it reaches must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        dicebard::intent::fuzzing::intent_text(text);
    }
});
