//! The store: dicebard's only SQL. It owns the database file, the schema (migrations/)
//! and the append-only event log that is the source of truth for every campaign; it
//! knows nothing about the engine's types (events arrive as JSON text), Discord, or the
//! clock (callers pass every timestamp in).
//!
//! # Durability
//! An `append` that returned `Ok` has been fsynced: WAL journal with `synchronous=FULL`
//! (see [`sqlite`] for why FULL rather than NORMAL or EXTRA), so it survives `kill -9`
//! and power loss. Each call is one transaction; [`Store::append_many`] commits several
//! campaigns' appends with a single fsync (group commit) for throughput.
//!
//! # Safety of foreign files
//! A file that is not a SQLite database is refused before SQLite opens it, and a
//! database that has migrations this binary does not know (written by a newer dicebard)
//! is refused before anything is written. Neither is ever modified.
//!
//! # Portability (a PostgreSQL backend later)
//! SQLite specifics (pragmas, `BEGIN IMMEDIATE`, result codes, `sqlite_master`, the
//! header check, the single-writer pool) live in [`sqlite`]. The queries here use `$n`
//! parameters, `ON CONFLICT … DO UPDATE`, `RETURNING` and integer-millisecond times, all
//! of which PostgreSQL accepts; u64 values (Discord ids, seeds) are stored as i64 bit
//! patterns so they fit a `BIGINT`. A Postgres backend would add its own migrations
//! folder (BIGINT/BYTEA/identity columns) and swap the pool type.

pub mod feed;
mod memory;
mod sqlite;
pub mod web;

pub use crate::config::DbLocation;
pub use memory::{LlmUsageRow, StoredFact, StoredSummary};
use sqlx::Row;
use sqlx::sqlite::{SqlitePool, SqliteRow};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// The schema migrations compiled into this binary.
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Tunables for [`Store::open_with`].
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// How long a write waits for another process's lock before failing with
    /// [`StoreError::Busy`].
    pub busy_timeout: Duration,
    /// A size limit for the database, in pages (SQLite's `max_page_count`); `None`: the
    /// disk is the limit. Writes past it fail like a full disk ([`StoreError::Full`]).
    pub max_pages: Option<u32>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            busy_timeout: Duration::from_secs(5),
            max_pages: None,
        }
    }
}

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file exists but is not a SQLite database (or is damaged). It was not modified.
    #[error(
        "{path} is not a usable SQLite database ({detail}); dicebard did not modify it. \
         Move it aside or restore a backup, or point storage.database_url elsewhere"
    )]
    NotADatabase { path: PathBuf, detail: String },

    /// The database was migrated by a newer dicebard. Nothing was written.
    #[error(
        "database {location} has schema migration {version}, newer than this dicebard knows \
         (up to {known}); it was written by a newer version. Upgrade dicebard or use a \
         backup; nothing was written"
    )]
    FutureSchema {
        location: String,
        version: i64,
        known: i64,
    },

    /// Applying or validating migrations failed.
    #[error("database {location}: migration failed: {source}")]
    Migrate {
        location: String,
        #[source]
        source: sqlx::migrate::MigrateError,
    },

    /// Another connection or process held the lock for longer than `busy_timeout`.
    #[error(
        "database {location} is locked by another connection (waited {waited:?}); \
         is another dicebard using the same data directory?"
    )]
    Busy { location: String, waited: Duration },

    /// The disk (or the database's size limit) is full. Nothing of the failed write
    /// was kept; writes work again as soon as there is room.
    #[error(
        "database {location} is full (no space left on its disk, or its size limit was \
         reached); nothing was written. Free some space: dicebard carries on by itself"
    )]
    Full { location: String },

    /// A campaign with that name already exists.
    #[error("a campaign named {0:?} already exists")]
    DuplicateCampaignName(String),

    /// The channel already hosts an active campaign.
    #[error("channel {channel_id} already hosts the active campaign {existing:?}")]
    ChannelInUse { channel_id: u64, existing: String },

    /// No campaign with that id.
    #[error("no campaign with id {0}")]
    NoSuchCampaign(CampaignId),

    /// An append did not start right after the log's last event (a second writer, or a
    /// replayed command). Nothing was written.
    #[error(
        "campaign {campaign_id}: events must be appended at seq {expected}, got {got}; \
         nothing was written"
    )]
    SeqConflict {
        campaign_id: CampaignId,
        expected: u64,
        got: u64,
    },

    /// A location string that cannot be used.
    #[error("invalid database location: {0}")]
    InvalidLocation(String),

    /// A backend that is recognised but not built yet.
    #[error("{0}")]
    Unsupported(String),

    /// Creating the data directory or reading the file failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Connecting failed for another reason.
    #[error("cannot open database {location}: {source}")]
    Open {
        location: String,
        #[source]
        source: sqlx::Error,
    },

    /// Any other database error.
    #[error("database {location}: {source}")]
    Database {
        location: String,
        #[source]
        source: sqlx::Error,
    },
}

/// Input to [`Store::create_campaign`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCampaign {
    pub name: String,
    pub guild_id: Option<u64>,
    pub channel_id: Option<u64>,
    /// The campaign's RNG seed.
    pub seed: u64,
    /// Creation time, ms since the Unix epoch (the caller owns the clock).
    pub created_at_ms: i64,
}

impl NewCampaign {
    /// The campaign seated where `binding` says (nothing for `None`).
    pub fn bound(mut self, binding: Option<Binding>) -> NewCampaign {
        match binding {
            Some(Binding::DiscordChannel { guild, channel }) => {
                self.guild_id = Some(guild);
                self.channel_id = Some(channel);
            }
            None => {}
        }
        self
    }
}

/// A campaign's id (its row in the store). `Display` and serde show the plain number,
/// so logs and JSON read as they did when it was a bare `i64`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    sqlx::Type,
)]
#[serde(transparent)]
#[sqlx(transparent)]
pub struct CampaignId(pub i64);

impl CampaignId {
    /// The number (for logs' structured fields and the store's columns).
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for CampaignId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A campaign id read from text from outside (a URL, a command line argument, a Discord
/// custom id): a positive number, as the store hands them out; anything else (zero, a
/// sign, too many digits, not a number) is refused.
impl std::str::FromStr for CampaignId {
    type Err = BadCampaignId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.parse::<i64>() {
            Ok(n) if n > 0 => Ok(CampaignId(n)),
            _ => Err(BadCampaignId),
        }
    }
}

/// Text that is not a campaign id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a campaign id (a positive number)")]
pub struct BadCampaignId;

/// Where a front end seats a campaign, made by that front end (Discord: its guild and
/// text channel) and written by [`Store::create_campaign_with`] with the campaign's row,
/// in the same transaction. The coordinator carries it without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// A Discord text channel: it hosts one active campaign at a time.
    DiscordChannel { guild: u64, channel: u64 },
}

/// A campaign as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignRow {
    pub id: CampaignId,
    pub name: String,
    pub guild_id: Option<u64>,
    pub channel_id: Option<u64>,
    pub seed: u64,
    pub created_at_ms: i64,
    pub ended_at_ms: Option<i64>,
    pub settings_json: String,
}

/// An event to append. `body` is the engine event as JSON; `origin` says who sent the
/// command and from where (JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub at_ms: i64,
    /// "public", "party", "gm" or "player:<player_id>".
    pub visibility: String,
    pub kind: String,
    pub body: String,
    pub origin: String,
}

/// The `kind` of the event that ends a campaign: appending it marks the campaign ended
/// in the same transaction.
pub const CAMPAIGN_ENDED_KIND: &str = "CampaignEnded";

/// An event read back from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub seq: u64,
    pub at_ms: i64,
    pub visibility: String,
    pub kind: String,
    pub body: String,
    pub origin: String,
}

/// How many snapshots of a campaign are kept (older ones are deleted as new ones come).
pub const SNAPSHOTS_KEPT: i64 = 2;

/// The state after applying events `1..=seq`, as JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub seq: u64,
    pub state_json: String,
}

/// A Discord message the front end keeps editing (e.g. a pinned character embed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRef {
    pub campaign_id: CampaignId,
    /// e.g. "character_embed", "initiative_embed".
    pub kind: String,
    pub key: String,
    pub channel_id: u64,
    pub message_id: u64,
}

/// A handle to the database. Cheap to clone; all clones share the pools.
#[derive(Clone)]
pub struct Store {
    write: SqlitePool,
    read: SqlitePool,
    location: String,
    busy_timeout: Duration,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

// u64 <-> i64 bit casts: Discord snowflakes and seeds round-trip exactly through BIGINT.
fn to_db(v: u64) -> i64 {
    v as i64
}
fn from_db(v: i64) -> u64 {
    v as u64
}
fn opt_to_db(v: Option<u64>) -> Option<i64> {
    v.map(to_db)
}
fn opt_from_db(v: Option<i64>) -> Option<u64> {
    v.map(from_db)
}

type Tx = sqlx::Transaction<'static, sqlx::Sqlite>;

impl Store {
    /// Opens (creating if needed) the database and brings its schema up to date.
    pub async fn open(db: &DbLocation) -> Result<Store, StoreError> {
        Store::open_with(db, StoreOptions::default()).await
    }

    /// [`Store::open`] with explicit options.
    pub async fn open_with(db: &DbLocation, options: StoreOptions) -> Result<Store, StoreError> {
        let (pools, path, created) = sqlite::open(db, &options).await?;
        let store = Store {
            write: pools.write,
            read: pools.read,
            location: db.to_string(),
            busy_timeout: options.busy_timeout,
        };
        store.migrate(db).await?;
        if created && let Some(path) = path {
            sqlite::sync_parent_dir(&path);
        }
        tracing::debug!(location = %store.location, "store opened");
        Ok(store)
    }

    async fn migrate(&self, db: &DbLocation) -> Result<(), StoreError> {
        // Refuse a newer schema before the migrator runs, so nothing is written.
        let known = MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
        let applied = sqlite::applied_versions(&self.write)
            .await
            .map_err(|e| self.db_err_at(e, db))?;
        if let Some(&version) = applied.iter().find(|v| !MIGRATOR.version_exists(**v)) {
            if version > known {
                return Err(StoreError::FutureSchema {
                    location: self.location.clone(),
                    version,
                    known,
                });
            }
            return Err(StoreError::Migrate {
                location: self.location.clone(),
                source: sqlx::migrate::MigrateError::VersionMissing(version),
            });
        }
        MIGRATOR.run(&self.write).await.map_err(|e| match e {
            sqlx::migrate::MigrateError::Execute(e)
            | sqlx::migrate::MigrateError::ExecuteMigration(e, _)
                if !matches!(sqlite::classify(&e), sqlite::Class::Other) =>
            {
                self.db_err_at(e, db)
            }
            source => StoreError::Migrate {
                location: self.location.clone(),
                source,
            },
        })
    }

    /// Closes the pools (checkpointing the WAL). Later calls fail.
    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    fn db_err_at(&self, e: sqlx::Error, db: &DbLocation) -> StoreError {
        match sqlite::classify(&e) {
            sqlite::Class::Corrupt => StoreError::NotADatabase {
                path: sqlite::location_path(db),
                detail: e.to_string(),
            },
            _ => self.db_err(e),
        }
    }

    fn db_err(&self, e: sqlx::Error) -> StoreError {
        match sqlite::classify(&e) {
            sqlite::Class::Busy => StoreError::Busy {
                location: self.location.clone(),
                waited: self.busy_timeout,
            },
            sqlite::Class::Corrupt => StoreError::NotADatabase {
                path: PathBuf::from(&self.location),
                detail: e.to_string(),
            },
            sqlite::Class::Full => StoreError::Full {
                location: self.location.clone(),
            },
            _ => StoreError::Database {
                location: self.location.clone(),
                source: e,
            },
        }
    }

    /// Changes the size limit of [`StoreOptions::max_pages`] on the open database
    /// (`None`: as large as the disk allows). Test support: the full-disk tests fill the
    /// database up to a limit and lift it again; the bot itself sets the limit only
    /// through [`StoreOptions`].
    #[doc(hidden)]
    pub async fn set_max_pages(&self, pages: Option<u32>) -> Result<(), StoreError> {
        // SQLite's own ceiling when no limit is wanted.
        let n = pages.map_or(4_294_967_294_u64, u64::from);
        sqlx::query(sqlx::AssertSqlSafe(format!("PRAGMA max_page_count = {n}")))
            .execute(&self.write)
            .await
            .map_err(|e| self.db_err(e))?;
        Ok(())
    }

    /// The database's size in pages. Test support (see [`Store::set_max_pages`]).
    #[doc(hidden)]
    pub async fn page_count(&self) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar("PRAGMA page_count")
            .fetch_one(&self.write)
            .await
            .map_err(|e| self.db_err(e))?;
        Ok(n.max(0) as u64)
    }

    async fn begin_write(&self) -> Result<Tx, StoreError> {
        match self.write.begin_with(sqlite::BEGIN_WRITE).await {
            Err(sqlx::Error::InvalidSavePointStatement) => {
                // A write that failed inside SQLite (a full disk, say) can leave sqlx
                // believing a transaction is still open on the one write connection
                // while SQLite has already rolled it back, so every later BEGIN is
                // refused. Replace that connection and try again.
                tracing::warn!("replacing the database write connection after a failed write");
                if let Ok(conn) = self.write.acquire().await {
                    let _ = conn.close().await;
                }
                self.write
                    .begin_with(sqlite::BEGIN_WRITE)
                    .await
                    .map_err(|e| self.db_err(e))
            }
            r => r.map_err(|e| self.db_err(e)),
        }
    }

    async fn commit(&self, tx: Tx) -> Result<(), StoreError> {
        tx.commit().await.map_err(|e| self.db_err(e))
    }

    // ---- campaigns ----------------------------------------------------------------

    /// Creates a campaign. Names are unique; a channel hosts one active campaign.
    pub async fn create_campaign(&self, new: NewCampaign) -> Result<CampaignRow, StoreError> {
        self.create_campaign_with(new, &[]).await
    }

    /// Creates a campaign and appends its first events (from seq 1) in one transaction,
    /// so a crash or a locked database never leaves a campaign that holds its name and
    /// channel but never started.
    pub async fn create_campaign_with(
        &self,
        new: NewCampaign,
        first_events: &[NewEvent],
    ) -> Result<CampaignRow, StoreError> {
        let mut tx = self.begin_write().await?;
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM campaigns WHERE name = $1")
            .bind(&new.name)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| self.db_err(e))?;
        if taken.is_some() {
            return Err(StoreError::DuplicateCampaignName(new.name));
        }
        if let Some(channel_id) = new.channel_id {
            let existing: Option<String> = sqlx::query_scalar(
                "SELECT name FROM campaigns \
                 WHERE discord_channel_id = $1 AND ended_at IS NULL",
            )
            .bind(to_db(channel_id))
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| self.db_err(e))?;
            if let Some(existing) = existing {
                return Err(StoreError::ChannelInUse {
                    channel_id,
                    existing,
                });
            }
        }
        let row = sqlx::query(
            "INSERT INTO campaigns \
             (name, discord_guild_id, discord_channel_id, seed, created_at, settings_json) \
             VALUES ($1, $2, $3, $4, $5, '{}') \
             RETURNING id, name, discord_guild_id, discord_channel_id, seed, created_at, \
             ended_at, settings_json",
        )
        .bind(&new.name)
        .bind(opt_to_db(new.guild_id))
        .bind(opt_to_db(new.channel_id))
        .bind(to_db(new.seed))
        .bind(new.created_at_ms)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match sqlite::classify(&e) {
            // Only reachable if another process raced us past the checks above.
            sqlite::Class::Unique => StoreError::DuplicateCampaignName(new.name.clone()),
            _ => self.db_err(e),
        })?;
        let campaign = self.campaign_row(&row)?;
        self.append_in(&mut tx, campaign.id, 1, first_events)
            .await?;
        self.commit(tx).await?;
        Ok(campaign)
    }

    /// Removes a campaign that has no events at all: one whose creation was cut short
    /// by an older dicebard (row and first events used to be two transactions). Returns
    /// whether it was removed; a campaign with any event is never touched.
    pub async fn remove_unstarted_campaign(&self, id: CampaignId) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE campaign_id = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| self.db_err(e))?;
        if events > 0 {
            return Ok(false);
        }
        for delete in [
            "DELETE FROM players WHERE campaign_id = $1",
            "DELETE FROM snapshots WHERE campaign_id = $1",
            "DELETE FROM message_refs WHERE campaign_id = $1",
            "DELETE FROM join_tokens WHERE campaign_id = $1",
            "DELETE FROM web_sessions WHERE campaign_id = $1",
            "DELETE FROM web_invites WHERE campaign_id = $1",
            "DELETE FROM llm_summaries WHERE campaign_id = $1",
            "DELETE FROM llm_facts WHERE campaign_id = $1",
            "DELETE FROM llm_usage WHERE campaign_id = $1",
        ] {
            sqlx::query(delete)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.db_err(e))?;
        }
        let gone = sqlx::query("DELETE FROM campaigns WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db_err(e))?
            .rows_affected();
        self.commit(tx).await?;
        Ok(gone > 0)
    }

    fn campaign_row(&self, row: &SqliteRow) -> Result<CampaignRow, StoreError> {
        let get = || -> Result<CampaignRow, sqlx::Error> {
            Ok(CampaignRow {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                guild_id: opt_from_db(row.try_get("discord_guild_id")?),
                channel_id: opt_from_db(row.try_get("discord_channel_id")?),
                seed: from_db(row.try_get("seed")?),
                created_at_ms: row.try_get("created_at")?,
                ended_at_ms: row.try_get("ended_at")?,
                settings_json: row.try_get("settings_json")?,
            })
        };
        get().map_err(|e| self.db_err(e))
    }

    async fn campaign_where(
        &self,
        query: sqlx::query::Query<'_, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    ) -> Result<Option<CampaignRow>, StoreError> {
        let row = query
            .fetch_optional(&self.read)
            .await
            .map_err(|e| self.db_err(e))?;
        row.map(|r| self.campaign_row(&r)).transpose()
    }

    /// A campaign by id (active or ended).
    pub async fn campaign(&self, id: CampaignId) -> Result<Option<CampaignRow>, StoreError> {
        self.campaign_where(sqlx::query("SELECT * FROM campaigns WHERE id = $1").bind(id))
            .await
    }

    /// A campaign by its unique name (active or ended).
    pub async fn campaign_by_name(&self, name: &str) -> Result<Option<CampaignRow>, StoreError> {
        self.campaign_where(sqlx::query("SELECT * FROM campaigns WHERE name = $1").bind(name))
            .await
    }

    /// The active campaign in a Discord channel.
    pub async fn campaign_by_channel(
        &self,
        channel_id: u64,
    ) -> Result<Option<CampaignRow>, StoreError> {
        self.campaign_where(
            sqlx::query(
                "SELECT * FROM campaigns WHERE discord_channel_id = $1 AND ended_at IS NULL",
            )
            .bind(to_db(channel_id)),
        )
        .await
    }

    /// All active (not ended) campaigns, oldest first.
    pub async fn campaigns(&self) -> Result<Vec<CampaignRow>, StoreError> {
        let rows = sqlx::query("SELECT * FROM campaigns WHERE ended_at IS NULL ORDER BY id")
            .fetch_all(&self.read)
            .await
            .map_err(|e| self.db_err(e))?;
        rows.iter().map(|r| self.campaign_row(r)).collect()
    }

    /// Marks a campaign ended (idempotent: an ended campaign keeps its first end time).
    /// Its channel becomes free for a new campaign; its log stays readable.
    pub async fn end_campaign(&self, id: CampaignId, ended_at_ms: i64) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM campaigns WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| self.db_err(e))?;
        if exists.is_none() {
            return Err(StoreError::NoSuchCampaign(id));
        }
        sqlx::query("UPDATE campaigns SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL")
            .bind(id)
            .bind(ended_at_ms)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db_err(e))?;
        self.commit(tx).await
    }

    /// Sets one top-level key of a campaign's front-end settings (`settings_json`) to
    /// `value`, atomically (other keys are kept). Keys in use: `voice`, `voice_channel`.
    pub async fn set_campaign_setting(
        &self,
        id: CampaignId,
        key: &str,
        value: &serde_json::Value,
    ) -> Result<(), StoreError> {
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(StoreError::Unsupported(format!("bad settings key {key:?}")));
        }
        let done = sqlx::query(
            "UPDATE campaigns SET settings_json = json_set(CASE WHEN json_valid(settings_json) \
             THEN settings_json ELSE '{}' END, $2, json($3)) WHERE id = $1",
        )
        .bind(id)
        .bind(format!("$.{key}"))
        .bind(value.to_string())
        .execute(&self.write)
        .await
        .map_err(|e| self.db_err(e))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NoSuchCampaign(id));
        }
        Ok(())
    }

    /// One top-level key of a campaign's front-end settings (`None` when unset).
    pub async fn campaign_setting(
        &self,
        id: CampaignId,
        key: &str,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        let Some(row) = self.campaign(id).await? else {
            return Err(StoreError::NoSuchCampaign(id));
        };
        let v: serde_json::Value = serde_json::from_str(&row.settings_json).unwrap_or_default();
        Ok(v.get(key).cloned())
    }

    // ---- the event log --------------------------------------------------------------

    /// Appends `events` as seqs `first_seq, first_seq + 1, …` in one durable transaction.
    /// `first_seq` must be exactly `last_seq + 1`; otherwise (or if another writer got
    /// there first) this fails with [`StoreError::SeqConflict`] and writes nothing.
    pub async fn append(
        &self,
        campaign_id: CampaignId,
        first_seq: u64,
        events: &[NewEvent],
    ) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        self.append_in(&mut tx, campaign_id, first_seq, events)
            .await?;
        self.commit(tx).await
    }

    /// Several appends (any campaigns, in order) in one transaction and one fsync:
    /// group commit. All or nothing: if any part conflicts, nothing is written.
    pub async fn append_many(
        &self,
        batch: &[(CampaignId, u64, Vec<NewEvent>)],
    ) -> Result<(), StoreError> {
        if batch.iter().all(|(_, _, events)| events.is_empty()) {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        for (campaign_id, first_seq, events) in batch {
            if !events.is_empty() {
                self.append_in(&mut tx, *campaign_id, *first_seq, events)
                    .await?;
            }
        }
        self.commit(tx).await
    }

    async fn append_in(
        &self,
        tx: &mut Tx,
        campaign_id: CampaignId,
        first_seq: u64,
        events: &[NewEvent],
    ) -> Result<(), StoreError> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM campaigns WHERE id = $1) AS found, \
             (SELECT COALESCE(MAX(seq), 0) FROM events WHERE campaign_id = $1) AS last",
        )
        .bind(campaign_id)
        .fetch_one(&mut **tx)
        .await
        .map_err(|e| self.db_err(e))?;
        let found: i64 = row.try_get("found").map_err(|e| self.db_err(e))?;
        let last: i64 = row.try_get("last").map_err(|e| self.db_err(e))?;
        if found == 0 {
            return Err(StoreError::NoSuchCampaign(campaign_id));
        }
        let expected = last as u64 + 1;
        let conflict = || StoreError::SeqConflict {
            campaign_id,
            expected,
            got: first_seq,
        };
        let fits = first_seq
            .checked_add(events.len() as u64)
            .is_some_and(|end| end <= i64::MAX as u64);
        if first_seq != expected || !fits {
            return Err(conflict());
        }
        for (i, ev) in events.iter().enumerate() {
            sqlx::query(
                "INSERT INTO events (campaign_id, seq, at_ms, visibility, kind, body, origin) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(campaign_id)
            .bind((first_seq + i as u64) as i64)
            .bind(ev.at_ms)
            .bind(&ev.visibility)
            .bind(&ev.kind)
            .bind(&ev.body)
            .bind(&ev.origin)
            .execute(&mut **tx)
            .await
            .map_err(|e| match sqlite::classify(&e) {
                sqlite::Class::Unique => conflict(),
                _ => self.db_err(e),
            })?;
            if ev.kind == CAMPAIGN_ENDED_KIND {
                // The row's end goes with the event that ends it: never one without the
                // other, whatever happens between two transactions.
                sqlx::query(
                    "UPDATE campaigns SET ended_at = $2 WHERE id = $1 AND ended_at IS NULL",
                )
                .bind(campaign_id)
                .bind(ev.at_ms)
                .execute(&mut **tx)
                .await
                .map_err(|e| self.db_err(e))?;
            }
        }
        Ok(())
    }

    /// The campaign's events with `seq > after_seq`, in order (`after_seq = 0`: all).
    pub async fn events(
        &self,
        campaign_id: CampaignId,
        after_seq: u64,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at_ms, visibility, kind, body, origin FROM events \
             WHERE campaign_id = $1 AND seq > $2 ORDER BY seq",
        )
        .bind(campaign_id)
        .bind(after_seq.min(i64::MAX as u64) as i64)
        .fetch_all(&self.read)
        .await
        .map_err(|e| self.db_err(e))?;
        rows.iter()
            .map(|r| -> Result<StoredEvent, sqlx::Error> {
                Ok(StoredEvent {
                    seq: r.try_get::<i64, _>("seq")? as u64,
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

    /// The seq of the campaign's last event; 0 when the log is empty.
    pub async fn last_seq(&self, campaign_id: CampaignId) -> Result<u64, StoreError> {
        let last: i64 =
            sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM events WHERE campaign_id = $1")
                .bind(campaign_id)
                .fetch_one(&self.read)
                .await
                .map_err(|e| self.db_err(e))?;
        Ok(last as u64)
    }

    // ---- snapshots ------------------------------------------------------------------

    /// Stores the state after event `seq` (replacing any snapshot at the same seq).
    pub async fn put_snapshot(
        &self,
        campaign_id: CampaignId,
        seq: u64,
        state_json: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO snapshots (campaign_id, seq, state_json) VALUES ($1, $2, $3) \
             ON CONFLICT (campaign_id, seq) DO UPDATE SET state_json = excluded.state_json",
        )
        .bind(campaign_id)
        .bind(seq as i64)
        .bind(state_json)
        .execute(&self.write)
        .await
        .map_err(|e| self.db_err(e))?;
        // Only the newest snapshots are ever read: keep a couple, drop the rest.
        sqlx::query(
            "DELETE FROM snapshots WHERE campaign_id = $1 AND seq NOT IN \
             (SELECT seq FROM snapshots WHERE campaign_id = $1 ORDER BY seq DESC LIMIT $2)",
        )
        .bind(campaign_id)
        .bind(SNAPSHOTS_KEPT)
        .execute(&self.write)
        .await
        .map_err(|e| self.db_err(e))?;
        Ok(())
    }

    /// The snapshot with the highest seq, if any.
    pub async fn latest_snapshot(
        &self,
        campaign_id: CampaignId,
    ) -> Result<Option<Snapshot>, StoreError> {
        let row = sqlx::query(
            "SELECT seq, state_json FROM snapshots WHERE campaign_id = $1 \
             ORDER BY seq DESC LIMIT 1",
        )
        .bind(campaign_id)
        .fetch_optional(&self.read)
        .await
        .map_err(|e| self.db_err(e))?;
        row.map(|r| -> Result<Snapshot, sqlx::Error> {
            Ok(Snapshot {
                seq: r.try_get::<i64, _>("seq")? as u64,
                state_json: r.try_get("state_json")?,
            })
        })
        .transpose()
        .map_err(|e| self.db_err(e))
    }

    // ---- message refs ---------------------------------------------------------------

    /// Remembers (or replaces) the message for `(campaign, kind, key)`.
    pub async fn put_message_ref(&self, r: &MessageRef) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO message_refs (campaign_id, kind, key, channel_id, message_id) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (campaign_id, kind, key) DO UPDATE SET \
             channel_id = excluded.channel_id, message_id = excluded.message_id",
        )
        .bind(r.campaign_id)
        .bind(&r.kind)
        .bind(&r.key)
        .bind(to_db(r.channel_id))
        .bind(to_db(r.message_id))
        .execute(&self.write)
        .await
        .map_err(|e| self.db_err(e))?;
        Ok(())
    }

    /// The message remembered for `(campaign, kind, key)`.
    pub async fn message_ref(
        &self,
        campaign_id: CampaignId,
        kind: &str,
        key: &str,
    ) -> Result<Option<MessageRef>, StoreError> {
        let rows = self
            .message_refs_where(campaign_id, Some((kind, key)))
            .await?;
        Ok(rows.into_iter().next())
    }

    /// All messages remembered for a campaign, ordered by kind then key.
    pub async fn message_refs(
        &self,
        campaign_id: CampaignId,
    ) -> Result<Vec<MessageRef>, StoreError> {
        self.message_refs_where(campaign_id, None).await
    }

    /// Forgets a message (e.g. after it was deleted in Discord). Absent is fine.
    pub async fn delete_message_ref(
        &self,
        campaign_id: CampaignId,
        kind: &str,
        key: &str,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM message_refs WHERE campaign_id = $1 AND kind = $2 AND key = $3")
            .bind(campaign_id)
            .bind(kind)
            .bind(key)
            .execute(&self.write)
            .await
            .map_err(|e| self.db_err(e))?;
        Ok(())
    }

    async fn message_refs_where(
        &self,
        campaign_id: CampaignId,
        kind_key: Option<(&str, &str)>,
    ) -> Result<Vec<MessageRef>, StoreError> {
        let (kind, key) = kind_key.unzip();
        let rows = sqlx::query(
            "SELECT campaign_id, kind, key, channel_id, message_id FROM message_refs \
             WHERE campaign_id = $1 AND ($2 IS NULL OR (kind = $2 AND key = $3)) \
             ORDER BY kind, key",
        )
        .bind(campaign_id)
        .bind(kind)
        .bind(key)
        .fetch_all(&self.read)
        .await
        .map_err(|e| self.db_err(e))?;
        rows.iter()
            .map(|r| -> Result<MessageRef, sqlx::Error> {
                Ok(MessageRef {
                    campaign_id: r.try_get("campaign_id")?,
                    kind: r.try_get("kind")?,
                    key: r.try_get("key")?,
                    channel_id: from_db(r.try_get("channel_id")?),
                    message_id: from_db(r.try_get("message_id")?),
                })
            })
            .collect::<Result<_, _>>()
            .map_err(|e| self.db_err(e))
    }
}
