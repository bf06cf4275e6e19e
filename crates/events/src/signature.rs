//! The `X-Portcullis-Signature` header: `t=<unix seconds>,v1=<hex HMAC-SHA256>` over
//! `<t>.<body>`. The timestamp is inside the MAC so that a captured request cannot be
//! replayed once it is older than the receiver's tolerance.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "X-Portcullis-Signature";

/// The header carrying the delivery id (the same on every attempt of one delivery).
pub const DELIVERY_HEADER: &str = "X-Portcullis-Delivery";

/// Why a signature was refused. The messages never contain the secret or the expected MAC.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    #[error("malformed `X-Portcullis-Signature` header; expected `t=<unix seconds>,v1=<hex>`")]
    Malformed,
    #[error(
        "signature timestamp is {age_seconds} s away from now, beyond the tolerance of {tolerance_seconds} s; a replay, or a clock to fix"
    )]
    OutsideTolerance {
        age_seconds: u64,
        tolerance_seconds: u64,
    },
    #[error(
        "signature does not match the body; check the webhook secret and that the body is verified as received, byte for byte"
    )]
    Mismatch,
}

fn mac(secret: &[u8], timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of every length"),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// The header value signing `body` at `now`.
pub fn sign(secret: &[u8], now: SystemTime, body: &[u8]) -> String {
    sign_at(secret, unix_seconds(now), body)
}

/// The header value signing `body` at `timestamp` (Unix seconds).
pub fn sign_at(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", hex::encode(tag))
}

/// Checks `header` (the `X-Portcullis-Signature` value) against `body` as received: the
/// timestamp must be within `tolerance` of `now`, and one `v1` value (several are allowed,
/// for secret rotation) must be the HMAC-SHA256 of `<t>.<body>` under `secret`. The
/// comparison runs in constant time.
pub fn verify_signature(
    secret: &[u8],
    header: &str,
    body: &[u8],
    now: SystemTime,
    tolerance: Duration,
) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        let (key, value) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::Malformed)?;
        match key {
            "t" if timestamp.is_none() => {
                timestamp = Some(
                    value
                        .parse::<i64>()
                        .map_err(|_| SignatureError::Malformed)?,
                );
            }
            "v1" => candidates.push(hex::decode(value).map_err(|_| SignatureError::Malformed)?),
            // Unknown schemes are skipped, so that senders can add one without breaking
            // receivers.
            "t" => return Err(SignatureError::Malformed),
            _ => {}
        }
    }
    let (Some(timestamp), false) = (timestamp, candidates.is_empty()) else {
        return Err(SignatureError::Malformed);
    };
    let age = unix_seconds(now).abs_diff(timestamp);
    if age > tolerance.as_secs() {
        return Err(SignatureError::OutsideTolerance {
            age_seconds: age,
            tolerance_seconds: tolerance.as_secs(),
        });
    }
    let expected = mac(secret, timestamp, body);
    if candidates
        .iter()
        .any(|candidate| expected.clone().verify_slice(candidate).is_ok())
    {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef-secret";
    const TOLERANCE: Duration = Duration::from_secs(300);

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn the_mac_covers_timestamp_dot_body() {
        // Cross-checked with: printf '1700000000.{}' | openssl dgst -sha256 -hmac KEY
        let header = sign_at(b"key", 1_700_000_000, b"{}");
        assert_eq!(
            header,
            "t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
    }

    #[test]
    fn signatures_verify_and_every_change_is_refused() {
        let body = br#"{"id":"1"}"#;
        let header = sign(SECRET, at(1_000_000), body);
        assert_eq!(
            verify_signature(SECRET, &header, body, at(1_000_100), TOLERANCE),
            Ok(())
        );
        let refused = |secret: &[u8], header: &str, body: &[u8], now| {
            verify_signature(secret, header, body, now, TOLERANCE)
        };
        assert_eq!(
            refused(b"another-secret-of-16", &header, body, at(1_000_000)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            refused(SECRET, &header, br#"{"id":"2"}"#, at(1_000_000)),
            Err(SignatureError::Mismatch)
        );
        // The timestamp is inside the MAC: moving it forward breaks the signature.
        let replayed = header.replace("t=1000000", "t=2000000");
        assert_eq!(
            refused(SECRET, &replayed, body, at(2_000_000)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            refused(SECRET, &header, body, at(1_000_301)),
            Err(SignatureError::OutsideTolerance {
                age_seconds: 301,
                tolerance_seconds: 300
            })
        );
        for malformed in [
            "",
            "t=1",
            "v1=00",
            "t=x,v1=00",
            "t=1,v1=zz",
            "t=1,t=2,v1=00",
        ] {
            assert_eq!(
                refused(SECRET, malformed, body, at(1)),
                Err(SignatureError::Malformed),
                "{malformed}"
            );
        }
    }

    #[test]
    fn any_matching_v1_is_accepted_for_secret_rotation() {
        let body = b"x";
        let new = sign_at(SECRET, 10, body);
        let old_mac = sign_at(b"the-old-secret-0000", 10, body);
        let old_v1 = old_mac
            .split_once(",v1=")
            .map(|(_, v)| v)
            .unwrap_or_default();
        let both = format!(
            "{old_mac},v1={}",
            new.split_once(",v1=").map(|(_, v)| v).unwrap_or_default()
        );
        assert_eq!(
            verify_signature(SECRET, &both, body, at(10), TOLERANCE),
            Ok(())
        );
        assert!(!old_v1.is_empty());
        let unknown_scheme = format!("{new},v0=abcd");
        assert_eq!(
            verify_signature(SECRET, &unknown_scheme, body, at(10), TOLERANCE),
            Ok(())
        );
    }
}
