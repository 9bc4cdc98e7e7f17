//! RTP datagrams as the fake voice server receives them: classification, transport
//! decryption, and (after re-sealing so the tag verifies) the header walk behind it:
//! CSRC count, extension length, padding. No input may panic, and a payload is never
//! longer than its packet.
#![no_main]

use dicebard_fuzz_voice::fake_rtp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, packet)) = data.split_first() else {
        return;
    };
    let cipher = fake_rtp::cipher(mode & 1 == 1);
    let _ = fake_rtp::classify(packet);
    // As received: almost always fails authentication.
    let _ = fake_rtp::open(&cipher, packet);
    // Authenticated, with the fuzzer's header fields.
    if let Some(sealed) = fake_rtp::reseal(&cipher, packet) {
        let _ = fake_rtp::classify(&sealed);
        let _ = fake_rtp::open(&cipher, &sealed);
    }
});
