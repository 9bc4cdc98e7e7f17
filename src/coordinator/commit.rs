//! Group commit: appends from every campaign go through one task, which writes what has
//! queued up in a single transaction. One fsync then covers many actions, which is how
//! the coordinator reaches thousands of durable actions per second on SQLite.

use crate::store::{CampaignId, NewEvent, Store, StoreError};
use std::collections::HashSet;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// The most appends folded into one transaction.
const MAX_BATCH: usize = 256;

/// The longest the commit task waits for appends that are probably on their way.
const MAX_GATHER: Duration = Duration::from_micros(500);

/// Moves whatever is queued (up to [`MAX_BATCH`]) into `batch`.
fn drain(rx: &mut mpsc::Receiver<Request>, batch: &mut Vec<Request>) {
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(r) => batch.push(r),
            Err(_) => break,
        }
    }
}

struct Request {
    campaign_id: CampaignId,
    first_seq: u64,
    events: Vec<NewEvent>,
    reply: oneshot::Sender<Result<(), StoreError>>,
}

/// Handle to the commit task.
#[derive(Clone)]
pub struct Committer {
    tx: mpsc::Sender<Request>,
}

impl Committer {
    pub fn spawn(store: Store) -> Committer {
        let (tx, mut rx) = mpsc::channel::<Request>(1024);
        tokio::spawn(async move {
            // The campaigns in the last batch and how long its commit took.
            let mut last_campaigns: HashSet<CampaignId> = HashSet::new();
            let mut last_commit = Duration::ZERO;
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                drain(&mut rx, &mut batch);
                // Campaigns whose appends were just committed are likely deciding their
                // next command right now: if some of them are not here yet, give them a
                // moment (a fraction of a commit) to join this batch rather than the next.
                let mut here: HashSet<CampaignId> = batch.iter().map(|r| r.campaign_id).collect();
                let expected = last_campaigns.union(&here).count();
                if here.len() < expected {
                    // Real time on purpose: this is a scheduling heuristic, not game time
                    // (and tokio's clock may be paused in tests).
                    let until = std::time::Instant::now() + (last_commit / 2).min(MAX_GATHER);
                    while here.len() < expected
                        && batch.len() < MAX_BATCH
                        && std::time::Instant::now() < until
                    {
                        tokio::task::yield_now().await;
                        let before = batch.len();
                        drain(&mut rx, &mut batch);
                        here.extend(batch[before..].iter().map(|r| r.campaign_id));
                    }
                }
                last_campaigns = here;
                let started = std::time::Instant::now();
                let items: Vec<(CampaignId, u64, Vec<NewEvent>)> = batch
                    .iter_mut()
                    .map(|r| (r.campaign_id, r.first_seq, std::mem::take(&mut r.events)))
                    .collect();
                let result = store.append_many(&items).await;
                last_commit = started.elapsed();
                match result {
                    Ok(()) => {
                        if super::probe::enabled() {
                            for (id, first, events) in &items {
                                for seq in *first..*first + events.len() as u64 {
                                    super::probe::committed(*id, seq);
                                }
                            }
                        }
                        for r in batch {
                            let _ = r.reply.send(Ok(()));
                        }
                    }
                    Err(e) if batch.len() == 1 => {
                        let _ = batch.pop().map(|r| r.reply.send(Err(e)));
                    }
                    Err(StoreError::Busy { location, waited }) => {
                        // The database is locked by someone else: every append would wait
                        // out the busy timeout again, one after another. Fail them all now.
                        for r in batch {
                            let _ = r.reply.send(Err(StoreError::Busy {
                                location: location.clone(),
                                waited,
                            }));
                        }
                    }
                    Err(_) => {
                        // One bad append must not fail the others: retry them one by one.
                        for (r, (id, seq, events)) in batch.into_iter().zip(items) {
                            let res = store.append(id, seq, &events).await;
                            let _ = r.reply.send(res);
                        }
                    }
                }
            }
        });
        Committer { tx }
    }

    /// Appends events durably; returns once they are committed.
    pub async fn append(
        &self,
        campaign_id: CampaignId,
        first_seq: u64,
        events: Vec<NewEvent>,
    ) -> Result<(), super::SubmitError> {
        let (reply, rx) = oneshot::channel();
        let req = Request {
            campaign_id,
            first_seq,
            events,
            reply,
        };
        let stopped = || super::SubmitError::Internal("the commit task stopped".into());
        if self.tx.send(req).await.is_err() {
            return Err(stopped());
        }
        rx.await.map_err(|_| stopped())?.map_err(Into::into)
    }
}
