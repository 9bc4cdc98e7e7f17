//! The fan-out probe: stage timestamps of an event's way from its commit to the last
//! socket that wrote it, for the web bench (`benches/web.rs`) and for anyone who wants
//! to see where that time goes in a running server.
//!
//! Off unless the environment variable [`ENV`] names a file when the process first
//! stamps something; then each event's stages are kept in a fixed table of slots
//! (lock-free: one slot per `(campaign, seq)`, the oldest overwritten) and a thread of
//! the probe's own appends one line per event to that file once the event has been
//! quiet for a second. Always compiled in, same code path on or off: off, a stamp is
//! one atomic load and a branch.
//!
//! Stages (times in microseconds after `committed`, `-` when not reached):
//! `committed` (the event log's transaction returned), `received` (the campaign's feed
//! task has it), `built` (its lines are built), `stored` (the feed's lines are in the
//! store), `published` (sent to the feed's subscribers), `woken` (first and last socket
//! writer that took it off the feed), `written` (first and last socket write of it
//! completed, flush included), and how many sockets wrote it. A line reads
//! `campaign seq received built stored published woken_first woken_last written_first
//! written_last writes`.
//!
//! Real time on purpose (`std::time::Instant`): this measures the machine, not game
//! time.

use super::CampaignId;
use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The environment variable that turns the probe on: the file its lines go to.
pub const ENV: &str = "DICEBARD_PROBE_FANOUT";

/// Events kept at once (a table of 1,000 clients makes a roll every ~50 ms).
const SLOTS: usize = 4096;

/// A stage stamped once per event.
#[derive(Debug, Clone, Copy)]
pub enum Stage {
    /// The feed task took the event off the coordinator.
    Received = 0,
    /// The feed's items for it (event and line) are built.
    Built = 1,
    /// The feed's lines for it are stored.
    Stored = 2,
    /// It was published to the feed's subscribers.
    Published = 3,
}

const ONCE: usize = 4;

struct Slot {
    /// `(campaign << 40) | seq`, plus one (0: empty).
    tag: AtomicU64,
    /// Nanoseconds since the probe's base; 0 = not stamped.
    committed: AtomicU64,
    once: [AtomicU64; ONCE],
    woken_first: AtomicU64,
    woken_last: AtomicU64,
    written_first: AtomicU64,
    written_last: AtomicU64,
    writes: AtomicU64,
    /// Nanoseconds of the last stamp (the dump waits for a quiet second).
    touched: AtomicU64,
    dumped: AtomicBool,
}

impl Slot {
    fn new() -> Slot {
        Slot {
            tag: AtomicU64::new(0),
            committed: AtomicU64::new(0),
            once: std::array::from_fn(|_| AtomicU64::new(0)),
            woken_first: AtomicU64::new(u64::MAX),
            woken_last: AtomicU64::new(0),
            written_first: AtomicU64::new(u64::MAX),
            written_last: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            touched: AtomicU64::new(0),
            dumped: AtomicBool::new(true),
        }
    }
}

struct Probe {
    base: Instant,
    slots: Box<[Slot]>,
}

static PROBE: OnceLock<Option<Probe>> = OnceLock::new();

fn probe() -> Option<&'static Probe> {
    PROBE
        .get_or_init(|| {
            let path = std::env::var_os(ENV).filter(|p| !p.is_empty())?;
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .ok()?;
            std::thread::Builder::new()
                .name("fanout-probe".into())
                .spawn(move || dump_forever(file))
                .ok()?;
            Some(Probe {
                base: Instant::now(),
                slots: (0..SLOTS).map(|_| Slot::new()).collect(),
            })
        })
        .as_ref()
}

fn tag(campaign: CampaignId, seq: u64) -> u64 {
    ((campaign.get() as u64) << 40 | (seq & ((1 << 40) - 1))).wrapping_add(1)
}

impl Probe {
    fn now(&self) -> u64 {
        (self.base.elapsed().as_nanos() as u64).max(1)
    }

    /// Consecutive seqs of one campaign land in consecutive slots.
    fn slot(&self, campaign: CampaignId, seq: u64) -> &Slot {
        let start = (campaign.get() as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
        &self.slots[(start.wrapping_add(seq) % SLOTS as u64) as usize]
    }

    /// The slot of an event already committed (`None` if it was overwritten).
    fn live(&self, campaign: CampaignId, seq: u64) -> Option<(&Slot, u64)> {
        let t = tag(campaign, seq);
        let s = self.slot(campaign, seq);
        (s.tag.load(Ordering::Acquire) == t).then(|| (s, self.now()))
    }
}

/// Whether the probe is on (a caller that must do extra work to stamp checks first).
pub fn enabled() -> bool {
    probe().is_some()
}

/// `campaign`'s event `seq` is committed to the log.
pub fn committed(campaign: CampaignId, seq: u64) {
    let Some(p) = probe() else { return };
    let t = tag(campaign, seq);
    let s = p.slot(campaign, seq);
    let now = p.now();
    s.tag.store(0, Ordering::Release);
    s.committed.store(now, Ordering::Relaxed);
    for o in &s.once {
        o.store(0, Ordering::Relaxed);
    }
    s.woken_first.store(u64::MAX, Ordering::Relaxed);
    s.woken_last.store(0, Ordering::Relaxed);
    s.written_first.store(u64::MAX, Ordering::Relaxed);
    s.written_last.store(0, Ordering::Relaxed);
    s.writes.store(0, Ordering::Relaxed);
    s.touched.store(now, Ordering::Relaxed);
    s.dumped.store(false, Ordering::Relaxed);
    s.tag.store(t, Ordering::Release);
}

/// `campaign`'s event `seq` reached `stage` (the first stamp counts).
pub fn stage(campaign: CampaignId, seq: u64, stage: Stage) {
    let Some(p) = probe() else { return };
    if let Some((s, now)) = p.live(campaign, seq) {
        let _ =
            s.once[stage as usize].compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
        s.touched.fetch_max(now, Ordering::Relaxed);
    }
}

/// A socket's writer took `campaign`'s event `seq` off the feed.
pub fn woken(campaign: CampaignId, seq: u64) {
    let Some(p) = probe() else { return };
    if let Some((s, now)) = p.live(campaign, seq) {
        s.woken_first.fetch_min(now, Ordering::Relaxed);
        s.woken_last.fetch_max(now, Ordering::Relaxed);
        s.touched.fetch_max(now, Ordering::Relaxed);
    }
}

/// A socket's write of `campaign`'s event `seq` completed (flushed).
pub fn written(campaign: CampaignId, seq: u64) {
    let Some(p) = probe() else { return };
    if let Some((s, now)) = p.live(campaign, seq) {
        s.written_first.fetch_min(now, Ordering::Relaxed);
        s.written_last.fetch_max(now, Ordering::Relaxed);
        s.writes.fetch_add(1, Ordering::Relaxed);
        s.touched.fetch_max(now, Ordering::Relaxed);
    }
}

/// Appends a line for every event quiet for a second, four times a second.
fn dump_forever(mut file: std::fs::File) {
    loop {
        std::thread::sleep(Duration::from_millis(250));
        let Some(Some(p)) = PROBE.get() else { continue };
        let now = p.now();
        let mut out = String::new();
        for s in p.slots.iter() {
            let t = s.tag.load(Ordering::Acquire);
            if t == 0
                || s.dumped.load(Ordering::Relaxed)
                || now.saturating_sub(s.touched.load(Ordering::Relaxed)) < 1_000_000_000
            {
                continue;
            }
            s.dumped.store(true, Ordering::Relaxed);
            let c = s.committed.load(Ordering::Relaxed);
            let us = |v: u64| {
                if v == 0 || v == u64::MAX {
                    "-".to_string()
                } else {
                    format!("{:.1}", v.saturating_sub(c) as f64 / 1e3)
                }
            };
            let t = t - 1;
            out.push_str(&format!(
                "{} {} {} {} {} {} {} {} {} {} {}\n",
                t >> 40,
                t & ((1 << 40) - 1),
                us(s.once[0].load(Ordering::Relaxed)),
                us(s.once[1].load(Ordering::Relaxed)),
                us(s.once[2].load(Ordering::Relaxed)),
                us(s.once[3].load(Ordering::Relaxed)),
                us(s.woken_first.load(Ordering::Relaxed)),
                us(s.woken_last.load(Ordering::Relaxed)),
                us(s.written_first.load(Ordering::Relaxed)),
                us(s.written_last.load(Ordering::Relaxed)),
                s.writes.load(Ordering::Relaxed),
            ));
        }
        if !out.is_empty() {
            let _ = file.write_all(out.as_bytes());
            let _ = file.flush();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_keep_campaign_and_seq_apart() {
        let c = CampaignId;
        assert_ne!(tag(c(1), 2), tag(c(2), 1));
        assert_ne!(tag(c(1), 0), 0);
        let t = tag(c(7), 123) - 1;
        assert_eq!((t >> 40, t & ((1 << 40) - 1)), (7, 123));
    }
}
