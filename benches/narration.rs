//! Time from an event being committed to the first sentence of its narration: with the
//! built-in narrator, and with the LLM narrator talking to a local streaming server
//! that answers at once (so what is measured is our overhead: prompt building, HTTP,
//! SSE decoding, sentence splitting, the number check). Run with
//! `cargo bench --bench narration`; under `cargo test --all-targets` it does a few
//! iterations only, as a smoke test.

#[path = "../tests/it/support/mod.rs"]
mod support;

use dicebard::llm::ProviderKind;
use dicebard::narrator::{BuiltinNarrator, LlmNarrator, NarrationEvent, Narrator};
use std::time::{Duration, Instant};
use support::fake_llm::{FakeLlm, anthropic, openai};
use support::{World, llm_with, test_settings};

fn percentiles(mut v: Vec<Duration>) -> (Duration, Duration, Duration) {
    v.sort();
    let at = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
    (at(0.5), at(0.99), v[v.len() - 1])
}

fn show(label: &str, v: Vec<Duration>) {
    let n = v.len();
    let (p50, p99, max) = percentiles(v);
    println!(
        "{label:<64} n={n:<5} p50 {:>9.1} µs  p99 {:>9.1} µs  max {:>9.1} µs",
        p50.as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
        max.as_secs_f64() * 1e6
    );
}

async fn llm_first_sentence(
    kind: ProviderKind,
    iterations: usize,
    pieces: usize,
) -> (Vec<Duration>, Vec<Duration>) {
    let server = FakeLlm::start().await;
    let words: Vec<String> = "The blade flashes in the torchlight and the goblin staggers back. It snarls and raises its shield. Silence falls over the hall."
        .split_inclusive(' ')
        .map(str::to_string)
        .collect();
    let chunk = words.len().div_ceil(pieces.max(1));
    let parts: Vec<String> = words.chunks(chunk).map(|c| c.concat()).collect();
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    server.always(match kind {
        ProviderKind::OpenAi => openai::text_stream(&parts, Duration::ZERO, Some((800, 40))),
        ProviderKind::Anthropic => anthropic::text_stream(&parts, Duration::ZERO, (800, 40)),
    });
    let mut settings = test_settings();
    settings.token_budget = 0; // no cap: the benchmark spends more than a day's default
    settings.daily_token_budget = 0; // nor a host-wide one
    let llm = llm_with(kind, &server.base_url(), settings, None);
    let narrator = LlmNarrator::new(llm, None, dicebard::clock::Clock::system());
    let mut w = World::party(1);
    let mut first = Vec::with_capacity(iterations);
    let mut whole = Vec::with_capacity(iterations);
    for i in 0..iterations {
        let events = w.run(
            "alice",
            dicebard_engine::Action::Act {
                text: format!("I raise my axe, {i}."),
            },
        );
        let t = Instant::now();
        let mut s = narrator.narrate_stream(&w.state, &events).await;
        let mut got_first = false;
        while let Some(e) = s.next().await {
            match e {
                NarrationEvent::Sentence { .. } if !got_first => {
                    first.push(t.elapsed());
                    got_first = true;
                }
                NarrationEvent::Done(o) => {
                    assert!(o.error.is_none(), "{:?}", o.error);
                    whole.push(t.elapsed());
                    break;
                }
                _ => {}
            }
        }
    }
    (first, whole)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (builtin_n, llm_n) = if full { (20_000, 300) } else { (50, 5) };

    let mut w = World::fight(1);
    let mut batches = Vec::new();
    for _ in 0..20 {
        let p = w.until_pc_turn();
        let attack = dicebard_engine::Action::Attack {
            target: "Goblin 1".into(),
            weapon: None,
        };
        match w.try_run(&p, attack) {
            Ok(events) => batches.push(events),
            Err(_) => break, // Goblin 1 is down
        }
        if !w.state.in_combat() {
            break;
        }
    }
    let narrator = BuiltinNarrator;
    let mut times = Vec::with_capacity(builtin_n);
    for i in 0..builtin_n {
        let events = &batches[i % batches.len()];
        let t = Instant::now();
        let out = narrator.narrate(&w.state, events).await;
        let _first = out.first();
        times.push(t.elapsed());
    }
    show("built-in narrator: committed -> first sentence", times);

    for (kind, name) in [
        (ProviderKind::OpenAi, "openai"),
        (ProviderKind::Anthropic, "anthropic"),
    ] {
        let (first, whole) = llm_first_sentence(kind, llm_n, 24).await;
        show(
            &format!("LLM narrator ({name}, local SSE, 24 chunks): first sentence"),
            first,
        );
        show(
            &format!("LLM narrator ({name}, local SSE, 24 chunks): whole"),
            whole,
        );
    }
    let (first, _) = llm_first_sentence(ProviderKind::OpenAi, llm_n, 1).await;
    show(
        "LLM narrator (openai, local SSE, 1 chunk): first sentence",
        first,
    );
}
