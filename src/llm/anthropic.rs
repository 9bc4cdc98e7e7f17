//! The Anthropic Messages API client (`POST {base_url}/messages`, `stream: true`,
//! `anthropic-version: 2023-06-01`, key in `x-api-key`).
//!
//! Wire format: named SSE events — `message_start` (input token count),
//! `content_block_start` (a `text` or `tool_use` block with its id and name),
//! `content_block_delta` (`text_delta` or `input_json_delta`), `content_block_stop`,
//! `message_delta` (stop reason, output token count), `message_stop`, `ping`, and
//! `error` (e.g. `overloaded_error` mid-stream).

use super::error::LlmError;
use super::{
    ChatDelta, ChatProvider, ChatRequest, ChatStream, Decoder, HttpOptions, ProviderConfig,
    ProviderKind, Role, TokenUsage, event_stream, http_client, join_url, retry,
};
use crate::config::Secret;
use futures_util::future::BoxFuture;
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

/// The API version header this client speaks.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// The client.
pub struct AnthropicClient {
    client: reqwest::Client,
    url: String,
    model: String,
    key: Option<Secret>,
    http: HttpOptions,
}

impl AnthropicClient {
    pub fn new(cfg: ProviderConfig) -> Result<Self, LlmError> {
        Ok(AnthropicClient {
            client: http_client(&cfg.http)?,
            url: join_url(&cfg.base_url, "messages"),
            model: cfg.model,
            key: cfg.api_key,
            http: cfg.http,
        })
    }

    /// The JSON body for `req`.
    pub fn body(&self, req: &ChatRequest) -> Value {
        let messages: Vec<Value> = req
            .messages
            .iter()
            .map(|m| {
                let role = match m.role {
                    Role::User => "user",
                    Role::Assistant => "assistant",
                };
                json!({"role": role, "content": m.content})
            })
            .collect();
        let mut body = json!({
            "model": self.model,
            "max_tokens": req.max_tokens,
            "system": req.system,
            "messages": messages,
            "stream": true,
        });
        if let Some(t) = req.temperature {
            body["temperature"] = json!(t);
        }
        if !req.tools.is_empty() {
            body["tools"] = Value::Array(
                req.tools
                    .iter()
                    .map(|t| json!({"name": t.name, "description": t.description, "input_schema": t.parameters}))
                    .collect(),
            );
            if let Some(name) = &req.tool_choice {
                body["tool_choice"] = json!({"type": "tool", "name": name});
            }
        }
        body
    }

    fn headers(&self) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(key) = &self.key
            && let Ok(mut v) = HeaderValue::from_str(key.expose())
        {
            v.set_sensitive(true);
            h.insert("x-api-key", v);
        }
        h.insert(
            "anthropic-version",
            HeaderValue::from_static(ANTHROPIC_VERSION),
        );
        h
    }
}

impl ChatProvider for AnthropicClient {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Anthropic
    }

    fn model(&self) -> &str {
        &self.model
    }

    fn stream<'a>(&'a self, req: &'a ChatRequest) -> BoxFuture<'a, Result<ChatStream, LlmError>> {
        Box::pin(async move {
            let endpoint = retry::Endpoint {
                client: &self.client,
                provider: ProviderKind::Anthropic,
                model: &self.model,
                url: &self.url,
                http: &self.http,
                key: self.key.as_ref(),
            };
            let resp = retry::post_json(&endpoint, self.headers(), &self.body(req)).await?;
            Ok(event_stream(
                resp,
                AnthropicDecoder::default(),
                self.http.stall_timeout,
                self.http.timeout,
            ))
        })
    }
}

/// Decodes Messages API stream events.
#[derive(Debug, Default)]
pub struct AnthropicDecoder {
    done: bool,
    usage: TokenUsage,
}

fn bad(what: &str) -> LlmError {
    LlmError::BadResponse(format!("unexpected Anthropic stream event: {what}"))
}

impl Decoder for AnthropicDecoder {
    fn event(&mut self, ev: super::sse::SseEvent) -> Result<Vec<ChatDelta>, LlmError> {
        let v: Value = serde_json::from_str(ev.data.trim()).map_err(|e| {
            LlmError::BadResponse(format!(
                "a stream event is not JSON ({e}): {}",
                super::error::clip(&ev.data, 80)
            ))
        })?;
        let kind = ev
            .event
            .clone()
            .or_else(|| v.get("type").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default();
        let mut out = Vec::new();
        match kind.as_str() {
            "message_start" => {
                let u = v.pointer("/message/usage");
                self.usage.input = u
                    .and_then(|u| u.get("input_tokens"))
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                self.usage.output = u
                    .and_then(|u| u.get("output_tokens"))
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
            }
            "content_block_start" => {
                let index =
                    v.get("index")
                        .and_then(Value::as_u64)
                        .ok_or_else(|| bad("block without index"))? as usize;
                let block = v
                    .get("content_block")
                    .ok_or_else(|| bad("block without content"))?;
                match block.get("type").and_then(Value::as_str) {
                    Some("text") => {
                        if let Some(t) = block
                            .get("text")
                            .and_then(Value::as_str)
                            .filter(|t| !t.is_empty())
                        {
                            out.push(ChatDelta::Text(t.to_string()));
                        }
                    }
                    Some("tool_use") => out.push(ChatDelta::ToolCall {
                        index,
                        id: block.get("id").and_then(Value::as_str).map(str::to_string),
                        name: block
                            .get("name")
                            .and_then(Value::as_str)
                            .map(str::to_string),
                        arguments: String::new(),
                    }),
                    _ => {} // thinking blocks and future kinds carry nothing we use
                }
            }
            "content_block_delta" => {
                let index =
                    v.get("index")
                        .and_then(Value::as_u64)
                        .ok_or_else(|| bad("delta without index"))? as usize;
                let delta = v.get("delta").ok_or_else(|| bad("delta without body"))?;
                match delta.get("type").and_then(Value::as_str) {
                    Some("text_delta") => {
                        let t = delta
                            .get("text")
                            .and_then(Value::as_str)
                            .ok_or_else(|| bad("text_delta without text"))?;
                        if !t.is_empty() {
                            out.push(ChatDelta::Text(t.to_string()));
                        }
                    }
                    Some("input_json_delta") => out.push(ChatDelta::ToolCall {
                        index,
                        id: None,
                        name: None,
                        arguments: delta
                            .get("partial_json")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string(),
                    }),
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(n) = v.pointer("/usage/output_tokens").and_then(Value::as_u64) {
                    self.usage.output = n;
                }
                if let Some(n) = v.pointer("/usage/input_tokens").and_then(Value::as_u64) {
                    self.usage.input = self.usage.input.max(n);
                }
                out.push(ChatDelta::Usage(self.usage));
                let reason = v.pointer("/delta/stop_reason").and_then(Value::as_str);
                out.push(ChatDelta::Finish(reason.map(str::to_string)));
            }
            "message_stop" => self.done = true,
            "content_block_stop" | "ping" => {}
            "error" => {
                let kind = v
                    .pointer("/error/type")
                    .and_then(Value::as_str)
                    .unwrap_or("error");
                let msg = v
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                return Err(match kind {
                    "overloaded_error" | "api_error" => LlmError::Server {
                        provider: "anthropic",
                        status: if kind == "overloaded_error" { 529 } else { 500 },
                        detail: super::error::clip(msg, 200),
                    },
                    "rate_limit_error" => LlmError::RateLimited {
                        provider: "anthropic",
                        retry_after: None,
                    },
                    _ => LlmError::BadResponse(format!("{kind}: {}", super::error::clip(msg, 200))),
                });
            }
            _ => {} // new event types are ignored, as Anthropic's versioning policy asks
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

    fn ev(event: &str, data: &str) -> SseEvent {
        SseEvent {
            event: Some(event.into()),
            data: data.into(),
        }
    }

    #[test]
    fn decodes_a_tool_use_stream() {
        let mut d = AnthropicDecoder::default();
        let mut all = Vec::new();
        for (e, data) in [
            (
                "message_start",
                r#"{"type":"message_start","message":{"usage":{"input_tokens":25,"output_tokens":1}}}"#,
            ),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Okay"}}"#,
            ),
            ("ping", r#"{"type":"ping"}"#),
            (
                "content_block_start",
                r#"{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"pick","input":{}}}"#,
            ),
            (
                "content_block_delta",
                r#"{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"option\": 2}"}}"#,
            ),
            (
                "content_block_stop",
                r#"{"type":"content_block_stop","index":1}"#,
            ),
            (
                "message_delta",
                r#"{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":15}}"#,
            ),
            ("message_stop", r#"{"type":"message_stop"}"#),
        ] {
            all.extend(d.event(ev(e, data)).unwrap());
        }
        assert!(d.finished());
        assert_eq!(
            all,
            vec![
                ChatDelta::Text("Okay".into()),
                ChatDelta::ToolCall {
                    index: 1,
                    id: Some("toolu_1".into()),
                    name: Some("pick".into()),
                    arguments: String::new()
                },
                ChatDelta::ToolCall {
                    index: 1,
                    id: None,
                    name: None,
                    arguments: "{\"option\": 2}".into()
                },
                ChatDelta::Usage(TokenUsage {
                    input: 25,
                    output: 15
                }),
                ChatDelta::Finish(Some("tool_use".into())),
            ]
        );
    }

    #[test]
    fn mid_stream_errors() {
        let mut d = AnthropicDecoder::default();
        let e = d
            .event(ev(
                "error",
                r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#,
            ))
            .unwrap_err();
        assert!(matches!(e, LlmError::Server { status: 529, .. }));
        assert!(matches!(
            d.event(ev("content_block_delta", "{{{")),
            Err(LlmError::BadResponse(_))
        ));
    }
}
