//! The sign-in limits on every path, as an attacker sprays them: Basic credentials on the
//! registry (`/v2/`, `/protected/…`), the JSON API (`/api/whoami`) and `/token`, and
//! guessed `Bearer` tokens, all from one address; and a CI token that must keep working.

use std::net::IpAddr;
use std::time::Duration;

use anyhow::Context;
use portcullis_auth::with_source;
use portcullis_types::{AccessError, Role};

use crate::{PASSWORD, Reply, Server, basic, start, token_path};

const LIMIT: u32 = 3;

async fn setup() -> anyhow::Result<Server> {
    let server = start(|config| config.login_attempts_per_minute = LIMIT).await?;
    server.team("a").await?;
    Ok(server)
}

fn assert_limited(reply: &Reply, what: &str) -> anyhow::Result<()> {
    assert_eq!(reply.status, 429, "{what}: {}", reply.body);
    let retry: u64 = reply
        .retry_after
        .as_deref()
        .context("no Retry-After")?
        .parse()?;
    assert!((1..=60).contains(&retry), "{what}: Retry-After {retry}");
    let body = reply.json()?;
    assert_eq!(body["errors"][0]["code"], "TOOMANYREQUESTS", "{what}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("too many failed sign-ins")),
        "{what}: {}",
        reply.body
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spraying_user_names_is_limited_per_source_on_every_path() -> anyhow::Result<()> {
    let server = setup().await?;
    server.user("alice", Role::Developer, &["a"]).await?;
    let mut statuses = Vec::new();
    for i in 0..10 {
        let reply = server
            .get("/v2/", Some(basic(&format!("user{i}"), "Winter2024!")))
            .await?;
        if reply.status == 429 {
            assert_limited(&reply, "/v2/")?;
        }
        statuses.push(reply.status);
    }
    assert_eq!(
        statuses,
        [401, 401, 401, 429, 429, 429, 429, 429, 429, 429],
        "one guess per name on /v2/"
    );

    // The source is limited on every path, even with a real user's right password.
    for (path, authorization) in [
        ("/api/whoami", basic("fresh1", "guess")),
        ("/protected/pull/unscanned/a/app", basic("fresh2", "guess")),
        ("/api/whoami", basic("alice", PASSWORD)),
        (&token_path(&[]), basic("alice", PASSWORD)),
        ("/api/whoami", format!("Bearer pct_{}", "x".repeat(43))),
    ] {
        let reply = server.get(path, Some(authorization)).await?;
        assert_limited(&reply, path)?;
    }
    // Requests without credentials are not sign-ins: they get the usual challenge.
    assert_eq!(server.get("/v2/", None).await?.status, 401);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spraying_the_api_alone_is_limited() -> anyhow::Result<()> {
    let server = setup().await?;
    let mut statuses = Vec::new();
    for i in 0..6 {
        let reply = server
            .get("/api/whoami", Some(basic(&format!("user{i}"), "guess")))
            .await?;
        statuses.push(reply.status);
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429, 429]);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessed_bearer_tokens_count_against_the_source() -> anyhow::Result<()> {
    let server = setup().await?;
    let mut statuses = Vec::new();
    for i in 0..5 {
        let guess = format!("Bearer pct_{i:0>43}");
        statuses.push(server.get("/api/whoami", Some(guess.clone())).await?.status);
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
    let reply = server
        .get(
            "/protected/pull/scanned/a/app",
            Some("Bearer pct_guess".to_owned()),
        )
        .await?;
    assert_limited(&reply, "the registry")?;
    Ok(())
}

/// A CI pipeline signs in as `ci:<API token>`; an attacker sprays `ci` with passwords and
/// forged tokens from the pipeline's own address until both are limited. The pipeline
/// must not notice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_api_token_is_never_limited() -> anyhow::Result<()> {
    let server = setup().await?;
    let ci = server.api_token("ci-a", Role::Developer, &["a"]).await?;
    for i in 0..3 * LIMIT {
        for secret in [format!("guess{i}"), format!("pct_{i:0>43}")] {
            let reply = server.get("/v2/", Some(basic("ci", &secret))).await?;
            assert!(matches!(reply.status, 401 | 429), "{}", reply.body);
        }
    }
    let reply = server.get("/v2/", Some(basic("ci", "one more"))).await?;
    assert_limited(&reply, "the sprayer")?;

    for (path, authorization) in [
        ("/v2/", basic("ci", &ci)),
        ("/protected/pull,push/unscanned/a/app", basic("ci", &ci)),
        (
            "/protected/pull,push/unscanned/a/app",
            format!("Bearer {ci}"),
        ),
        ("/api/whoami", basic("ci", &ci)),
        ("/api/whoami", format!("Bearer {ci}")),
        (
            &token_path(&["repository:unscanned/a/app:pull,push"]),
            basic("ci", &ci),
        ),
    ] {
        let reply = server.get(path, Some(authorization)).await?;
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    }
    Ok(())
}

async fn authenticate(
    server: &Server,
    from: [u8; 4],
    user: &str,
    secret: &str,
) -> (Result<String, AccessError>, Option<Duration>) {
    let header = basic(user, secret);
    let (result, limited) = with_source(
        Some(IpAddr::from(from)),
        server.auth.authenticate(Some(&header)),
    )
    .await;
    (result.map(|p| p.name), limited)
}

/// The per-user limit locks out password sign-ins of that name only, from any address;
/// the per-source limit, everything but valid API tokens from that address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_limits_bind_passwords_of_that_user_and_source_limits_that_source()
-> anyhow::Result<()> {
    let server = setup().await?;
    server.user("alice", Role::Developer, &["a"]).await?;
    server.user("bob", Role::Developer, &["a"]).await?;
    let ci = server.api_token("ci-a", Role::Developer, &["a"]).await?;
    // Guesses for alice from several addresses: the per-user limit.
    for from in [[10, 0, 0, 1], [10, 0, 0, 2], [10, 0, 0, 3]] {
        let (result, limited) = authenticate(&server, from, "alice", "guess").await;
        assert!(matches!(result, Err(AccessError::Unauthenticated { .. })));
        assert_eq!(limited, None);
    }
    let (result, limited) = authenticate(&server, [10, 0, 0, 9], "alice", PASSWORD).await;
    assert!(
        matches!(result, Err(AccessError::Denied { .. })),
        "{result:?}"
    );
    assert!(limited.is_some_and(|w| w > Duration::ZERO));
    // Others from a fresh address, and a token under alice's name, are fine.
    let (result, limited) = authenticate(&server, [10, 0, 0, 9], "bob", PASSWORD).await;
    assert_eq!((result?, limited), ("bob".to_owned(), None));
    let (result, limited) = authenticate(&server, [10, 0, 0, 9], "alice", &ci).await;
    assert_eq!((result?, limited), ("ci-a".to_owned(), None));

    // Guesses for many names from one address: the per-source limit.
    for user in ["u1", "u2", "u3"] {
        let (result, limited) = authenticate(&server, [10, 0, 1, 1], user, "guess").await;
        assert!(result.is_err() && limited.is_none(), "{user}: {result:?}");
    }
    let (result, limited) = authenticate(&server, [10, 0, 1, 1], "bob", PASSWORD).await;
    assert!(result.is_err() && limited.is_some());
    let (result, limited) = authenticate(&server, [10, 0, 1, 2], "bob", PASSWORD).await;
    assert_eq!((result?, limited), ("bob".to_owned(), None));
    let (result, limited) = authenticate(&server, [10, 0, 1, 1], "u1", &ci).await;
    assert_eq!((result?, limited), ("ci-a".to_owned(), None));
    Ok(())
}
