//! The one shutdown signal of the process. The composition root owns the trigger (pulled
//! on ctrl-c or SIGTERM) and hands a [`Shutdown`] to every front end it starts; each
//! front end stops taking new work when it fires and returns, then the root shuts the
//! coordinator down. No front end installs a signal handler of its own.

use tokio::sync::watch;

/// Pulls the shutdown signal; owned by the composition root.
#[derive(Debug)]
pub struct ShutdownTrigger {
    tx: watch::Sender<bool>,
}

/// Fires once, for every holder, when the process is to stop. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<bool>,
}

/// A new, unfired signal and its trigger.
pub fn channel() -> (ShutdownTrigger, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (ShutdownTrigger { tx }, Shutdown { rx })
}

impl ShutdownTrigger {
    /// Fires the signal (again is a no-op).
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    /// Another handle on the same signal.
    pub fn subscribe(&self) -> Shutdown {
        Shutdown {
            rx: self.tx.subscribe(),
        }
    }

    /// Fires the signal on ctrl-c or (on Unix) SIGTERM, from a background task.
    pub fn on_os_signals(self) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            wait_for_os_signal().await;
            tracing::info!("shutting down");
            self.trigger();
            // Keep the sender alive: a dropped trigger would also read as "stop".
            std::future::pending::<()>().await;
        })
    }
}

impl Shutdown {
    /// Whether the signal has fired.
    pub fn is_fired(&self) -> bool {
        *self.rx.borrow()
    }

    /// Waits until the signal fires (or its trigger is gone, which means the same).
    pub async fn wait(&self) {
        let mut rx = self.rx.clone();
        let _ = rx.wait_for(|fired| *fired).await;
    }
}

async fn wait_for_os_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; ctrl-c only");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_holder_sees_one_trigger() {
        let (trigger, a) = channel();
        let b = trigger.subscribe();
        let c = a.clone();
        assert!(!a.is_fired() && !b.is_fired());
        let waiters =
            [a.clone(), b.clone(), c.clone()].map(|s| tokio::spawn(async move { s.wait().await }));
        trigger.trigger();
        for w in waiters {
            w.await.unwrap();
        }
        assert!(a.is_fired() && b.is_fired() && c.is_fired());
        // A late waiter returns at once.
        c.wait().await;
    }

    #[tokio::test]
    async fn a_dropped_trigger_means_stop() {
        let (trigger, s) = channel();
        drop(trigger);
        s.wait().await;
    }
}
