//! Behaviour tests of the store, run against real engines: every test of `suite` runs once
//! on SQLite (a file in a temporary directory) and once on PostgreSQL (a cluster this test
//! binary starts on loopback; see `store/cluster.rs`).

#[path = "store/audit.rs"]
mod audit;
#[path = "store/auth.rs"]
mod auth;
#[path = "store/cluster.rs"]
mod cluster;
#[path = "store/registry_references.rs"]
mod registry_references;
#[path = "store/suite.rs"]
mod suite;
#[path = "store/webhooks.rs"]
mod webhooks;
#[path = "store/workflow.rs"]
mod workflow;

use std::time::Duration;

use portcullis_store::{Store, StoreError};

/// A database for one test: its URL, and for SQLite the directory holding the file.
#[derive(Debug)]
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn sqlite() -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("store.db").display()
        );
        Ok(Self {
            url,
            _dir: Some(dir),
        })
    }

    pub async fn postgres() -> anyhow::Result<Self> {
        Ok(Self {
            url: cluster::fresh_database().await?,
            _dir: None,
        })
    }

    pub async fn open(&self) -> anyhow::Result<Store> {
        Ok(Store::open(&self.url).await?)
    }
}

/// Generates, for each named function of the module `$suite` (a file under `store/`),
/// one test per backend, in `mod $tests { mod sqlite; mod postgres }` of this binary:
/// `on_both_backends!(audit as audit_tests: first_test, second_test)`.
macro_rules! on_both_backends {
    ($suite:ident as $tests:ident: $($name:ident),* $(,)?) => {
        mod $tests {
            mod sqlite {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn $name() -> anyhow::Result<()> {
                        let db = crate::TestDb::sqlite().await?;
                        crate::$suite::$name(&db).await
                    }
                )*
            }
            mod postgres {
                $(
                    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn $name() -> anyhow::Result<()> {
                        let db = crate::TestDb::postgres().await?;
                        crate::$suite::$name(&db).await
                    }
                )*
            }
        }
    };
}

on_both_backends!(audit as audit_tests:
    appends_chain_and_verify,
    changed_details_are_reported_at_their_entry,
    a_removed_middle_entry_is_a_gap,
    a_replaced_hash_is_reported,
    a_rehashed_entry_breaks_the_next_link,
    a_truncated_tail_is_caught_by_the_head,
    the_log_refuses_updates_and_deletes,
    concurrent_appenders_chain,
    export_round_trips,
);

on_both_backends!(webhooks as webhooks_tests:
    webhooks_are_validated_and_listed_without_secrets,
    events_fan_out_to_matching_webhooks_only,
    events_of_rolled_back_transactions_do_not_exist,
    claims_follow_emission_order_per_webhook,
    concurrent_claimers_take_each_delivery_once,
);

on_both_backends!(auth as auth_tests:
    names_are_unique_and_teams_round_trip,
    tokens_are_found_by_hash_only_while_valid,
    token_validity_by_id_follows_revocation_and_expiry,
    credential_versions_change_with_every_credential_change,
    admins_are_detected_by_users_and_usable_tokens,
    settings_are_created_once_even_when_concurrent,
);

on_both_backends!(registry_references as registry_references_tests:
    references_keep_their_order_and_go_with_their_manifest,
    upload_ids_list_the_open_sessions,
);

on_both_backends!(workflow as workflow_tests:
    approvals_are_kept_per_stage_one_each,
    concurrent_approvals_at_one_stage_record_one,
    failed_scans_can_be_retried_and_done_ones_stay,
);

on_both_backends!(suite as suite_tests:
    migrations_are_applied_once_and_data_survives_reopen,
    manifests_and_tags_round_trip,
    tag_pagination_follows_byte_order_and_edge_cases,
    concurrent_tag_moves_are_atomic,
    referrers_are_listed_per_repository_and_artifact_type,
    blob_links_support_mount_checks,
    upload_sessions_track_offsets_and_expire,
    enqueue_is_idempotent_even_when_concurrent,
    eight_concurrent_claimers_claim_every_job_exactly_once,
    expired_leases_are_claimed_again,
    failures_retry_until_attempts_run_out,
    dropped_transaction_leaves_no_partial_state,
    killed_writer_leaves_no_partial_state,
);

#[tokio::test]
async fn unsupported_urls_are_refused_with_the_expected_forms() {
    for url in ["mysql://x", "sqlite::memory:", "", "/tmp/store.db"] {
        let err = Store::open(url).await.expect_err(url);
        assert!(
            matches!(err, StoreError::UnsupportedUrl(_)),
            "{url}: {err:?}"
        );
        assert!(err.to_string().contains("sqlite://PATH?mode=rwc"), "{err}");
    }
}

#[tokio::test]
async fn an_unreachable_postgres_is_a_connect_error() -> anyhow::Result<()> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let url = format!("postgres://postgres@127.0.0.1:{port}/none?connect_timeout=2");
    let err = tokio::time::timeout(Duration::from_secs(60), Store::open(&url))
        .await?
        .expect_err("nothing listens on that port");
    assert!(matches!(err, StoreError::Connect { .. }), "{err:?}");
    Ok(())
}

#[test]
fn both_migration_directories_hold_the_same_migrations() -> anyhow::Result<()> {
    let names = |dialect: &str| -> anyhow::Result<Vec<String>> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(dialect);
        let mut names = std::fs::read_dir(dir)?
            .map(|e| Ok(e?.file_name().to_string_lossy().into_owned()))
            .collect::<anyhow::Result<Vec<_>>>()?;
        names.sort();
        Ok(names)
    };
    let sqlite = names("sqlite")?;
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, names("postgres")?);
    Ok(())
}

/// The child half of `killed_writer_leaves_no_partial_state`: run by that test in a child
/// process (the same test binary) that it kills with SIGKILL in the middle of a
/// transaction. Alone it has nothing to do.
#[tokio::test]
#[ignore = "run in a child process by killed_writer_leaves_no_partial_state"]
async fn crash_child_writer() -> anyhow::Result<()> {
    let (Ok(url), Ok(ready)) = (
        std::env::var(suite::CRASH_URL_VAR),
        std::env::var(suite::CRASH_READY_VAR),
    ) else {
        return Ok(());
    };
    suite::write_without_committing(&url, std::path::Path::new(&ready)).await
}
