//! Group commit: appends from every campaign go through one task, which writes what has
//! queued up in a single transaction. One fsync then covers many actions, which is how
//! the coordinator reaches thousands of durable actions per second on SQLite.

use crate::store::{NewEvent, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

/// The most appends folded into one transaction.
const MAX_BATCH: usize = 256;

struct Request {
    campaign_id: i64,
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
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(r) => batch.push(r),
                        Err(_) => break,
                    }
                }
                let items: Vec<(i64, u64, Vec<NewEvent>)> = batch
                    .iter_mut()
                    .map(|r| (r.campaign_id, r.first_seq, std::mem::take(&mut r.events)))
                    .collect();
                match store.append_many(&items).await {
                    Ok(()) => {
                        for r in batch {
                            let _ = r.reply.send(Ok(()));
                        }
                    }
                    Err(e) if batch.len() == 1 => {
                        let _ = batch.pop().map(|r| r.reply.send(Err(e)));
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
        campaign_id: i64,
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
