//! The durable job queue.
//!
//! A job is identified by `(kind, key)`: enqueueing the same pair again returns the existing
//! [`JobId`] and queues nothing (a digest is scanned once however often it is pushed). A
//! worker [`Store::claim`]s one due job at a time; the job becomes `running` with a lease
//! that expires after the given duration, and its attempt count goes up by one. The worker
//! then [`Store::complete`]s it (`done`) or [`Store::fail`]s it (back to `queued` after a
//! delay, or `failed` for good once its attempts are used up). A worker that dies leaves
//! its job `running` with an expired lease; the next claim takes it again (or, if that was
//! its last attempt, marks it `failed`). Completing or failing with a lease that was lost
//! to another worker is refused with [`StoreError::LeaseLost`].
//!
//! Claiming is safe under concurrency: on PostgreSQL the candidate row is selected
//! `FOR UPDATE SKIP LOCKED`, so concurrent claimers take different jobs without waiting on
//! each other; on SQLite the claim runs in a `BEGIN IMMEDIATE` transaction, which holds
//! the database's single write lock from the first statement.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use crate::transaction::with_transaction;
use crate::{Store, StoreError, StoreTransaction, millis, with_pool};

/// A job's identity, stable for its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JobId(pub i64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Where a job is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum JobState {
    /// Waiting to be claimed (possibly not before its `run_at`).
    Queued,
    /// Claimed by a worker whose lease has not been released.
    Running,
    /// Completed with a result.
    Done,
    /// Failed for good (attempts used up, or a failure not worth retrying).
    Failed,
}

impl JobState {
    /// The name stored in the database and shown to people.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }

    fn parse(value: &str) -> Result<Self, StoreError> {
        Ok(match value {
            "queued" => Self::Queued,
            "running" => Self::Running,
            "done" => Self::Done,
            "failed" => Self::Failed,
            other => {
                return Err(StoreError::Corrupt {
                    column: "jobs.state",
                    value: other.to_owned(),
                });
            }
        })
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A job handed to one worker; pass it back to complete, fail or extend it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimedJob {
    pub id: JobId,
    pub kind: String,
    pub key: String,
    pub payload: String,
    /// Which attempt this is, from 1.
    pub attempt: u32,
    pub worker: String,
    /// When the lease runs out, in Unix milliseconds.
    pub lease_expires_at_ms: i64,
}

/// Everything visible about a job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JobStatus {
    pub id: JobId,
    pub kind: String,
    pub key: String,
    pub payload: String,
    pub state: JobState,
    pub attempts: u32,
    pub max_attempts: u32,
    /// Not claimable before this time (Unix milliseconds).
    pub run_at_ms: i64,
    pub worker: Option<String>,
    pub lease_expires_at_ms: Option<i64>,
    pub result: Option<String>,
    pub last_error: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: i64,
    kind: String,
    dedup_key: String,
    payload: String,
    state: String,
    attempts: i64,
    max_attempts: i64,
    run_at: i64,
    worker: Option<String>,
    lease_expires_at: Option<i64>,
    result: Option<String>,
    last_error: Option<String>,
    created_at: i64,
    updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct CandidateRow {
    id: i64,
    attempts: i64,
    max_attempts: i64,
}

const JOB_COLUMNS: &str = "SELECT id, kind, dedup_key, payload, state, attempts, max_attempts, run_at, worker, \
     lease_expires_at, result, last_error, created_at, updated_at FROM jobs";

/// The next due job: queued and due, or running with an expired lease.
const CANDIDATE: &str = "SELECT id, attempts, max_attempts FROM jobs \
     WHERE (state = 'queued' AND run_at <= $1) OR (state = 'running' AND lease_expires_at <= $1) \
     ORDER BY run_at, id LIMIT 1";

const LEASE_EXPIRED_ERROR: &str = "the lease of the last attempt expired: the worker stopped without completing or failing the job";

fn count(column: &'static str, value: i64) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt {
        column,
        value: value.to_string(),
    })
}

impl TryFrom<JobRow> for JobStatus {
    type Error = StoreError;

    fn try_from(row: JobRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: JobId(row.id),
            state: JobState::parse(&row.state)?,
            attempts: count("jobs.attempts", row.attempts)?,
            max_attempts: count("jobs.max_attempts", row.max_attempts)?,
            kind: row.kind,
            key: row.dedup_key,
            payload: row.payload,
            run_at_ms: row.run_at,
            worker: row.worker,
            lease_expires_at_ms: row.lease_expires_at,
            result: row.result,
            last_error: row.last_error,
            created_at_ms: row.created_at,
            updated_at_ms: row.updated_at,
        })
    }
}

impl StoreTransaction {
    /// Queues job `(kind, key)` with `payload` unless it exists (in any state); returns its
    /// id either way. It commits with the rest of the transaction.
    pub async fn enqueue(
        &mut self,
        kind: &str,
        key: &str,
        payload: &str,
    ) -> Result<JobId, StoreError> {
        let now = self.now;
        let max_attempts = i64::from(self.max_attempts);
        let inserted: Option<i64> = with_transaction!(self, conn => {
            sqlx::query_scalar(
                "INSERT INTO jobs (kind, dedup_key, payload, state, attempts, max_attempts, run_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, 'queued', 0, $4, $5, $5, $5) \
                 ON CONFLICT (kind, dedup_key) DO NOTHING RETURNING id",
            )
            .bind(kind)
            .bind(key)
            .bind(payload)
            .bind(max_attempts)
            .bind(now)
            .fetch_optional(&mut *conn)
            .await
        })
        .map_err(StoreError::db("enqueue a job"))?;
        if let Some(id) = inserted {
            return Ok(JobId(id));
        }
        let existing: i64 = with_transaction!(self, conn => {
            sqlx::query_scalar("SELECT id FROM jobs WHERE kind = $1 AND dedup_key = $2")
                .bind(kind)
                .bind(key)
                .fetch_one(&mut *conn)
                .await
        })
        .map_err(StoreError::db("look up an enqueued job"))?;
        Ok(JobId(existing))
    }
}

impl StoreTransaction {
    /// Queues job `(kind, key)` again: a new job, or the finished one (done or failed) reset
    /// to run now with its attempts cleared. A job still queued or running is left alone.
    pub async fn requeue(
        &mut self,
        kind: &str,
        key: &str,
        payload: &str,
    ) -> Result<JobId, StoreError> {
        let id = self.enqueue(kind, key, payload).await?;
        let now = self.now;
        with_transaction!(self, conn => {
            sqlx::query(
                "UPDATE jobs SET state = 'queued', attempts = 0, run_at = $2, worker = NULL, \
                 lease_expires_at = NULL, last_error = NULL, result = NULL, payload = $3, updated_at = $2 \
                 WHERE id = $1 AND state IN ('done', 'failed')",
            )
            .bind(id.0)
            .bind(now)
            .bind(payload)
            .execute(&mut *conn)
            .await
            .map(|r| r.rows_affected())
        })
        .map_err(StoreError::db("queue a job again"))?;
        Ok(id)
    }
}

impl Store {
    /// Queues job `(kind, key)` unless it exists; returns its id either way.
    pub async fn enqueue(&self, kind: &str, key: &str, payload: &str) -> Result<JobId, StoreError> {
        let mut tx = self.begin().await?;
        let id = tx.enqueue(kind, key, payload).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Hands at most one due job to `worker`, leased for `lease`.
    pub async fn claim(
        &self,
        worker: &str,
        lease: Duration,
    ) -> Result<Option<ClaimedJob>, StoreError> {
        let mut tx = self.begin().await?;
        let now = tx.now;
        let lease_expires = now.saturating_add(millis(lease));
        loop {
            let candidate: Option<CandidateRow> = match &mut tx.inner {
                crate::transaction::TransactionInner::Sqlite(t) => {
                    sqlx::query_as(CANDIDATE)
                        .bind(now)
                        .fetch_optional(&mut **t)
                        .await
                }
                crate::transaction::TransactionInner::Postgres(t) => {
                    sqlx::query_as(sqlx::AssertSqlSafe(format!(
                        "{CANDIDATE} FOR UPDATE SKIP LOCKED"
                    )))
                    .bind(now)
                    .fetch_optional(&mut **t)
                    .await
                }
            }
            .map_err(StoreError::db("find a due job"))?;
            let Some(candidate) = candidate else {
                tx.commit().await?;
                return Ok(None);
            };
            if candidate.attempts >= candidate.max_attempts {
                // Only an expired lease gets here: a queued job always has attempts left.
                with_transaction!(tx, conn => {
                    sqlx::query(
                        "UPDATE jobs SET state = 'failed', last_error = $2, worker = NULL, \
                         lease_expires_at = NULL, updated_at = $3 WHERE id = $1",
                    )
                    .bind(candidate.id)
                    .bind(LEASE_EXPIRED_ERROR)
                    .bind(now)
                    .execute(&mut *conn)
                    .await
                    .map(|_| ())
                })
                .map_err(StoreError::db("fail a job whose last lease expired"))?;
                continue;
            }
            let (id, kind, key, payload, attempts): (i64, String, String, String, i64) =
                with_transaction!(tx, conn => {
                    sqlx::query_as(
                        "UPDATE jobs SET state = 'running', worker = $2, lease_expires_at = $3, \
                         attempts = attempts + 1, updated_at = $4 WHERE id = $1 \
                         RETURNING id, kind, dedup_key, payload, attempts",
                    )
                    .bind(candidate.id)
                    .bind(worker)
                    .bind(lease_expires)
                    .bind(now)
                    .fetch_one(&mut *conn)
                    .await
                })
                .map_err(StoreError::db("claim a job"))?;
            tx.commit().await?;
            return Ok(Some(ClaimedJob {
                id: JobId(id),
                kind,
                key,
                payload,
                attempt: count("jobs.attempts", attempts)?,
                worker: worker.to_owned(),
                lease_expires_at_ms: lease_expires,
            }));
        }
    }

    /// Marks a claimed job done with `result`.
    pub async fn complete(&self, job: &ClaimedJob, result: &str) -> Result<(), StoreError> {
        let now = crate::now_millis();
        let affected = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE jobs SET state = 'done', result = $4, worker = NULL, lease_expires_at = NULL, \
                 updated_at = $5 WHERE id = $1 AND state = 'running' AND attempts = $2 AND worker = $3",
            )
            .bind(job.id.0)
            .bind(i64::from(job.attempt))
            .bind(&job.worker)
            .bind(result)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })
        .map_err(StoreError::db("complete a job"))?;
        self.check_lease(job, affected).await
    }

    /// Records a failed attempt. With `retry_after`, the job is queued again after that
    /// delay if it has attempts left; without, or with none left, it is failed for good.
    /// Returns the job's new state.
    pub async fn fail(
        &self,
        job: &ClaimedJob,
        error: &str,
        retry_after: Option<Duration>,
    ) -> Result<JobState, StoreError> {
        let now = crate::now_millis();
        let run_at = now.saturating_add(retry_after.map_or(0, millis));
        let give_up = retry_after.is_none();
        let state: Option<String> = with_pool!(self, pool => {
            sqlx::query_scalar(
                "UPDATE jobs SET state = CASE WHEN $7 OR attempts >= max_attempts THEN 'failed' ELSE 'queued' END, \
                 run_at = $4, last_error = $5, worker = NULL, lease_expires_at = NULL, updated_at = $6 \
                 WHERE id = $1 AND state = 'running' AND attempts = $2 AND worker = $3 RETURNING state",
            )
            .bind(job.id.0)
            .bind(i64::from(job.attempt))
            .bind(&job.worker)
            .bind(run_at)
            .bind(error)
            .bind(now)
            .bind(give_up)
            .fetch_optional(pool)
            .await
        })
        .map_err(StoreError::db("fail a job"))?;
        match state {
            Some(state) => JobState::parse(&state),
            None => self.check_lease(job, 0).await.map(|()| JobState::Failed),
        }
    }

    /// Extends the lease of a job still held by its worker to `lease` from now.
    pub async fn extend_lease(
        &self,
        job: &mut ClaimedJob,
        lease: Duration,
    ) -> Result<(), StoreError> {
        let now = crate::now_millis();
        let expires = now.saturating_add(millis(lease));
        let affected = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE jobs SET lease_expires_at = $4, updated_at = $5 \
                 WHERE id = $1 AND state = 'running' AND attempts = $2 AND worker = $3",
            )
            .bind(job.id.0)
            .bind(i64::from(job.attempt))
            .bind(&job.worker)
            .bind(expires)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })
        .map_err(StoreError::db("extend a job lease"))?;
        self.check_lease(job, affected).await?;
        job.lease_expires_at_ms = expires;
        Ok(())
    }

    /// Turns "no row updated" into the reason.
    async fn check_lease(&self, job: &ClaimedJob, affected: u64) -> Result<(), StoreError> {
        if affected > 0 {
            return Ok(());
        }
        match self.job(job.id).await? {
            Some(_) => Err(StoreError::LeaseLost(job.id)),
            None => Err(StoreError::UnknownJob(job.id)),
        }
    }

    /// Everything visible about job `id`.
    pub async fn job(&self, id: JobId) -> Result<Option<JobStatus>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("{JOB_COLUMNS} WHERE id = $1"));
        let row: Option<JobRow> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(id.0).fetch_optional(pool).await
        })
        .map_err(StoreError::db("read a job"))?;
        row.map(JobStatus::try_from).transpose()
    }

    /// The job `(kind, key)`, if it was ever enqueued.
    pub async fn job_by_key(&self, kind: &str, key: &str) -> Result<Option<JobStatus>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("{JOB_COLUMNS} WHERE kind = $1 AND dedup_key = $2"));
        let row: Option<JobRow> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(kind).bind(key).fetch_optional(pool).await
        })
        .map_err(StoreError::db("read a job"))?;
        row.map(JobStatus::try_from).transpose()
    }

    /// How many jobs are in each state (states without jobs are absent).
    pub async fn job_counts(&self) -> Result<BTreeMap<JobState, u64>, StoreError> {
        let rows: Vec<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as("SELECT state, COUNT(*) FROM jobs GROUP BY state")
                .fetch_all(pool)
                .await
        })
        .map_err(StoreError::db("count jobs"))?;
        rows.into_iter()
            .map(|(state, n)| Ok((JobState::parse(&state)?, u64::try_from(n).unwrap_or(0))))
            .collect()
    }
}
