//! The SSE parser (src/llm/sse.rs, compiled here as is) on an LLM server's bytes cut
//! into chunks anywhere — inside a line, inside a UTF-8 character: never a panic, no
//! line past its cap, and the same events however the body was cut.
#![no_main]

#[path = "../../src/llm/sse.rs"]
#[allow(dead_code)]
mod sse;

use libfuzzer_sys::fuzz_target;

fn events(chunks: &[&[u8]]) -> Result<Vec<sse::SseEvent>, String> {
    let mut p = sse::SseParser::new();
    let mut out = Vec::new();
    for c in chunks {
        out.extend(p.push(c)?);
    }
    out.extend(p.finish());
    Ok(out)
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let size = usize::from(first % 64) + 1;
    let cut: Vec<&[u8]> = body.chunks(size).collect();
    let whole = events(&[body]);
    let pieces = events(&cut);
    if let (Ok(a), Ok(b)) = (&whole, &pieces) {
        assert_eq!(a, b, "the events depend on how the body was cut");
        for ev in a {
            // What the decoders do next with each event's data.
            let _ = serde_json::from_str::<serde_json::Value>(ev.data.trim());
        }
    }
});
