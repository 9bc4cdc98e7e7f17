//! What can go wrong talking to an LLM, in words a host can act on.

use std::time::Duration;

/// An LLM request that did not produce a usable answer. Messages never contain the API
/// key (it is only ever put in a request header) and are fit to show the GM.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlmError {
    /// The provider refused the API key (HTTP 401/403).
    #[error(
        "the {provider} API refused the API key (HTTP {status}): check the variable named by llm.api_key_env{}",
        detail_suffix(detail)
    )]
    BadKey {
        provider: &'static str,
        status: u16,
        detail: String,
    },
    /// The provider does not know the configured model (HTTP 404 / model_not_found).
    #[error(
        "the {provider} API does not know the model {model:?}: check llm.model{}",
        detail_suffix(detail)
    )]
    UnknownModel {
        provider: &'static str,
        model: String,
        detail: String,
    },
    /// The host could not be reached (DNS, refused connection, TLS).
    #[error(
        "cannot reach the LLM at {url}: {detail} (check llm.base_url and that the server is running)"
    )]
    Unreachable { url: String, detail: String },
    /// Too many requests (HTTP 429), after the retries were spent.
    #[error("the {provider} API is rate-limiting us (HTTP 429){}", retry_suffix(*retry_after))]
    RateLimited {
        provider: &'static str,
        retry_after: Option<Duration>,
    },
    /// The provider failed (HTTP 5xx, Anthropic's 529 "overloaded"), after the retries.
    #[error("the {provider} API failed (HTTP {status}){}", detail_suffix(detail))]
    Server {
        provider: &'static str,
        status: u16,
        detail: String,
    },
    /// The provider rejected the request for another reason (HTTP 4xx).
    #[error(
        "the {provider} API rejected the request (HTTP {status}){}",
        detail_suffix(detail)
    )]
    Rejected {
        provider: &'static str,
        status: u16,
        detail: String,
    },
    /// No answer within the time allowed.
    #[error("the LLM did not answer within {0:?}")]
    Timeout(Duration),
    /// The answer began, then nothing more came for this long (`llm.stall_timeout_secs`).
    #[error("the LLM stopped mid-answer: nothing more came for {0:?}")]
    Stalled(Duration),
    /// The answer was still streaming when the request limit (`llm.timeout_secs`) ran out.
    #[error("the LLM's answer was still going at the {0:?} request limit (llm.timeout_secs)")]
    TooLong(Duration),
    /// The answer was unusable as narration (repetition, echoed prompt, markup, garbage).
    #[error("the LLM's narration was unusable: {0}")]
    Degenerate(String),
    /// The answer could not be understood (malformed stream, garbage JSON, bad tool call).
    #[error("the LLM's answer was malformed: {0}")]
    BadResponse(String),
    /// The campaign spent its token budget for today.
    #[error("this campaign's LLM token budget for today is spent ({used} of {budget} tokens)")]
    BudgetExhausted { used: u64, budget: u64 },
    /// All campaigns on this host together spent today's token budget.
    #[error(
        "this host's LLM token budget for today is spent ({used} of {budget} tokens across all campaigns; llm.daily_token_budget)"
    )]
    HostBudgetExhausted { used: u64, budget: u64 },
    /// The LLM was not asked because it failed recently; the built-in narrator speaks
    /// until the cool-down ends.
    #[error("the LLM is resting after a failure")]
    CoolingDown,
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

fn retry_suffix(d: Option<Duration>) -> String {
    d.map(|d| format!("; it asks us to wait {}s", d.as_secs().max(1)))
        .unwrap_or_default()
}

impl LlmError {
    /// Whether trying the same request again may succeed (429, 5xx, network, timeout).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            LlmError::RateLimited { .. }
                | LlmError::Server { .. }
                | LlmError::Unreachable { .. }
                | LlmError::Timeout(_)
        )
    }

    /// A short tag for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            LlmError::BadKey { .. } => "bad_key",
            LlmError::UnknownModel { .. } => "unknown_model",
            LlmError::Unreachable { .. } => "unreachable",
            LlmError::RateLimited { .. } => "rate_limited",
            LlmError::Server { .. } => "server",
            LlmError::Rejected { .. } => "rejected",
            LlmError::Timeout(_) => "timeout",
            LlmError::Stalled(_) => "stalled",
            LlmError::TooLong(_) => "too_long",
            LlmError::Degenerate(_) => "degenerate",
            LlmError::BadResponse(_) => "bad_response",
            LlmError::BudgetExhausted { .. } => "budget",
            LlmError::HostBudgetExhausted { .. } => "host_budget",
            LlmError::CoolingDown => "cooling_down",
        }
    }
}

/// Keeps an error body short and single-line for messages and logs.
pub(crate) fn clip(s: &str, max: usize) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= max {
        one_line
    } else {
        let mut out: String = one_line.chars().take(max).collect();
        out.push('…');
        out
    }
}

/// Turns a transport error into an [`LlmError`]. reqwest's messages name the URL but
/// never headers, so the key cannot leak through them.
pub(crate) fn from_reqwest(e: &reqwest::Error, url: &str, timeout: Duration) -> LlmError {
    if e.is_timeout() {
        return LlmError::Timeout(timeout);
    }
    if e.is_connect() || e.is_request() && e.status().is_none() && !e.is_body() && !e.is_decode() {
        let mut detail = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(s) = src {
            detail = s.to_string();
            src = s.source();
        }
        return LlmError::Unreachable {
            url: url.to_string(),
            detail: clip(&detail, 200),
        };
    }
    LlmError::BadResponse(clip(&e.to_string(), 200))
}
