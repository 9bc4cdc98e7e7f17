//! The real `dicebard run` binary against a fake Discord, for the end-to-end tests.

use fake_discord::{FakeDiscord, Message, UserId};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running bot; killed when dropped.
pub struct Bot {
    child: Child,
}

impl Bot {
    /// Starts the bot with `config` (TOML) in `dir`, its data under `dir/data`, talking
    /// to `fake`, with `env` added. Its output goes to `log` when given, else to the
    /// test's stderr.
    pub fn start(
        fake: &FakeDiscord,
        dir: &Path,
        config: &str,
        env: &[(&str, &str)],
        log: Option<&Path>,
    ) -> Bot {
        let config_path = dir.join("dicebard.toml");
        std::fs::write(&config_path, config).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dicebard"));
        cmd.arg("--config")
            .arg(&config_path)
            .arg("--data-dir")
            .arg(dir.join("data"))
            .arg("run")
            .env("DICEBARD_DISCORD_TOKEN", fake.token())
            .env("DICEBARD_DISCORD_API_BASE", fake.api_base())
            .env("DICEBARD_DISCORD_GUILD_ID", fake.guild_id().to_string())
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        match log {
            Some(path) => {
                let f = std::fs::File::create(path).unwrap();
                cmd.stdout(f.try_clone().unwrap()).stderr(f);
            }
            None => {
                cmd.stdout(Stdio::null()).stderr(Stdio::inherit());
            }
        }
        Bot {
            child: cmd.spawn().expect("start the bot"),
        }
    }

    /// Sends `signal` ("TERM", "INT") to the bot (with the `kill` command).
    pub fn signal(&self, signal: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("run kill")
            .success();
        assert!(ok, "kill -{signal} failed");
    }

    /// Waits up to `timeout` for the bot to exit; its exit status, or `None`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let until = std::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if std::time::Instant::now() >= until {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Bot {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `/cmd` as `user` in `channel` and waits for its first reply.
pub async fn reply_text(
    fake: &FakeDiscord,
    user: UserId,
    channel: fake_discord::ChannelId,
    cmd: &str,
    opts: &[(&str, &str)],
    timeout: Duration,
) -> Message {
    let h = fake.slash(user, channel, cmd, opts).await;
    h.reply(timeout)
        .await
        .unwrap_or_else(|e| panic!("/{cmd}: no reply: {e:?}\n{}", fake.describe()))
}
