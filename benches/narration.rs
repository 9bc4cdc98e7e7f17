//! Narration latency benchmark (being written).
fn main() {}
