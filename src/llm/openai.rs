//! The OpenAI-compatible chat completions client (`POST {base_url}/chat/completions`,
//! `stream: true`). One client serves OpenAI, Ollama (`http://host:11434/v1`),
//! llama.cpp's `llama-server` (`http://host:8080/v1`), vLLM (`http://host:8000/v1`),
//! LM Studio (`http://host:1234/v1`) and OpenRouter (`https://openrouter.ai/api/v1`).
//!
//! Wire format: each SSE `data:` line is a `chat.completion.chunk` whose
//! `choices[0].delta` carries `content` and/or `tool_calls[]` fragments; a chunk with
//! `usage` comes last when `stream_options.include_usage` is honoured; `data: [DONE]`
//! ends the stream. Servers that ignore `stream_options` simply send no usage (then the
//! meter estimates). Local servers need no key: without one, no `Authorization` header
//! is sent.

use super::error::LlmError;
use super::{
    ChatDelta, ChatProvider, ChatRequest, ChatStream, Decoder, HttpOptions, ProviderConfig,
    ProviderKind, Role, TokenUsage, event_stream, http_client, join_url, retry,
};
use crate::config::Secret;
use futures_util::future::BoxFuture;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde_json::{Value, json};
use std::sync::atomic::{AtomicBool, Ordering};

/// The client.
pub struct OpenAiClient {
    client: reqwest::Client,
    url: String,
    model: String,
    key: Option<Secret>,
    http: HttpOptions,
    /// The server refused `tool_choice` as an object (llama.cpp's `llama-server` and
    /// others accept only strings): send the string form from now on.
    string_tool_choice: AtomicBool,
}

impl OpenAiClient {
    pub fn new(cfg: ProviderConfig) -> Result<Self, LlmError> {
        Ok(OpenAiClient {
            client: http_client(&cfg.http)?,
            url: join_url(&cfg.base_url, "chat/completions"),
            model: cfg.model,
            key: cfg.api_key,
            http: cfg.http,
            string_tool_choice: AtomicBool::new(false),
        })
    }

    /// The JSON body for `req` (public for tests of the wire format).
    pub fn body(&self, req: &ChatRequest) -> Value {
        let mut messages = vec![json!({"role": "system", "content": req.system})];
        for m in &req.messages {
            let role = match m.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            messages.push(json!({"role": role, "content": m.content}));
        }
        let mut body = json!({
            "model": self.model,
            "messages": messages,
            "stream": true,
            "stream_options": {"include_usage": true},
            "max_tokens": req.max_tokens,
        });
        if let Some(t) = req.temperature {
            body["temperature"] = json!(t);
        }
        if !req.tools.is_empty() {
            body["tools"] = Value::Array(
                req.tools
                    .iter()
                    .map(|t| {
                        json!({"type": "function", "function": {
                            "name": t.name, "description": t.description, "parameters": t.parameters,
                        }})
                    })
                    .collect(),
            );
            if let Some(name) = &req.tool_choice {
                // With one tool offered, "required" forces exactly that tool, and every
                // OpenAI-compatible server takes the string (llama-server ignores the
                // object form and falls back to "auto"). With several, name the tool —
                // unless this server has refused the object form before.
                let only_tool = req.tools.len() == 1 && req.tools[0].name == *name;
                body["tool_choice"] =
                    if only_tool || self.string_tool_choice.load(Ordering::Relaxed) {
                        json!("required")
                    } else {
                        json!({"type": "function", "function": {"name": name}})
                    };
            }
        }
        body
    }

    fn headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(key) = &self.key
            && let Ok(mut v) = HeaderValue::from_str(&format!("Bearer {}", key.expose()))
        {
            v.set_sensitive(true);
            h.insert(AUTHORIZATION, v);
        }
        // OpenRouter shows these on its dashboard; other servers ignore them.
        h.insert("X-Title", HeaderValue::from_static("dicebard"));
        h
    }
}

impl ChatProvider for OpenAiClient {
    fn kind(&self) -> ProviderKind {
        ProviderKind::OpenAi
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn stream<'a>(&'a self, req: &'a ChatRequest) -> BoxFuture<'a, Result<ChatStream, LlmError>> {
        Box::pin(async move {
            let endpoint = retry::Endpoint {
                client: &self.client,
                provider: ProviderKind::OpenAi,
                model: &self.model,
                url: &self.url,
                http: &self.http,
                key: self.key.as_ref(),
            };
            let body = self.body(req);
            let resp = match retry::post_json(&endpoint, self.headers(), &body).await {
                Err(LlmError::Rejected { status, detail, .. })
                    if matches!(status, 400 | 422)
                        && body["tool_choice"].is_object()
                        && refuses_object_tool_choice(&detail) =>
                {
                    // Once per client: remember, and ask again with the string form.
                    if !self.string_tool_choice.swap(true, Ordering::Relaxed) {
                        tracing::info!(
                            url = %self.url,
                            "the server takes tool_choice only as a string; using \"required\""
                        );
                    }
                    retry::post_json(&endpoint, self.headers(), &self.body(req)).await?
                }
                r => r?,
            };
            Ok(event_stream(
                resp,
                OpenAiDecoder::default(),
                self.http.stall_timeout,
                self.http.timeout,
            ))
        })
    }
}

/// Whether a 400's message says the server wants `tool_choice` in another form
/// ("tool_choice … must be string, but is object", "Invalid tool_choice", …).
fn refuses_object_tool_choice(detail: &str) -> bool {
    let d = detail.to_lowercase();
    d.contains("tool_choice") || d.contains("tool choice")
}

/// Decodes `chat.completion.chunk`s.
#[derive(Debug, Default)]
pub struct OpenAiDecoder {
    done: bool,
    finished_choice: bool,
}

impl Decoder for OpenAiDecoder {
    fn event(&mut self, ev: super::sse::SseEvent) -> Result<Vec<ChatDelta>, LlmError> {
        let data = ev.data.trim();
        if data == "[DONE]" {
            self.done = true;
            return Ok(vec![]);
        }
        if data.is_empty() {
            return Ok(vec![]);
        }
        let v: Value = serde_json::from_str(data).map_err(|e| {
            LlmError::BadResponse(format!(
                "a stream chunk is not JSON ({e}): {}",
                super::error::clip(data, 80)
            ))
        })?;
        if let Some(err) = v.get("error") {
            let msg = err
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("unknown error");
            return Err(LlmError::BadResponse(format!(
                "the server reported an error mid-stream: {}",
                super::error::clip(msg, 200)
            )));
        }
        if !v.is_object() {
            return Err(LlmError::BadResponse(
                "a stream chunk is not an object".into(),
            ));
        }
        let mut out = Vec::new();
        if let Some(choice) = v
            .get("choices")
            .and_then(Value::as_array)
            .and_then(|c| c.first())
        {
            let delta = choice.get("delta").or_else(|| choice.get("message"));
            if let Some(delta) = delta {
                if let Some(t) = delta.get("content").and_then(Value::as_str)
                    && !t.is_empty()
                {
                    out.push(ChatDelta::Text(t.to_string()));
                }
                if let Some(calls) = delta.get("tool_calls").and_then(Value::as_array) {
                    for (i, c) in calls.iter().enumerate() {
                        let f = c.get("function");
                        out.push(ChatDelta::ToolCall {
                            index: c
                                .get("index")
                                .and_then(Value::as_u64)
                                .map_or(i, |n| n as usize),
                            id: c.get("id").and_then(Value::as_str).map(str::to_string),
                            name: f
                                .and_then(|f| f.get("name"))
                                .and_then(Value::as_str)
                                .map(str::to_string),
                            arguments: f
                                .and_then(|f| f.get("arguments"))
                                .map(|a| match a {
                                    Value::String(s) => s.clone(),
                                    Value::Null => String::new(),
                                    // Some servers send the arguments as an object.
                                    other => other.to_string(),
                                })
                                .unwrap_or_default(),
                        });
                    }
                }
            }
            if let Some(reason) = choice.get("finish_reason").and_then(Value::as_str) {
                self.finished_choice = true;
                out.push(ChatDelta::Finish(Some(reason.to_string())));
            }
        }
        if let Some(u) = v.get("usage").filter(|u| u.is_object()) {
            let n = |k: &str| u.get(k).and_then(Value::as_u64).unwrap_or(0);
            out.push(ChatDelta::Usage(TokenUsage {
                input: n("prompt_tokens"),
                output: n("completion_tokens"),
            }));
        }
        Ok(out)
    }

    fn finished(&self) -> bool {
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::sse::SseEvent;

    fn ev(data: &str) -> SseEvent {
        SseEvent {
            event: None,
            data: data.into(),
        }
    }

    #[test]
    fn decodes_text_tool_calls_usage_and_done() {
        let mut d = OpenAiDecoder::default();
        let got = d
            .event(ev(r#"{"choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}"#))
            .unwrap();
        assert_eq!(got, vec![ChatDelta::Text("Hi".into())]);
        let got = d
            .event(ev(
                r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"pick","arguments":"{\"a\""}}]}}]}"#,
            ))
            .unwrap();
        assert_eq!(
            got,
            vec![ChatDelta::ToolCall {
                index: 0,
                id: Some("call_1".into()),
                name: Some("pick".into()),
                arguments: "{\"a\"".into()
            }]
        );
        let got = d
            .event(ev(
                r#"{"choices":[],"usage":{"prompt_tokens":12,"completion_tokens":3}}"#,
            ))
            .unwrap();
        assert_eq!(
            got,
            vec![ChatDelta::Usage(TokenUsage {
                input: 12,
                output: 3
            })]
        );
        assert!(!d.finished());
        d.event(ev("[DONE]")).unwrap();
        assert!(d.finished());
    }

    #[test]
    fn garbage_is_an_error() {
        let mut d = OpenAiDecoder::default();
        assert!(matches!(
            d.event(ev("{not json")),
            Err(LlmError::BadResponse(_))
        ));
        assert!(matches!(d.event(ev("42")), Err(LlmError::BadResponse(_))));
        assert!(matches!(
            d.event(ev(r#"{"error":{"message":"boom"}}"#)),
            Err(LlmError::BadResponse(_))
        ));
    }
}
