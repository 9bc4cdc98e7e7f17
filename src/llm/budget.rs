//! Token accounting per campaign: a daily token budget and a running cost estimate.
//! Counts live in memory and are added to the store (`llm_usage`) as they happen, so a
//! restart neither forgets the spend nor resets the budget.

use super::TokenUsage;
use super::error::LlmError;
use crate::clock::Clock;
use crate::store::Store;
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

const DAY_MS: u64 = 86_400_000;

/// USD per 1,000 tokens, for the cost estimate (0 for a local model).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Prices {
    pub input_per_1k: f64,
    pub output_per_1k: f64,
}

impl Prices {
    /// The cost of `usage`, in millionths of a US dollar.
    pub fn cost_micros(&self, usage: TokenUsage) -> u64 {
        let usd = usage.input as f64 / 1000.0 * self.input_per_1k
            + usage.output as f64 / 1000.0 * self.output_per_1k;
        (usd * 1_000_000.0).round().max(0.0) as u64
    }
}

/// What a campaign has spent, for `/campaign status` and the terminal's `status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageReport {
    pub campaign_id: i64,
    /// "openai" or "anthropic".
    pub provider: String,
    pub model: String,
    /// Tokens (prompt + completion) used today (UTC).
    pub tokens_today: u64,
    /// The daily cap; 0 = none.
    pub token_budget: u64,
    /// True when today's budget is spent: the built-in narrator speaks until tomorrow.
    pub exhausted: bool,
    pub input_tokens_total: u64,
    pub output_tokens_total: u64,
    pub requests_total: u64,
    pub cost_today_usd: f64,
    pub cost_total_usd: f64,
    /// Requests that failed since the process started.
    pub failures: u64,
    /// The most recent failure, in words.
    pub last_error: Option<String>,
    /// True while the narrator is falling back to the built-in one.
    pub degraded: bool,
}

impl fmt::Display for UsageReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "LLM: {} {} — {} tokens today",
            self.provider, self.model, self.tokens_today
        )?;
        if self.token_budget > 0 {
            let pct = self.tokens_today.saturating_mul(100) / self.token_budget.max(1);
            write!(f, " of {} ({pct}%)", self.token_budget)?;
        }
        write!(
            f,
            "; estimated cost ${:.4} today, ${:.4} in all ({} requests)",
            self.cost_today_usd, self.cost_total_usd, self.requests_total
        )?;
        if self.exhausted {
            f.write_str("; budget spent — the built-in narrator speaks until tomorrow (UTC)")?;
        } else if self.degraded {
            f.write_str("; the LLM is unavailable — the built-in narrator is speaking")?;
        }
        if let Some(e) = &self.last_error {
            write!(f, "; last error: {e}")?;
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Default)]
struct CampaignUsage {
    loaded: bool,
    day: u64,
    today_tokens: u64,
    today_cost_micros: u64,
    total_input: u64,
    total_output: u64,
    total_requests: u64,
    total_cost_micros: u64,
    failures: u64,
    last_error: Option<String>,
}

/// The per-campaign meter.
pub struct UsageMeter {
    budget: u64,
    prices: Prices,
    store: Option<Store>,
    clock: Clock,
    inner: Mutex<HashMap<i64, CampaignUsage>>,
}

impl UsageMeter {
    pub fn new(budget: u64, prices: Prices, store: Option<Store>, clock: Clock) -> Self {
        UsageMeter {
            budget,
            prices,
            store,
            clock,
            inner: Mutex::new(HashMap::new()),
        }
    }

    fn today(&self) -> u64 {
        self.clock.now().0 / DAY_MS
    }

    fn with<R>(&self, campaign: i64, f: impl FnOnce(&mut CampaignUsage) -> R) -> R {
        let today = self.today();
        let mut map = self.inner.lock().expect("usage meter poisoned");
        let u = map.entry(campaign).or_default();
        if u.day != today {
            u.day = today;
            u.today_tokens = 0;
            u.today_cost_micros = 0;
        }
        f(u)
    }

    async fn ensure_loaded(&self, campaign: i64) {
        if self.with(campaign, |u| u.loaded) {
            return;
        }
        let day = self.today();
        let rows = match &self.store {
            Some(store) => match store.llm_usage(campaign).await {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!(campaign, error = %e, "could not read LLM usage; counting from zero");
                    Vec::new()
                }
            },
            None => Vec::new(),
        };
        self.with(campaign, |u| {
            if u.loaded {
                return;
            }
            u.loaded = true;
            for r in rows {
                u.total_input += r.input_tokens;
                u.total_output += r.output_tokens;
                u.total_requests += r.requests;
                u.total_cost_micros += r.cost_micros;
                if r.day == day {
                    u.today_tokens += r.input_tokens + r.output_tokens;
                    u.today_cost_micros += r.cost_micros;
                }
            }
        });
    }

    /// Errs with [`LlmError::BudgetExhausted`] when today's budget is spent.
    pub async fn check(&self, campaign: i64) -> Result<(), LlmError> {
        self.ensure_loaded(campaign).await;
        let budget = self.budget;
        self.with(campaign, |u| {
            if budget > 0 && u.today_tokens >= budget {
                Err(LlmError::BudgetExhausted {
                    used: u.today_tokens,
                    budget,
                })
            } else {
                Ok(())
            }
        })
    }

    /// Counts one finished (or abandoned) request. Synchronous so a dropped stream can
    /// call it; the store write happens on a spawned task.
    pub fn record(&self, campaign: i64, usage: TokenUsage) {
        let cost = self.prices.cost_micros(usage);
        let day = self.with(campaign, |u| {
            u.today_tokens += usage.input + usage.output;
            u.today_cost_micros += cost;
            u.total_input += usage.input;
            u.total_output += usage.output;
            u.total_requests += 1;
            u.total_cost_micros += cost;
            u.day
        });
        if let Some(store) = self.store.clone()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(async move {
                if let Err(e) = store
                    .add_llm_usage(campaign, day, 1, usage.input, usage.output, cost)
                    .await
                {
                    tracing::warn!(campaign, error = %e, "could not store LLM usage");
                }
            });
        }
    }

    /// Remembers a failure for the report.
    pub fn record_failure(&self, campaign: i64, error: &LlmError) {
        self.with(campaign, |u| {
            u.failures += 1;
            u.last_error = Some(error.to_string());
        });
    }

    /// The report for one campaign (provider, model and `degraded` are filled by the caller).
    pub async fn report(&self, campaign: i64) -> UsageReport {
        self.ensure_loaded(campaign).await;
        let budget = self.budget;
        self.with(campaign, |u| UsageReport {
            campaign_id: campaign,
            provider: String::new(),
            model: String::new(),
            tokens_today: u.today_tokens,
            token_budget: budget,
            exhausted: budget > 0 && u.today_tokens >= budget,
            input_tokens_total: u.total_input,
            output_tokens_total: u.total_output,
            requests_total: u.total_requests,
            cost_today_usd: u.today_cost_micros as f64 / 1e6,
            cost_total_usd: u.total_cost_micros as f64 / 1e6,
            failures: u.failures,
            last_error: u.last_error.clone(),
            degraded: false,
        })
    }
}
