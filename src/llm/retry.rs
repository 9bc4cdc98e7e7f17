//! Sending a request with retries: exponential backoff with jitter on 429, 5xx and
//! network failures, honouring `Retry-After`; other errors return at once. Only the
//! request up to the response headers is retried: once a stream has begun, a failure is
//! the caller's to handle (text already shown cannot be taken back).

use super::error::{LlmError, clip, from_reqwest};
use super::{HttpOptions, ProviderKind};
use crate::config::Secret;
use reqwest::header::HeaderMap;
use std::time::Duration;

/// The longest `Retry-After` we wait for; a provider asking for more gets
/// [`LlmError::RateLimited`] at once (the built-in narrator speaks meanwhile).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(20);

/// The largest `Retry-After` kept (for the GM's message); larger values are clamped here.
const MAX_REPORTED_WAIT: Duration = Duration::from_secs(86_400);

/// The delay before retry number `attempt` (0-based): `base * 2^attempt`, capped at 10 s,
/// plus up to a quarter of it as jitter so many campaigns do not retry in step.
pub fn backoff(base: Duration, attempt: u32) -> Duration {
    let d = base
        .saturating_mul(1u32 << attempt.min(10))
        .min(Duration::from_secs(10));
    d + d.mul_f64(jitter() * 0.25)
}

/// A number in [0, 1) that differs between calls (no RNG crate needed for this).
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// A provider's requested wait in seconds as a [`Duration`], bounded before converting:
/// `Duration::from_secs_f64` panics on infinities, NaN and values past `u64::MAX`
/// seconds, and these come straight from a server. NaN → none; negative → zero; more than
/// a day → a day (anything over [`MAX_RETRY_AFTER`] is never waited for: the caller
/// gives up at once, and the GM's message still shows the provider's figure).
pub(crate) fn bounded_wait(secs: f64) -> Option<Duration> {
    if secs.is_nan() {
        return None;
    }
    let secs = secs.clamp(0.0, MAX_REPORTED_WAIT.as_secs_f64());
    Some(Duration::from_secs_f64(secs))
}

/// `Retry-After` (seconds) or OpenAI's `retry-after-ms`. Hostile values (inf, NaN,
/// 1e20, negative, huge integers) never panic: see [`bounded_wait`].
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) = headers
        .get("retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
    {
        return bounded_wait(ms / 1000.0);
    }
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .and_then(bounded_wait)
}

/// Removes anything that looks like a key from a provider's error text (OpenAI echoes
/// a masked key in its 401 message; we drop even that).
pub(crate) fn scrub(text: &str, key: Option<&Secret>) -> String {
    let mut s = text.to_string();
    if let Some(k) = key
        && k.expose().len() >= 4
    {
        s = s.replace(k.expose(), "[redacted]");
    }
    s.split(' ')
        .map(|w| {
            let bare = w.trim_matches(|c: char| {
                !c.is_ascii_alphanumeric() && c != '-' && c != '_' && c != '*'
            });
            if bare.starts_with("sk-") || bare.starts_with("sk_") || bare.starts_with("key-") {
                w.replace(bare, "[redacted]")
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The provider's own message from an error body (`{"error": {"message": …}}` in both
/// wire formats), else the body itself, shortened.
fn error_message(body: &str) -> (String, String) {
    let v: Option<serde_json::Value> = serde_json::from_str(body).ok();
    let err = v.as_ref().and_then(|v| v.get("error"));
    let message = err
        .and_then(|e| {
            e.get("message")
                .and_then(|m| m.as_str())
                .or_else(|| e.as_str())
        })
        .map(str::to_string)
        .unwrap_or_else(|| body.to_string());
    let code = err
        .and_then(|e| e.get("code").or_else(|| e.get("type")))
        .and_then(|c| c.as_str())
        .unwrap_or("")
        .to_string();
    (clip(&message, 300), code)
}

/// Maps an unsuccessful HTTP status to an error.
pub(crate) fn classify(
    provider: ProviderKind,
    model: &str,
    status: u16,
    headers: &HeaderMap,
    body: &str,
    key: Option<&Secret>,
) -> LlmError {
    let name = provider.name();
    let (message, code) = error_message(body);
    let detail = scrub(&message, key);
    let lower = message.to_lowercase();
    let about_model = code == "model_not_found"
        || lower.contains("model")
            && (lower.contains("not found")
                || lower.contains("does not exist")
                || lower.contains("not a valid model")
                || lower.contains("invalid model")
                || lower.contains("unknown model")
                || lower.starts_with("model:"));
    match status {
        401 | 403 => LlmError::BadKey {
            provider: name,
            status,
            detail,
        },
        404 | 400 | 422 if about_model => LlmError::UnknownModel {
            provider: name,
            model: model.to_string(),
            detail,
        },
        404 => LlmError::Rejected {
            provider: name,
            status,
            detail: format!("{detail} (is llm.base_url right? it should end in /v1)"),
        },
        429 if code == "insufficient_quota" => LlmError::Rejected {
            provider: name,
            status,
            detail,
        },
        429 => LlmError::RateLimited {
            provider: name,
            retry_after: retry_after(headers),
        },
        500..=599 => LlmError::Server {
            provider: name,
            status,
            detail,
        },
        _ => LlmError::Rejected {
            provider: name,
            status,
            detail,
        },
    }
}

/// Where and how a provider sends its requests.
#[derive(Clone, Copy)]
pub(crate) struct Endpoint<'a> {
    pub client: &'a reqwest::Client,
    pub provider: ProviderKind,
    pub model: &'a str,
    pub url: &'a str,
    pub http: &'a HttpOptions,
    pub key: Option<&'a Secret>,
}

/// POSTs `body` as JSON to `url`, retrying as the module docs say; returns the
/// successful response with its body unread (a stream).
pub(crate) async fn post_json(
    ep: &Endpoint<'_>,
    headers: HeaderMap,
    body: &serde_json::Value,
) -> Result<reqwest::Response, LlmError> {
    let Endpoint {
        client,
        provider,
        model,
        url,
        http,
        key,
    } = *ep;
    let mut attempt = 0u32;
    loop {
        let sent = client
            .post(url)
            .headers(headers.clone())
            .timeout(http.timeout)
            .json(body)
            .send()
            .await;
        let err = match sent {
            Ok(resp) if resp.status().is_success() => return Ok(resp),
            Ok(resp) => {
                let status = resp.status().as_u16();
                let resp_headers = resp.headers().clone();
                let text = match tokio::time::timeout(http.stall_timeout, resp.text()).await {
                    Ok(Ok(t)) => t,
                    _ => String::new(),
                };
                classify(provider, model, status, &resp_headers, &text, key)
            }
            Err(e) => from_reqwest(&e, url, http.timeout),
        };
        let wait = match &err {
            LlmError::RateLimited {
                retry_after: Some(d),
                ..
            } if *d > MAX_RETRY_AFTER => None,
            LlmError::RateLimited {
                retry_after: Some(d),
                ..
            } => Some((*d).max(backoff(http.backoff, attempt))),
            e if e.is_retryable() => Some(backoff(http.backoff, attempt)),
            _ => None,
        };
        match wait {
            Some(d) if attempt < http.max_retries => {
                tracing::debug!(
                    provider = provider.name(),
                    error = %err,
                    attempt = attempt + 1,
                    wait_ms = d.as_millis() as u64,
                    "LLM request failed; retrying"
                );
                tokio::time::sleep(d).await;
                attempt += 1;
            }
            _ => return Err(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        let b = Duration::from_millis(100);
        let d0 = backoff(b, 0);
        assert!(d0 >= b && d0 <= b.mul_f64(1.25), "{d0:?}");
        let d3 = backoff(b, 3);
        assert!(d3 >= Duration::from_millis(800), "{d3:?}");
        assert!(backoff(b, 30) <= Duration::from_millis(12_500));
    }

    #[test]
    fn hostile_retry_after_values_never_panic_and_are_bounded() {
        let hostile = [
            "inf",
            "-inf",
            "infinity",
            "NaN",
            "nan",
            "1e20",
            "1e308",
            "-1e308",
            "-5",
            "-0",
            "18446744073709551615",
            "18446744073709551616",
            "340282366920938463463374607431768211456",
            "99999999999999999999999999999999999999999",
            "0.000000001",
            "1e-400",
            "  7  ",
        ];
        for name in ["retry-after", "retry-after-ms"] {
            for v in hostile {
                let mut h = HeaderMap::new();
                h.insert(name, v.parse().unwrap());
                let got = retry_after(&h);
                if let Some(d) = got {
                    assert!(d <= MAX_REPORTED_WAIT, "{name}: {v} gave {d:?}");
                }
                // The whole path through `classify` must not panic either.
                let _ = classify(ProviderKind::OpenAi, "m", 429, &h, "", None);
            }
        }
        let mut h = HeaderMap::new();
        h.insert("retry-after", "inf".parse().unwrap());
        // Waiting longer than the cap means giving up at once, not sleeping forever.
        assert!(retry_after(&h).unwrap() > MAX_RETRY_AFTER);
        h.insert("retry-after", "-3".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::ZERO));
        h.insert("retry-after", "NaN".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }

    #[test]
    fn keys_are_scrubbed_from_error_text() {
        let key = Secret::new("sk-live-abcdef123456");
        let s = scrub(
            "Incorrect API key provided: sk-live-abcdef123456. Also sk-li****3456.",
            Some(&key),
        );
        assert!(!s.contains("abcdef"), "{s}");
        assert!(!s.contains("sk-li"), "{s}");
    }

    #[test]
    fn statuses_map_to_clear_errors() {
        let h = HeaderMap::new();
        let p = ProviderKind::OpenAi;
        assert!(matches!(
            classify(p, "m", 401, &h, "{}", None),
            LlmError::BadKey { .. }
        ));
        let body =
            r#"{"error":{"message":"The model `gpt-9` does not exist","code":"model_not_found"}}"#;
        assert!(matches!(
            classify(p, "gpt-9", 404, &h, body, None),
            LlmError::UnknownModel { .. }
        ));
        assert!(matches!(
            classify(p, "m", 404, &h, "Not Found", None),
            LlmError::Rejected { .. }
        ));
        assert!(matches!(
            classify(p, "m", 503, &h, "", None),
            LlmError::Server { .. }
        ));
        let mut h2 = HeaderMap::new();
        h2.insert("retry-after", "3".parse().unwrap());
        match classify(p, "m", 429, &h2, "", None) {
            LlmError::RateLimited { retry_after, .. } => {
                assert_eq!(retry_after, Some(Duration::from_secs(3)))
            }
            e => panic!("{e:?}"),
        }
        let body =
            r#"{"type":"error","error":{"type":"not_found_error","message":"model: claude-nope"}}"#;
        assert!(matches!(
            classify(ProviderKind::Anthropic, "claude-nope", 404, &h, body, None),
            LlmError::UnknownModel { .. }
        ));
    }
}
