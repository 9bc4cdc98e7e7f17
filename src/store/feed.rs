//! The table feed's durable part (migration 0003): the lines and prose the feed told of
//! each batch, and how far it has told the log. `src/feed` owns what the rows mean; this
//! file only stores them. Rows are written before the feed publishes them and never
//! changed afterwards, so a replay gives exactly the words that were told.

use super::{CampaignId, StoreError, StoredEvent};
use crate::store::Store;
use sqlx::Row;

/// One stored feed item (anything but an event itself, which the log holds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFeedItem {
    /// The event it is filed under (for prose: the last event of the batch).
    pub seq: u64,
    /// Its place under `seq`: 1 for the event's line, 2.. for the batch's prose.
    pub part: u32,
    /// "line", "prose_start", "prose_chunk", "prose_end" or "notice".
    pub kind: String,
    /// As in the event log: "public", "party", "gm" or "player:<id>".
    pub visibility: String,
    /// The event the text tells of.
    pub told_seq: u64,
    /// "llm" or "builtin" for prose sentences.
    pub source: Option<String>,
    pub text: String,
}

fn seq_to_db(seq: u64) -> i64 {
    seq.min(i64::MAX as u64) as i64
}

fn seq_from_db(v: i64) -> u64 {
    v.max(0) as u64
}

impl Store {
    /// The last event whose batch the campaign's feed has told (0: none yet).
    pub async fn feed_cursor(&self, campaign_id: CampaignId) -> Result<u64, StoreError> {
        let v: Option<i64> =
            sqlx::query_scalar("SELECT through_seq FROM feed_cursors WHERE campaign_id = $1")
                .bind(campaign_id)
                .fetch_optional(&self.read)
                .await
                .map_err(|e| self.db_err(e))?;
        Ok(v.map_or(0, seq_from_db))
    }

    /// Files a batch: its events' lines, and the cursor moved to `through_seq` (never
    /// backwards), in one transaction.
    pub async fn put_feed_batch(
        &self,
        campaign_id: CampaignId,
        through_seq: u64,
        items: &[StoredFeedItem],
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        for item in items {
            insert_item(&mut tx, campaign_id, item)
                .await
                .map_err(|e| self.db_err(e))?;
        }
        sqlx::query(
            "INSERT INTO feed_cursors (campaign_id, through_seq) VALUES ($1, $2) \
             ON CONFLICT (campaign_id) DO UPDATE SET through_seq = \
             CASE WHEN excluded.through_seq > feed_cursors.through_seq \
             THEN excluded.through_seq ELSE feed_cursors.through_seq END",
        )
        .bind(campaign_id)
        .bind(seq_to_db(through_seq))
        .execute(&mut *tx)
        .await
        .map_err(|e| self.db_err(e))?;
        self.commit(tx).await
    }

    /// Stores one item of a batch's prose (durably, before it is published).
    pub async fn put_feed_item(
        &self,
        campaign_id: CampaignId,
        item: &StoredFeedItem,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        insert_item(&mut tx, campaign_id, item)
            .await
            .map_err(|e| self.db_err(e))?;
        self.commit(tx).await
    }

    /// Stored items after `(after_seq, after_part)` filed under events up to
    /// `through_seq`, in feed order.
    pub async fn feed_items(
        &self,
        campaign_id: CampaignId,
        after: (u64, u32),
        through_seq: u64,
    ) -> Result<Vec<StoredFeedItem>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, part, kind, visibility, told_seq, source, text FROM feed_items \
             WHERE campaign_id = $1 AND (seq > $2 OR (seq = $2 AND part > $3)) AND seq <= $4 \
             ORDER BY seq, part",
        )
        .bind(campaign_id)
        .bind(seq_to_db(after.0))
        .bind(i64::from(after.1))
        .bind(seq_to_db(through_seq))
        .fetch_all(&self.read)
        .await
        .map_err(|e| self.db_err(e))?;
        rows.iter()
            .map(item_from_row)
            .collect::<Result<_, _>>()
            .map_err(|e| self.db_err(e))
    }

    /// The campaign's last stored feed item, if any.
    pub async fn last_feed_item(
        &self,
        campaign_id: CampaignId,
    ) -> Result<Option<StoredFeedItem>, StoreError> {
        let row = sqlx::query(
            "SELECT seq, part, kind, visibility, told_seq, source, text FROM feed_items \
             WHERE campaign_id = $1 ORDER BY seq DESC, part DESC LIMIT 1",
        )
        .bind(campaign_id)
        .fetch_optional(&self.read)
        .await
        .map_err(|e| self.db_err(e))?;
        row.as_ref()
            .map(item_from_row)
            .transpose()
            .map_err(|e| self.db_err(e))
    }

    /// Up to `limit` logged events with `after_seq < seq <= through_seq`, in order (the
    /// feed's replay pages).
    pub async fn events_between(
        &self,
        campaign_id: CampaignId,
        after_seq: u64,
        through_seq: u64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at_ms, visibility, kind, body, origin FROM events \
             WHERE campaign_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4",
        )
        .bind(campaign_id)
        .bind(seq_to_db(after_seq))
        .bind(seq_to_db(through_seq))
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await
        .map_err(|e| self.db_err(e))?;
        rows.iter()
            .map(|r| -> Result<StoredEvent, sqlx::Error> {
                Ok(StoredEvent {
                    seq: seq_from_db(r.try_get("seq")?),
                    at_ms: r.try_get("at_ms")?,
                    visibility: r.try_get("visibility")?,
                    kind: r.try_get("kind")?,
                    body: r.try_get("body")?,
                    origin: r.try_get("origin")?,
                })
            })
            .collect::<Result<_, _>>()
            .map_err(|e| self.db_err(e))
    }
}

async fn insert_item(
    tx: &mut super::Tx,
    campaign_id: CampaignId,
    item: &StoredFeedItem,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO feed_items (campaign_id, seq, part, kind, visibility, told_seq, source, text) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(campaign_id)
    .bind(seq_to_db(item.seq))
    .bind(i64::from(item.part.max(1)))
    .bind(&item.kind)
    .bind(&item.visibility)
    .bind(seq_to_db(item.told_seq))
    .bind(&item.source)
    .bind(&item.text)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn item_from_row(r: &sqlx::sqlite::SqliteRow) -> Result<StoredFeedItem, sqlx::Error> {
    Ok(StoredFeedItem {
        seq: seq_from_db(r.try_get("seq")?),
        part: r.try_get::<i64, _>("part")?.clamp(0, i64::from(u32::MAX)) as u32,
        kind: r.try_get("kind")?,
        visibility: r.try_get("visibility")?,
        told_seq: seq_from_db(r.try_get("told_seq")?),
        source: r.try_get("source")?,
        text: r.try_get("text")?,
    })
}
