//! The LLM game master's memory and spend (migration 0002): rolling summaries, key
//! facts and token usage per campaign. Derived data, never part of the event log; the
//! narrator owns what it means, this file only stores it.

use super::{CampaignId, Store, StoreError};
use sqlx::Row;

/// A campaign's rolling summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSummary {
    /// The last event the summary covers.
    pub through_seq: u64,
    pub text: String,
}

/// A remembered fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFact {
    /// "person", "place", "quest", "promise", "creature", "item" or "other".
    pub kind: String,
    pub name: String,
    pub body: String,
    /// The event it was learnt from.
    pub seq: u64,
}

/// Token usage of one campaign on one UTC day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlmUsageRow {
    /// Days since the Unix epoch.
    pub day: u64,
    pub requests: u64,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Millionths of a US dollar.
    pub cost_micros: u64,
}

impl Store {
    /// Replaces a campaign's rolling summary.
    pub async fn put_llm_summary(
        &self,
        campaign_id: CampaignId,
        through_seq: u64,
        text: &str,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO llm_summaries (campaign_id, through_seq, summary, updated_at) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (campaign_id) DO UPDATE SET through_seq = excluded.through_seq, \
             summary = excluded.summary, updated_at = excluded.updated_at",
        )
        .bind(campaign_id)
        .bind(through_seq.min(i64::MAX as u64) as i64)
        .bind(text)
        .bind(at_ms)
        .execute(&self.write)
        .await
        .map_err(|e| self.db_err(e))?;
        Ok(())
    }

    /// A campaign's rolling summary, if one was written.
    pub async fn llm_summary(
        &self,
        campaign_id: CampaignId,
    ) -> Result<Option<StoredSummary>, StoreError> {
        let row =
            sqlx::query("SELECT through_seq, summary FROM llm_summaries WHERE campaign_id = $1")
                .bind(campaign_id)
                .fetch_optional(&self.read)
                .await
                .map_err(|e| self.db_err(e))?;
        row.map(|r| -> Result<StoredSummary, sqlx::Error> {
            Ok(StoredSummary {
                through_seq: r.try_get::<i64, _>("through_seq")? as u64,
                text: r.try_get("summary")?,
            })
        })
        .transpose()
        .map_err(|e| self.db_err(e))
    }

    /// Inserts a fact, or replaces the one with the same kind and name.
    pub async fn put_llm_fact(
        &self,
        campaign_id: CampaignId,
        fact: &StoredFact,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO llm_facts (campaign_id, kind, name, body, seq) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (campaign_id, kind, name) DO UPDATE SET body = excluded.body, seq = excluded.seq",
        )
        .bind(campaign_id)
        .bind(&fact.kind)
        .bind(&fact.name)
        .bind(&fact.body)
        .bind(fact.seq.min(i64::MAX as u64) as i64)
        .execute(&self.write)
        .await
        .map_err(|e| self.db_err(e))?;
        Ok(())
    }

    /// A campaign's facts, newest first, at most `limit`.
    pub async fn llm_facts(
        &self,
        campaign_id: CampaignId,
        limit: u32,
    ) -> Result<Vec<StoredFact>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, name, body, seq FROM llm_facts WHERE campaign_id = $1 \
             ORDER BY seq DESC, kind, name LIMIT $2",
        )
        .bind(campaign_id)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(|e| self.db_err(e))?;
        rows.iter()
            .map(|r| -> Result<StoredFact, sqlx::Error> {
                Ok(StoredFact {
                    kind: r.try_get("kind")?,
                    name: r.try_get("name")?,
                    body: r.try_get("body")?,
                    seq: r.try_get::<i64, _>("seq")? as u64,
                })
            })
            .collect::<Result<_, _>>()
            .map_err(|e| self.db_err(e))
    }

    /// Adds to a campaign's usage for `day` (days since the Unix epoch).
    pub async fn add_llm_usage(
        &self,
        campaign_id: CampaignId,
        day: u64,
        requests: u64,
        input_tokens: u64,
        output_tokens: u64,
        cost_micros: u64,
    ) -> Result<(), StoreError> {
        let n = |v: u64| v.min(i64::MAX as u64) as i64;
        sqlx::query(
            "INSERT INTO llm_usage (campaign_id, day, requests, input_tokens, output_tokens, cost_micros) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (campaign_id, day) DO UPDATE SET \
             requests = llm_usage.requests + excluded.requests, \
             input_tokens = llm_usage.input_tokens + excluded.input_tokens, \
             output_tokens = llm_usage.output_tokens + excluded.output_tokens, \
             cost_micros = llm_usage.cost_micros + excluded.cost_micros",
        )
        .bind(campaign_id)
        .bind(n(day))
        .bind(n(requests))
        .bind(n(input_tokens))
        .bind(n(output_tokens))
        .bind(n(cost_micros))
        .execute(&self.write)
        .await
        .map_err(|e| self.db_err(e))?;
        Ok(())
    }

    /// A campaign's usage, one row per day, oldest first.
    pub async fn llm_usage(&self, campaign_id: CampaignId) -> Result<Vec<LlmUsageRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT day, requests, input_tokens, output_tokens, cost_micros FROM llm_usage \
             WHERE campaign_id = $1 ORDER BY day",
        )
        .bind(campaign_id)
        .fetch_all(&self.read)
        .await
        .map_err(|e| self.db_err(e))?;
        rows.iter()
            .map(|r| -> Result<LlmUsageRow, sqlx::Error> {
                let n = |k: &str| r.try_get::<i64, _>(k).map(|v| v.max(0) as u64);
                Ok(LlmUsageRow {
                    day: n("day")?,
                    requests: n("requests")?,
                    input_tokens: n("input_tokens")?,
                    output_tokens: n("output_tokens")?,
                    cost_micros: n("cost_micros")?,
                })
            })
            .collect::<Result<_, _>>()
            .map_err(|e| self.db_err(e))
    }

    /// Tokens (prompt + completion) all campaigns together used on `day` (days since
    /// the epoch, UTC): the host-wide daily LLM budget (`llm.daily_token_budget`).
    pub async fn llm_tokens_on_day(&self, day: u64) -> Result<u64, StoreError> {
        let row = sqlx::query(
            "SELECT TOTAL(input_tokens) + TOTAL(output_tokens) AS tokens FROM llm_usage WHERE day = $1",
        )
        .bind(day.min(i64::MAX as u64) as i64)
        .fetch_one(&self.read)
        .await
        .map_err(|e| self.db_err(e))?;
        let t: f64 = row.try_get("tokens").map_err(|e| self.db_err(e))?;
        Ok(if t.is_finite() && t > 0.0 {
            t.min(u64::MAX as f64) as u64
        } else {
            0
        })
    }
}
