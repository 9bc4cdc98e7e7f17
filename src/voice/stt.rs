//! Speech-to-text for every voice front end: worker threads sharing one whisper model,
//! with a bounded queue per speaker (the oldest utterance is dropped when
//! transcription falls behind) served round-robin. Front ends hand in utterances keyed
//! by their own call and user numbers and get [`Transcript`]s back; nothing here knows
//! Discord.

use dicebard_voice::{Transcriber, UtteranceQueue};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

/// An utterance ready for speech-to-text.
#[derive(Debug, Clone)]
pub struct SpokenAudio {
    pub user: u64,
    /// 16 kHz mono.
    pub samples: Vec<f32>,
    pub speech_end: Instant,
}

/// Something a speaker said, transcribed.
#[derive(Debug, Clone)]
pub struct Transcript {
    /// The call it was heard in (as given to [`SttPool::submit`]).
    pub call: u64,
    /// The speaker (as in [`SpokenAudio::user`]).
    pub user: u64,
    pub text: String,
    /// When the speaker stopped talking (estimated from the audio stream).
    pub speech_end: Instant,
    /// Length of the utterance.
    pub audio_seconds: f64,
}

/// Where transcripts go: `false` stops the worker that called it.
type TranscriptSink = Box<dyn Fn(Transcript) -> bool + Send + Sync>;

type SpeakerKey = (u64, u64);

struct Job {
    call: u64,
    audio: SpokenAudio,
}

struct Queues {
    by_speaker: HashMap<SpeakerKey, UtteranceQueue<Job>>,
    /// Speakers with waiting utterances, served in turn.
    turn: VecDeque<SpeakerKey>,
    stopped: bool,
}

struct SttShared {
    queues: Mutex<Queues>,
    ready: Condvar,
    capacity: usize,
    transcriber: Arc<Transcriber>,
    out: TranscriptSink,
}

/// Speech-to-text worker threads sharing one whisper model, with a bounded queue per
/// speaker (the oldest utterance is dropped when it is full) served round-robin.
pub struct SttPool {
    shared: Arc<SttShared>,
    workers: usize,
}

impl SttPool {
    /// Starts `workers` threads (at least 1) over `transcriber` (which should have as many
    /// whisper states); each transcript is handed to `out` (on a worker thread; it may
    /// block). When `out` returns `false`, the worker that called it stops.
    pub fn start(
        transcriber: Arc<Transcriber>,
        workers: usize,
        per_speaker: usize,
        out: impl Fn(Transcript) -> bool + Send + Sync + 'static,
    ) -> std::io::Result<Arc<SttPool>> {
        let workers = workers.max(1);
        let shared = Arc::new(SttShared {
            queues: Mutex::new(Queues {
                by_speaker: HashMap::new(),
                turn: VecDeque::new(),
                stopped: false,
            }),
            ready: Condvar::new(),
            capacity: per_speaker.max(1),
            transcriber,
            out: Box::new(out),
        });
        for i in 0..workers {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name(format!("voice-stt-{i}"))
                .spawn(move || stt_worker(shared))?;
        }
        Ok(Arc::new(SttPool { shared, workers }))
    }

    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Queues an utterance heard in `call` (a voice call, room or device: whatever the
    /// front end keys speakers by) for transcription (never blocks on whisper).
    pub fn submit(&self, call: u64, audio: SpokenAudio) {
        let key = (call, audio.user);
        let mut q = self.shared.queues.lock().expect("stt queue poisoned");
        let capacity = self.shared.capacity;
        let queue = q
            .by_speaker
            .entry(key)
            .or_insert_with(|| UtteranceQueue::new(capacity, format!("{}/{}", key.0, key.1)));
        queue.push(Job { call, audio });
        if !q.turn.contains(&key) {
            q.turn.push_back(key);
        }
        drop(q);
        self.shared.ready.notify_one();
    }

    /// Utterances waiting, all speakers together.
    pub fn waiting(&self) -> usize {
        let q = self.shared.queues.lock().expect("stt queue poisoned");
        q.by_speaker.values().map(|v| v.len()).sum()
    }
}

impl Drop for SttPool {
    fn drop(&mut self) {
        if let Ok(mut q) = self.shared.queues.lock() {
            q.stopped = true;
        }
        self.shared.ready.notify_all();
    }
}

/// Takes the next job: the speaker whose turn it is, oldest utterance first.
fn next_job(q: &mut Queues) -> Option<Job> {
    while let Some(key) = q.turn.pop_front() {
        let Some(queue) = q.by_speaker.get_mut(&key) else {
            continue;
        };
        let job = queue.pop();
        if !queue.is_empty() {
            q.turn.push_back(key);
        }
        if job.is_some() {
            return job;
        }
    }
    None
}

fn stt_worker(shared: Arc<SttShared>) {
    // Below the audio path (songbird's mixer, the receive workers); whisper's own compute
    // threads, started from here, inherit it.
    let nice = dicebard_voice::priority::lower_current_thread();
    tracing::debug!(?nice, "speech-to-text worker started");
    loop {
        let job = {
            let mut q = shared.queues.lock().expect("stt queue poisoned");
            loop {
                if q.stopped {
                    return;
                }
                if let Some(job) = next_job(&mut q) {
                    break job;
                }
                q = shared.ready.wait(q).expect("stt queue poisoned");
            }
        };
        let span = tracing::debug_span!("stt", call = job.call, user = job.audio.user);
        let _enter = span.enter();
        match shared.transcriber.transcribe(&job.audio.samples) {
            Ok(t) if t.text.is_empty() => {
                tracing::debug!(
                    audio_seconds = t.audio_seconds,
                    "heard nothing intelligible"
                );
            }
            Ok(t) => {
                tracing::debug!(
                    audio_seconds = t.audio_seconds,
                    wall_seconds = t.wall_seconds,
                    text = %t.text,
                    "heard"
                );
                let transcript = Transcript {
                    call: job.call,
                    user: job.audio.user,
                    text: t.text,
                    speech_end: job.audio.speech_end,
                    audio_seconds: t.audio_seconds,
                };
                if !(shared.out)(transcript) {
                    return;
                }
            }
            Err(e) => tracing::warn!(error = %e, "transcription failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stt_queue_is_bounded_per_speaker_and_round_robin() {
        let mut q = Queues {
            by_speaker: HashMap::new(),
            turn: VecDeque::new(),
            stopped: false,
        };
        let push = |q: &mut Queues, user: u64, n: usize| {
            let key = (1, user);
            let queue = q
                .by_speaker
                .entry(key)
                .or_insert_with(|| UtteranceQueue::new(2, "t"));
            queue.push(Job {
                call: 1,
                audio: SpokenAudio {
                    user,
                    samples: vec![n as f32],
                    speech_end: Instant::now(),
                },
            });
            if !q.turn.contains(&key) {
                q.turn.push_back(key);
            }
        };
        for n in 0..4 {
            push(&mut q, 1, n); // only the last two are kept
        }
        push(&mut q, 2, 10);
        let order: Vec<(u64, f32)> = std::iter::from_fn(|| next_job(&mut q))
            .map(|j| (j.audio.user, j.audio.samples[0]))
            .collect();
        assert_eq!(order, vec![(1, 2.0), (2, 10.0), (1, 3.0)]);
    }
}
