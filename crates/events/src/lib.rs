//! Events of the gating registry as CloudEvents 1.0, delivered to webhooks from a durable
//! outbox, signed with HMAC-SHA256, retried with backoff.
//!
//! # Principal types and data flow
//!
//! ```text
//! state change ─▶ Store::begin ─▶ … ─▶ emit(&mut tx, Event) ─▶ commit
//!     (the event and one pending delivery per matching webhook commit with the change)
//! DeliveryWorker::run ─▶ Store::claim_delivery ─▶ CloudEvent::from_stored ─▶ sign
//!     ─▶ POST (timeout, no redirects) ─▶ 2xx: delivered │ else: retry after backoff,
//!        failed after `max_attempts`  ─▶ Store::finish_delivery
//! ```
//!
//! - [`EventType`]: the eight event types; the CloudEvents `type` is `dev.portcullis.` and
//!   the name (`dev.portcullis.image.pushed`), webhook filters use the name.
//! - [`Event`] and [`emit`]: what code making a state change records, in its transaction.
//! - [`CloudEvent`]: the structured-mode JSON body (`Content-Type:
//!   application/cloudevents+json`).
//! - [`DeliveryWorker`] / [`run_deliveries`] with a [`DeliveryConfig`]: sends due
//!   deliveries; run one per process, several processes may share a database.
//! - [`sign`] and [`verify_signature`]: the `X-Portcullis-Signature` header.
//!
//! # Verifying a delivery (receivers)
//!
//! Every request carries `X-Portcullis-Signature: t=<unix seconds>,v1=<hex>` where the hex
//! is HMAC-SHA256 keyed with the webhook's secret over `<t>.<body>` (the decimal
//! timestamp, a dot, then the raw body bytes). A receiver recomputes it over the body as
//! received, compares in constant time, and refuses timestamps too far from its clock, so
//! that a captured request cannot be replayed later. `X-Portcullis-Delivery` identifies the
//! delivery: a re-sent delivery carries the same value, so receivers can drop duplicates.
//! In Rust:
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use portcullis_events::{sign, verify_signature};
//!
//! let secret = b"whsec-0123456789abcdef";
//! let body = br#"{"specversion":"1.0"}"#;
//! let now = SystemTime::now();
//! let header = sign(secret, now, body); // what the sender puts in the header
//! verify_signature(secret, &header, body, now, Duration::from_secs(300))?;
//! assert!(verify_signature(b"another-secret-of-16", &header, body, now, Duration::from_secs(300)).is_err());
//! # Ok::<(), portcullis_events::SignatureError>(())
//! ```
//!
//! Elsewhere: `hmac_sha256(secret, t + "." + body)` in hex, equal to the `v1` value, and
//! `|now - t| <= 300`.

mod cloudevent;
mod delivery;
mod signature;

use std::fmt;
use std::str::FromStr;

use portcullis_store::webhooks::{EventId, NewEvent};
use portcullis_store::{StoreError, StoreTransaction};

pub use cloudevent::{CONTENT_TYPE, CloudEvent, SPEC_VERSION, event_source};
pub use delivery::{DeliveryConfig, DeliveryWorker, run_deliveries};
pub use signature::{
    DELIVERY_HEADER, SIGNATURE_HEADER, SignatureError, sign, sign_at, verify_signature,
};

/// The prefix of every CloudEvents `type` portcullis emits.
pub const TYPE_PREFIX: &str = "dev.portcullis.";

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventType {
    ImagePushed,
    ScanStarted,
    ScanCompleted,
    ScanFailed,
    ImagePromoted,
    ImageRejected,
    ApprovalRequested,
    ApprovalGranted,
}

impl EventType {
    /// Every type, in a stable order.
    pub const ALL: [EventType; 8] = [
        Self::ImagePushed,
        Self::ScanStarted,
        Self::ScanCompleted,
        Self::ScanFailed,
        Self::ImagePromoted,
        Self::ImageRejected,
        Self::ApprovalRequested,
        Self::ApprovalGranted,
    ];

    /// The name webhook filters use: `image.pushed`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ImagePushed => "image.pushed",
            Self::ScanStarted => "scan.started",
            Self::ScanCompleted => "scan.completed",
            Self::ScanFailed => "scan.failed",
            Self::ImagePromoted => "image.promoted",
            Self::ImageRejected => "image.rejected",
            Self::ApprovalRequested => "approval.requested",
            Self::ApprovalGranted => "approval.granted",
        }
    }

    /// The CloudEvents `type`: `dev.portcullis.image.pushed`.
    pub fn cloudevents_type(self) -> String {
        format!("{TYPE_PREFIX}{}", self.as_str())
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an event type name is not known.
#[derive(Debug, thiserror::Error)]
#[error(
    "unknown event type `{0}`; expected one of image.pushed, scan.started, scan.completed, scan.failed, image.promoted, image.rejected, approval.requested, approval.granted"
)]
pub struct UnknownEventType(pub String);

impl FromStr for EventType {
    type Err = UnknownEventType;

    /// Accepts the name (`image.pushed`) or the CloudEvents type.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let name = text.strip_prefix(TYPE_PREFIX).unwrap_or(text);
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == name)
            .ok_or_else(|| UnknownEventType(text.to_owned()))
    }
}

/// An event to emit with the state change it reports.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub event_type: EventType,
    /// The CloudEvents `source`: see [`event_source`].
    pub source: String,
    /// What it is about: `unscanned/a/app@sha256:…`.
    pub subject: String,
    /// The CloudEvents `data` (a JSON object; never secrets).
    pub data: serde_json::Value,
    /// The owning team, for webhook team filters.
    pub team: Option<String>,
}

/// Records `event` (with a fresh UUID) and its deliveries in `tx`: it is sent only if `tx`
/// commits.
pub async fn emit(tx: &mut StoreTransaction, event: Event) -> Result<EventId, StoreError> {
    tx.emit_event(&NewEvent {
        id: uuid::Uuid::new_v4().to_string(),
        event_type: event.event_type.as_str().to_owned(),
        source: event.source,
        subject: event.subject,
        data: event.data,
        team: event.team,
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_round_trip_through_both_spellings() {
        for t in EventType::ALL {
            assert_eq!(t.as_str().parse::<EventType>().ok(), Some(t));
            assert_eq!(t.cloudevents_type().parse::<EventType>().ok(), Some(t));
        }
        assert_eq!(
            EventType::ImagePushed.cloudevents_type(),
            "dev.portcullis.image.pushed"
        );
        assert!("image.deleted".parse::<EventType>().is_err());
    }
}
