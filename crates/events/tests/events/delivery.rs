//! What a webhook receiver notices: signed structured CloudEvents, retries until it is
//! back, one copy per event even with two workers, failures that stay visible, filters,
//! and nothing for rolled-back changes.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn receivers_get_signed_structured_cloudevents() -> anyhow::Result<()> {
    let fx = fixture().await?;
    let receiver = Receiver::start(200).await?;
    subscribe(&fx.store, "ci", &receiver.url, &[], None).await?;
    let id = emit_committed(&fx.store, pushed(1, "a")).await?;
    let deliveries = run_until(
        &fx.store,
        vec![fast_config("w", 3)],
        all_in(DeliveryState::Delivered),
    )
    .await?;

    let received = receiver.received();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    let json: serde_json::Value = serde_json::from_slice(&request.body)?;
    assert_eq!(json["specversion"], "1.0");
    assert_eq!(json["id"], id.as_str());
    assert_eq!(json["type"], "dev.portcullis.image.pushed");
    assert_eq!(
        json["source"],
        "http://portcullis.example.invalid/v2/unscanned/a/app"
    );
    assert_eq!(json["subject"], "unscanned/a/app:v1");
    assert_eq!(json["datacontenttype"], "application/json");
    assert_eq!(json["data"], serde_json::json!({"tag": "v1", "n": 1}));
    let time = json["time"].as_str().context("time")?;
    time::OffsetDateTime::parse(time, &time::format_description::well_known::Rfc3339)?;
    uuid::Uuid::parse_str(&id)?;

    let header = |name: &str| request.headers.get(name).cloned().unwrap_or_default();
    assert_eq!(header("content-type"), "application/cloudevents+json");
    assert_eq!(
        header("user-agent"),
        format!("portcullis/{}", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(
        header("x-portcullis-delivery"),
        deliveries[0].id.to_string()
    );
    let signature = header("x-portcullis-signature");
    ensure!(
        signature.starts_with("t=") && signature.contains(",v1="),
        "{signature}"
    );
    // The same request fails with another secret or a changed body.
    let now = SystemTime::now();
    let tolerance = Duration::from_secs(300);
    assert_eq!(
        verify_signature(
            b"not-the-secret-at-all",
            &signature,
            &request.body,
            now,
            tolerance
        ),
        Err(SignatureError::Mismatch)
    );
    let mut changed = request.body.clone();
    changed.push(b' ');
    assert_eq!(
        verify_signature(SECRET.as_bytes(), &signature, &changed, now, tolerance),
        Err(SignatureError::Mismatch)
    );
    ensure!(receiver.rejected.lock().expect("lock").is_empty());
    assert_eq!(
        (deliveries[0].attempts, deliveries[0].last_status),
        (1, Some(200))
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_receiver_that_comes_back_gets_every_event_once_in_order() -> anyhow::Result<()> {
    let fx = fixture().await?;
    let receiver = Receiver::start(503).await?;
    let other = Receiver::start(200).await?;
    subscribe(&fx.store, "down", &receiver.url, &[], None).await?;
    subscribe(&fx.store, "up", &other.url, &[], None).await?;
    for n in 1..=5 {
        emit_committed(&fx.store, pushed(n, "a")).await?;
    }
    // Two workers share the outbox while the receiver answers 503 for a while.
    let flip = {
        let receiver = receiver.clone();
        tokio::spawn(async move {
            while receiver.requests() < 3 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            receiver.set_status(200);
        })
    };
    let workers = vec![fast_config("w1", 50), fast_config("w2", 50)];
    let deliveries = run_until(&fx.store, workers, all_in(DeliveryState::Delivered)).await?;
    flip.await?;

    let expected: Vec<String> = (1..=5).map(|n| format!("unscanned/a/app:v{n}")).collect();
    assert_eq!(
        receiver.subjects(),
        expected,
        "in emission order, once each"
    );
    assert_eq!(other.subjects(), expected);
    let retried = deliveries
        .iter()
        .filter(|d| d.webhook_name == "down")
        .map(|d| d.attempts)
        .max();
    ensure!(
        retried >= Some(2),
        "the first event needed retries: {deliveries:#?}"
    );
    ensure!(receiver.rejected.lock().expect("lock").is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_deliver_each_event_exactly_once() -> anyhow::Result<()> {
    let fx = fixture().await?;
    let first = Receiver::start(200).await?;
    let second = Receiver::start(200).await?;
    subscribe(&fx.store, "first", &first.url, &[], None).await?;
    subscribe(&fx.store, "second", &second.url, &[], None).await?;
    for n in 1..=20 {
        emit_committed(&fx.store, pushed(n, "a")).await?;
    }
    let workers = vec![fast_config("w1", 3), fast_config("w2", 3)];
    run_until(&fx.store, workers, |d| {
        d.len() == 40 && all_in(DeliveryState::Delivered)(d)
    })
    .await?;
    let expected: Vec<String> = (1..=20).map(|n| format!("unscanned/a/app:v{n}")).collect();
    assert_eq!(first.subjects(), expected);
    assert_eq!(second.subjects(), expected);
    assert_eq!((first.requests(), second.requests()), (20, 20));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_receiver_that_stays_down_ends_failed_with_its_last_status() -> anyhow::Result<()> {
    let fx = fixture().await?;
    let unavailable = Receiver::start(503).await?;
    let redirecting = Receiver::start(302).await?;
    // A port bound to nothing: connections are refused.
    let refused_port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    subscribe(&fx.store, "503", &unavailable.url, &[], None).await?;
    subscribe(&fx.store, "302", &redirecting.url, &[], None).await?;
    let refused_url = format!("http://127.0.0.1:{refused_port}/hook");
    subscribe(&fx.store, "refused", &refused_url, &[], None).await?;
    emit_committed(&fx.store, pushed(1, "a")).await?;

    let deliveries = run_until(&fx.store, vec![fast_config("w", 3)], |d| {
        d.len() == 3 && all_in(DeliveryState::Failed)(d)
    })
    .await?;
    let by_name = |name: &str| deliveries.iter().find(|d| d.webhook_name == name).cloned();
    let failed = by_name("503").context("503")?;
    assert_eq!((failed.attempts, failed.last_status), (3, Some(503)));
    assert_eq!(failed.last_error.as_deref(), Some("HTTP 503"));
    assert_eq!(unavailable.requests(), 3);
    // Redirects are not followed: the 302 points back at the same receiver, which would
    // otherwise count more requests than attempts.
    let redirect = by_name("302").context("302")?;
    assert_eq!((redirect.attempts, redirect.last_status), (3, Some(302)));
    assert_eq!(redirecting.requests(), 3);
    let refused = by_name("refused").context("refused")?;
    assert_eq!((refused.attempts, refused.last_status), (3, None));
    let error = refused.last_error.unwrap_or_default();
    ensure!(error.starts_with("request failed"), "{error}");
    ensure!(!error.contains(SECRET), "{error}");
    assert_eq!(
        fx.store
            .deliveries(Some(DeliveryState::Failed), 10)
            .await?
            .len(),
        3
    );

    // Re-delivering a failed one once the receiver is back delivers it.
    unavailable.set_status(200);
    assert!(fx.store.redeliver(failed.id).await?);
    run_until(&fx.store, vec![fast_config("w", 3)], |d| {
        d.iter()
            .any(|d| d.id == failed.id && d.state == DeliveryState::Delivered)
    })
    .await?;
    assert_eq!(
        unavailable.subjects(),
        vec!["unscanned/a/app:v1".to_owned()]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn webhook_filters_select_event_types_and_teams() -> anyhow::Result<()> {
    let fx = fixture().await?;
    let everything = Receiver::start(200).await?;
    let promotions = Receiver::start(200).await?;
    let team_b = Receiver::start(200).await?;
    subscribe(&fx.store, "all", &everything.url, &[], None).await?;
    subscribe(
        &fx.store,
        "promotions",
        &promotions.url,
        &[EventType::ImagePromoted, EventType::ImageRejected],
        None,
    )
    .await?;
    subscribe(&fx.store, "team-b", &team_b.url, &[], Some("b")).await?;

    emit_committed(&fx.store, pushed(1, "a")).await?;
    emit_committed(
        &fx.store,
        Event {
            event_type: EventType::ImagePromoted,
            ..pushed(2, "a")
        },
    )
    .await?;
    emit_committed(&fx.store, pushed(3, "b")).await?;
    emit_committed(
        &fx.store,
        Event {
            event_type: EventType::ScanFailed,
            ..pushed(4, "b")
        },
    )
    .await?;
    run_until(&fx.store, vec![fast_config("w", 3)], |d| {
        d.len() == 7 && all_in(DeliveryState::Delivered)(d)
    })
    .await?;

    assert_eq!(everything.subjects().len(), 4);
    assert_eq!(promotions.subjects(), vec!["unscanned/a/app:v2".to_owned()]);
    assert_eq!(
        promotions.received()[0].event.event_type,
        "dev.portcullis.image.promoted"
    );
    assert_eq!(
        team_b.subjects(),
        vec![
            "unscanned/b/app:v3".to_owned(),
            "unscanned/b/app:v4".to_owned()
        ]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn events_of_rolled_back_changes_are_never_delivered() -> anyhow::Result<()> {
    let fx = fixture().await?;
    let receiver = Receiver::start(200).await?;
    subscribe(&fx.store, "ci", &receiver.url, &[], None).await?;
    let mut tx = fx.store.begin().await?;
    emit(&mut tx, pushed(1, "a")).await?;
    tx.rollback().await?;
    emit_committed(&fx.store, pushed(2, "a")).await?;
    run_until(
        &fx.store,
        vec![fast_config("w", 3)],
        all_in(DeliveryState::Delivered),
    )
    .await?;
    // Give a stray delivery time to arrive, were there one.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.subjects(), vec!["unscanned/a/app:v2".to_owned()]);
    assert_eq!(receiver.requests(), 1);
    Ok(())
}
