//! Webhook subscriptions and the event outbox.
//!
//! A [`Webhook`] subscribes a URL to some event types (all when its filter is empty) and
//! optionally one team. [`StoreTransaction::emit_event`] writes a [`NewEvent`] and one
//! pending delivery per active webhook whose filters match, in the caller's transaction:
//! the event exists, and will be sent, if and only if the state change it reports
//! committed. The delivery worker (crate `portcullis-events`) then
//! [`Store::claim_delivery`]s due deliveries, sends them and records the outcome with
//! [`Store::finish_delivery`]; [`Store::deliveries`] lists them by [`DeliveryState`] and
//! [`Store::redeliver`] sends one again.
//!
//! Secrets are stored in clear because every delivery is signed with them; they are read
//! only by the claim (into a [`ClaimedDelivery`], whose `Debug` hides it) and never
//! returned by [`Store::webhooks`].

use std::fmt;

use serde_json::Value;

use crate::transaction::with_transaction;
use crate::{Store, StoreError, StoreTransaction, with_pool};

mod delivery;

pub use delivery::{ClaimedDelivery, Delivery, DeliveryId, DeliveryOutcome, DeliveryState};

/// The shortest secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 16;

/// The longest webhook URL accepted, in bytes.
pub const MAX_URL_BYTES: usize = 2048;

/// A webhook's identity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WebhookId(pub i64);

impl fmt::Display for WebhookId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// An event's identity (a UUID chosen by the emitter; the CloudEvents `id`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId(pub String);

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A subscription to create.
#[derive(Clone, PartialEq, Eq)]
pub struct NewWebhook {
    /// Unique, shown to people.
    pub name: String,
    /// `http://` or `https://`.
    pub url: String,
    /// Signs every delivery; at least [`MIN_SECRET_BYTES`] bytes.
    pub secret: String,
    /// Event type names (`image.pushed`…); empty means every type.
    pub event_types: Vec<String>,
    /// Only events of this team; `None` means every team.
    pub team: Option<String>,
}

impl fmt::Debug for NewWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewWebhook")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .field("event_types", &self.event_types)
            .field("team", &self.team)
            .finish()
    }
}

/// A subscription as listed (never with its secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Webhook {
    pub id: WebhookId,
    pub name: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub team: Option<String>,
    pub active: bool,
    pub created_at_ms: i64,
}

impl Webhook {
    /// Whether an event of `event_type` for `team` goes to this webhook.
    pub fn matches(&self, event_type: &str, team: Option<&str>) -> bool {
        let type_matches =
            self.event_types.is_empty() || self.event_types.iter().any(|t| t == event_type);
        let team_matches = self.team.is_none() || self.team.as_deref() == team;
        self.active && type_matches && team_matches
    }
}

/// An event to record with the state change it reports.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    /// A UUID, the CloudEvents `id`.
    pub id: String,
    /// The short type name (`image.pushed`), which webhook filters name.
    pub event_type: String,
    /// The CloudEvents `source`: the server's external URL and a path.
    pub source: String,
    pub subject: String,
    pub data: Value,
    /// The owning team, for team filters.
    pub team: Option<String>,
}

/// An event as stored; its time is the commit's transaction time.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredEvent {
    pub id: EventId,
    pub event_type: String,
    pub source: String,
    pub subject: String,
    /// Unix milliseconds.
    pub time_ms: i64,
    pub data: Value,
    pub team: Option<String>,
}

/// Why a webhook was not created or changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    #[error(
        "invalid webhook url; expected an `http://` or `https://` url with a host, at most {MAX_URL_BYTES} bytes, without spaces"
    )]
    InvalidUrl,
    #[error("webhook secret is too short; use at least {MIN_SECRET_BYTES} random bytes")]
    SecretTooShort,
    #[error("invalid webhook name `{0}`; expected 1 to 100 characters without control characters")]
    InvalidName(String),
    #[error("a webhook named `{0}` exists already; choose another name or delete it first")]
    DuplicateName(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn validate(webhook: &NewWebhook) -> Result<(), WebhookError> {
    let name = &webhook.name;
    if name.trim().is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(WebhookError::InvalidName(name.clone()));
    }
    let url = webhook.url.as_str();
    let rest = ["http://", "https://"]
        .iter()
        .find_map(|scheme| {
            url.get(..scheme.len())
                .filter(|head| head.eq_ignore_ascii_case(scheme))
                .map(|_| &url[scheme.len()..])
        })
        .ok_or(WebhookError::InvalidUrl)?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty()
        || url.len() > MAX_URL_BYTES
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(WebhookError::InvalidUrl);
    }
    if webhook.secret.len() < MIN_SECRET_BYTES {
        return Err(WebhookError::SecretTooShort);
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct WebhookRow {
    id: i64,
    name: String,
    url: String,
    event_types: String,
    team: Option<String>,
    active: bool,
    created_at: i64,
}

impl TryFrom<WebhookRow> for Webhook {
    type Error = StoreError;

    fn try_from(row: WebhookRow) -> Result<Self, StoreError> {
        let event_types =
            serde_json::from_str(&row.event_types).map_err(|_| StoreError::Corrupt {
                column: "webhooks.event_types",
                value: row.event_types.clone(),
            })?;
        Ok(Self {
            id: WebhookId(row.id),
            name: row.name,
            url: row.url,
            event_types,
            team: row.team,
            active: row.active,
            created_at_ms: row.created_at,
        })
    }
}

const WEBHOOK_COLUMNS: &str =
    "SELECT id, name, url, event_types, team, active, created_at FROM webhooks";

impl StoreTransaction {
    /// Records `event` and a pending delivery for every active webhook it matches; both
    /// commit or roll back with the rest of the transaction.
    pub async fn emit_event(&mut self, event: &NewEvent) -> Result<EventId, StoreError> {
        let now = self.now;
        let data = event.data.to_string();
        with_transaction!(self, conn => {
            sqlx::query(
                "INSERT INTO events (id, type, source, subject, time, data, team) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&event.id)
            .bind(&event.event_type)
            .bind(&event.source)
            .bind(&event.subject)
            .bind(now)
            .bind(&data)
            .bind(&event.team)
            .execute(&mut *conn)
            .await
            .map(|_| ())
        })
        .map_err(StoreError::db("record an event"))?;
        let sql = sqlx::AssertSqlSafe(format!("{WEBHOOK_COLUMNS} WHERE active = $1 ORDER BY id"));
        let rows: Vec<WebhookRow> = with_transaction!(self, conn => {
            sqlx::query_as(sql).bind(true).fetch_all(&mut *conn).await
        })
        .map_err(StoreError::db("list webhooks for an event"))?;
        for row in rows {
            let webhook = Webhook::try_from(row)?;
            if !webhook.matches(&event.event_type, event.team.as_deref()) {
                continue;
            }
            with_transaction!(self, conn => {
                sqlx::query(
                    "INSERT INTO deliveries (webhook_id, event_id, state, attempts, next_attempt_at, \
                     created_at, updated_at) VALUES ($1, $2, 'pending', 0, $3, $3, $3)",
                )
                .bind(webhook.id.0)
                .bind(&event.id)
                .bind(now)
                .execute(&mut *conn)
                .await
                .map(|_| ())
            })
            .map_err(StoreError::db("queue an event delivery"))?;
        }
        Ok(EventId(event.id.clone()))
    }
}

impl Store {
    /// Records `event` in a transaction of its own (see [`StoreTransaction::emit_event`]).
    pub async fn emit_event(&self, event: &NewEvent) -> Result<EventId, StoreError> {
        let mut tx = self.begin().await?;
        let id = tx.emit_event(event).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Creates an active webhook, after checking its name, url and secret.
    pub async fn create_webhook(&self, webhook: &NewWebhook) -> Result<WebhookId, WebhookError> {
        validate(webhook)?;
        let event_types = serde_json::to_string(&webhook.event_types).unwrap_or_default();
        let now = crate::now_millis();
        let inserted: Result<i64, sqlx::Error> = with_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO webhooks (name, url, secret, event_types, team, active, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(&webhook.name)
            .bind(&webhook.url)
            .bind(&webhook.secret)
            .bind(&event_types)
            .bind(&webhook.team)
            .bind(true)
            .bind(now)
            .fetch_one(pool)
            .await
        });
        match inserted {
            Ok(id) => Ok(WebhookId(id)),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(WebhookError::DuplicateName(webhook.name.clone()))
            }
            Err(e) => Err(StoreError::db("create a webhook")(e).into()),
        }
    }

    /// Every webhook, by id, without secrets.
    pub async fn webhooks(&self) -> Result<Vec<Webhook>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("{WEBHOOK_COLUMNS} ORDER BY id"));
        let rows: Vec<WebhookRow> = with_pool!(self, pool => {
            sqlx::query_as(sql).fetch_all(pool).await
        })
        .map_err(StoreError::db("list webhooks"))?;
        rows.into_iter().map(Webhook::try_from).collect()
    }

    /// Turns a webhook on or off (an inactive one gets no new deliveries); `false` if it
    /// does not exist.
    pub async fn set_webhook_active(
        &self,
        id: WebhookId,
        active: bool,
    ) -> Result<bool, StoreError> {
        let affected = with_pool!(self, pool => {
            sqlx::query("UPDATE webhooks SET active = $2 WHERE id = $1")
                .bind(id.0)
                .bind(active)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(StoreError::db("change a webhook"))?;
        Ok(affected > 0)
    }

    /// Deletes a webhook and its deliveries; `false` if it did not exist.
    pub async fn delete_webhook(&self, id: WebhookId) -> Result<bool, StoreError> {
        let affected = with_pool!(self, pool => {
            sqlx::query("DELETE FROM webhooks WHERE id = $1")
                .bind(id.0)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })
        .map_err(StoreError::db("delete a webhook"))?;
        Ok(affected > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hook(url: &str, secret: &str) -> NewWebhook {
        NewWebhook {
            name: "ci".into(),
            url: url.into(),
            secret: secret.into(),
            event_types: Vec::new(),
            team: None,
        }
    }

    #[test]
    fn urls_must_be_http_with_a_host_and_secrets_long_enough() {
        let secret = "0123456789abcdef";
        assert!(validate(&hook("https://hooks.example.invalid/x", secret)).is_ok());
        assert!(validate(&hook("HTTP://127.0.0.1:8080", secret)).is_ok());
        for url in [
            "ftp://x",
            "https://",
            "http:///path",
            "https://a b",
            "file:///etc/passwd",
        ] {
            assert!(
                matches!(validate(&hook(url, secret)), Err(WebhookError::InvalidUrl)),
                "{url}"
            );
        }
        assert!(matches!(
            validate(&hook("https://x.example.invalid", "short")),
            Err(WebhookError::SecretTooShort)
        ));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let text = format!(
            "{:?}",
            hook("https://x.example.invalid", "do-not-show-this-secret")
        );
        assert!(!text.contains("do-not-show"), "{text}");
    }
}
