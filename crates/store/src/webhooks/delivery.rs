//! Deliveries: claiming due ones for sending, recording outcomes, listing, re-sending.
//!
//! A claim takes the oldest due delivery whose webhook has no earlier delivery still
//! pending or being sent, so that each webhook receives its events in emission order (a
//! receiver that keeps failing one event holds back the later ones until that one is
//! delivered or failed for good). The claimed delivery becomes `sending`, leased to one
//! worker; a worker that dies leaves an expired lease, and the delivery is claimed again.
//! Claiming is safe with several processes: on PostgreSQL the candidate is selected
//! `FOR UPDATE SKIP LOCKED`, on SQLite the claim runs in a `BEGIN IMMEDIATE` transaction.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use super::{EventId, StoredEvent, WebhookId};
use crate::transaction::{TransactionInner, with_transaction};
use crate::{Store, StoreError, millis, now_millis, with_pool};

/// A delivery's identity (sent as `X-Portcullis-Delivery`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeliveryId(pub i64);

impl fmt::Display for DeliveryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Where a delivery is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeliveryState {
    /// Waiting for its next attempt.
    Pending,
    /// Claimed by a worker that is sending it.
    Sending,
    /// The receiver answered 2xx.
    Delivered,
    /// Attempts used up; [`Store::redeliver`] sends it again.
    Failed,
}

impl DeliveryState {
    /// The name stored in the database and shown to people.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sending => "sending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }

    fn parse(value: &str) -> Result<Self, StoreError> {
        Ok(match value {
            "pending" => Self::Pending,
            "sending" => Self::Sending,
            "delivered" => Self::Delivered,
            "failed" => Self::Failed,
            other => {
                return Err(StoreError::Corrupt {
                    column: "deliveries.state",
                    value: other.to_owned(),
                });
            }
        })
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A delivery as listed for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub id: DeliveryId,
    pub webhook_id: WebhookId,
    pub webhook_name: String,
    pub event_id: EventId,
    pub event_type: String,
    pub state: DeliveryState,
    pub attempts: u32,
    /// Unix milliseconds.
    pub next_attempt_at_ms: i64,
    /// The HTTP status of the last attempt, if the receiver answered.
    pub last_status: Option<u16>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    pub delivered_at_ms: Option<i64>,
    pub created_at_ms: i64,
}

/// A delivery handed to one worker to send.
#[derive(Clone, PartialEq)]
pub struct ClaimedDelivery {
    pub id: DeliveryId,
    /// Which attempt this is, from 1.
    pub attempt: u32,
    pub worker: String,
    pub webhook_id: WebhookId,
    pub url: String,
    /// The webhook's signing secret; never log it (`Debug` hides it).
    pub secret: String,
    pub event: StoredEvent,
}

impl fmt::Debug for ClaimedDelivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClaimedDelivery")
            .field("id", &self.id)
            .field("attempt", &self.attempt)
            .field("worker", &self.worker)
            .field("webhook_id", &self.webhook_id)
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .field("event", &self.event)
            .finish()
    }
}

/// What came of one attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The receiver answered 2xx.
    Delivered { status: u16 },
    /// Try again after `retry_after`.
    Retry {
        status: Option<u16>,
        error: String,
        retry_after: Duration,
    },
    /// Give up: the delivery becomes `failed`.
    Failed { status: Option<u16>, error: String },
}

#[derive(sqlx::FromRow)]
struct ClaimRow {
    id: i64,
    attempts: i64,
    webhook_id: i64,
    url: String,
    secret: String,
    event_id: String,
    type_: String,
    source: String,
    subject: String,
    time: i64,
    data: String,
    team: Option<String>,
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: i64,
    webhook_id: i64,
    name: String,
    event_id: String,
    type_: String,
    state: String,
    attempts: i64,
    next_attempt_at: i64,
    last_status: Option<i64>,
    last_error: Option<String>,
    delivered_at: Option<i64>,
    created_at: i64,
}

/// Due, and the oldest unfinished delivery of its webhook.
const CANDIDATE: &str = "SELECT d.id FROM deliveries d \
     WHERE ((d.state = 'pending' AND d.next_attempt_at <= $1) \
            OR (d.state = 'sending' AND d.lease_expires_at <= $1)) \
       AND NOT EXISTS (SELECT 1 FROM deliveries e WHERE e.webhook_id = d.webhook_id \
                       AND e.id < d.id AND e.state IN ('pending', 'sending')) \
     ORDER BY d.next_attempt_at, d.id LIMIT 1";

const DELIVERY_COLUMNS: &str = "SELECT d.id, d.webhook_id, w.name, d.event_id, e.type AS type_, \
     d.state, d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.delivered_at, \
     d.created_at FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id \
     JOIN events e ON e.id = d.event_id";

fn count(column: &'static str, value: i64) -> Result<u32, StoreError> {
    u32::try_from(value).map_err(|_| StoreError::Corrupt {
        column,
        value: value.to_string(),
    })
}

impl TryFrom<DeliveryRow> for Delivery {
    type Error = StoreError;

    fn try_from(row: DeliveryRow) -> Result<Self, StoreError> {
        Ok(Self {
            id: DeliveryId(row.id),
            webhook_id: WebhookId(row.webhook_id),
            webhook_name: row.name,
            event_id: EventId(row.event_id),
            event_type: row.type_,
            state: DeliveryState::parse(&row.state)?,
            attempts: count("deliveries.attempts", row.attempts)?,
            next_attempt_at_ms: row.next_attempt_at,
            last_status: row.last_status.and_then(|s| u16::try_from(s).ok()),
            last_error: row.last_error,
            delivered_at_ms: row.delivered_at,
            created_at_ms: row.created_at,
        })
    }
}

impl Store {
    /// Hands at most one due delivery to `worker`, leased for `lease` (longer than a send
    /// can take, or a second worker may send it again).
    pub async fn claim_delivery(
        &self,
        worker: &str,
        lease: Duration,
    ) -> Result<Option<ClaimedDelivery>, StoreError> {
        let mut tx = self.begin().await?;
        let now = tx.now;
        let candidate: Option<i64> = match &mut tx.inner {
            TransactionInner::Sqlite(t) => {
                sqlx::query_scalar(CANDIDATE)
                    .bind(now)
                    .fetch_optional(&mut **t)
                    .await
            }
            TransactionInner::Postgres(t) => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "{CANDIDATE} FOR UPDATE OF d SKIP LOCKED"
                )))
                .bind(now)
                .fetch_optional(&mut **t)
                .await
            }
        }
        .map_err(StoreError::db("find a due delivery"))?;
        let Some(id) = candidate else {
            tx.commit().await?;
            return Ok(None);
        };
        with_transaction!(tx, conn => {
            sqlx::query(
                "UPDATE deliveries SET state = 'sending', worker = $2, lease_expires_at = $3, \
                 attempts = attempts + 1, updated_at = $4 WHERE id = $1",
            )
            .bind(id)
            .bind(worker)
            .bind(now.saturating_add(millis(lease)))
            .bind(now)
            .execute(&mut *conn)
            .await
            .map(|_| ())
        })
        .map_err(StoreError::db("claim a delivery"))?;
        let row: ClaimRow = with_transaction!(tx, conn => {
            sqlx::query_as(
                "SELECT d.id, d.attempts, d.webhook_id, w.url, w.secret, e.id AS event_id, \
                 e.type AS type_, e.source, e.subject, e.time, e.data, e.team \
                 FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id \
                 JOIN events e ON e.id = d.event_id WHERE d.id = $1",
            )
            .bind(id)
            .fetch_one(&mut *conn)
            .await
        })
        .map_err(StoreError::db("read a claimed delivery"))?;
        tx.commit().await?;
        let data: Value = serde_json::from_str(&row.data).map_err(|_| StoreError::Corrupt {
            column: "events.data",
            value: format!("event {}", row.event_id),
        })?;
        Ok(Some(ClaimedDelivery {
            id: DeliveryId(row.id),
            attempt: count("deliveries.attempts", row.attempts)?,
            worker: worker.to_owned(),
            webhook_id: WebhookId(row.webhook_id),
            url: row.url,
            secret: row.secret,
            event: StoredEvent {
                id: EventId(row.event_id),
                event_type: row.type_,
                source: row.source,
                subject: row.subject,
                time_ms: row.time,
                data,
                team: row.team,
            },
        }))
    }

    /// Records the outcome of a claimed attempt; returns the delivery's new state, or `None`
    /// if the claim was lost (its lease expired and another worker took it).
    pub async fn finish_delivery(
        &self,
        claimed: &ClaimedDelivery,
        outcome: &DeliveryOutcome,
    ) -> Result<Option<DeliveryState>, StoreError> {
        let now = now_millis();
        let (state, status, error, next, delivered_at) = match outcome {
            DeliveryOutcome::Delivered { status } => (
                DeliveryState::Delivered,
                Some(*status),
                None,
                now,
                Some(now),
            ),
            DeliveryOutcome::Retry {
                status,
                error,
                retry_after,
            } => (
                DeliveryState::Pending,
                *status,
                Some(error.as_str()),
                now.saturating_add(millis(*retry_after)),
                None,
            ),
            DeliveryOutcome::Failed { status, error } => (
                DeliveryState::Failed,
                *status,
                Some(error.as_str()),
                now,
                None,
            ),
        };
        let affected = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE deliveries SET state = $4, last_status = $5, last_error = $6, \
                 next_attempt_at = $7, delivered_at = $8, worker = NULL, lease_expires_at = NULL, \
                 updated_at = $9 WHERE id = $1 AND state = 'sending' AND attempts = $2 AND worker = $3",
            )
            .bind(claimed.id.0)
            .bind(i64::from(claimed.attempt))
            .bind(&claimed.worker)
            .bind(state.as_str())
            .bind(status.map(i64::from))
            .bind(error)
            .bind(next)
            .bind(delivered_at)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })
        .map_err(StoreError::db("record a delivery attempt"))?;
        Ok((affected > 0).then_some(state))
    }

    /// Up to `limit` deliveries, newest first, in `state` (all states with `None`).
    pub async fn deliveries(
        &self,
        state: Option<DeliveryState>,
        limit: u32,
    ) -> Result<Vec<Delivery>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "{DELIVERY_COLUMNS} WHERE ($1 IS NULL OR d.state = $1) ORDER BY d.id DESC LIMIT $2"
        ));
        let rows: Vec<DeliveryRow> = with_pool!(self, pool => {
            sqlx::query_as(sql)
                .bind(state.map(DeliveryState::as_str))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
        })
        .map_err(StoreError::db("list deliveries"))?;
        rows.into_iter().map(Delivery::try_from).collect()
    }

    /// One delivery.
    pub async fn delivery(&self, id: DeliveryId) -> Result<Option<Delivery>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("{DELIVERY_COLUMNS} WHERE d.id = $1"));
        let row: Option<DeliveryRow> = with_pool!(self, pool => {
            sqlx::query_as(sql).bind(id.0).fetch_optional(pool).await
        })
        .map_err(StoreError::db("read a delivery"))?;
        row.map(Delivery::try_from).transpose()
    }

    /// Sends a delivery again from its first attempt (a failed one, or a delivered one the
    /// receiver lost); `false` if it does not exist or is being sent right now.
    pub async fn redeliver(&self, id: DeliveryId) -> Result<bool, StoreError> {
        let now = now_millis();
        let affected = with_pool!(self, pool => {
            sqlx::query(
                "UPDATE deliveries SET state = 'pending', attempts = 0, next_attempt_at = $2, \
                 delivered_at = NULL, updated_at = $2 WHERE id = $1 AND state <> 'sending'",
            )
            .bind(id.0)
            .bind(now)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })
        .map_err(StoreError::db("re-deliver a delivery"))?;
        Ok(affected > 0)
    }
}
