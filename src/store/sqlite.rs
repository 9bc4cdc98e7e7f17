//! Everything SQLite-specific about the store: how a database is opened (pragmas,
//! durability, the header check that protects foreign files), how write transactions
//! start, and what SQLite's result codes mean. The queries in the sibling modules are
//! plain SQL with `$n` parameters; a PostgreSQL backend would replace this file, not them.

use super::{DbLocation, StoreError, StoreOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The first 16 bytes of every SQLite 3 database file.
const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Starts a write transaction. `BEGIN IMMEDIATE` takes the write lock up front, so a
/// writer that must wait for another process waits in the busy handler (bounded by
/// `busy_timeout`) instead of failing half-way with `SQLITE_BUSY_SNAPSHOT`.
pub(super) const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";

/// The connection pools of an open SQLite database.
pub(super) struct Pools {
    /// Exactly one connection: every write goes through it, so writers inside this
    /// process queue on the pool instead of contending for SQLite's lock.
    pub write: SqlitePool,
    /// Read-only connections; WAL lets them read while the writer commits.
    pub read: SqlitePool,
}

/// What went wrong, in the store's terms, for a SQLite error.
pub(super) enum Class {
    Busy,
    Corrupt,
    Unique,
    /// The disk is full, or the database reached its size limit (`max_page_count`).
    Full,
    Other,
}

pub(super) fn classify(e: &sqlx::Error) -> Class {
    match e {
        sqlx::Error::Database(db) => {
            if db.is_unique_violation() {
                return Class::Unique;
            }
            let code = db
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .unwrap_or_default();
            // Extended result codes carry the primary code in their low byte.
            match code & 0xff {
                5 | 6 => Class::Busy,      // SQLITE_BUSY, SQLITE_LOCKED
                11 | 26 => Class::Corrupt, // SQLITE_CORRUPT, SQLITE_NOTADB
                13 => Class::Full,         // SQLITE_FULL
                _ => Class::Other,
            }
        }
        _ => Class::Other,
    }
}

/// Resolves a location into connect options and, for file databases, the file's path.
fn connect_options(
    location: &DbLocation,
) -> Result<(SqliteConnectOptions, Option<PathBuf>, bool), StoreError> {
    match location {
        DbLocation::File(path) => Ok((
            SqliteConnectOptions::new()
                .filename(path)
                .create_if_missing(true),
            Some(path.clone()),
            false,
        )),
        DbLocation::SqliteUrl(url) => {
            let memory = url.contains(":memory:") || url.contains("mode=memory");
            let mut opts = SqliteConnectOptions::from_str(url)
                .map_err(|e| StoreError::InvalidLocation(format!("{url}: {e}")))?;
            if !url.contains("mode=") {
                opts = opts.create_if_missing(true);
            }
            let path = (!memory).then(|| opts.get_filename().to_path_buf());
            Ok((opts, path, memory))
        }
        DbLocation::PostgresUrl(_) => Err(StoreError::Unsupported(
            "PostgreSQL is not supported yet; use a file path or a sqlite: URL".into(),
        )),
    }
}

/// Refuses a file that exists but does not start with the SQLite header, before SQLite
/// ever opens it: nothing is written to a file that is not ours.
fn check_header(path: &Path) -> Result<bool, StoreError> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => {
            return Err(StoreError::Io {
                path: path.to_path_buf(),
                source: e,
            });
        }
    };
    if !meta.is_file() {
        return Err(StoreError::NotADatabase {
            path: path.to_path_buf(),
            detail: "it is not a regular file".into(),
        });
    }
    if meta.len() == 0 {
        // SQLite treats an empty file as an empty database.
        return Ok(true);
    }
    let mut header = [0u8; 16];
    let read = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut header))
        .map_err(|e| StoreError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
    if read < header.len() || meta.len() < 100 || &header != SQLITE_HEADER {
        return Err(StoreError::NotADatabase {
            path: path.to_path_buf(),
            detail: "the file does not start with a SQLite 3 header".into(),
        });
    }
    Ok(true)
}

/// Opens (creating if needed) the database with the durability settings the store
/// promises, and returns the pools plus whether the file was new.
pub(super) async fn open(
    location: &DbLocation,
    options: &StoreOptions,
) -> Result<(Pools, Option<PathBuf>, bool), StoreError> {
    let (base, path, memory) = connect_options(location)?;
    let mut existed = true;
    if let Some(path) = &path {
        existed = check_header(path)?;
        if !existed && let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| StoreError::Io {
                path: parent.to_path_buf(),
                source: e,
            })?;
        }
    }

    // WAL: readers never block the writer and a commit is one sequential append.
    // synchronous=FULL: in WAL mode, NORMAL already survives a process crash (kill -9)
    // but a commit can be lost on power failure because the WAL is only fsynced at
    // checkpoints; FULL fsyncs the WAL on every commit, so an acknowledged append
    // survives power loss too. (EXTRA adds nothing in WAL mode: it only syncs the
    // directory after a rollback journal is deleted.) Group commit (append_many)
    // amortises the fsync. fullfsync makes macOS flush the drive cache as well.
    let common = base
        .busy_timeout(options.busy_timeout)
        .foreign_keys(true)
        .synchronous(SqliteSynchronous::Full)
        .pragma("fullfsync", "ON")
        .pragma("checkpoint_fullfsync", "ON");

    let mut write_opts = common.clone().journal_mode(SqliteJournalMode::Wal);
    if let Some(pages) = options.max_pages {
        write_opts = write_opts.pragma("max_page_count", pages.to_string());
    }
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        // Kept open for the store's life: the last connection to close deletes the
        // -wal/-shm files, which read-only connections cannot recreate.
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .acquire_timeout(options.busy_timeout.max(std::time::Duration::from_secs(30)))
        .connect_with(write_opts)
        .await
        .map_err(|e| open_error(e, location, options))?;

    let read = if memory {
        // A private in-memory database only exists inside its one connection.
        write.clone()
    } else {
        SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(0)
            .connect_lazy_with(common.read_only(true).create_if_missing(false))
    };
    Ok((Pools { write, read }, path, !existed))
}

fn open_error(e: sqlx::Error, location: &DbLocation, options: &StoreOptions) -> StoreError {
    match classify(&e) {
        Class::Corrupt => StoreError::NotADatabase {
            path: location_path(location),
            detail: e.to_string(),
        },
        Class::Busy => StoreError::Busy {
            location: location.to_string(),
            waited: options.busy_timeout,
        },
        _ => StoreError::Open {
            location: location.to_string(),
            source: e,
        },
    }
}

pub(super) fn location_path(location: &DbLocation) -> PathBuf {
    match location {
        DbLocation::File(p) => p.clone(),
        other => PathBuf::from(other.to_string()),
    }
}

/// The migration versions recorded as applied, read without creating anything.
pub(super) async fn applied_versions(pool: &SqlitePool) -> Result<Vec<i64>, sqlx::Error> {
    let exists: Option<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_optional(pool)
    .await?;
    if exists.is_none() {
        return Ok(Vec::new());
    }
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(pool)
        .await
}

/// Makes the creation of a new database file durable: the file's directory entry is
/// only safe once the directory itself has been fsynced.
pub(super) fn sync_parent_dir(path: &Path) {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if let Ok(dir) = std::fs::File::open(parent) {
        // Best effort: not every platform can fsync a directory.
        let _ = dir.sync_all();
    }
}
