//! The dice expression language: any text parses or is refused without panicking;
//! what parses prints back to itself, rolls within its bounds, and keeps its breakdown
//! short.
#![no_main]

use dicebard_engine::dice::expr::{MAX_BREAKDOWN_CHARS, MAX_DICE};
use dicebard_engine::dice::{Expr, SeededDice, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(e) = parse(src) else {
        return;
    };
    // The normalised text (the serialised form) parses back to the same expression.
    let text = e.to_string();
    let back =
        Expr::from_normalised(&text).unwrap_or_else(|err| panic!("{src:?} -> {text:?}: {err}"));
    assert_eq!(back, e, "{src:?} -> {text:?}");
    let json = serde_json::to_string(&e).unwrap();
    assert_eq!(
        serde_json::from_str::<Expr>(&json).unwrap(),
        e,
        "{src:?} via JSON"
    );
    let (lo, hi) = e.bounds();
    let seed = data
        .iter()
        .fold(0u64, |a, b| a.rotate_left(5) ^ u64::from(*b));
    for variant in [e.clone(), e.doubled()] {
        let (vlo, vhi) = variant.bounds();
        if let Ok(r) = variant.roll(&mut SeededDice::new(seed)) {
            assert!(
                (vlo..=vhi).contains(&r.total),
                "{src:?}: {} outside {vlo}..={vhi}",
                r.total
            );
            assert!(r.dice.len() <= MAX_DICE as usize, "{src:?}: too many dice");
            assert!(
                r.breakdown.chars().count() <= MAX_BREAKDOWN_CHARS,
                "{src:?}: breakdown too long"
            );
        }
    }
    let _ = (lo, hi);
    let _ = e.advantage();
    let _ = e.disadvantage();
});
