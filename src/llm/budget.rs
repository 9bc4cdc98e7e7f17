//! Token accounting per campaign: a daily token budget and a running cost estimate.
//! Counts live in memory and are added to the store (`llm_usage`) as they happen, so a
//! restart neither forgets the spend nor resets the budget.

use super::TokenUsage;
use super::error::LlmError;
use crate::clock::Clock;
use crate::store::{CampaignId, Store};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

const DAY_MS: u64 = 86_400_000;

/// Most tokens one request is charged: counts come from the provider, and a hostile
/// `usage` must not overflow the sums.
const MAX_TOKENS_PER_REQUEST: u64 = 100_000_000;

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
    pub campaign_id: CampaignId,
    /// "openai" or "anthropic".
    pub provider: String,
    pub model: String,
    /// Tokens (prompt + completion) used today (UTC).
    pub tokens_today: u64,
    /// The daily cap; 0 = none.
    pub token_budget: u64,
    /// True when today's budget is spent: the built-in narrator speaks until tomorrow.
    pub exhausted: bool,
    /// Tokens all campaigns on this host used today, and the host's daily cap (0 = none).
    pub host_tokens_today: u64,
    pub host_token_budget: u64,
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
        } else if self.host_token_budget > 0 && self.host_tokens_today >= self.host_token_budget {
            f.write_str(
                "; this host's daily budget is spent — the built-in narrator speaks until tomorrow (UTC)",
            )?;
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

/// Today's spend of all campaigns together.
#[derive(Debug, Default)]
struct HostUsage {
    day: u64,
    tokens: u64,
    /// The day whose stored spend has been read in.
    loaded_day: Option<u64>,
}

/// The per-campaign meter, with the host-wide daily cap.
pub struct UsageMeter {
    budget: u64,
    daily_budget: u64,
    host: Mutex<HostUsage>,
    prices: Prices,
    store: Option<Store>,
    clock: Clock,
    inner: Mutex<HashMap<CampaignId, CampaignUsage>>,
}

impl UsageMeter {
    pub fn new(budget: u64, prices: Prices, store: Option<Store>, clock: Clock) -> Self {
        UsageMeter {
            budget,
            daily_budget: 0,
            host: Mutex::new(HostUsage::default()),
            prices,
            store,
            clock,
            inner: Mutex::new(HashMap::new()),
        }
    }

    /// Caps the tokens all campaigns together may use per day (0 = no cap).
    pub fn with_daily_budget(mut self, tokens: u64) -> Self {
        self.daily_budget = tokens;
        self
    }

    fn host<R>(&self, f: impl FnOnce(&mut HostUsage) -> R) -> R {
        let today = self.today();
        let mut h = self.host.lock().expect("usage meter poisoned");
        if h.day != today {
            h.day = today;
            h.tokens = 0;
        }
        f(&mut h)
    }

    /// Reads today's stored spend of every campaign once a day (so a restart, or ending
    /// and starting campaigns, does not reset the host's budget).
    async fn ensure_host_loaded(&self) {
        let today = self.today();
        if self.host(|h| h.loaded_day == Some(today)) {
            return;
        }
        let stored = match &self.store {
            Some(store) => match store.llm_tokens_on_day(today).await {
                Ok(t) => t,
                Err(e) => {
                    tracing::warn!(error = %e, "could not read today's LLM usage; counting from what this process saw");
                    0
                }
            },
            None => 0,
        };
        self.host(|h| {
            if h.loaded_day != Some(today) {
                h.loaded_day = Some(today);
                // What this process counted is in the store too (or about to be).
                h.tokens = h.tokens.max(stored);
            }
        });
    }

    fn today(&self) -> u64 {
        self.clock.now().0 / DAY_MS
    }

    fn with<R>(&self, campaign: CampaignId, f: impl FnOnce(&mut CampaignUsage) -> R) -> R {
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

    async fn ensure_loaded(&self, campaign: CampaignId) {
        if self.with(campaign, |u| u.loaded) {
            return;
        }
        let day = self.today();
        let rows = match &self.store {
            Some(store) => match store.llm_usage(campaign).await {
                Ok(rows) => rows,
                Err(e) => {
                    tracing::warn!(campaign = campaign.get(), error = %e, "could not read LLM usage; counting from zero");
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

    /// Errs with [`LlmError::BudgetExhausted`] when the campaign's budget for today is
    /// spent, and with [`LlmError::HostBudgetExhausted`] when all campaigns together
    /// spent the host's.
    pub async fn check(&self, campaign: CampaignId) -> Result<(), LlmError> {
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
        })?;
        if self.daily_budget > 0 {
            self.ensure_host_loaded().await;
            let used = self.host(|h| h.tokens);
            if used >= self.daily_budget {
                return Err(LlmError::HostBudgetExhausted {
                    used,
                    budget: self.daily_budget,
                });
            }
        }
        Ok(())
    }

    /// Counts one finished (or abandoned) request. Synchronous so a dropped stream can
    /// call it; the store write happens on a spawned task.
    pub fn record(&self, campaign: CampaignId, usage: TokenUsage) {
        let usage = TokenUsage {
            input: usage.input.min(MAX_TOKENS_PER_REQUEST),
            output: usage.output.min(MAX_TOKENS_PER_REQUEST),
        };
        let cost = self.prices.cost_micros(usage);
        let day = self.with(campaign, |u| {
            u.today_tokens = u.today_tokens.saturating_add(usage.input + usage.output);
            u.today_cost_micros = u.today_cost_micros.saturating_add(cost);
            u.total_input = u.total_input.saturating_add(usage.input);
            u.total_output = u.total_output.saturating_add(usage.output);
            u.total_requests = u.total_requests.saturating_add(1);
            u.total_cost_micros = u.total_cost_micros.saturating_add(cost);
            u.day
        });
        self.host(|h| h.tokens = h.tokens.saturating_add(usage.input + usage.output));
        if let Some(store) = self.store.clone()
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            rt.spawn(async move {
                if let Err(e) = store
                    .add_llm_usage(
                        campaign,
                        day,
                        1,
                        usage.input,
                        usage.output,
                        cost,
                    )
                    .await
                {
                    tracing::warn!(campaign = campaign.get(), error = %e, "could not store LLM usage");
                }
            });
        }
    }

    /// Remembers a failure for the report.
    pub fn record_failure(&self, campaign: CampaignId, error: &LlmError) {
        self.with(campaign, |u| {
            u.failures += 1;
            u.last_error = Some(error.to_string());
        });
    }

    /// The report for one campaign (provider, model and `degraded` are filled by the caller).
    pub async fn report(&self, campaign: CampaignId) -> UsageReport {
        self.ensure_loaded(campaign).await;
        if self.daily_budget > 0 {
            self.ensure_host_loaded().await;
        }
        let host_tokens_today = self.host(|h| h.tokens);
        let host_token_budget = self.daily_budget;
        let budget = self.budget;
        self.with(campaign, |u| UsageReport {
            campaign_id: campaign,
            provider: String::new(),
            model: String::new(),
            tokens_today: u.today_tokens,
            token_budget: budget,
            exhausted: budget > 0 && u.today_tokens >= budget,
            host_tokens_today,
            host_token_budget,
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
