//! The happy paths of the token flow, and skopeo as a real client.

use std::process::Command;

use anyhow::ensure;
use portcullis_types::Role;

use crate::{PASSWORD, basic, granted, grants, start, token_path};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn challenges_name_realm_service_and_scope() -> anyhow::Result<()> {
    let server = start(|_| {}).await?;
    let reply = server
        .get("/protected/pull,push/unscanned/a/app", None)
        .await?;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.challenge.as_deref(),
        Some(
            format!(
                "Bearer realm=\"{}/token\",service=\"portcullis\",scope=\"repository:unscanned/a/app:pull,push\"",
                server.base
            )
            .as_str()
        )
    );
    let reply = server.get("/v2/", None).await?;
    assert_eq!(reply.status, 401);
    assert_eq!(
        reply.challenge,
        Some(format!(
            "Bearer realm=\"{}/token\",service=\"portcullis\"",
            server.base
        ))
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_grant_exactly_what_each_role_may() -> anyhow::Result<()> {
    let server = start(|_| {}).await?;
    server.team("a").await?;
    server.team("b").await?;
    server.user("dev", Role::Developer, &["a"]).await?;
    server.user("sec", Role::Security, &["a"]).await?;
    server.user("reader", Role::Reader, &[]).await?;
    server.user("admin", Role::Admin, &[]).await?;
    let scopes = [
        "repository:unscanned/a/app:pull,push,delete",
        "repository:unscanned/b/app:pull,push",
        // Two scopes in one parameter, space-separated (encoded as `+`).
        "repository:scanned/a/app:pull,push+repository:scanned/b/app:pull",
        "repository:library/alpine:pull",
    ];
    let all: &[&str] = &["pull", "push", "delete"];
    let pull: &[&str] = &["pull"];
    let push: &[&str] = &["pull", "push"];
    let expected = [
        (
            "dev",
            grants(&[("scanned/a/app", pull), ("unscanned/a/app", all)]),
        ),
        (
            "sec",
            grants(&[
                ("library/alpine", pull),
                ("scanned/a/app", pull),
                ("scanned/b/app", pull),
                ("unscanned/a/app", pull),
                ("unscanned/b/app", pull),
            ]),
        ),
        (
            "reader",
            grants(&[
                ("library/alpine", pull),
                ("scanned/a/app", pull),
                ("scanned/b/app", pull),
                ("unscanned/a/app", pull),
                ("unscanned/b/app", pull),
            ]),
        ),
        (
            "admin",
            grants(&[
                ("library/alpine", pull),
                ("scanned/a/app", pull),
                ("scanned/b/app", pull),
                ("unscanned/a/app", all),
                ("unscanned/b/app", push),
            ]),
        ),
    ];
    for (user, expected) in expected {
        let reply = server
            .get(&token_path(&scopes), Some(basic(user, PASSWORD)))
            .await?;
        assert_eq!(reply.status, 200, "{user}: {}", reply.body);
        let body = reply.json()?;
        let token = body["token"].as_str().unwrap_or_default();
        assert_eq!(body["access_token"].as_str(), Some(token));
        assert_eq!(body["expires_in"].as_u64(), Some(300));
        let issued_at = body["issued_at"].as_str().unwrap_or_default();
        ensure!(
            issued_at.len() == 20 && issued_at.ends_with('Z') && issued_at.contains('T'),
            "issued_at is not RFC 3339: {issued_at}"
        );
        assert_eq!(granted(token)?, expected, "{user}");
    }

    // Asking for nothing allowed still yields a token, granting nothing.
    let token = server
        .token("dev", &["repository:unscanned/b/app:push"])
        .await?;
    assert!(granted(&token)?.is_empty());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_tokens_cover_their_scopes_then_widen_or_are_denied() -> anyhow::Result<()> {
    let server = start(|_| {}).await?;
    server.team("a").await?;
    server.user("alice", Role::Developer, &["a"]).await?;

    let token = server
        .token("alice", &["repository:unscanned/a/app:pull"])
        .await?;
    let bearer = Some(format!("Bearer {token}"));
    let reply = server
        .get("/protected/pull/unscanned/a/app", bearer.clone())
        .await?;
    assert_eq!((reply.status, reply.body.as_str()), (200, "alice"));
    assert_eq!(server.get("/v2/", bearer.clone()).await?.status, 200);

    // Allowed by the role but not in the token: ask for a wider token.
    let reply = server
        .get("/protected/pull,push/unscanned/a/app", bearer.clone())
        .await?;
    assert_eq!(reply.status, 401);
    let challenge = reply.challenge.unwrap_or_default();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(
        challenge.contains("scope=\"repository:unscanned/a/app:pull,push\""),
        "{challenge}"
    );

    // Not allowed by the role: denied, saying who, what and why.
    let reply = server
        .get("/protected/push/unscanned/b/app", bearer.clone())
        .await?;
    assert_eq!(reply.status, 403);
    assert_eq!(
        reply.body,
        "alice (developer of team a) may not push to unscanned/b/app: developers push only to \
         unscanned/<their team>/… (ask an admin to add you to the team)"
    );
    let reply = server.get("/protected/push/scanned/a/app", bearer).await?;
    assert_eq!(reply.status, 403);
    assert!(
        reply.body.contains("nobody writes to scanned/"),
        "{}",
        reply.body
    );

    // The wider token works.
    let token = server
        .token("alice", &["repository:unscanned/a/app:pull,push"])
        .await?;
    let reply = server
        .get(
            "/protected/pull,push/unscanned/a/app",
            Some(format!("Bearer {token}")),
        )
        .await?;
    assert_eq!(reply.status, 200, "{}", reply.body);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passwords_and_api_tokens_work_directly_and_at_the_token_endpoint() -> anyhow::Result<()> {
    let server = start(|_| {}).await?;
    server.team("a").await?;
    server.user("alice", Role::Developer, &["a"]).await?;
    let secret = server.api_token("ci-a", Role::Developer, &["a"]).await?;

    let path = "/protected/push/unscanned/a/app";
    let reply = server.get(path, Some(basic("alice", PASSWORD))).await?;
    assert_eq!((reply.status, reply.body.as_str()), (200, "alice"));
    let reply = server.get(path, Some(format!("Bearer {secret}"))).await?;
    assert_eq!((reply.status, reply.body.as_str()), (200, "ci-a"));
    let reply = server.get(path, Some(basic("whatever", &secret))).await?;
    assert_eq!((reply.status, reply.body.as_str()), (200, "ci-a"));
    let reply = server
        .get("/protected/push/unscanned/b/app", Some(basic("x", &secret)))
        .await?;
    assert_eq!(reply.status, 403);
    assert!(
        reply
            .body
            .starts_with("ci-a (developer of team a) may not push"),
        "{}",
        reply.body
    );

    // The API token as the password at the token endpoint.
    let reply = server
        .get(
            &token_path(&["repository:unscanned/a/app:push"]),
            Some(basic("ci", &secret)),
        )
        .await?;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let token = reply.json()?["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(granted(&token)?, grants(&[("unscanned/a/app", &["push"])]));

    // The JSON API's authenticate accepts passwords and API tokens, never the registry
    // token (which grants only its registry scopes).
    for header in [basic("alice", PASSWORD), format!("Bearer {secret}")] {
        let principal = server.auth.authenticate(Some(&header)).await?;
        assert!(["alice", "ci-a"].contains(&principal.name.as_str()));
    }
    assert!(
        server
            .auth
            .authenticate(Some(&format!("Bearer {token}")))
            .await
            .is_err()
    );

    // POST /token with grant_type=password, as containerd sends it.
    let reply = server
        .post_form(
            "/token",
            vec![
                ("grant_type", "password".to_owned()),
                ("service", "portcullis".to_owned()),
                ("client_id", "containerd".to_owned()),
                ("username", "alice".to_owned()),
                ("password", PASSWORD.to_owned()),
                (
                    "scope",
                    "repository:unscanned/a/app:pull,push repository:scanned/a/app:pull".to_owned(),
                ),
            ],
        )
        .await?;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let token = reply.json()?["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(
        granted(&token)?,
        grants(&[
            ("scanned/a/app", &["pull"]),
            ("unscanned/a/app", &["pull", "push"])
        ])
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_pulls_only_when_configured_and_only_scanned() -> anyhow::Result<()> {
    let closed = start(|_| {}).await?;
    let reply = closed
        .get(&token_path(&["repository:scanned/a/app:pull"]), None)
        .await?;
    assert_eq!(reply.status, 401);

    let open = start(|config| config.allow_anonymous_pull = true).await?;
    let reply = open
        .get(
            &token_path(&[
                "repository:scanned/a/app:pull",
                "repository:unscanned/a/app:pull,push",
            ]),
            None,
        )
        .await?;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let token = reply.json()?["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(granted(&token)?, grants(&[("scanned/a/app", &["pull"])]));
    let bearer = Some(format!("Bearer {token}"));
    assert_eq!(
        open.get("/protected/pull/scanned/a/app", bearer.clone())
            .await?
            .status,
        200
    );
    // Anonymous callers are asked to sign in rather than denied.
    let reply = open
        .get("/protected/pull/unscanned/a/app", bearer.clone())
        .await?;
    assert_eq!(reply.status, 401);
    assert!(open.auth.authenticate(bearer.as_deref()).await.is_err());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skopeo_login_follows_the_bearer_challenge() -> anyhow::Result<()> {
    let server = start(|_| {}).await?;
    server.team("a").await?;
    server.user("alice", Role::Developer, &["a"]).await?;
    let dir = tempfile::tempdir()?;
    let authfile = dir.path().join("auth.json");
    let host = server.base.trim_start_matches("http://").to_owned();
    let login = |password: &str| {
        let (host, authfile, password) = (host.clone(), authfile.clone(), password.to_owned());
        tokio::task::spawn_blocking(move || {
            Command::new("skopeo")
                .args(["login", "--tls-verify=false", "--authfile"])
                .arg(&authfile)
                .args(["-u", "alice", "-p", &password, &host])
                .output()
        })
    };
    let output = login(PASSWORD).await??;
    ensure!(
        output.status.success(),
        "skopeo login failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("Login Succeeded"));
    let output = login("wrong password entirely").await??;
    assert!(!output.status.success(), "a wrong password logged in");
    Ok(())
}
