//! Webhook subscriptions and the outbox: validation, filters, transactional emission,
//! claims that hand each delivery to one worker in per-webhook order, outcomes, re-sends.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::ensure;
use portcullis_store::Store;
use portcullis_store::webhooks::{
    DeliveryOutcome, DeliveryState, NewEvent, NewWebhook, WebhookError, WebhookId,
};

const LEASE: Duration = Duration::from_secs(60);

fn webhook(name: &str, types: &[&str], team: Option<&str>) -> NewWebhook {
    NewWebhook {
        name: name.into(),
        url: format!("http://127.0.0.1:9/{name}"),
        secret: "a-secret-of-enough-bytes".into(),
        event_types: types.iter().map(|t| t.to_string()).collect(),
        team: team.map(str::to_owned),
    }
}

fn event(n: u32, event_type: &str, team: Option<&str>) -> NewEvent {
    NewEvent {
        id: format!("00000000-0000-4000-8000-{n:012}"),
        event_type: event_type.into(),
        source: "https://portcullis.example.invalid/v2/unscanned/a/app".into(),
        subject: format!("unscanned/a/app@sha256:{n:064}"),
        data: serde_json::json!({ "n": n }),
        team: team.map(str::to_owned),
    }
}

async fn pending_for(store: &Store, id: WebhookId) -> anyhow::Result<Vec<String>> {
    let mut events: Vec<String> = store
        .deliveries(Some(DeliveryState::Pending), 1000)
        .await?
        .into_iter()
        .filter(|d| d.webhook_id == id)
        .map(|d| d.event_id.0)
        .collect();
    events.sort();
    Ok(events)
}

pub async fn webhooks_are_validated_and_listed_without_secrets(
    db: &crate::TestDb,
) -> anyhow::Result<()> {
    let store = db.open().await?;
    let id = store
        .create_webhook(&webhook("ci", &["image.pushed"], Some("a")))
        .await?;
    let mut bad = webhook("ftp", &[], None);
    bad.url = "ftp://127.0.0.1/x".into();
    ensure!(matches!(
        store.create_webhook(&bad).await,
        Err(WebhookError::InvalidUrl)
    ));
    let mut short = webhook("short", &[], None);
    short.secret = "0123456789abcde".into();
    let err = store.create_webhook(&short).await.expect_err("15 bytes");
    ensure!(matches!(err, WebhookError::SecretTooShort), "{err:?}");
    ensure!(!err.to_string().contains("0123456789abcde"), "{err}");
    let err = store
        .create_webhook(&webhook("ci", &[], None))
        .await
        .expect_err("duplicate");
    ensure!(
        matches!(err, WebhookError::DuplicateName(ref n) if n == "ci"),
        "{err:?}"
    );

    let listed = store.webhooks().await?;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, id);
    assert_eq!(listed[0].event_types, vec!["image.pushed".to_owned()]);
    assert_eq!(listed[0].team.as_deref(), Some("a"));
    ensure!(listed[0].active);
    ensure!(!format!("{listed:?}").contains("a-secret-of-enough-bytes"));

    ensure!(store.delete_webhook(id).await?);
    ensure!(!store.delete_webhook(id).await?);
    ensure!(store.webhooks().await?.is_empty());
    Ok(())
}

pub async fn events_fan_out_to_matching_webhooks_only(db: &crate::TestDb) -> anyhow::Result<()> {
    let store = db.open().await?;
    let all = store.create_webhook(&webhook("all", &[], None)).await?;
    let pushes = store
        .create_webhook(&webhook("pushes", &["image.pushed"], None))
        .await?;
    let team_b = store
        .create_webhook(&webhook("team-b", &[], Some("b")))
        .await?;
    let off = store.create_webhook(&webhook("off", &[], None)).await?;
    ensure!(store.set_webhook_active(off, false).await?);

    store
        .emit_event(&event(1, "image.pushed", Some("a")))
        .await?;
    store
        .emit_event(&event(2, "scan.completed", Some("b")))
        .await?;
    store.emit_event(&event(3, "image.pushed", None)).await?;

    assert_eq!(pending_for(&store, all).await?.len(), 3);
    assert_eq!(
        pending_for(&store, pushes).await?,
        vec![event(1, "", None).id, event(3, "", None).id]
    );
    assert_eq!(
        pending_for(&store, team_b).await?,
        vec![event(2, "", None).id]
    );
    ensure!(pending_for(&store, off).await?.is_empty());
    Ok(())
}

pub async fn events_of_rolled_back_transactions_do_not_exist(
    db: &crate::TestDb,
) -> anyhow::Result<()> {
    let store = db.open().await?;
    store.create_webhook(&webhook("all", &[], None)).await?;
    let mut tx = store.begin().await?;
    tx.emit_event(&event(1, "image.pushed", None)).await?;
    tx.rollback().await?;
    {
        let mut tx = store.begin().await?;
        tx.emit_event(&event(2, "image.pushed", None)).await?;
        // Dropped without commit.
    }
    ensure!(store.deliveries(None, 100).await?.is_empty());
    ensure!(store.claim_delivery("w", LEASE).await?.is_none());
    // The id was never used, so emitting it for real works.
    store.emit_event(&event(1, "image.pushed", None)).await?;
    assert_eq!(store.deliveries(None, 100).await?.len(), 1);
    Ok(())
}

pub async fn claims_follow_emission_order_per_webhook(db: &crate::TestDb) -> anyhow::Result<()> {
    let store = db.open().await?;
    let first = store.create_webhook(&webhook("first", &[], None)).await?;
    let second = store
        .create_webhook(&webhook("second", &["scan.failed"], None))
        .await?;
    store.emit_event(&event(1, "image.pushed", None)).await?;
    store.emit_event(&event(2, "image.pushed", None)).await?;
    store.emit_event(&event(3, "scan.failed", None)).await?;

    let a = store
        .claim_delivery("w1", LEASE)
        .await?
        .expect("first of webhook first");
    assert_eq!(
        (a.webhook_id, a.event.id.0.as_str(), a.attempt),
        (first, event(1, "", None).id.as_str(), 1)
    );
    assert_eq!(a.event.data, serde_json::json!({ "n": 1 }));
    assert_eq!(a.secret, "a-secret-of-enough-bytes");
    ensure!(!format!("{a:?}").contains("a-secret-of-enough-bytes"));
    // Event 2 for `first` waits for event 1; `second` has its own first delivery.
    let b = store
        .claim_delivery("w2", LEASE)
        .await?
        .expect("webhook second");
    assert_eq!(b.webhook_id, second);
    ensure!(store.claim_delivery("w3", LEASE).await?.is_none());

    let retry = DeliveryOutcome::Retry {
        status: Some(503),
        error: "HTTP 503".into(),
        retry_after: Duration::from_secs(3600),
    };
    assert_eq!(
        store.finish_delivery(&a, &retry).await?,
        Some(DeliveryState::Pending)
    );
    // Still held back: event 1 is pending (not yet due) and comes first.
    ensure!(store.claim_delivery("w3", LEASE).await?.is_none());
    let failed = DeliveryOutcome::Failed {
        status: Some(500),
        error: "HTTP 500".into(),
    };
    assert_eq!(
        store.finish_delivery(&b, &failed).await?,
        Some(DeliveryState::Failed)
    );
    // A stale claim (already finished) is refused.
    assert_eq!(
        store
            .finish_delivery(&b, &DeliveryOutcome::Delivered { status: 200 })
            .await?,
        None
    );

    let failed_list = store.deliveries(Some(DeliveryState::Failed), 10).await?;
    assert_eq!(failed_list.len(), 1);
    assert_eq!(failed_list[0].last_status, Some(500));
    assert_eq!(failed_list[0].last_error.as_deref(), Some("HTTP 500"));
    assert_eq!(failed_list[0].webhook_name, "second");
    assert_eq!(failed_list[0].event_type, "scan.failed");

    ensure!(store.redeliver(failed_list[0].id).await?);
    let again = store
        .claim_delivery("w4", LEASE)
        .await?
        .expect("re-delivered");
    assert_eq!((again.id, again.attempt), (b.id, 1));
    assert_eq!(
        store
            .finish_delivery(&again, &DeliveryOutcome::Delivered { status: 204 })
            .await?,
        Some(DeliveryState::Delivered)
    );
    let delivered = store.delivery(b.id).await?.expect("exists");
    assert_eq!(
        (delivered.state, delivered.last_status),
        (DeliveryState::Delivered, Some(204))
    );
    ensure!(delivered.delivered_at_ms.is_some());
    Ok(())
}

pub async fn concurrent_claimers_take_each_delivery_once(db: &crate::TestDb) -> anyhow::Result<()> {
    let store = db.open().await?;
    // One webhook per event, so that every delivery is claimable at once.
    for n in 0..40 {
        store
            .create_webhook(&webhook(&format!("hook{n}"), &[], Some(&format!("t{n}"))))
            .await?;
        store
            .emit_event(&event(n, "image.pushed", Some(&format!("t{n}"))))
            .await?;
    }
    let mut tasks = Vec::new();
    for worker in 0..6 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut claimed = Vec::new();
            while let Some(d) = store.claim_delivery(&format!("w{worker}"), LEASE).await? {
                store
                    .finish_delivery(&d, &DeliveryOutcome::Delivered { status: 200 })
                    .await?;
                claimed.push(d.id);
            }
            anyhow::Ok(claimed)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    let unique: BTreeSet<_> = all.iter().collect();
    assert_eq!((all.len(), unique.len()), (40, 40));
    assert_eq!(
        store
            .deliveries(Some(DeliveryState::Delivered), 100)
            .await?
            .len(),
        40
    );
    Ok(())
}
