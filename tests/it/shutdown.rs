//! One shutdown signal for every front end: the composition root listens for ctrl-c and
//! SIGTERM and hands the signal to the Discord front end (which has no handler of its
//! own); the bot disconnects, shuts the coordinator down and exits cleanly.

use crate::support;

use fake_discord::{FakeConfig, FakeDiscord};
use std::time::Duration;
use support::bot::Bot;

const CONFIG: &str = "[log]\nfilter = \"info,serenity=warn\"\n";

async fn stops_cleanly_on(signal: &str) {
    let fake = FakeDiscord::start(FakeConfig::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut bot = Bot::start(&fake, dir.path(), CONFIG, &[], None);
    fake.wait_for_ready(Duration::from_secs(60))
        .await
        .expect("the bot connects");
    bot.signal(signal);
    // A watchdog only: a clean stop takes well under a second.
    let status = tokio::task::spawn_blocking(move || {
        let s = bot.wait_exit(Duration::from_secs(60));
        (s, bot)
    })
    .await
    .unwrap()
    .0
    .unwrap_or_else(|| panic!("the bot did not stop after SIG{signal}"));
    assert!(
        status.success(),
        "SIG{signal}: the bot exited with {status}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_bot_cleanly() {
    stops_cleanly_on("TERM").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_the_bot_cleanly() {
    stops_cleanly_on("INT").await;
}
