//! A local HTTP server speaking the OpenAI chat-completions and Anthropic Messages
//! wire formats, streaming included, scriptable per test: each request gets the next
//! scripted reply (a status with a body, an SSE stream with per-chunk delays, a hang,
//! or a dropped connection). Every request is recorded (path, headers, JSON body) so
//! tests can check what the real client code sent. Shared by tests/ and benches/.

#![allow(dead_code)]

use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One piece of a streamed body, written after `delay`.
#[derive(Debug, Clone)]
pub struct Chunk {
    pub delay: Duration,
    pub bytes: String,
}

/// What the server does with one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A complete response.
    Status {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// `200 text/event-stream`, the chunks written as scheduled, then the connection closed.
    Stream(Vec<Chunk>),
    /// Read the request and never answer.
    Hang,
    /// Close the connection without a word.
    Drop,
}

/// A request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Value,
}

impl Recorded {
    /// What the request is for, from its shape: "intent" (the submit_commands tool),
    /// "npc" (choose_option), "summary" or "narration".
    pub fn purpose(&self) -> &'static str {
        let tools = self.body["tools"].to_string();
        if tools.contains("submit_commands") {
            "intent"
        } else if tools.contains("choose_option") {
            "npc"
        } else if self.body.to_string().contains("<previous_summary>") {
            "summary"
        } else {
            "narration"
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// How a llama.cpp `llama-server` treats an OpenAI object-form `tool_choice`
/// (`{"type": "function", "function": {"name": …}}`): it takes only strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LlamaServer {
    /// Released builds: log "type must be string, but is object", fall back to "auto"
    /// and answer 200 — the model then chats instead of calling the tool.
    IgnoresObject,
    /// Builds that refuse it: HTTP 400 naming `tool_choice`.
    RejectsObject,
}

/// Chooses the reply for a request by what it asks (first, before the script).
pub type Router = Arc<dyn Fn(&Recorded) -> Option<Reply> + Send + Sync>;

#[derive(Default)]
struct Shared {
    router: Option<Router>,
    script: VecDeque<Reply>,
    fallback: Option<Reply>,
    requests: Vec<Recorded>,
    llama: Option<LlamaServer>,
    /// Keep at most this many recorded requests (the newest); `None`: all of them.
    record_limit: Option<usize>,
}

/// The server. Dropping it stops accepting connections.
pub struct FakeLlm {
    pub addr: std::net::SocketAddr,
    shared: Arc<Mutex<Shared>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeLlm {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeLlm {
    pub async fn start() -> FakeLlm {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Mutex::new(Shared::default()));
        let s = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let s = s.clone();
                tokio::spawn(async move {
                    let _ = serve(sock, s).await;
                });
            }
        });
        FakeLlm { addr, shared, task }
    }

    /// `http://127.0.0.1:PORT/v1`
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Queues the reply for the next request.
    pub fn push(&self, reply: Reply) -> &Self {
        self.shared.lock().unwrap().script.push_back(reply);
        self
    }

    /// The reply for every request once the script is empty (default: HTTP 500).
    pub fn always(&self, reply: Reply) {
        self.shared.lock().unwrap().fallback = Some(reply);
    }

    /// Answers each request with `f(request)` when it gives a reply, else from the
    /// script (for servers that get several kinds of request in any order).
    pub fn route(&self, f: impl Fn(&Recorded) -> Option<Reply> + Send + Sync + 'static) {
        self.shared.lock().unwrap().router = Some(Arc::new(f));
    }

    /// Behaves like llama.cpp's `llama-server` about `tool_choice` (see [`LlamaServer`]).
    pub fn llama_server(&self, mode: LlamaServer) {
        self.shared.lock().unwrap().llama = Some(mode);
    }

    /// Keeps only the newest `n` requests (0: none), so a long-running server (the soak
    /// bench) does not grow without bound; [`FakeLlm::request_count`] then counts the
    /// kept ones only.
    pub fn record_at_most(&self, n: usize) {
        let mut s = self.shared.lock().unwrap();
        s.record_limit = Some(n);
        let excess = s.requests.len().saturating_sub(n);
        s.requests.drain(..excess);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.lock().unwrap().requests.clone()
    }

    pub fn request_count(&self) -> usize {
        self.shared.lock().unwrap().requests.len()
    }
}

async fn serve(mut sock: TcpStream, shared: Arc<Mutex<Shared>>) -> std::io::Result<()> {
    // One request per connection: every reply ends with `Connection: close`.
    let mut buf = Vec::new();
    let mut tmp = [0u8; 8192];
    let head_end = loop {
        let n = sock.read(&mut tmp).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&tmp[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let method = first.next().unwrap_or("").to_string();
    let path = first.next().unwrap_or("").to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = sock.read(&mut tmp).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&tmp[..n]);
    }
    let body: Value = serde_json::from_slice(&buf[head_end..(head_end + len).min(buf.len())])
        .unwrap_or(Value::Null);
    let reply = {
        let mut s = shared.lock().unwrap();
        let req = Recorded {
            method,
            path,
            headers,
            body,
        };
        let llama = match s.llama {
            Some(mode) if req.body["tool_choice"].is_object() => Some(mode),
            _ => None,
        };
        let routed = match llama {
            Some(LlamaServer::RejectsObject) => Some(Reply::Status {
                status: 400,
                headers: vec![],
                body: json!({"error": {"code": 400, "type": "invalid_request_error",
                    "message": "Wrong type supplied for parameter 'tool_choice'. Expected 'string': [json.exception.type_error.302] type must be string, but is object"}})
                .to_string(),
            }),
            // "auto": a small model answers in prose instead of calling the tool.
            Some(LlamaServer::IgnoresObject) => Some(openai::text(
                "The player wants to attack the goblin, I think.",
            )),
            None => s.router.clone().and_then(|r| r(&req)),
        };
        match s.record_limit {
            Some(0) => {}
            Some(n) => {
                if s.requests.len() >= n {
                    let excess = s.requests.len() + 1 - n;
                    s.requests.drain(..excess);
                }
                s.requests.push(req);
            }
            None => s.requests.push(req),
        }
        routed
            .or_else(|| s.script.pop_front())
            .or_else(|| s.fallback.clone())
            .unwrap_or(Reply::Status {
                status: 500,
                headers: vec![],
                body: r#"{"error":{"message":"no scripted reply"}}"#.into(),
            })
    };
    match reply {
        Reply::Status {
            status,
            headers,
            body,
        } => {
            let mut out = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str("\r\n");
            out.push_str(&body);
            sock.write_all(out.as_bytes()).await?;
        }
        Reply::Stream(chunks) => {
            sock.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n",
            )
            .await?;
            sock.flush().await?;
            for c in chunks {
                if !c.delay.is_zero() {
                    tokio::time::sleep(c.delay).await;
                }
                sock.write_all(c.bytes.as_bytes()).await?;
                sock.flush().await?;
            }
        }
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(120)).await;
        }
        Reply::Drop => {}
    }
    sock.shutdown().await.ok();
    Ok(())
}

fn now(bytes: String) -> Chunk {
    Chunk {
        delay: Duration::ZERO,
        bytes,
    }
}

/// Replies in the OpenAI chat-completions format.
pub mod openai {
    use super::*;

    fn chunk(delta: Value, finish: Option<&str>) -> String {
        let v = json!({
            "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "fake",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        });
        format!("data: {v}\n\n")
    }

    /// Text in pieces, then usage and `[DONE]`; each piece after `delay`.
    pub fn text_stream(pieces: &[&str], delay: Duration, usage: Option<(u64, u64)>) -> Reply {
        let mut out = vec![now(chunk(
            json!({"role": "assistant", "content": ""}),
            None,
        ))];
        for p in pieces {
            out.push(Chunk {
                delay,
                bytes: chunk(json!({"content": p}), None),
            });
        }
        out.push(now(chunk(json!({}), Some("stop"))));
        if let Some((i, o)) = usage {
            let v = json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [],
                "usage": {"prompt_tokens": i, "completion_tokens": o, "total_tokens": i + o}});
            out.push(now(format!("data: {v}\n\n")));
        }
        out.push(now("data: [DONE]\n\n".into()));
        Reply::Stream(out)
    }

    pub fn text(text: &str) -> Reply {
        text_stream(&[text], Duration::ZERO, Some((100, 20)))
    }

    /// Text in pieces of `size` characters, ended with `finish_reason` (e.g. "length"
    /// when the token limit cut it), then `[DONE]`.
    pub fn text_ending(text: &str, size: usize, finish: &str) -> Reply {
        let chars: Vec<char> = text.chars().collect();
        let mut out = vec![now(chunk(
            json!({"role": "assistant", "content": ""}),
            None,
        ))];
        for piece in chars.chunks(size.max(1)) {
            let p: String = piece.iter().collect();
            out.push(now(chunk(json!({"content": p}), None)));
        }
        out.push(now(chunk(json!({}), Some(finish))));
        out.push(now("data: [DONE]\n\n".into()));
        Reply::Stream(out)
    }

    /// One tool call whose arguments arrive in `pieces`.
    pub fn tool_stream(name: &str, pieces: &[&str], usage: Option<(u64, u64)>) -> Reply {
        let mut out = vec![now(chunk(
            json!({"role": "assistant", "tool_calls": [{"index": 0, "id": "call_1", "type": "function",
                "function": {"name": name, "arguments": ""}}]}),
            None,
        ))];
        for p in pieces {
            out.push(now(chunk(
                json!({"tool_calls": [{"index": 0, "function": {"arguments": p}}]}),
                None,
            )));
        }
        out.push(now(chunk(json!({}), Some("tool_calls"))));
        if let Some((i, o)) = usage {
            let v = json!({"choices": [], "usage": {"prompt_tokens": i, "completion_tokens": o}});
            out.push(now(format!("data: {v}\n\n")));
        }
        out.push(now("data: [DONE]\n\n".into()));
        Reply::Stream(out)
    }

    pub fn tool(name: &str, args: &Value) -> Reply {
        let s = args.to_string();
        let (a, b) = s.split_at(s.len() / 2);
        tool_stream(name, &[a, b], Some((200, 30)))
    }

    pub fn error(status: u16, message: &str, code: &str) -> Reply {
        Reply::Status {
            status,
            headers: vec![],
            body: json!({"error": {"message": message, "type": "invalid_request_error", "code": code}}).to_string(),
        }
    }
}

/// Replies in the Anthropic Messages format.
pub mod anthropic {
    use super::*;

    fn ev(name: &str, data: Value) -> String {
        format!("event: {name}\ndata: {data}\n\n")
    }

    fn start(input: u64) -> Chunk {
        now(ev(
            "message_start",
            json!({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
                "content": [], "model": "fake", "stop_reason": null,
                "usage": {"input_tokens": input, "output_tokens": 1}}}),
        ))
    }

    fn end(reason: &str, output: u64) -> Vec<Chunk> {
        vec![
            now(ev(
                "message_delta",
                json!({"type": "message_delta",
                "delta": {"stop_reason": reason, "stop_sequence": null}, "usage": {"output_tokens": output}}),
            )),
            now(ev("message_stop", json!({"type": "message_stop"}))),
        ]
    }

    pub fn text_stream(pieces: &[&str], delay: Duration, usage: (u64, u64)) -> Reply {
        let mut out = vec![
            start(usage.0),
            now(ev(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0,
                "content_block": {"type": "text", "text": ""}}),
            )),
            now(ev("ping", json!({"type": "ping"}))),
        ];
        for p in pieces {
            out.push(Chunk {
                delay,
                bytes: ev(
                    "content_block_delta",
                    json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": p}}),
                ),
            });
        }
        out.push(now(ev(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        )));
        out.extend(end("end_turn", usage.1));
        Reply::Stream(out)
    }

    pub fn text(text: &str) -> Reply {
        text_stream(&[text], Duration::ZERO, (100, 20))
    }

    pub fn tool(name: &str, args: &Value) -> Reply {
        let s = args.to_string();
        let (a, b) = s.split_at(s.len() / 2);
        let mut out = vec![
            start(200),
            now(ev(
                "content_block_start",
                json!({"type": "content_block_start", "index": 0,
                "content_block": {"type": "tool_use", "id": "toolu_1", "name": name, "input": {}}}),
            )),
        ];
        for p in [a, b] {
            out.push(now(ev(
                "content_block_delta",
                json!({"type": "content_block_delta", "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": p}}),
            )));
        }
        out.push(now(ev(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": 0}),
        )));
        out.extend(end("tool_use", 30));
        Reply::Stream(out)
    }

    pub fn error(status: u16, kind: &str, message: &str) -> Reply {
        Reply::Status {
            status,
            headers: vec![],
            body: json!({"type": "error", "error": {"type": kind, "message": message}}).to_string(),
        }
    }
}

/// A stream whose chunks are raw text (malformed ones included).
pub fn raw_stream(chunks: &[&str]) -> Reply {
    Reply::Stream(chunks.iter().map(|c| now(c.to_string())).collect())
}

/// A status reply with headers.
pub fn status(status: u16, headers: &[(&str, &str)], body: &str) -> Reply {
    Reply::Status {
        status,
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: body.to_string(),
    }
}

/// What a small local model (SmolLM2-135M under llama-server) actually said when asked
/// to narrate (issue #13, hole 14), kept so the suite checks every run that none of it
/// reaches the table. Each is streamed in small pieces, as a server would.
pub mod fixtures {
    use super::*;

    /// A degenerate answer: its name, the text, and how the stream ended.
    pub struct Degenerate {
        pub name: &'static str,
        pub text: String,
        pub finish: &'static str,
        /// A piece of it that must never be told.
        pub never: &'static str,
    }

    impl Degenerate {
        pub fn reply(&self) -> Reply {
            openai::text_ending(&self.text, 7, self.finish)
        }
    }

    pub fn degenerate() -> Vec<Degenerate> {
        let runaway: Vec<String> = [
            "shadows", "torches", "stones", "winds", "roots", "bones", "echoes",
        ]
        .iter()
        .flat_map(|noun| {
            [
                "whisper softly",
                "grow colder",
                "shift again",
                "fall silent",
                "press closer",
            ]
            .iter()
            .map(move |verb| format!("The {noun} {verb}."))
        })
        .collect();
        vec![
            Degenerate {
                name: "prompt markup echoed",
                text: "<campaign>Stone Hollow</campaign>\n<new_events>\nThorin attacks the goblin \
                       with the longsword.\n</new_events>\n<scene>\nThorin: dwarf fighter\n</scene>"
                    .into(),
                finish: "stop",
                never: "<",
            },
            Degenerate {
                name: "system prompt recited",
                text: "Rules:\n- Narrate only the events inside <new_events>, in order, in 1 to 4 \
                       short sentences of vivid present-tense prose.\n- Every number you state must \
                       come from the events or the scene exactly as given.\n- Never decide \
                       outcomes, never add effects, never ask for rolls."
                    .into(),
                finish: "stop",
                never: "Narrate only",
            },
            Degenerate {
                name: "a sentence repeated",
                text: "The goblin looks around the cave. ".repeat(12),
                finish: "stop",
                never: "",
            },
            Degenerate {
                name: "runaway length",
                text: runaway.join("\n"),
                finish: "stop",
                never: "The echoes press closer.",
            },
            Degenerate {
                name: "garbage",
                text: "### --- ||| ;;; ::: === +++ ~~~ ^^^ ((( ))) ___ *** !!!\n\
                       0x3f 0x2a 0x00 .... ,,,, ;;;; //// \\\\ ==== ----\n\
                       ¤¤¤ §§§ ¶¶¶ ©©© ®®® °°° ±±± µµµ ··· ¸¸¸"
                    .into(),
                finish: "stop",
                never: "|||",
            },
        ]
    }

    /// Cut at the token limit: the last sentence is unfinished.
    pub const TRUNCATED: &str =
        "Thorin swings his axe in a wide arc. The blade bites deep and the goblin";
    /// Long Japanese prose with no sentence end for more than 320 bytes (hole 2).
    pub fn japanese() -> String {
        "ドワーフの戦士トーリンが斧を振り上げ、洞窟の奥でうなるゴブリンに向かって踏み込み、"
            .repeat(6)
    }
}
