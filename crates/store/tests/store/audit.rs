//! The hash-chained audit log: appends chain, tampering is reported at the exact entry,
//! concurrent appenders still chain, and the JSON-lines export recomputes.

use std::str::FromStr;

use anyhow::{Context, ensure};
use portcullis_store::audit::{
    AuditEntry, AuditHead, AuditProblem, GENESIS_HASH, NewAuditEntry, SYSTEM_ACTOR,
};
use portcullis_store::{BackendKind, Store};
use sha2::{Digest, Sha256};
use sqlx::Connection;

/// Runs `statements` on the database behind `store` outside portcullis, as an attacker or
/// an operator with database access would, with the append-only triggers dropped first.
pub async fn tamper(db: &crate::TestDb, store: &Store, statements: &[&str]) -> anyhow::Result<()> {
    let drop_triggers: &[&str] = match store.backend() {
        BackendKind::Sqlite => &[
            "DROP TRIGGER IF EXISTS audit_log_no_update",
            "DROP TRIGGER IF EXISTS audit_log_no_delete",
        ],
        BackendKind::Postgres => &[
            "DROP TRIGGER IF EXISTS audit_log_no_update ON audit_log",
            "DROP TRIGGER IF EXISTS audit_log_no_delete ON audit_log",
        ],
    };
    let all = drop_triggers.iter().chain(statements);
    match store.backend() {
        BackendKind::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&db.url).await?;
            for sql in all {
                sqlx::raw_sql(sqlx::AssertSqlSafe(*sql))
                    .execute(&mut conn)
                    .await
                    .with_context(|| sql.to_string())?;
            }
            conn.close().await?;
        }
        BackendKind::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&db.url).await?;
            for sql in all {
                sqlx::raw_sql(sqlx::AssertSqlSafe(*sql))
                    .execute(&mut conn)
                    .await
                    .with_context(|| sql.to_string())?;
            }
            conn.close().await?;
        }
    }
    Ok(())
}

async fn append_ten(store: &Store) -> anyhow::Result<Vec<AuditEntry>> {
    let mut entries = Vec::new();
    for i in 1..=10 {
        let entry = NewAuditEntry::new("ana", "image.pushed", format!("unscanned/a/app{i}"))
            .with_detail("tag", format!("v{i}"))
            .with_detail("size", i * 100);
        entries.push(store.append_audit(entry).await?);
    }
    Ok(entries)
}

pub async fn appends_chain_and_verify(db: &crate::TestDb) -> anyhow::Result<()> {
    let store = db.open().await?;
    let empty = store.verify_audit(None).await?;
    ensure!(empty.is_intact() && empty.verified == 0, "{empty:?}");
    assert_eq!(store.audit_head().await?, None);

    let first = store
        .append_audit(
            NewAuditEntry::new(SYSTEM_ACTOR, "team.created", "a").with_detail("by", "setup"),
        )
        .await?;
    assert_eq!((first.seq, first.prev_hash.as_str()), (1, GENESIS_HASH));
    assert_eq!(first.hash, first.compute_hash());

    // A rolled-back append leaves no gap: the next committed entry is number 2.
    let mut tx = store.begin().await?;
    tx.append_audit(NewAuditEntry::new("ana", "token.created", "ana/ci"))
        .await?;
    tx.rollback().await?;
    let mut tx = store.begin().await?;
    let second = tx
        .append_audit(NewAuditEntry::new(
            "ana",
            "approval.granted",
            "unscanned/a/app@sha256:00",
        ))
        .await?;
    tx.commit().await?;
    assert_eq!(
        (second.seq, second.prev_hash.as_str()),
        (2, first.hash.as_str())
    );

    let entries = store.audit_entries(None, 100).await?;
    assert_eq!(entries, vec![first.clone(), second.clone()]);
    assert_eq!(
        store.audit_entries(Some(1), 100).await?,
        vec![second.clone()]
    );
    assert_eq!(
        entries[0].details.get("by"),
        Some(&serde_json::json!("setup"))
    );

    let verification = store.verify_audit(Some(&first.head())).await?;
    ensure!(verification.is_intact(), "{verification:?}");
    assert_eq!(verification.verified, 2);
    assert_eq!(verification.last_verified, Some(second.head()));
    assert_eq!(store.audit_head().await?, Some(second.head()));
    Ok(())
}

pub async fn changed_details_are_reported_at_their_entry(db: &crate::TestDb) -> anyhow::Result<()> {
    let store = db.open().await?;
    let entries = append_ten(&store).await?;
    tamper(
        db,
        &store,
        &[r#"UPDATE audit_log SET details = '{"size":1,"tag":"v4"}' WHERE seq = 4"#],
    )
    .await?;
    let verification = store.verify_audit(None).await?;
    assert!(
        matches!(&verification.problem, Some(AuditProblem::HashMismatch { seq: 4, stored, .. }) if *stored == entries[3].hash),
        "{verification:?}"
    );
    assert_eq!(verification.verified, 3);
    assert_eq!(verification.last_verified, Some(entries[2].head()));
    Ok(())
}

pub async fn a_removed_middle_entry_is_a_gap(db: &crate::TestDb) -> anyhow::Result<()> {
    let store = db.open().await?;
    append_ten(&store).await?;
    tamper(db, &store, &["DELETE FROM audit_log WHERE seq = 6"]).await?;
    let verification = store.verify_audit(None).await?;
    assert_eq!(
        verification.problem,
        Some(AuditProblem::Gap {
            expected: 6,
            found: 7
        }),
        "{verification:?}"
    );
    let message = verification
        .problem
        .map(|p| p.to_string())
        .unwrap_or_default();
    assert!(message.contains("entries 6 to 6 are missing"), "{message}");
    Ok(())
}

pub async fn a_replaced_hash_is_reported(db: &crate::TestDb) -> anyhow::Result<()> {
    let store = db.open().await?;
    let entries = append_ten(&store).await?;
    let fake = "f".repeat(64);
    tamper(
        db,
        &store,
        &[&format!(
            "UPDATE audit_log SET hash = '{fake}' WHERE seq = 8"
        )],
    )
    .await?;
    let verification = store.verify_audit(None).await?;
    assert_eq!(
        verification.problem,
        Some(AuditProblem::HashMismatch {
            seq: 8,
            stored: fake,
            computed: entries[7].hash.clone(),
        })
    );
    Ok(())
}

pub async fn a_rehashed_entry_breaks_the_next_link(db: &crate::TestDb) -> anyhow::Result<()> {
    let store = db.open().await?;
    let entries = append_ten(&store).await?;
    // The attacker recomputes entry 3's hash after changing it; entry 4 still points at the
    // original.
    let mut forged = entries[2].clone();
    forged.actor = "mallory".into();
    forged.hash = forged.compute_hash();
    tamper(
        db,
        &store,
        &[&format!(
            "UPDATE audit_log SET actor = 'mallory', hash = '{}' WHERE seq = 3",
            forged.hash
        )],
    )
    .await?;
    let verification = store.verify_audit(None).await?;
    assert_eq!(
        verification.problem,
        Some(AuditProblem::BrokenLink {
            seq: 4,
            prev_hash: entries[2].hash.clone(),
            expected: forged.hash.clone(),
        })
    );
    Ok(())
}

pub async fn a_truncated_tail_is_caught_by_the_head(db: &crate::TestDb) -> anyhow::Result<()> {
    let store = db.open().await?;
    let entries = append_ten(&store).await?;
    let exported = AuditHead::from_str(&entries[9].head().to_string())?;
    tamper(db, &store, &["DELETE FROM audit_log WHERE seq > 8"]).await?;
    let verification = store.verify_audit(None).await?;
    assert_eq!(
        verification.problem,
        Some(AuditProblem::HeadMismatch {
            recorded: Some(entries[9].head()),
            last: Some(entries[7].head()),
        })
    );
    // Rewriting the head too hides the truncation from the chain, not from a head
    // exported earlier.
    tamper(
        db,
        &store,
        &[&format!(
            "UPDATE audit_head SET seq = 8, hash = '{}'",
            entries[7].hash
        )],
    )
    .await?;
    ensure!(store.verify_audit(None).await?.is_intact());
    let verification = store.verify_audit(Some(&exported)).await?;
    assert_eq!(
        verification.problem,
        Some(AuditProblem::ExpectedHeadMissing {
            expected: exported,
            found_hash: None,
        })
    );
    Ok(())
}

pub async fn the_log_refuses_updates_and_deletes(db: &crate::TestDb) -> anyhow::Result<()> {
    let store = db.open().await?;
    append_ten(&store).await?;
    let sql = "DELETE FROM audit_log WHERE seq = 2";
    let refused = match store.backend() {
        BackendKind::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&db.url).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
                .is_err()
        }
        BackendKind::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&db.url).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await
                .is_err()
        }
    };
    ensure!(refused, "the trigger let an audit entry be deleted");
    ensure!(store.verify_audit(None).await?.is_intact());
    Ok(())
}

pub async fn concurrent_appenders_chain(db: &crate::TestDb) -> anyhow::Result<()> {
    let store = db.open().await?;
    let mut tasks = Vec::new();
    for appender in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..50 {
                let mut tx = store.begin().await?;
                tx.append_audit(
                    NewAuditEntry::new(format!("appender{appender}"), "policy.updated", "prod")
                        .with_detail("i", i),
                )
                .await?;
                tx.commit().await?;
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    let verification = store.verify_audit(None).await?;
    ensure!(verification.is_intact(), "{verification:?}");
    assert_eq!(verification.verified, 400);
    assert_eq!(verification.last_verified.map(|h| h.seq), Some(400));
    Ok(())
}

pub async fn export_round_trips(db: &crate::TestDb) -> anyhow::Result<()> {
    let store = db.open().await?;
    let entries = append_ten(&store).await?;
    let mut lines = Vec::new();
    assert_eq!(store.export_audit(None, &mut lines).await?, 10);
    let mut after_seven = Vec::new();
    assert_eq!(store.export_audit(Some(7), &mut after_seven).await?, 3);

    let text = String::from_utf8(lines)?;
    let mut prev = GENESIS_HASH.to_owned();
    for (line, original) in text.lines().zip(&entries) {
        // A SIEM parses each line as plain JSON and recomputes the hash from it.
        let mut object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line)?;
        let hash = object.remove("hash").context("hash member")?;
        let canonical = serde_json::to_string(&object)?;
        assert_eq!(
            hex::encode(Sha256::digest(canonical.as_bytes())),
            hash.as_str().unwrap_or_default()
        );
        let parsed: AuditEntry = serde_json::from_str(line)?;
        assert_eq!(&parsed, original);
        assert_eq!(parsed.compute_hash(), parsed.hash);
        assert_eq!(parsed.prev_hash, prev);
        prev = parsed.hash;
    }
    assert_eq!(text.lines().count(), 10);
    assert_eq!(
        String::from_utf8(after_seven)?,
        text.lines()
            .skip(7)
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    );
    Ok(())
}
