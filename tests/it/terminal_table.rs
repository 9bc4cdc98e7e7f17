//! The terminal's door to the phone table: `dicebard play --web` serves the web table
//! beside the terminal; the GM's `invite NAME` prints a link (and a Unicode QR code in
//! prose mode) that a Rust HTTP/WebSocket client joins with; `table` lists the phone;
//! `kick NAME` closes its socket; a player inviting someone else is refused. Without
//! `--web`, `invite` says the web table is not running.

use crate::support::web::Web;
use reqwest::StatusCode;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Watchdog for each answer (a busy machine), never a timing assertion.
const T: Duration = Duration::from_secs(120);

struct Terminal {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    line_no: u64,
}

impl Terminal {
    fn start(dir: &Path, args: &[&str]) -> Terminal {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dicebard"));
        cmd.arg("--data-dir")
            .arg(dir.join("data"))
            .arg("play")
            .args(args)
            .current_dir(dir);
        for (k, _) in std::env::vars() {
            if k.starts_with("DICEBARD_") || k == "RUST_LOG" {
                cmd.env_remove(k);
            }
        }
        let mut child = cmd
            .env("DICEBARD_WEB_LISTEN", "127.0.0.1:0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn dicebard play");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(stdout).lines() {
                let Ok(l) = l else { break };
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Terminal {
            child,
            stdin,
            lines,
            line_no: 0,
        }
    }

    /// Sends one line; returns everything printed up to its `done` (JSON mode).
    fn json(&mut self, line: &str) -> Vec<Value> {
        self.line_no += 1;
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
        let mut out = Vec::new();
        loop {
            let l = self
                .lines
                .recv_timeout(T)
                .unwrap_or_else(|_| panic!("watchdog: no answer to {line:?}: {out:?}"));
            let v: Value = serde_json::from_str(&l).unwrap_or_else(|e| panic!("{e}: {l}"));
            if v["done"] == self.line_no {
                return out;
            }
            out.push(v);
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn infos(v: &[Value]) -> String {
    v.iter()
        .filter_map(|l| l["info"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

fn errors(v: &[Value]) -> String {
    v.iter()
        .filter_map(|l| l["error"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

fn link_in(text: &str) -> String {
    let at = text
        .find("http://")
        .unwrap_or_else(|| panic!("no link in {text:?}"));
    text[at..]
        .split(char::is_whitespace)
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminal_invites_lists_and_kicks_a_phone() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Terminal::start(
        dir.path(),
        &["--web", "--json", "--campaign", "kitchen", "--player", "gm"],
    );
    // The GM (who made the campaign) invites a new phone player.
    let out = t.json("invite Ana");
    assert_eq!(errors(&out), "", "{out:?}");
    let url = link_in(&infos(&out));
    assert!(url.contains("/join/"), "{url}");
    // A player may not invite someone else, nor make a TV link, nor kick…
    t.json("as bob create Mira wizard elf");
    let out = t.json("as bob invite Ana");
    assert!(errors(&out).contains("Only the GM"), "{out:?}");
    let out = t.json("as bob display");
    assert!(errors(&out).contains("Only the GM"), "{out:?}");
    let out = t.json("as bob kick Ana");
    assert!(errors(&out).contains("Only the GM"), "{out:?}");
    // … but may invite themselves.
    let out = t.json("as bob invite");
    assert!(infos(&out).contains("/join/"), "{out:?}");

    // The phone joins with the GM's link.
    let web = Web {
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        base: url.split("/join/").next().unwrap().to_string(),
    };
    let phone = web.join(&url).await;
    let (s, me) = web.get("/api/v1/me", Some(&phone)).await;
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(me["name"], "Ana");
    let mut sock = web.ws(Some(&phone), None).await.unwrap();
    sock.hello(None).await;

    let status = infos(&t.json("table"));
    assert!(
        status
            .lines()
            .any(|l| l.contains("Ana") && l.contains("web")),
        "the phone is listed: {status}"
    );

    // The GM kicks Ana: her socket is told and closed (watchdog only).
    let out = t.json("kick Ana");
    assert!(infos(&out).contains("1 session"), "{out:?}");
    let kicked = tokio::time::timeout(Duration::from_secs(30), async {
        let mut kicked = false;
        while let Some(m) = sock.next().await {
            kicked |= m["code"] == "kicked";
        }
        kicked
    })
    .await
    .expect("watchdog: the kicked socket was not closed");
    assert!(kicked);
    assert_eq!(
        web.get("/api/v1/me", Some(&phone)).await.0,
        StatusCode::UNAUTHORIZED
    );
    writeln!(t.stdin, "quit").unwrap();
    t.stdin.flush().unwrap();
    let until = std::time::Instant::now() + T;
    while t.child.try_wait().unwrap().is_none() {
        assert!(
            std::time::Instant::now() < until,
            "watchdog: quit did not end it"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn prose_mode_prints_a_qr_code_and_without_web_invite_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dicebard"));
        cmd.arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("play")
            .args(args)
            .args(["--campaign", "qr", "--player", "gm"])
            .current_dir(dir.path());
        for (k, _) in std::env::vars() {
            if k.starts_with("DICEBARD_") || k == "RUST_LOG" {
                cmd.env_remove(k);
            }
        }
        let mut child = cmd
            .env("DICEBARD_WEB_LISTEN", "127.0.0.1:0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"display\ninvite Ana\nquit\n")
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let with_web = run(&["--web"]);
    assert!(with_web.contains("TV display link"), "{with_web}");
    assert!(with_web.contains("/join/"), "{with_web}");
    assert!(
        with_web.lines().filter(|l| l.contains('█')).count() > 10,
        "a QR code in blocks: {with_web}"
    );
    let without = run(&[]);
    assert!(!without.contains("/join/"), "{without}");
    assert!(without.contains("not running"), "{without}");
}
