//! The phone table's durable part (migration 0005): join links and web sessions. Only
//! SHA-256 hashes of their secrets are stored (`src/web` makes the secrets and hashes
//! them); a lookup is by hash, so no secret is ever compared byte by byte here.
//!
//! A link is worth ONE session: [`Store::redeem_invite`] marks it used and creates the
//! session in one transaction, so two browsers racing with the same link get one
//! session between them.

use super::{CampaignId, StoreError};
use crate::store::Store;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

/// A role at the web table, as stored: "player", "display" or "gm".
pub type RoleKey = &'static str;

/// A new join link.
#[derive(Debug, Clone)]
pub struct NewInvite {
    pub campaign_id: CampaignId,
    pub token_hash: [u8; 32],
    pub role: RoleKey,
    pub player_id: Option<String>,
    pub name: Option<String>,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
}

/// A stored join link (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteRow {
    pub id: i64,
    pub campaign_id: CampaignId,
    pub role: String,
    pub player_id: Option<String>,
    pub name: Option<String>,
    pub created_at_ms: i64,
    pub expires_at_ms: i64,
}

/// A live web session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id: i64,
    pub campaign_id: CampaignId,
    pub role: String,
    pub player_id: Option<String>,
    pub name: Option<String>,
    pub expires_at_ms: i64,
}

fn invite_from_row(r: &SqliteRow) -> InviteRow {
    InviteRow {
        id: r.get("id"),
        campaign_id: r.get("campaign_id"),
        role: r.get("role"),
        player_id: r.get("player_id"),
        name: r.get("name"),
        created_at_ms: r.get("created_at"),
        expires_at_ms: r.get("expires_at"),
    }
}

fn session_from_row(r: &SqliteRow) -> SessionRow {
    SessionRow {
        id: r.get("id"),
        campaign_id: r.get("campaign_id"),
        role: r.get("role"),
        player_id: r.get("player_id"),
        name: r.get("name"),
        expires_at_ms: r.get("expires_at"),
    }
}

impl Store {
    /// Files a join link; returns its id.
    pub async fn create_invite(&self, invite: &NewInvite) -> Result<i64, StoreError> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO web_invites \
             (campaign_id, token_hash, role, player_id, name, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(invite.campaign_id)
        .bind(&invite.token_hash[..])
        .bind(invite.role)
        .bind(&invite.player_id)
        .bind(&invite.name)
        .bind(invite.created_at_ms)
        .bind(invite.expires_at_ms)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| self.db_err(e))?;
        self.commit(tx).await?;
        Ok(id)
    }

    /// Sets the player a link seats (a new player's id is made from the link's id).
    pub async fn set_invite_player(&self, id: i64, player_id: &str) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE web_invites SET player_id = $1 WHERE id = $2")
            .bind(player_id)
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db_err(e))?;
        self.commit(tx).await
    }

    /// Exchanges a link for a session, once: if the link with this hash is unused,
    /// unrevoked and unexpired at `now_ms`, it is marked used and a session with
    /// `session_hash` is created for its campaign, role and player, in one
    /// transaction. `None` for any other link (used, revoked, expired, unknown).
    pub async fn redeem_invite(
        &self,
        token_hash: &[u8; 32],
        session_hash: &[u8; 32],
        now_ms: i64,
        session_expires_ms: i64,
    ) -> Result<Option<(InviteRow, SessionRow)>, StoreError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "UPDATE web_invites SET used_at = $2 \
             WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL \
             AND expires_at > $2 \
             RETURNING id, campaign_id, role, player_id, name, created_at, expires_at",
        )
        .bind(&token_hash[..])
        .bind(now_ms)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| self.db_err(e))?;
        let Some(row) = row else {
            return Ok(None);
        };
        let invite = invite_from_row(&row);
        let session = sqlx::query(
            "INSERT INTO web_sessions \
             (session_hash, campaign_id, role, player_id, name, invite_id, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             RETURNING id, campaign_id, role, player_id, name, expires_at",
        )
        .bind(&session_hash[..])
        .bind(invite.campaign_id)
        .bind(&invite.role)
        .bind(&invite.player_id)
        .bind(&invite.name)
        .bind(invite.id)
        .bind(now_ms)
        .bind(session_expires_ms)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| self.db_err(e))?;
        let session = session_from_row(&session);
        self.commit(tx).await?;
        Ok(Some((invite, session)))
    }

    /// The invite with this hash if it may still be used at `now_ms` (unused, not revoked,
    /// not expired), without using it.
    pub async fn live_invite(
        &self,
        token_hash: &[u8; 32],
        now_ms: i64,
    ) -> Result<Option<InviteRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id, campaign_id, role, player_id, name, created_at, expires_at              FROM web_invites WHERE token_hash = $1 AND used_at IS NULL              AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(&token_hash[..])
        .bind(now_ms)
        .fetch_optional(&self.read)
        .await
        .map_err(|e| self.db_err(e))?;
        Ok(row.as_ref().map(invite_from_row))
    }

    /// The live session with this hash at `now_ms` (not revoked, not expired).
    pub async fn web_session(
        &self,
        session_hash: &[u8; 32],
        now_ms: i64,
    ) -> Result<Option<SessionRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id, campaign_id, role, player_id, name, expires_at FROM web_sessions \
             WHERE session_hash = $1 AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(&session_hash[..])
        .bind(now_ms)
        .fetch_optional(&self.read)
        .await
        .map_err(|e| self.db_err(e))?;
        Ok(row.as_ref().map(session_from_row))
    }

    /// Whether session `id` is still live at `now_ms`.
    pub async fn web_session_live(&self, id: i64, now_ms: i64) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM web_sessions WHERE id = $1 AND revoked_at IS NULL \
             AND expires_at > $2",
        )
        .bind(id)
        .bind(now_ms)
        .fetch_one(&self.read)
        .await
        .map_err(|e| self.db_err(e))?;
        Ok(n > 0)
    }

    /// The campaign's links that can still be used at `now_ms`, oldest first.
    pub async fn open_invites(
        &self,
        campaign_id: CampaignId,
        now_ms: i64,
    ) -> Result<Vec<InviteRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, campaign_id, role, player_id, name, created_at, expires_at \
             FROM web_invites WHERE campaign_id = $1 AND used_at IS NULL \
             AND revoked_at IS NULL AND expires_at > $2 ORDER BY id LIMIT 1000",
        )
        .bind(campaign_id)
        .bind(now_ms)
        .fetch_all(&self.read)
        .await
        .map_err(|e| self.db_err(e))?;
        Ok(rows.iter().map(invite_from_row).collect())
    }

    /// Revokes an unused link of the campaign; `false` if there is none.
    pub async fn revoke_invite(
        &self,
        campaign_id: CampaignId,
        id: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE web_invites SET revoked_at = $3 WHERE id = $1 AND campaign_id = $2 \
             AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(campaign_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| self.db_err(e))?
        .rows_affected();
        self.commit(tx).await?;
        Ok(n > 0)
    }

    /// Ends every live session and unused link of `player_id` in the campaign; returns
    /// the ids of the sessions ended.
    pub async fn kick_web_player(
        &self,
        campaign_id: CampaignId,
        player_id: &str,
        now_ms: i64,
    ) -> Result<Vec<i64>, StoreError> {
        let mut tx = self.begin_write().await?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "UPDATE web_sessions SET revoked_at = $3 WHERE campaign_id = $1 \
             AND player_id = $2 AND revoked_at IS NULL RETURNING id",
        )
        .bind(campaign_id)
        .bind(player_id)
        .bind(now_ms)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| self.db_err(e))?;
        sqlx::query(
            "UPDATE web_invites SET revoked_at = $3 WHERE campaign_id = $1 \
             AND player_id = $2 AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(campaign_id)
        .bind(player_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| self.db_err(e))?;
        self.commit(tx).await?;
        Ok(ids)
    }

    /// Ends one session (sign out); `false` if it was not live.
    pub async fn revoke_web_session(&self, id: i64, now_ms: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE web_sessions SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| self.db_err(e))?
        .rows_affected();
        self.commit(tx).await?;
        Ok(n > 0)
    }
}
