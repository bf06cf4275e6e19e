//! Persistence for the gating registry: registry metadata and the durable job queue, on
//! SQLite (the embedded default) or PostgreSQL (several server and worker processes).
//!
//! # Principal types
//!
//! - [`Store`]: a cheap-to-clone async handle over an sqlx pool. [`Store::open`] takes a
//!   URL (`sqlite://PATH?mode=rwc` or `postgres://…`), connects, and applies the embedded
//!   migrations once (re-opening applies nothing new).
//! - [`StoreTransaction`]: several writes that commit together or not at all; dropping it
//!   without [`StoreTransaction::commit`] (or a killed process) rolls everything back. A
//!   manifest push is one: [`StoreTransaction::put_manifest`], [`StoreTransaction::set_tag`]
//!   and [`StoreTransaction::enqueue`] of its scan.
//! - Registry metadata ([`registry`]): repositories, [`ManifestRecord`]s (with the subject
//!   digest and artifact type the referrers API needs), tags ([`TagPage`] pagination in
//!   byte order, as the OCI specification requires), blob links and [`UploadSession`]s.
//! - The job queue ([`queue`]): [`Store::enqueue`] is idempotent on `(kind, key)` and
//!   returns a [`JobId`]; [`Store::claim`] hands one due job to one worker with a lease
//!   ([`ClaimedJob`]); [`Store::complete`] / [`Store::fail`] finish it (failures are
//!   retried until the job's maximum attempts); a job whose lease expires (its worker died)
//!   is claimable again. [`JobStatus`] shows each job's [`JobState`].
//!
//! # Data flow
//!
//! ```text
//! registry handler ─▶ Store::begin ─▶ put_manifest + set_tag + enqueue("scan", digest) ─▶ commit
//! worker loop      ─▶ Store::claim(worker, lease) ─▶ scan ─▶ complete(job, result)
//!                                                       └──▶ fail(job, error, retry_after)
//! ```
//!
//! # Backends and SQL
//!
//! Every statement is written once, with `$1` placeholders, and runs on both engines; the
//! only statement that differs is the claim (PostgreSQL selects with
//! `FOR UPDATE SKIP LOCKED`; SQLite runs one `UPDATE … RETURNING` inside a
//! `BEGIN IMMEDIATE` transaction). The schema lives in two migration directories,
//! `migrations/sqlite` and `migrations/postgres`, because an auto-assigned integer key has
//! no common spelling (`INTEGER PRIMARY KEY` versus an identity column) and PostgreSQL needs
//! `COLLATE "C"` for byte-order tag listing; the two directories hold the same file names
//! and differ only in those spellings (a test checks the names). SQLite connections use WAL,
//! foreign keys and a busy timeout; every SQLite write transaction begins `IMMEDIATE`, so
//! that concurrent writers wait on the busy timeout instead of failing on a stale snapshot.
//! Timestamps are Unix milliseconds. The library never prints.

pub mod audit;
pub mod auth;
pub mod blobs;
mod error;
pub mod queue;
pub mod registry;
mod transaction;
pub mod webhooks;
pub mod workflow;

use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::Connection;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

pub use error::StoreError;
pub use queue::{ClaimedJob, JobId, JobState, JobStatus};
pub use registry::{ManifestRecord, NewManifest, TagPage, UploadSession};
pub use transaction::StoreTransaction;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// How long an SQLite connection waits for another writer before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Attempts a job gets, by default, before it is marked failed for good.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 5;

/// The async handle over the database; clone it freely (clones share one pool).
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    max_attempts: u32,
}

#[derive(Clone, Debug)]
pub(crate) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Which engine a [`Store`] runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    /// SQLite, the embedded default.
    Sqlite,
    /// PostgreSQL, for several nodes.
    Postgres,
}

/// Runs `$body` with `$pool` bound to the backend's pool; the body is compiled once per
/// backend, so the same query code serves both engines.
macro_rules! with_pool {
    ($store:expr, $pool:ident => $body:expr) => {
        match &$store.backend {
            $crate::Backend::Sqlite($pool) => $body,
            $crate::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

impl Store {
    /// Connects to `url` and applies the embedded migrations that are not applied yet.
    ///
    /// `sqlite://PATH?mode=rwc` creates the file if needed (`sqlite::memory:` is refused:
    /// each pooled connection would see its own empty database); `postgres://` and
    /// `postgresql://` connect to an existing database.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let backend = if url.starts_with("sqlite:") {
            if url.contains(":memory:") || url.contains("mode=memory") {
                return Err(StoreError::UnsupportedUrl(url.to_owned()));
            }
            let options = SqliteConnectOptions::from_str(url)
                .map_err(|source| StoreError::Connect {
                    backend: BackendKind::Sqlite,
                    source,
                })?
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(SQLITE_BUSY_TIMEOUT);
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(options)
                .await
                .map_err(|source| StoreError::Connect {
                    backend: BackendKind::Sqlite,
                    source,
                })?;
            SQLITE_MIGRATIONS
                .run(&pool)
                .await
                .map_err(StoreError::Migrate)?;
            Backend::Sqlite(pool)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let options =
                PgConnectOptions::from_str(url).map_err(|source| StoreError::Connect {
                    backend: BackendKind::Postgres,
                    source,
                })?;
            // One direct connection first: an unreachable server fails at once, instead of
            // after the pool's acquire timeout of retries.
            let probe = PgConnection::connect_with(&options)
                .await
                .map_err(|source| StoreError::Connect {
                    backend: BackendKind::Postgres,
                    source,
                })?;
            let _ = probe.close().await;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .connect_with(options)
                .await
                .map_err(|source| StoreError::Connect {
                    backend: BackendKind::Postgres,
                    source,
                })?;
            POSTGRES_MIGRATIONS
                .run(&pool)
                .await
                .map_err(StoreError::Migrate)?;
            Backend::Postgres(pool)
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        Ok(Self {
            backend,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
        })
    }

    /// The same store, giving jobs enqueued through it `max_attempts` attempts (at least 1).
    pub fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts.max(1);
        self
    }

    /// The engine behind this store.
    pub fn backend(&self) -> BackendKind {
        match self.backend {
            Backend::Sqlite(_) => BackendKind::Sqlite,
            Backend::Postgres(_) => BackendKind::Postgres,
        }
    }

    /// The number of migrations recorded as applied (a re-open must not add any).
    pub async fn applied_migrations(&self) -> Result<u64, StoreError> {
        let count: i64 = with_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
                .fetch_one(pool)
                .await
        })
        .map_err(StoreError::db("count applied migrations"))?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

    /// Closes every pooled connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await);
    }

    /// Begins a write transaction (on SQLite `BEGIN IMMEDIATE`, which takes the write lock
    /// at once and waits on the busy timeout if another writer holds it).
    pub async fn begin(&self) -> Result<StoreTransaction, StoreError> {
        StoreTransaction::begin(self).await
    }
}

/// Now, in Unix milliseconds.
pub(crate) fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A duration in milliseconds, saturating.
pub(crate) fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
