//! What a phone, TV or GM page (or anything else on the network) sends the web table:
//! WebSocket text frames, REST bodies, query strings, join links and cookies, through
//! the server's parsing and dispatch on a real coordinator: never a panic, a stall or
//! an internal error. The first byte picks the path (see `dicebard::web::fuzzing`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    dicebard::web::fuzzing::frames(data);
});
