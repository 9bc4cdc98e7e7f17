//! The provider clients against a local server speaking each wire format: streaming,
//! tool calls, retries on 429/5xx, clear errors, malformed streams, timeouts, the token
//! budget and the cost estimate. The real reqwest client code runs every time.

use crate::support;

use dicebard::llm::{ChatRequest, ChatStream, LlmError, ProviderKind, Purpose, ToolSpec};
use dicebard::store::CampaignId;
use futures_util::StreamExt;
use serde_json::json;
use std::time::Duration;
use support::fake_llm::{self, FakeLlm, LlamaServer, Reply, anthropic, openai};
use support::{KEY, llm, llm_with, test_settings};

fn req() -> ChatRequest {
    ChatRequest::new(
        Purpose::Narration,
        "You are the GM.",
        "Narrate: the goblin falls.",
    )
}

fn tool_req() -> ChatRequest {
    let mut r = ChatRequest::new(Purpose::Intent, "Read the player.", "I attack the goblin");
    r.tools = vec![ToolSpec {
        name: "submit_commands".into(),
        description: "commands".into(),
        parameters: json!({"type": "object", "properties": {"commands": {"type": "array"}}}),
    }];
    r.tool_choice = Some("submit_commands".into());
    r
}

async fn texts(mut s: ChatStream) -> Result<Vec<String>, LlmError> {
    let mut out = Vec::new();
    while let Some(d) = s.next().await {
        if let dicebard::llm::ChatDelta::Text(t) = d? {
            out.push(t);
        }
    }
    Ok(out)
}

#[tokio::test]
async fn openai_streams_text_and_reports_usage() {
    let server = FakeLlm::start().await;
    server.push(openai::text_stream(
        &["The goblin ", "falls. ", "Silence."],
        Duration::from_millis(5),
        Some((42, 7)),
    ));
    let llm = llm(ProviderKind::OpenAi, &server);
    let resp = llm
        .complete(CampaignId(1), &req(), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(resp.text, "The goblin falls. Silence.");
    assert_eq!(resp.finish.as_deref(), Some("stop"));
    assert_eq!(resp.usage.map(|u| (u.input, u.output)), Some((42, 7)));

    let r = &server.requests()[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/v1/chat/completions");
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(r.body["model"], "fake-model");
    assert_eq!(r.body["stream"], true);
    assert_eq!(r.body["stream_options"]["include_usage"], true);
    assert_eq!(r.body["messages"][0]["role"], "system");
    assert_eq!(
        r.body["messages"][1]["content"],
        "Narrate: the goblin falls."
    );

    let usage = llm.usage(CampaignId(1)).await;
    assert_eq!(
        (
            usage.input_tokens_total,
            usage.output_tokens_total,
            usage.requests_total
        ),
        (42, 7, 1)
    );
    assert_eq!(usage.tokens_today, 49);
}

#[tokio::test]
async fn anthropic_streams_text_and_reports_usage() {
    let server = FakeLlm::start().await;
    server.push(anthropic::text_stream(
        &["The ogre ", "roars."],
        Duration::from_millis(5),
        (30, 9),
    ));
    let llm = llm(ProviderKind::Anthropic, &server);
    let s = llm.stream(CampaignId(1), &req()).await.unwrap();
    assert_eq!(
        texts(Box::pin(s)).await.unwrap(),
        vec!["The ogre ", "roars."]
    );
    let r = &server.requests()[0];
    assert_eq!(r.path, "/v1/messages");
    assert_eq!(r.header("x-api-key"), Some(KEY));
    assert_eq!(r.header("anthropic-version"), Some("2023-06-01"));
    assert!(r.header("authorization").is_none());
    assert_eq!(r.body["system"], "You are the GM.");
    assert_eq!(r.body["messages"][0]["role"], "user");
    assert_eq!(r.body["stream"], true);
    let usage = llm.usage(CampaignId(1)).await;
    assert_eq!(
        (usage.input_tokens_total, usage.output_tokens_total),
        (30, 9)
    );
}

#[tokio::test]
async fn tool_calls_are_assembled_in_both_formats() {
    let args = json!({"commands": [{"type": "attack", "target": "Goblin 1"}]});
    for kind in [ProviderKind::OpenAi, ProviderKind::Anthropic] {
        let server = FakeLlm::start().await;
        server.push(match kind {
            ProviderKind::OpenAi => openai::tool("submit_commands", &args),
            ProviderKind::Anthropic => anthropic::tool("submit_commands", &args),
        });
        let llm = llm(kind, &server);
        let resp = llm
            .complete(CampaignId(1), &tool_req(), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(resp.tool_calls.len(), 1, "{kind:?}");
        assert_eq!(resp.tool_calls[0].name, "submit_commands");
        let got: serde_json::Value = serde_json::from_str(&resp.tool_calls[0].arguments).unwrap();
        assert_eq!(got, args);
        let body = &server.requests()[0].body;
        match kind {
            ProviderKind::OpenAi => {
                assert_eq!(body["tools"][0]["function"]["name"], "submit_commands");
                // One tool offered: the string every server accepts forces it.
                assert_eq!(body["tool_choice"], "required");
            }
            ProviderKind::Anthropic => {
                assert_eq!(body["tools"][0]["name"], "submit_commands");
                assert!(body["tools"][0]["input_schema"].is_object());
                assert_eq!(
                    body["tool_choice"],
                    json!({"type": "tool", "name": "submit_commands"})
                );
            }
        }
    }
}

/// Hole 15: llama-server takes `tool_choice` only as a string; the object form was
/// ignored ("auto") or refused, so the forced tool call never happened.
#[tokio::test]
async fn tool_choice_is_sent_in_a_form_llama_server_accepts() {
    let args = json!({"commands": [{"type": "attack", "target": "Goblin 1"}]});
    for mode in [LlamaServer::IgnoresObject, LlamaServer::RejectsObject] {
        // One tool offered (what the intent reader and the NPC policy send): the string
        // "required" forces it everywhere.
        let server = FakeLlm::start().await;
        server.llama_server(mode);
        server.always(openai::tool("submit_commands", &args));
        let llm = llm(ProviderKind::OpenAi, &server);
        let resp = llm
            .complete(CampaignId(1), &tool_req(), Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(resp.tool_calls.len(), 1, "{mode:?}: {resp:?}");
        assert_eq!(server.requests()[0].body["tool_choice"], "required");
        assert_eq!(server.request_count(), 1);
    }

    // Several tools, one named: the object form first; a server that refuses it gets the
    // string form at once, and every later request uses it without asking again.
    let mut two = tool_req();
    two.tools.push(ToolSpec {
        name: "other_tool".into(),
        description: "another".into(),
        parameters: json!({"type": "object"}),
    });
    let server = FakeLlm::start().await;
    server.llama_server(LlamaServer::RejectsObject);
    server.always(openai::tool("submit_commands", &args));
    let llm = llm(ProviderKind::OpenAi, &server);
    for _ in 0..2 {
        let resp = llm
            .complete(CampaignId(1), &two, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(resp.tool_calls[0].name, "submit_commands");
    }
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3, "one refusal, then the string form");
    assert!(reqs[0].body["tool_choice"].is_object());
    assert_eq!(reqs[1].body["tool_choice"], "required");
    assert_eq!(reqs[2].body["tool_choice"], "required");
}

#[tokio::test]
async fn rate_limited_then_success() {
    let server = FakeLlm::start().await;
    server.push(fake_llm::status(
        429,
        &[("retry-after", "0")],
        r#"{"error":{"message":"slow down"}}"#,
    ));
    server.push(openai::text("Back in business."));
    let llm = llm(ProviderKind::OpenAi, &server);
    let resp = llm
        .complete(CampaignId(1), &req(), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(resp.text, "Back in business.");
    assert_eq!(server.request_count(), 2);
}

#[tokio::test]
async fn overloaded_then_success_anthropic() {
    let server = FakeLlm::start().await;
    server.push(anthropic::error(529, "overloaded_error", "Overloaded"));
    server.push(anthropic::error(500, "api_error", "Internal"));
    server.push(anthropic::text("Fine now."));
    let llm = llm(ProviderKind::Anthropic, &server);
    let resp = llm
        .complete(CampaignId(1), &req(), Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(resp.text, "Fine now.");
    assert_eq!(server.request_count(), 3);
}

#[tokio::test]
async fn retries_run_out() {
    let server = FakeLlm::start().await;
    server.always(fake_llm::status(429, &[], "{}"));
    let llm = llm(ProviderKind::OpenAi, &server);
    let err = llm
        .complete(CampaignId(1), &req(), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::RateLimited { .. }), "{err:?}");
    assert_eq!(
        server.request_count(),
        3,
        "one try and max_retries = 2 retries"
    );
    // A long Retry-After is not waited for.
    let server = FakeLlm::start().await;
    server.always(fake_llm::status(429, &[("retry-after", "3600")], "{}"));
    let llm = support::llm(ProviderKind::OpenAi, &server);
    let err = llm
        .complete(CampaignId(1), &req(), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("3600"), "{err}");
    assert_eq!(server.request_count(), 1);
}

/// Hole 3: a hostile `Retry-After` used to panic in `Duration::from_secs_f64` (inside the
/// campaign actor, for NPC decisions). Every value must give a clean error or a retry.
#[tokio::test]
async fn hostile_retry_after_is_an_error_not_a_panic() {
    for (header, value) in [
        ("retry-after", "inf"),
        ("retry-after", "-inf"),
        ("retry-after", "NaN"),
        ("retry-after", "1e20"),
        ("retry-after", "-5"),
        ("retry-after", "18446744073709551616"),
        ("retry-after", "1e999"),
        ("retry-after-ms", "inf"),
        ("retry-after-ms", "1e300"),
        ("retry-after-ms", "-1e300"),
    ] {
        let server = FakeLlm::start().await;
        server.always(fake_llm::status(429, &[(header, value)], "{}"));
        let llm = llm(ProviderKind::OpenAi, &server);
        let err = llm
            .complete(CampaignId(1), &req(), Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(
            matches!(err, LlmError::RateLimited { .. }),
            "{header}: {value} → {err:?}"
        );
    }
}

#[tokio::test]
async fn bad_key_is_clear_not_retried_and_never_echoed() {
    let server = FakeLlm::start().await;
    server.push(openai::error(
        401,
        &format!("Incorrect API key provided: {KEY}. You can find your API key at …"),
        "invalid_api_key",
    ));
    let llm = llm(ProviderKind::OpenAi, &server);
    let err = llm
        .complete(CampaignId(1), &req(), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(
        matches!(err, LlmError::BadKey { status: 401, .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("api_key_env"), "{msg}");
    assert!(
        !msg.contains("SECRET") && !msg.contains(KEY),
        "key leaked: {msg}"
    );
    assert!(!format!("{err:?}").contains("SECRET"));
    assert!(!format!("{llm:?}").contains("SECRET"));
    assert_eq!(server.request_count(), 1);
    let report = llm.usage(CampaignId(1)).await;
    assert!(
        report
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("refused the API key"))
    );
}

#[tokio::test]
async fn unknown_model_is_clear() {
    let server = FakeLlm::start().await;
    server.push(openai::error(
        404,
        "The model `fake-model` does not exist",
        "model_not_found",
    ));
    let err = llm(ProviderKind::OpenAi, &server)
        .complete(CampaignId(1), &req(), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::UnknownModel { .. }), "{err:?}");
    assert!(err.to_string().contains("llm.model"), "{err}");

    let server = FakeLlm::start().await;
    server.push(anthropic::error(
        404,
        "not_found_error",
        "model: fake-model",
    ));
    let err = llm(ProviderKind::Anthropic, &server)
        .complete(CampaignId(1), &req(), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::UnknownModel { .. }), "{err:?}");
}

#[tokio::test]
async fn unreachable_host_is_clear() {
    // A port that was just free.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut settings = test_settings();
    settings.http.max_retries = 1;
    let llm = llm_with(
        ProviderKind::OpenAi,
        &format!("http://127.0.0.1:{port}/v1"),
        settings,
        None,
    );
    let err = llm
        .complete(CampaignId(1), &req(), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::Unreachable { .. }), "{err:?}");
    assert!(err.to_string().contains("llm.base_url"), "{err}");
}

#[tokio::test]
async fn malformed_and_truncated_streams_are_errors() {
    let server = FakeLlm::start().await;
    server.push(fake_llm::raw_stream(&[
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n",
        "data: {this is not json\n\n",
    ]));
    server.push(fake_llm::raw_stream(&[
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n",
    ]));
    server.push(fake_llm::raw_stream(&[
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\"}\n\n",
    ]));
    let llm = llm(ProviderKind::OpenAi, &server);
    for what in ["garbage chunk", "no [DONE]"] {
        let err = llm
            .complete(CampaignId(1), &req(), Duration::from_secs(5))
            .await
            .unwrap_err();
        assert!(matches!(err, LlmError::BadResponse(_)), "{what}: {err:?}");
    }
    let err = support::llm_with(
        ProviderKind::Anthropic,
        &server.base_url(),
        test_settings(),
        None,
    )
    .complete(CampaignId(1), &req(), Duration::from_secs(5))
    .await
    .unwrap_err();
    assert!(matches!(err, LlmError::BadResponse(_)), "{err:?}");
}

#[tokio::test]
async fn a_stalled_stream_times_out() {
    let server = FakeLlm::start().await;
    server.push(openai::text_stream(
        &["Slow", " words"],
        Duration::from_millis(800),
        None,
    ));
    let mut settings = test_settings();
    settings.http.stall_timeout = Duration::from_millis(200);
    let llm = llm_with(ProviderKind::OpenAi, &server.base_url(), settings, None);
    let err = llm
        .complete(CampaignId(1), &req(), Duration::from_secs(5))
        .await
        .unwrap_err();
    // Mid-answer silence says so (not "did not answer").
    assert!(matches!(err, LlmError::Stalled(_)), "{err:?}");
    assert!(err.to_string().contains("stopped mid-answer"), "{err}");
    // And a server that never answers at all hits the caller's deadline.
    server.push(Reply::Hang);
    let err = llm
        .complete(CampaignId(1), &req(), Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(matches!(err, LlmError::Timeout(_)), "{err:?}");
}

#[tokio::test]
async fn budget_exhausted_refuses_without_a_request() {
    let server = FakeLlm::start().await;
    server.always(openai::text("Words."));
    let mut settings = test_settings();
    settings.token_budget = 100;
    settings.prices = dicebard::llm::Prices {
        input_per_1k: 0.5,
        output_per_1k: 1.5,
    };
    let llm = llm_with(ProviderKind::OpenAi, &server.base_url(), settings, None);
    llm.complete(CampaignId(1), &req(), Duration::from_secs(5))
        .await
        .unwrap(); // 100 + 20 tokens
    let err = llm
        .complete(CampaignId(1), &req(), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        LlmError::BudgetExhausted {
            used: 120,
            budget: 100
        }
    );
    assert_eq!(
        server.request_count(),
        1,
        "no request once the budget is spent"
    );
    // Another campaign has its own budget.
    llm.complete(CampaignId(2), &req(), Duration::from_secs(5))
        .await
        .unwrap();
    let r = llm.usage(CampaignId(1)).await;
    assert!(r.exhausted);
    assert!(
        (r.cost_total_usd - (0.1 * 0.5 + 0.02 * 1.5)).abs() < 1e-9,
        "{}",
        r.cost_total_usd
    );
    let shown = r.to_string();
    assert!(shown.contains("120 tokens today of 100"), "{shown}");
    assert!(shown.contains("$0.0800"), "{shown}");
}

#[tokio::test]
async fn usage_survives_a_restart_through_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let loc = dicebard::store::DbLocation::File(dir.path().join("u.sqlite3"));
    let store = dicebard::store::Store::open(&loc).await.unwrap();
    let c = store
        .create_campaign(dicebard::store::NewCampaign {
            name: "U".into(),
            guild_id: None,
            channel_id: None,
            seed: 1,
            created_at_ms: 0,
        })
        .await
        .unwrap();
    let server = FakeLlm::start().await;
    server.always(openai::text("Words."));
    let llm = llm_with(
        ProviderKind::OpenAi,
        &server.base_url(),
        test_settings(),
        Some(store.clone()),
    );
    llm.complete(c.id, &req(), Duration::from_secs(5))
        .await
        .unwrap();
    llm.complete(c.id, &req(), Duration::from_secs(5))
        .await
        .unwrap();
    // The store write is asynchronous: wait for it.
    for _ in 0..50 {
        if store
            .llm_usage(c.id)
            .await
            .unwrap()
            .first()
            .is_some_and(|r| r.requests == 2)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let fresh = llm_with(
        ProviderKind::OpenAi,
        &server.base_url(),
        test_settings(),
        Some(store.clone()),
    );
    let r = fresh.usage(c.id).await;
    assert_eq!((r.requests_total, r.tokens_today), (2, 240));
    store.close().await;
}

#[tokio::test]
async fn from_config_needs_a_key_for_public_endpoints_only() {
    let mut config = dicebard::config::Config::default();
    let clock = dicebard::clock::Clock::system();
    assert!(
        dicebard::llm::Llm::from_config(&config, None, clock)
            .unwrap()
            .is_none()
    );
    config.narrator.kind = dicebard::config::NarratorKind::Anthropic;
    let err = dicebard::llm::Llm::from_config(&config, None, clock).unwrap_err();
    assert!(err.to_string().contains("DICEBARD_LLM_API_KEY"), "{err}");
    config.narrator.kind = dicebard::config::NarratorKind::Openai;
    config.llm.base_url = Some("http://127.0.0.1:11434/v1".into());
    let llm = dicebard::llm::Llm::from_config(&config, None, clock)
        .unwrap()
        .unwrap();
    assert_eq!(llm.provider().model(), "gpt-4o-mini");
}

#[tokio::test]
async fn dropping_a_stream_midway_still_counts_tokens() {
    let server = FakeLlm::start().await;
    server.push(openai::text_stream(
        &["One. ", "Two. ", "Three."],
        Duration::from_millis(50),
        None,
    ));
    let llm = llm(ProviderKind::OpenAi, &server);
    let mut s = llm.stream(CampaignId(5), &req()).await.unwrap();
    let _first = s.next().await;
    drop(s);
    let r = llm.usage(CampaignId(5)).await;
    assert_eq!(r.requests_total, 1);
    assert!(r.input_tokens_total > 0, "estimated from the prompt");
}

/// Hole 8: the token budget was per campaign only, so `/campaign end` + `start` bought
/// a fresh one. The host-wide daily cap counts every campaign, and survives a restart.
#[tokio::test]
async fn the_host_daily_budget_spans_campaigns_and_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let loc = dicebard::store::DbLocation::File(dir.path().join("h.sqlite3"));
    let store = dicebard::store::Store::open(&loc).await.unwrap();
    let mut ids = Vec::new();
    for name in ["A", "B", "C"] {
        let c = store
            .create_campaign(dicebard::store::NewCampaign {
                name: name.into(),
                guild_id: None,
                channel_id: None,
                seed: 1,
                created_at_ms: 0,
            })
            .await
            .unwrap();
        ids.push(c.id);
    }
    let server = FakeLlm::start().await;
    server.always(openai::text("Words.")); // 100 + 20 tokens each
    let mut settings = test_settings();
    settings.token_budget = 1_000; // each campaign alone is far from its own cap
    settings.daily_token_budget = 200;
    let llm = llm_with(
        ProviderKind::OpenAi,
        &server.base_url(),
        settings.clone(),
        Some(store.clone()),
    );
    llm.complete(ids[0], &req(), Duration::from_secs(5))
        .await
        .unwrap();
    llm.complete(ids[1], &req(), Duration::from_secs(5))
        .await
        .unwrap();
    // A third campaign (a "new" one) gets nothing: 240 of 200 spent host-wide.
    let err = llm
        .complete(ids[2], &req(), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        LlmError::HostBudgetExhausted {
            used: 240,
            budget: 200
        }
    );
    assert!(err.to_string().contains("llm.daily_token_budget"), "{err}");
    assert_eq!(
        server.request_count(),
        2,
        "no request once the host cap is hit"
    );
    let r = llm.usage(ids[2]).await;
    assert_eq!((r.host_tokens_today, r.host_token_budget), (240, 200));
    assert!(
        r.to_string().contains("host's daily budget is spent"),
        "{r}"
    );

    // A restarted bot remembers today's host-wide spend (the store write is
    // asynchronous: wait for it).
    for _ in 0..100 {
        if store.llm_tokens_on_day(0).await.is_ok()
            && futures_util::future::join_all(ids.iter().map(|id| store.llm_usage(*id)))
                .await
                .into_iter()
                .map(|r| r.unwrap().iter().map(|u| u.requests).sum::<u64>())
                .sum::<u64>()
                == 2
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let fresh = llm_with(
        ProviderKind::OpenAi,
        &server.base_url(),
        settings,
        Some(store.clone()),
    );
    let err = fresh
        .complete(ids[2], &req(), Duration::from_secs(5))
        .await
        .unwrap_err();
    assert!(
        matches!(err, LlmError::HostBudgetExhausted { used: 240, .. }),
        "{err:?}"
    );
    assert_eq!(server.request_count(), 2);
    store.close().await;
}

/// Hostile usage counts from a server (u64::MAX tokens) must not overflow the meter.
#[tokio::test]
async fn hostile_usage_counts_do_not_overflow() {
    let server = FakeLlm::start().await;
    let huge = fake_llm::raw_stream(&[
        "data: {\"choices\":[{\"delta\":{\"content\":\"Words.\"},\"finish_reason\":\"stop\"}]}\n\n",
        "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":18446744073709551615,\"completion_tokens\":18446744073709551615}}\n\n",
        "data: [DONE]\n\n",
    ]);
    server.push(huge.clone());
    server.push(huge);
    let llm = llm(ProviderKind::OpenAi, &server);
    let _ = llm
        .complete(CampaignId(1), &req(), Duration::from_secs(5))
        .await;
    let _ = llm
        .complete(CampaignId(1), &req(), Duration::from_secs(5))
        .await;
    let r = llm.usage(CampaignId(1)).await;
    assert!(r.exhausted);
}

/// Streamed bodies as a broken server might send them (the fuzz seeds mutated byte by
/// byte, cut into random chunks; 10,000 cases, fixed seed) through SSE parsing, both
/// decoders and the assembly of text and tool calls: never a panic. The
/// coverage-guided version is `fuzz-bot/llm_stream`.
#[test]
fn mangled_streams_never_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz-bot/corpus/llm_stream");
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    seeds.sort();
    assert!(
        !seeds.is_empty(),
        "seed corpus missing at {}",
        dir.display()
    );
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for i in 0..10_000usize {
        let mut b = seeds[i % seeds.len()].clone();
        for _ in 0..1 + next() % 6 {
            let at = (next() as usize) % (b.len() + 1);
            match next() % 4 {
                0 if at < b.len() => b[at] = next() as u8,
                1 if at < b.len() => {
                    b.remove(at);
                }
                2 => {
                    let alphabet = b"{}[]\",:0123456789-e.\\u\n\r";
                    b.insert(at, alphabet[next() as usize % alphabet.len()]);
                }
                _ => {
                    let n = (u64::MAX - next() % 3).to_string();
                    for (k, d) in n.bytes().enumerate() {
                        b.insert((at + k).min(b.len()), d);
                    }
                }
            }
        }
        let size = 1 + (next() % 64) as usize;
        let chunks: Vec<&[u8]> = b.chunks(size).collect();
        dicebard::llm::fuzzing::stream(&chunks);
    }
}
