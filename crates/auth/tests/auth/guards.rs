//! The refusals: expired and tampered tokens, wrong passwords, guessing, bootstrap rules.

use std::time::Duration;

use anyhow::{Context, ensure};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_auth::AuthError;
use portcullis_types::Role;
use serde_json::Value;

use crate::{PASSWORD, basic, granted, grants, start, token_path};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_registry_tokens_are_refused() -> anyhow::Result<()> {
    let server = start(|config| {
        config.token_lifetime = Duration::from_secs(1);
        config.clock_leeway = Duration::ZERO;
    })
    .await?;
    server.user("reader", Role::Reader, &[]).await?;
    let token = server
        .token("reader", &["repository:scanned/a/app:pull"])
        .await?;
    let bearer = Some(format!("Bearer {token}"));
    assert_eq!(
        server
            .get("/protected/pull/scanned/a/app", bearer.clone())
            .await?
            .status,
        200
    );
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let reply = server.get("/protected/pull/scanned/a/app", bearer).await?;
    assert_eq!(reply.status, 401);
    let challenge = reply.challenge.unwrap_or_default();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(challenge.contains("expired"), "{challenge}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_registry_tokens_are_refused_without_echoing_them() -> anyhow::Result<()> {
    let server = start(|_| {}).await?;
    server.team("a").await?;
    server.user("alice", Role::Developer, &["a"]).await?;
    let token = server
        .token("alice", &["repository:unscanned/a/app:pull"])
        .await?;

    // Rewrite the claims to grant push on another team's repository and become admin,
    // keeping the original signature.
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1])?)?;
    claims["access"][0]["name"] = "unscanned/b/app".into();
    claims["access"][0]["actions"] = serde_json::json!(["pull", "push"]);
    claims["role"] = "admin".into();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims)?),
        parts[2]
    );
    for (path, bad) in [
        ("/protected/push/unscanned/b/app", forged.clone()),
        ("/protected/pull/unscanned/a/app", format!("{token}x")),
    ] {
        let reply = server.get(path, Some(format!("Bearer {bad}"))).await?;
        assert_eq!(reply.status, 401, "{path}");
        let challenge = reply.challenge.unwrap_or_default();
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
        assert!(!challenge.contains(&bad) && !reply.body.contains(&bad));
    }

    // A wrong API token: refused, and no message repeats it.
    let wrong = "pct_thisisnotarealtokenbutlookslikeonexxxxxxxx";
    let reply = server
        .get(
            "/protected/pull/scanned/a/app",
            Some(format!("Bearer {wrong}")),
        )
        .await?;
    assert_eq!(reply.status, 401);
    assert!(!reply.body.contains(wrong) && !reply.challenge.unwrap_or_default().contains(wrong));
    let error = server
        .auth
        .authenticate(Some(&format!("Bearer {wrong}")))
        .await
        .err()
        .context("a wrong token authenticated")?;
    assert!(!format!("{error} {error:?}").contains(wrong));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_do_not_reveal_whether_the_user_exists() -> anyhow::Result<()> {
    let server = start(|_| {}).await?;
    server.user("alice", Role::Reader, &[]).await?;
    let path = token_path(&["repository:scanned/a/app:pull"]);
    let wrong_password = server
        .get(&path, Some(basic("alice", "not the password")))
        .await?;
    let no_such_user = server
        .get(&path, Some(basic("mallory", "not the password")))
        .await?;
    assert_eq!(wrong_password.status, 401);
    assert_eq!(
        (no_such_user.status, &no_such_user.body),
        (wrong_password.status, &wrong_password.body)
    );
    let error: Value = wrong_password.json()?;
    assert_eq!(error["errors"][0]["code"], "UNAUTHORIZED");
    assert_eq!(
        error["errors"][0]["message"],
        "invalid user name, password or token"
    );
    assert!(!wrong_password.body.contains("not the password"));
    let none = server.get(&path, None).await?;
    assert_eq!(none.status, 401);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_sign_ins_are_limited_per_user_and_source() -> anyhow::Result<()> {
    let server = start(|config| config.login_attempts_per_minute = 3).await?;
    server.user("alice", Role::Reader, &[]).await?;
    server.user("bob", Role::Reader, &[]).await?;
    let path = token_path(&["repository:scanned/a/app:pull"]);
    for attempt in 0..3 {
        let reply = server.get(&path, Some(basic("alice", "guess"))).await?;
        assert_eq!(reply.status, 401, "attempt {attempt}");
    }
    // Now even the right password is refused without being checked.
    let reply = server.get(&path, Some(basic("alice", PASSWORD))).await?;
    assert_eq!(reply.status, 429, "{}", reply.body);
    let retry: u64 = reply.retry_after.context("Retry-After")?.parse()?;
    ensure!((1..=60).contains(&retry), "Retry-After {retry}");
    assert!(
        reply.body.contains("too many failed sign-ins"),
        "{}",
        reply.body
    );
    // The same source guessing another name is limited too.
    let reply = server.get(&path, Some(basic("bob", PASSWORD))).await?;
    assert_eq!(reply.status, 429);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_creates_one_admin_token_and_honours_the_env_token() -> anyhow::Result<()> {
    let server = start(|_| {}).await?;
    let secret = server
        .auth
        .bootstrap(None)
        .await?
        .context("no bootstrap token")?;
    assert!(secret.starts_with("pct_"));
    assert_eq!(
        server.auth.bootstrap(None).await?,
        None,
        "bootstrapped twice"
    );
    let reply = server
        .get(
            &token_path(&["repository:unscanned/x/y:push"]),
            Some(basic("admin", &secret)),
        )
        .await?;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let token = reply.json()?["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(granted(&token)?, grants(&[("unscanned/x/y", &["push"])]));
    let listed = server.auth.list_tokens(false).await?;
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0].name.as_str(), listed[0].role),
        ("bootstrap-admin", Role::Admin)
    );

    // A given token is stored once, whether or not an admin exists, and works.
    let env = format!("pct_{}", "e".repeat(40));
    assert_eq!(server.auth.bootstrap(Some(&env)).await?, None);
    assert_eq!(server.auth.bootstrap(Some(&env)).await?, None);
    let principal = server
        .auth
        .authenticate(Some(&format!("Bearer {env}")))
        .await?;
    assert_eq!(
        (principal.name.as_str(), principal.role),
        ("bootstrap-admin", Role::Admin)
    );
    // It replaced the earlier `bootstrap-admin`, so rotating the variable rotates the token.
    assert_eq!(server.auth.list_tokens(false).await?.len(), 1);
    assert!(
        server
            .auth
            .authenticate(Some(&basic("admin", &secret)))
            .await
            .is_err()
    );

    // On a fresh server, the env token is the first admin.
    let fresh = start(|_| {}).await?;
    assert_eq!(fresh.auth.bootstrap(Some(&env)).await?, None);
    assert_eq!(
        fresh.auth.bootstrap(None).await?,
        None,
        "admin exists already"
    );
    let reply = fresh
        .get("/protected/push/unscanned/x/y", Some(basic("ops", &env)))
        .await?;
    assert_eq!(reply.status, 200, "{}", reply.body);

    // Too short: refused, saying why but not echoing it.
    let short = "pct_tooshort";
    let error = fresh
        .auth
        .bootstrap(Some(short))
        .await
        .err()
        .context("accepted")?;
    assert!(
        matches!(error, AuthError::WeakBootstrapToken { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("PORTCULLIS_BOOTSTRAP_TOKEN") && !message.contains(short),
        "{message}"
    );
    Ok(())
}
