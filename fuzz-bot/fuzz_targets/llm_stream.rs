//! An LLM server's streamed body, cut into chunks wherever the network cut it: SSE
//! parsing, the OpenAI and Anthropic decoders, and the assembly of text and tool calls
//! must never panic or hang, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte picks the chunk size (1–64 bytes, or the whole body).
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let size = match first {
        0 => body.len().max(1),
        n => usize::from(n % 64) + 1,
    };
    let chunks: Vec<&[u8]> = body.chunks(size).collect();
    dicebard::llm::fuzzing::stream(&chunks);
});
