//! Registry tokens (the JWTs of `/token`) as an attacker holding one would use them: as an
//! API credential, and after what they were issued from was revoked or changed.

use std::collections::BTreeSet;

use anyhow::Context;
use portcullis_types::{AccessError, Role};

use crate::{PASSWORD, Server, basic, start};

const PULL: &str = "/protected/pull/unscanned/a/app";

async fn setup() -> anyhow::Result<Server> {
    let server = start(|_| {}).await?;
    server.team("a").await?;
    Ok(server)
}

/// Asserts that `token` is refused by the registry as no longer valid.
async fn assert_refused(server: &Server, token: &str, what: &str) -> anyhow::Result<()> {
    for path in [PULL, "/v2/"] {
        let reply = server.get(path, Some(format!("Bearer {token}"))).await?;
        assert_eq!(reply.status, 401, "{what}: {path}: {}", reply.body);
        let challenge = reply.challenge.unwrap_or_default();
        assert!(
            challenge.contains("error=\"invalid_token\"")
                && challenge.contains("revoked or changed"),
            "{what}: {challenge}"
        );
    }
    Ok(())
}

async fn assert_accepted(server: &Server, token: &str, what: &str) -> anyhow::Result<()> {
    let reply = server.get(PULL, Some(format!("Bearer {token}"))).await?;
    assert_eq!(reply.status, 200, "{what}: {}", reply.body);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registry_tokens_are_not_api_credentials() -> anyhow::Result<()> {
    let server = setup().await?;
    server.user("sec", Role::Security, &[]).await?;
    server.user("dev", Role::Developer, &["a"]).await?;
    let admin = server.api_token("root", Role::Admin, &[]).await?;
    let tokens = [
        server.token("sec", &[]).await?,
        server
            .token("dev", &["repository:unscanned/a/app:pull,push"])
            .await?,
        {
            let reply = server
                .get("/token?service=portcullis", Some(basic("x", &admin)))
                .await?;
            reply.json()?["token"]
                .as_str()
                .context("admin's registry token")?
                .to_owned()
        },
    ];
    for token in &tokens {
        let error = server
            .auth
            .authenticate(Some(&format!("Bearer {token}")))
            .await
            .err()
            .context("the API accepted a registry token")?;
        let AccessError::Unauthenticated { challenge } = error else {
            anyhow::bail!("not a 401: {error:?}");
        };
        assert!(
            challenge.contains("use an API token") && !challenge.contains(token.as_str()),
            "{challenge}"
        );
        assert!(portcullis_auth::is_registry_token(Some(&format!(
            "Bearer {token}"
        ))));
        // The registry still takes it for what it grants.
        let reply = server.get("/v2/", Some(format!("Bearer {token}"))).await?;
        assert_eq!(reply.status, 200, "{}", reply.body);
    }
    // Nor as a Basic password.
    assert!(
        server
            .auth
            .authenticate(Some(&basic("sec", &tokens[0])))
            .await
            .is_err()
    );
    assert!(!portcullis_auth::is_registry_token(Some(&format!(
        "Bearer {admin}"
    ))));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_an_api_token_ends_the_registry_tokens_issued_from_it() -> anyhow::Result<()> {
    let server = setup().await?;
    let ci = server.api_token("ci", Role::Developer, &["a"]).await?;
    let other = server.api_token("other", Role::Developer, &["a"]).await?;
    let issue = |secret: String| {
        let server = &server;
        async move {
            let reply = server
                .get(
                    "/token?service=portcullis&scope=repository:unscanned/a/app:pull",
                    Some(basic("ci", &secret)),
                )
                .await?;
            anyhow::Ok(reply.json()?["token"].as_str().context("token")?.to_owned())
        }
    };
    let from_ci = issue(ci.clone()).await?;
    let from_other = issue(other.clone()).await?;
    assert_accepted(&server, &from_ci, "before the revocation").await?;

    let mut tx = server.auth.store().begin().await?;
    server.auth.revoke_token(&mut tx, "ci").await?;
    tx.commit().await?;
    assert_refused(&server, &from_ci, "after the revocation").await?;
    // Only the tokens of the revoked one.
    assert_accepted(&server, &from_other, "another token's").await?;

    // A new token of the same name does not bring the old registry tokens back.
    server.api_token("ci", Role::Developer, &["a"]).await?;
    assert_refused(&server, &from_ci, "after a new token took the name").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_users_registry_tokens_end_when_it_is_deleted_or_its_credentials_change()
-> anyhow::Result<()> {
    let server = setup().await?;
    server.user("alice", Role::Developer, &["a"]).await?;
    server.user("bob", Role::Developer, &["a"]).await?;
    let scope = ["repository:unscanned/a/app:pull"];
    let bobs = server.token("bob", &scope).await?;

    // A password change.
    let token = server.token("alice", &scope).await?;
    assert_accepted(&server, &token, "before the password change").await?;
    let mut tx = server.auth.store().begin().await?;
    server
        .auth
        .set_password(&mut tx, "alice", "another long password")
        .await?;
    server.auth.set_password(&mut tx, "alice", PASSWORD).await?;
    tx.commit().await?;
    assert_refused(
        &server,
        &token,
        "after the password change (back to the same)",
    )
    .await?;

    // A change of role or teams.
    let token = server.token("alice", &scope).await?;
    assert_accepted(&server, &token, "before the change of teams").await?;
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let mut tx = server.auth.store().begin().await?;
    server
        .auth
        .set_user_role_and_teams(&mut tx, "alice", Role::Developer, &BTreeSet::new())
        .await?;
    tx.commit().await?;
    assert_refused(&server, &token, "after the change of teams").await?;

    // Deletion, even if a user of the same name and password is created again.
    let mut tx = server.auth.store().begin().await?;
    server
        .auth
        .set_user_role_and_teams(
            &mut tx,
            "alice",
            Role::Developer,
            &BTreeSet::from(["a".to_owned()]),
        )
        .await?;
    tx.commit().await?;
    let token = server.token("alice", &scope).await?;
    assert_accepted(&server, &token, "before the deletion").await?;
    let mut tx = server.auth.store().begin().await?;
    server.auth.delete_user(&mut tx, "alice").await?;
    tx.commit().await?;
    assert_refused(&server, &token, "after the deletion").await?;
    server.user("alice", Role::Developer, &["a"]).await?;
    assert_refused(&server, &token, "after the user was created again").await?;

    // Nothing happened to bob.
    assert_accepted(&server, &bobs, "another user's").await?;
    Ok(())
}
