//! The CloudEvents 1.0 structured-mode JSON body of a delivery.

use portcullis_store::webhooks::StoredEvent;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::TYPE_PREFIX;

/// The `specversion` of every event.
pub const SPEC_VERSION: &str = "1.0";

/// The `Content-Type` of a structured-mode CloudEvents request.
pub const CONTENT_TYPE: &str = "application/cloudevents+json";

/// One event as sent: the attributes and `data` in one JSON object (structured mode).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CloudEvent {
    pub specversion: String,
    /// A UUID, the same on every attempt: receivers drop duplicates by `source` and `id`.
    pub id: String,
    /// The server's external URL and the path of the thing the event is about.
    pub source: String,
    /// `dev.portcullis.` and the event name.
    #[serde(rename = "type")]
    pub event_type: String,
    pub subject: String,
    /// RFC 3339, UTC, milliseconds.
    pub time: String,
    pub datacontenttype: String,
    pub data: serde_json::Value,
}

impl CloudEvent {
    /// The event as stored in the outbox.
    pub fn from_stored(event: &StoredEvent) -> Self {
        Self {
            specversion: SPEC_VERSION.to_owned(),
            id: event.id.0.clone(),
            source: event.source.clone(),
            event_type: format!("{TYPE_PREFIX}{}", event.event_type),
            subject: event.subject.clone(),
            time: rfc3339_millis(event.time_ms),
            datacontenttype: "application/json".to_owned(),
            data: event.data.clone(),
        }
    }

    /// The request body: compact JSON, attributes in a fixed order.
    pub fn to_json(&self) -> Vec<u8> {
        // A struct of strings and a `Value` always serialises.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// Unix milliseconds as RFC 3339 in UTC (`2024-05-01T12:00:00.123Z`); out-of-range
/// values (a corrupt row) become the epoch.
fn rfc3339_millis(ms: i64) -> String {
    let time = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    // Truncate to milliseconds, which is what was stored.
    let time = time
        .replace_nanosecond(time.nanosecond() / 1_000_000 * 1_000_000)
        .unwrap_or(time);
    time.format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

/// The CloudEvents `source` for a thing at `path` on the server reachable at
/// `external_url`: `https://portcullis.example.invalid` and `/v2/unscanned/a/app` make
/// `https://portcullis.example.invalid/v2/unscanned/a/app`.
pub fn event_source(external_url: &str, path: &str) -> String {
    format!(
        "{}/{}",
        external_url.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}

#[cfg(test)]
mod tests {
    use portcullis_store::webhooks::EventId;

    use super::*;

    #[test]
    fn stored_events_become_structured_cloudevents() {
        let stored = StoredEvent {
            id: EventId("6f1c1d8e-0000-4000-8000-000000000001".into()),
            event_type: "image.pushed".into(),
            source: event_source("https://portcullis.example.invalid/", "/v2/unscanned/a/app"),
            subject: "unscanned/a/app@sha256:00".into(),
            time_ms: 1_714_564_800_123,
            data: serde_json::json!({"tag": "v1"}),
            team: Some("a".into()),
        };
        let json: serde_json::Value =
            serde_json::from_slice(&CloudEvent::from_stored(&stored).to_json()).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({
                "specversion": "1.0",
                "id": "6f1c1d8e-0000-4000-8000-000000000001",
                "source": "https://portcullis.example.invalid/v2/unscanned/a/app",
                "type": "dev.portcullis.image.pushed",
                "subject": "unscanned/a/app@sha256:00",
                "time": "2024-05-01T12:00:00.123Z",
                "datacontenttype": "application/json",
                "data": {"tag": "v1"},
            })
        );
    }
}
