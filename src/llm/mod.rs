//! LLM clients: the game master's voice, the reader of players' free text and the
//! mind of the monsters, behind one [`ChatProvider`] trait with two wire formats —
//! OpenAI-compatible chat completions ([`openai`]: OpenAI, Ollama, llama.cpp's server,
//! vLLM, LM Studio, OpenRouter) and Anthropic's Messages API ([`anthropic`]). Both
//! stream (server-sent events, [`sse`]).
//!
//! [`Llm`] is what the rest of the program holds: a provider plus the per-campaign token
//! budget and cost estimate ([`budget`]). Errors are [`LlmError`]s with messages fit for
//! the GM; retries with backoff on 429/5xx live in [`retry`].
//!
//! This module owns HTTP to LLM providers and nothing else: it never changes campaign
//! state. Whatever an LLM says is either prose (the narrator) or a proposal that is
//! validated into engine commands (the intent parser, the NPC policy) and then checked
//! again by the engine. API keys are only ever written into request headers; they are
//! [`Secret`]s everywhere else.

pub mod anthropic;
pub mod breaker;
pub mod budget;
pub mod error;
pub mod npc;
pub mod openai;
pub mod retry;
pub mod sse;
pub mod text;

pub use breaker::Breaker;
pub use budget::{Prices, UsageMeter, UsageReport};
pub use error::LlmError;
pub use npc::LlmNpcPolicy;

use crate::clock::Clock;
use crate::config::{Config, LlmConfig, NarratorKind, Secret};
use crate::store::{CampaignId, Store};
use futures_util::future::BoxFuture;
use futures_util::{Stream, StreamExt};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tracing::Instrument;

/// Which wire format a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    /// OpenAI-compatible chat completions (`POST {base_url}/chat/completions`).
    OpenAi,
    /// Anthropic Messages (`POST {base_url}/messages`).
    Anthropic,
}

impl ProviderKind {
    pub fn name(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Anthropic => "anthropic",
        }
    }

    /// The public endpoint used when `llm.base_url` is unset.
    pub fn default_base_url(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "https://api.openai.com/v1",
            ProviderKind::Anthropic => "https://api.anthropic.com/v1",
        }
    }

    /// The model used when `llm.model` is unset.
    pub fn default_model(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "gpt-4o-mini",
            ProviderKind::Anthropic => "claude-3-5-haiku-latest",
        }
    }
}

/// Who wrote a message in the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChatMessage {
    pub role: Role,
    pub content: String,
}

impl ChatMessage {
    pub fn user(content: impl Into<String>) -> Self {
        ChatMessage {
            role: Role::User,
            content: content.into(),
        }
    }
}

/// A function the model may call; `parameters` is a JSON Schema object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub parameters: serde_json::Value,
}

/// What a request is for (logs and spans).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Narration,
    Summary,
    Intent,
    NpcDecision,
}

/// One chat request, provider-neutral.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChatRequest {
    pub purpose: Purpose,
    pub system: String,
    pub messages: Vec<ChatMessage>,
    pub max_tokens: u32,
    pub temperature: Option<f32>,
    pub tools: Vec<ToolSpec>,
    /// Make the model call this tool (by name).
    pub tool_choice: Option<String>,
}

impl ChatRequest {
    pub fn new(purpose: Purpose, system: impl Into<String>, user: impl Into<String>) -> Self {
        ChatRequest {
            purpose,
            system: system.into(),
            messages: vec![ChatMessage::user(user)],
            max_tokens: 400,
            temperature: None,
            tools: Vec::new(),
            tool_choice: None,
        }
    }

    /// A rough token count (4 characters a token) for providers that report none.
    pub fn estimated_tokens(&self) -> u64 {
        let chars = self.system.len()
            + self.messages.iter().map(|m| m.content.len()).sum::<usize>()
            + self
                .tools
                .iter()
                .map(|t| t.description.len() + t.parameters.to_string().len())
                .sum::<usize>();
        (chars as u64).div_ceil(4)
    }
}

/// Tokens used by one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct TokenUsage {
    pub input: u64,
    pub output: u64,
}

/// One piece of a streamed answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatDelta {
    /// More prose.
    Text(String),
    /// Part of a tool call: the first fragment for an `index` carries the id and name,
    /// the rest add to the JSON arguments.
    ToolCall {
        index: usize,
        id: Option<String>,
        name: Option<String>,
        arguments: String,
    },
    /// Token counts, when the provider reports them.
    Usage(TokenUsage),
    /// The model finished, with its reason ("stop", "length", "tool_calls", "end_turn"…).
    Finish(Option<String>),
}

/// A streamed answer.
pub type ChatStream = Pin<Box<dyn Stream<Item = Result<ChatDelta, LlmError>> + Send>>;

/// A tool call, assembled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCall {
    pub id: Option<String>,
    pub name: String,
    /// The raw JSON arguments (not yet validated — see the callers).
    pub arguments: String,
}

/// A whole answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChatResponse {
    pub text: String,
    pub tool_calls: Vec<ToolCall>,
    pub usage: Option<TokenUsage>,
    pub finish: Option<String>,
}

/// An LLM API. Implementations do their own retries up to the first byte of the answer.
pub trait ChatProvider: Send + Sync + 'static {
    fn kind(&self) -> ProviderKind;
    fn model(&self) -> &str;
    /// Starts a streamed answer.
    fn stream<'a>(&'a self, req: &'a ChatRequest) -> BoxFuture<'a, Result<ChatStream, LlmError>>;
}

/// Transport settings shared by both providers.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// The whole request, answer included.
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// Longest silence inside a streamed answer (also the wait for its first byte).
    pub stall_timeout: Duration,
    pub max_retries: u32,
    /// First retry delay; doubled each time.
    pub backoff: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            stall_timeout: Duration::from_secs(15),
            max_retries: 2,
            backoff: Duration::from_millis(500),
        }
    }
}

/// Everything needed to build a provider.
#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub kind: ProviderKind,
    /// Up to and including the version segment, e.g. `http://127.0.0.1:11434/v1`.
    pub base_url: String,
    pub model: String,
    pub api_key: Option<Secret>,
    pub http: HttpOptions,
}

/// Builds the client for `cfg`.
pub fn provider(cfg: ProviderConfig) -> Result<Arc<dyn ChatProvider>, LlmError> {
    Ok(match cfg.kind {
        ProviderKind::OpenAi => Arc::new(openai::OpenAiClient::new(cfg)?),
        ProviderKind::Anthropic => Arc::new(anthropic::AnthropicClient::new(cfg)?),
    })
}

pub(crate) fn http_client(http: &HttpOptions) -> Result<reqwest::Client, LlmError> {
    reqwest::Client::builder()
        .connect_timeout(http.connect_timeout)
        .user_agent(concat!("dicebard/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| LlmError::Unreachable {
            url: String::new(),
            detail: format!("cannot build the HTTP client: {e}"),
        })
}

pub(crate) fn join_url(base: &str, path: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

/// Turns SSE events into [`ChatDelta`]s for one wire format.
pub(crate) trait Decoder: Send + 'static {
    fn event(&mut self, ev: sse::SseEvent) -> Result<Vec<ChatDelta>, LlmError>;
    /// The provider's end-of-answer marker was seen.
    fn finished(&self) -> bool;
}

/// The body of a streaming response as deltas: SSE parsing, a stall timeout between
/// chunks, and an error if the body ends before the provider's end marker.
pub(crate) fn event_stream<D: Decoder>(
    resp: reqwest::Response,
    decoder: D,
    stall: Duration,
    limit: Duration,
) -> ChatStream {
    struct St<D> {
        body: Pin<Box<dyn Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
        parser: sse::SseParser,
        decoder: D,
        pending: VecDeque<Result<ChatDelta, LlmError>>,
        done: bool,
    }
    let st = St {
        body: Box::pin(resp.bytes_stream()),
        parser: sse::SseParser::new(),
        decoder,
        pending: VecDeque::new(),
        done: false,
    };
    Box::pin(futures_util::stream::unfold(st, move |mut st| async move {
        loop {
            if let Some(item) = st.pending.pop_front() {
                if item.is_err() {
                    st.pending.clear();
                    st.done = true;
                }
                return Some((item, st));
            }
            if st.done || st.decoder.finished() {
                return None;
            }
            match tokio::time::timeout(stall, st.body.next()).await {
                Err(_) => {
                    st.done = true;
                    return Some((Err(LlmError::Stalled(stall)), st));
                }
                Ok(Some(Ok(chunk))) => match st.parser.push(&chunk) {
                    Ok(events) => {
                        for ev in events {
                            match st.decoder.event(ev) {
                                Ok(ds) => st.pending.extend(ds.into_iter().map(Ok)),
                                Err(e) => {
                                    st.pending.push_back(Err(e));
                                    break;
                                }
                            }
                        }
                    }
                    Err(e) => st.pending.push_back(Err(LlmError::BadResponse(e))),
                },
                Ok(Some(Err(e))) => {
                    st.done = true;
                    // reqwest's timeout covers the whole request, body included.
                    let err = if e.is_timeout() {
                        LlmError::TooLong(limit)
                    } else {
                        LlmError::BadResponse(format!(
                            "the stream broke off: {}",
                            error::clip(&e.to_string(), 160)
                        ))
                    };
                    return Some((Err(err), st));
                }
                Ok(None) => {
                    if let Some(ev) = st.parser.finish() {
                        match st.decoder.event(ev) {
                            Ok(ds) => st.pending.extend(ds.into_iter().map(Ok)),
                            Err(e) => st.pending.push_back(Err(e)),
                        }
                    }
                    if !st.decoder.finished() && st.pending.iter().all(|p| p.is_ok()) {
                        st.pending.push_back(Err(LlmError::BadResponse(
                            "the stream ended before the answer was complete".into(),
                        )));
                    }
                    st.done = true;
                }
            }
        }
    }))
}

/// Reads a whole stream into one answer.
pub async fn collect(mut stream: ChatStream) -> Result<ChatResponse, LlmError> {
    let mut out = ChatResponse::default();
    let mut calls: BTreeMap<usize, ToolCall> = BTreeMap::new();
    while let Some(d) = stream.next().await {
        match d? {
            ChatDelta::Text(t) => out.text.push_str(&t),
            ChatDelta::ToolCall {
                index,
                id,
                name,
                arguments,
            } => {
                let c = calls.entry(index).or_insert_with(|| ToolCall {
                    id: None,
                    name: String::new(),
                    arguments: String::new(),
                });
                if id.is_some() {
                    c.id = id;
                }
                if let Some(n) = name {
                    c.name.push_str(&n);
                }
                c.arguments.push_str(&arguments);
                if c.arguments.len() > 64 * 1024 {
                    return Err(LlmError::BadResponse(
                        "a tool call's arguments are too long".into(),
                    ));
                }
            }
            ChatDelta::Usage(u) => out.usage = Some(u),
            ChatDelta::Finish(f) => out.finish = f,
        }
        if out.text.len() > 256 * 1024 {
            return Err(LlmError::BadResponse("the answer is too long".into()));
        }
    }
    out.tool_calls = calls.into_values().collect();
    Ok(out)
}

/// The `[llm]` settings the narrator, the intent reader and the NPC policy use.
#[derive(Debug, Clone)]
pub struct LlmSettings {
    pub http: HttpOptions,
    /// Completion cap for narration.
    pub max_tokens: u32,
    pub temperature: Option<f32>,
    /// Tokens per campaign per day; 0 = no cap.
    pub token_budget: u64,
    /// Tokens per day for all campaigns on this host together; 0 = no cap.
    pub daily_token_budget: u64,
    /// Free-text readings by the LLM per player per minute; 0 = no limit.
    pub user_requests_per_minute: u32,
    pub prices: Prices,
    /// Refresh the rolling summary every this many narrated events.
    pub summary_every: u64,
    /// Events quoted verbatim in each prompt.
    pub recent_events: usize,
    /// Key facts retrieved into each prompt.
    pub facts_in_prompt: usize,
    /// Deadline for an intent or NPC decision before the deterministic fallback.
    pub decision_timeout: Duration,
    /// Let the LLM choose NPC actions (among the engine's legal options).
    pub npc_decisions: bool,
}

impl Default for LlmSettings {
    fn default() -> Self {
        LlmSettings::from_config(&LlmConfig::default())
    }
}

impl LlmSettings {
    pub fn from_config(c: &LlmConfig) -> Self {
        LlmSettings {
            http: HttpOptions {
                timeout: Duration::from_secs(c.timeout_secs.max(1)),
                connect_timeout: Duration::from_secs(c.connect_timeout_secs.max(1)),
                stall_timeout: Duration::from_secs(c.stall_timeout_secs.max(1)),
                max_retries: c.max_retries,
                backoff: Duration::from_millis(c.retry_backoff_ms),
            },
            max_tokens: c.max_tokens,
            temperature: None,
            token_budget: c.token_budget,
            daily_token_budget: c.daily_token_budget,
            user_requests_per_minute: c.user_requests_per_minute,
            prices: Prices {
                input_per_1k: c.cost_per_1k_input.0,
                output_per_1k: c.cost_per_1k_output.0,
            },
            summary_every: c.summary_every.max(1),
            recent_events: c.recent_events,
            facts_in_prompt: c.facts_in_prompt,
            decision_timeout: Duration::from_secs(c.decision_timeout_secs.max(1)),
            npc_decisions: c.npc_decisions,
        }
    }
}

/// A provider with per-campaign metering: what front ends and the narrator hold.
pub struct Llm {
    provider: Arc<dyn ChatProvider>,
    meter: UsageMeter,
    settings: LlmSettings,
}

impl std::fmt::Debug for Llm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Llm")
            .field("provider", &self.provider.kind())
            .field("model", &self.provider.model())
            .finish_non_exhaustive()
    }
}

impl Llm {
    pub fn new(
        provider: Arc<dyn ChatProvider>,
        settings: LlmSettings,
        store: Option<Store>,
        clock: Clock,
    ) -> Self {
        let meter = UsageMeter::new(settings.token_budget, settings.prices, store, clock)
            .with_daily_budget(settings.daily_token_budget);
        Llm {
            provider,
            meter,
            settings,
        }
    }

    /// The LLM `config` asks for, or `None` for the built-in narrator. Errs when the
    /// public endpoint is chosen without an API key.
    pub fn from_config(
        config: &Config,
        store: Option<Store>,
        clock: Clock,
    ) -> Result<Option<Arc<Llm>>, LlmError> {
        let kind = match config.narrator.kind {
            NarratorKind::Builtin => return Ok(None),
            NarratorKind::Openai => ProviderKind::OpenAi,
            NarratorKind::Anthropic => ProviderKind::Anthropic,
        };
        let c = &config.llm;
        if c.base_url.is_none() && c.api_key.is_none() {
            return Err(LlmError::BadKey {
                provider: kind.name(),
                status: 0,
                detail: format!(
                    "no API key: set the environment variable {} (or point llm.base_url at a local server)",
                    c.api_key_env
                ),
            });
        }
        let settings = LlmSettings::from_config(c);
        let provider = provider(ProviderConfig {
            kind,
            base_url: c
                .base_url
                .clone()
                .unwrap_or_else(|| kind.default_base_url().to_string()),
            model: c
                .model
                .clone()
                .unwrap_or_else(|| kind.default_model().to_string()),
            api_key: c.api_key.clone(),
            http: settings.http.clone(),
        })?;
        tracing::info!(
            provider = kind.name(),
            model = provider.model(),
            "LLM configured"
        );
        Ok(Some(Arc::new(Llm::new(provider, settings, store, clock))))
    }

    pub fn settings(&self) -> &LlmSettings {
        &self.settings
    }

    pub fn provider(&self) -> &Arc<dyn ChatProvider> {
        &self.provider
    }

    /// Starts a streamed answer charged to `campaign_id`, after checking its budget.
    pub async fn stream(
        self: &Arc<Self>,
        campaign_id: CampaignId,
        req: &ChatRequest,
    ) -> Result<MeteredStream, LlmError> {
        if let Err(e) = self.meter.check(campaign_id).await {
            self.meter.record_failure(campaign_id, &e);
            return Err(e);
        }
        let span = tracing::debug_span!("llm", campaign = campaign_id.get(), purpose = ?req.purpose, provider = self.provider.kind().name());
        match self.provider.stream(req).instrument(span).await {
            Ok(inner) => Ok(MeteredStream {
                inner,
                llm: self.clone(),
                campaign_id,
                prompt_estimate: req.estimated_tokens(),
                output_chars: 0,
                reported: None,
                recorded: false,
            }),
            Err(e) => {
                self.meter.record_failure(campaign_id, &e);
                Err(e)
            }
        }
    }

    /// A whole answer within `deadline` (budget-checked and metered).
    pub async fn complete(
        self: &Arc<Self>,
        campaign_id: CampaignId,
        req: &ChatRequest,
        deadline: Duration,
    ) -> Result<ChatResponse, LlmError> {
        let fut = async {
            let s = self.stream(campaign_id, req).await?;
            collect(Box::pin(s)).await
        };
        match tokio::time::timeout(deadline, fut).await {
            // Failures inside were recorded by `stream` and the metered stream.
            Ok(r) => r,
            Err(_) => {
                let e = LlmError::Timeout(deadline);
                self.meter.record_failure(campaign_id, &e);
                Err(e)
            }
        }
    }

    /// Remembers a failure the caller noticed (a garbage tool call, a timeout).
    pub fn record_failure(&self, campaign_id: CampaignId, e: &LlmError) {
        self.meter.record_failure(campaign_id, e);
    }

    /// What `campaign_id` has spent.
    pub async fn usage(&self, campaign_id: CampaignId) -> UsageReport {
        let mut r = self.meter.report(campaign_id).await;
        r.provider = self.provider.kind().name().to_string();
        r.model = self.provider.model().to_string();
        r
    }
}

/// A stream that charges its tokens to the campaign when it ends or is dropped. Uses
/// the provider's counts when given, else estimates (4 characters a token).
pub struct MeteredStream {
    inner: ChatStream,
    llm: Arc<Llm>,
    campaign_id: CampaignId,
    prompt_estimate: u64,
    output_chars: u64,
    reported: Option<TokenUsage>,
    recorded: bool,
}

impl MeteredStream {
    fn finish(&mut self) {
        if self.recorded {
            return;
        }
        self.recorded = true;
        let estimate = TokenUsage {
            input: self.prompt_estimate,
            output: self.output_chars.div_ceil(4),
        };
        let usage = match self.reported {
            // Counts come from the server: never add them unchecked.
            Some(u) if u.input.saturating_add(u.output) > 0 => TokenUsage {
                input: if u.input > 0 { u.input } else { estimate.input },
                output: if u.output > 0 {
                    u.output
                } else {
                    estimate.output
                },
            },
            _ => estimate,
        };
        self.llm.meter.record(self.campaign_id, usage);
    }
}

impl Stream for MeteredStream {
    type Item = Result<ChatDelta, LlmError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = self.inner.as_mut().poll_next(cx);
        match &item {
            Poll::Ready(Some(Ok(d))) => match d {
                ChatDelta::Text(t) => self.output_chars += t.len() as u64,
                ChatDelta::ToolCall {
                    arguments, name, ..
                } => {
                    self.output_chars +=
                        (arguments.len() + name.as_ref().map_or(0, |n| n.len())) as u64
                }
                ChatDelta::Usage(u) => self.reported = Some(*u),
                ChatDelta::Finish(_) => {}
            },
            Poll::Ready(Some(Err(e))) => {
                let e = e.clone();
                self.llm.meter.record_failure(self.campaign_id, &e);
                self.finish();
            }
            Poll::Ready(None) => self.finish(),
            Poll::Pending => {}
        }
        item
    }
}

impl Drop for MeteredStream {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Entry points for the fuzz targets in `fuzz-bot/` (not an API): everything an LLM
/// server's bytes go through before the program acts on them.
#[doc(hidden)]
pub mod fuzzing {
    use super::*;

    /// A streamed body cut into `chunks` however the network cut it: SSE parsing, both
    /// wire formats' decoders, and the assembly of text and tool calls. Must never
    /// panic, whatever the bytes.
    pub fn stream(chunks: &[&[u8]]) {
        for anthropic in [false, true] {
            let mut parser = sse::SseParser::new();
            let mut openai = openai::OpenAiDecoder::default();
            let mut claude = anthropic::AnthropicDecoder::default();
            let mut deltas: Vec<Result<ChatDelta, LlmError>> = Vec::new();
            let mut decode = |ev: sse::SseEvent, deltas: &mut Vec<_>| {
                let r = if anthropic {
                    claude.event(ev)
                } else {
                    openai.event(ev)
                };
                match r {
                    Ok(ds) => deltas.extend(ds.into_iter().map(Ok)),
                    Err(e) => deltas.push(Err(e)),
                }
            };
            for c in chunks {
                match parser.push(c) {
                    Ok(events) => {
                        for ev in events {
                            decode(ev, &mut deltas);
                        }
                    }
                    Err(e) => deltas.push(Err(LlmError::BadResponse(e))),
                }
            }
            if let Some(ev) = parser.finish() {
                decode(ev, &mut deltas);
            }
            let s: ChatStream = Box::pin(futures_util::stream::iter(deltas));
            let _ = futures_util::FutureExt::now_or_never(collect(s));
        }
    }
}
