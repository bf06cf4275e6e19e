//! The hash-chained audit log.
//!
//! Every state change commits together with its [`AuditEntry`]: the code making the change
//! calls [`StoreTransaction::append_audit`] in the same transaction ([`Store::append_audit`]
//! is the same in a transaction of its own). Entries are numbered 1, 2, 3… without gaps,
//! and each carries `hash = SHA-256(canonical entry)` and the `prev_hash` of the entry
//! before it (64 zeros for the first), so that changing, removing or reordering an entry
//! breaks the chain at that entry.
//!
//! # Canonical form
//!
//! The hashed text is the entry as a JSON object without `hash`, keys sorted at every
//! level, no whitespace, numbers as integers: exactly the line [`AuditEntry::to_json_line`]
//! writes, minus its `hash` member. A SIEM that received the JSON-lines export
//! ([`Store::export_audit`]) can therefore recompute every hash with any JSON library that
//! sorts keys.
//!
//! # Concurrency
//!
//! Appenders read and update the one-row `audit_head` table (the last seq and hash). On
//! SQLite the write transaction (`BEGIN IMMEDIATE`) already serialises them; on PostgreSQL
//! the head row is selected `FOR UPDATE`, so a second appender waits until the first
//! commits or rolls back, then chains onto whatever the head is by then.
//!
//! # What verification can and cannot tell
//!
//! [`Store::verify_audit`] walks the chain in order, a page at a time, recomputes every
//! hash, and reports the first [`AuditProblem`]: a changed entry (its hash no longer
//! matches), a removed entry (a gap in `seq`, or a `prev_hash` that does not match the
//! entry before), or a head that disagrees with the last entry (the tail was removed).
//! Someone with write access to the database can still remove the tail *and* rewrite the
//! head, or rewrite every hash after a change: the chain alone cannot tell. Against that,
//! export the head ([`AuditHead`], `seq:hash`) somewhere they cannot write (a SIEM, a
//! ticket, a printout) and pass it to `verify_audit`: the chain must then contain that
//! entry with that hash. The migration also installs triggers that refuse `UPDATE` and
//! `DELETE` on the log; they stop mistakes, not an administrator.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::transaction::{TransactionInner, with_transaction};
use crate::{Store, StoreError, StoreTransaction};

mod export;
mod verify;

pub use export::AuditExportError;
pub use verify::{AuditProblem, AuditVerification};

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The actor recorded for changes portcullis makes on its own (promotion after a scan).
pub const SYSTEM_ACTOR: &str = "system";

/// An entry to append; the store adds `seq`, `at` and the hashes.
#[derive(Clone, Debug, PartialEq)]
pub struct NewAuditEntry {
    /// The principal's name, or [`SYSTEM_ACTOR`].
    pub actor: String,
    /// What happened, dotted: `image.pushed`, `approval.granted`, `token.created`…
    pub action: String,
    /// What it happened to: `unscanned/a/app@sha256:…`, a team name…
    pub subject: String,
    /// Anything else worth keeping (never secrets).
    pub details: Map<String, Value>,
}

impl NewAuditEntry {
    /// An entry without details.
    pub fn new(
        actor: impl Into<String>,
        action: impl Into<String>,
        subject: impl Into<String>,
    ) -> Self {
        Self {
            actor: actor.into(),
            action: action.into(),
            subject: subject.into(),
            details: Map::new(),
        }
    }

    /// The same entry with `key` set to `value` in its details.
    pub fn with_detail(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.details.insert(key.into(), value.into());
        self
    }
}

/// One entry of the log, as stored and exported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: i64,
    /// When it was appended, in Unix milliseconds.
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub details: Map<String, Value>,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    /// Every field but `hash`: what the hash covers.
    fn hashed_fields(&self) -> Map<String, Value> {
        let mut object = Map::new();
        object.insert("seq".into(), self.seq.into());
        object.insert("at".into(), self.at.into());
        object.insert("actor".into(), self.actor.clone().into());
        object.insert("action".into(), self.action.clone().into());
        object.insert("subject".into(), self.subject.clone().into());
        object.insert("details".into(), Value::Object(self.details.clone()));
        object.insert("prev_hash".into(), self.prev_hash.clone().into());
        object
    }

    /// The SHA-256 (lowercase hex) of this entry's canonical form; equal to `hash` unless
    /// the entry was changed.
    pub fn compute_hash(&self) -> String {
        let mut text = String::new();
        canonical_json(&Value::Object(self.hashed_fields()), &mut text);
        hex::encode(Sha256::digest(text.as_bytes()))
    }

    /// The entry as one line of canonical JSON (sorted keys), with a trailing newline.
    pub fn to_json_line(&self) -> String {
        let mut object = self.hashed_fields();
        object.insert("hash".into(), self.hash.clone().into());
        let mut line = String::new();
        canonical_json(&Value::Object(object), &mut line);
        line.push('\n');
        line
    }

    /// This entry as a head: what to export and later pass to [`Store::verify_audit`].
    pub fn head(&self) -> AuditHead {
        AuditHead {
            seq: self.seq,
            hash: self.hash.clone(),
        }
    }
}

/// Writes `value` as JSON with the keys of every object sorted and no whitespace; the
/// order does not depend on serde_json's `preserve_order` feature.
pub(crate) fn canonical_json(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                if let Some(member) = map.get(key) {
                    canonical_json(member, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The last entry of the chain, written `seq:hash`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AuditHead {
    pub seq: i64,
    pub hash: String,
}

impl fmt::Display for AuditHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seq, self.hash)
    }
}

/// Why an `seq:hash` head does not parse.
#[derive(Debug, thiserror::Error)]
#[error(
    "invalid audit head `{0}`; expected `SEQ:HASH`, a positive number and 64 lowercase hex digits, as `portcullis audit head` prints"
)]
pub struct InvalidAuditHead(String);

impl FromStr for AuditHead {
    type Err = InvalidAuditHead;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidAuditHead(text.to_owned());
        let (seq, hash) = text.trim().split_once(':').ok_or_else(invalid)?;
        let seq: i64 = seq.parse().map_err(|_| invalid())?;
        let hex_ok = hash.len() == 64
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if seq < 1 || !hex_ok {
            return Err(invalid());
        }
        Ok(Self {
            seq,
            hash: hash.to_owned(),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct AuditRow {
    seq: i64,
    at: i64,
    actor: String,
    action: String,
    subject: String,
    details: String,
    prev_hash: String,
    hash: String,
}

impl AuditRow {
    /// The entry, or `None` with the seq if its details are not a JSON object.
    pub(crate) fn into_entry(self) -> Result<AuditEntry, i64> {
        let details = match serde_json::from_str::<Value>(&self.details) {
            Ok(Value::Object(details)) => details,
            _ => return Err(self.seq),
        };
        Ok(AuditEntry {
            seq: self.seq,
            at: self.at,
            actor: self.actor,
            action: self.action,
            subject: self.subject,
            details,
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

pub(crate) const AUDIT_COLUMNS: &str =
    "SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM audit_log";

/// The entries to read or export per query: bounded memory however long the log is.
pub(crate) const PAGE: u32 = 500;

impl StoreTransaction {
    /// Appends `entry` to the log; it commits or rolls back with the rest of the
    /// transaction. On PostgreSQL this waits for concurrent appenders to finish.
    pub async fn append_audit(&mut self, entry: NewAuditEntry) -> Result<AuditEntry, StoreError> {
        const HEAD: &str = "SELECT seq, hash FROM audit_head WHERE id = 1";
        let (head_seq, head_hash): (i64, String) = match &mut self.inner {
            TransactionInner::Sqlite(t) => sqlx::query_as(HEAD).fetch_one(&mut **t).await,
            TransactionInner::Postgres(t) => {
                sqlx::query_as(sqlx::AssertSqlSafe(format!("{HEAD} FOR UPDATE")))
                    .fetch_one(&mut **t)
                    .await
            }
        }
        .map_err(StoreError::db("lock the audit log head"))?;
        let mut appended = AuditEntry {
            seq: head_seq.saturating_add(1),
            at: self.now,
            actor: entry.actor,
            action: entry.action,
            subject: entry.subject,
            details: entry.details,
            prev_hash: head_hash,
            hash: String::new(),
        };
        appended.hash = appended.compute_hash();
        let mut details = String::new();
        canonical_json(&Value::Object(appended.details.clone()), &mut details);
        with_transaction!(self, conn => {
            sqlx::query(
                "INSERT INTO audit_log (seq, at, actor, action, subject, details, prev_hash, hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(appended.seq)
            .bind(appended.at)
            .bind(&appended.actor)
            .bind(&appended.action)
            .bind(&appended.subject)
            .bind(&details)
            .bind(&appended.prev_hash)
            .bind(&appended.hash)
            .execute(&mut *conn)
            .await
            .map(|_| ())
        })
        .map_err(StoreError::db("append an audit entry"))?;
        with_transaction!(self, conn => {
            sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
                .bind(appended.seq)
                .bind(&appended.hash)
                .execute(&mut *conn)
                .await
                .map(|_| ())
        })
        .map_err(StoreError::db("advance the audit log head"))?;
        Ok(appended)
    }
}

impl Store {
    /// Appends `entry` in a transaction of its own.
    pub async fn append_audit(&self, entry: NewAuditEntry) -> Result<AuditEntry, StoreError> {
        let mut tx = self.begin().await?;
        let appended = tx.append_audit(entry).await?;
        tx.commit().await?;
        Ok(appended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let value = serde_json::json!({"b": 1, "a": {"z": [true, null, "x\"y"], "c": -2}});
        let mut text = String::new();
        canonical_json(&value, &mut text);
        assert_eq!(text, r#"{"a":{"c":-2,"z":[true,null,"x\"y"]},"b":1}"#);
    }

    #[test]
    fn the_hash_covers_every_field_but_itself() {
        let entry = AuditEntry {
            seq: 1,
            at: 5,
            actor: "ana".into(),
            action: "team.created".into(),
            subject: "a".into(),
            details: Map::new(),
            prev_hash: GENESIS_HASH.into(),
            hash: String::new(),
        };
        let hash = entry.compute_hash();
        let expected_text = format!(
            r#"{{"action":"team.created","actor":"ana","at":5,"details":{{}},"prev_hash":"{GENESIS_HASH}","seq":1,"subject":"a"}}"#
        );
        assert_eq!(hash, hex::encode(Sha256::digest(expected_text.as_bytes())));
        let mut changed = entry.clone();
        changed.at = 6;
        assert_ne!(changed.compute_hash(), hash);
        let with_hash = AuditEntry {
            hash: "x".into(),
            ..entry
        };
        assert_eq!(with_hash.compute_hash(), hash);
    }

    #[test]
    fn heads_parse_and_print_as_seq_colon_hash() {
        let head: AuditHead = format!("12:{}", "ab".repeat(32)).parse().expect("valid");
        assert_eq!(head.seq, 12);
        assert_eq!(head.to_string(), format!("12:{}", "ab".repeat(32)));
        for bad in ["", "12", "0:", "x:ab", &format!("0:{}", "ab".repeat(32))] {
            assert!(bad.parse::<AuditHead>().is_err(), "{bad}");
        }
    }
}
