//! Teams, users, API tokens and settings (each function runs on both backends).

use std::collections::BTreeSet;

use anyhow::{Context, ensure};
use portcullis_store::auth::{NewToken, NewUser};
use portcullis_types::Role;

use crate::TestDb;

fn teams(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

fn user(name: &str, role: Role, member_of: &[&str]) -> NewUser {
    NewUser {
        name: name.to_owned(),
        password_hash: format!("$argon2id$fake${name}"),
        role,
        teams: teams(member_of),
    }
}

fn token(name: &str, hash: &str, expires_at_ms: Option<i64>) -> NewToken {
    NewToken {
        name: name.to_owned(),
        secret_hash: hash.to_owned(),
        role: Role::Developer,
        teams: teams(&["a"]),
        expires_at_ms,
        created_by: "admin".to_owned(),
    }
}

pub async fn names_are_unique_and_teams_round_trip(db: &TestDb) -> anyhow::Result<()> {
    let store = db.open().await?;
    ensure!(store.create_team("a").await?, "first create");
    ensure!(!store.create_team("a").await?, "duplicate team created");
    ensure!(store.create_team("b").await?);

    ensure!(
        store
            .create_user(&user("alice", Role::Developer, &["a", "b"]))
            .await?
    );
    ensure!(
        !store.create_user(&user("alice", Role::Admin, &[])).await?,
        "duplicate user created"
    );
    let alice = store.user("alice").await?.context("alice")?;
    assert_eq!(alice.user.role, Role::Developer);
    assert_eq!(alice.user.teams, teams(&["a", "b"]));
    assert_eq!(alice.password_hash, "$argon2id$fake$alice");
    assert!(
        !format!("{alice:?}").contains("fake"),
        "Debug shows the password hash"
    );

    let mut tx = store.begin().await?;
    assert_eq!(
        tx.unknown_teams(&teams(&["a", "zz", "c"])).await?,
        ["c", "zz"]
    );
    ensure!(
        tx.set_user_role_and_teams("alice", Role::Security, &teams(&["b"]))
            .await?
    );
    ensure!(
        !tx.set_user_role_and_teams("nobody", Role::Security, &teams(&[]))
            .await?
    );
    tx.commit().await?;
    let alice = store.user("alice").await?.context("alice")?;
    assert_eq!(
        (alice.user.role, alice.user.teams),
        (Role::Security, teams(&["b"]))
    );

    ensure!(store.set_password("alice", "$argon2id$new").await?);
    assert_eq!(
        store.user("alice").await?.context("alice")?.password_hash,
        "$argon2id$new"
    );

    // Deleting a team removes memberships, not users.
    ensure!(store.delete_team("b").await?);
    ensure!(!store.delete_team("b").await?);
    let listed = store.list_users().await?;
    assert_eq!(listed.len(), 1);
    assert!(listed[0].teams.is_empty());
    let names: Vec<String> = store
        .list_teams()
        .await?
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["a"]);

    ensure!(store.delete_user("alice").await?);
    assert!(store.user("alice").await?.is_none());
    Ok(())
}

pub async fn tokens_are_found_by_hash_only_while_valid(db: &TestDb) -> anyhow::Result<()> {
    let store = db.open().await?;
    store.create_team("a").await?;
    let id = store
        .create_token(&token("ci", "hash-ci", None))
        .await?
        .context("created")?;
    assert_eq!(
        store.create_token(&token("ci", "hash-other", None)).await?,
        None,
        "two unrevoked tokens share a name"
    );

    let found = store
        .valid_token_by_hash("hash-ci")
        .await?
        .context("found")?;
    assert_eq!(found.token.id, id);
    assert_eq!(found.token.teams, teams(&["a"]));
    assert_eq!(found.secret_hash, "hash-ci");
    assert!(store.valid_token_by_hash("hash-nope").await?.is_none());
    let listed = store.list_tokens(false).await?;
    assert!(listed[0].last_used_at_ms.is_some(), "use not recorded");

    // Expired tokens are not valid.
    store
        .create_token(&token("old", "hash-old", Some(1_000)))
        .await?
        .context("created")?;
    assert!(store.valid_token_by_hash("hash-old").await?.is_none());

    // Revoked tokens are not valid, and free their name.
    ensure!(store.revoke_token("ci").await?);
    ensure!(!store.revoke_token("ci").await?);
    assert!(store.valid_token_by_hash("hash-ci").await?.is_none());
    store
        .create_token(&token("ci", "hash-ci-2", None))
        .await?
        .context("name not freed by revocation")?;

    let active: Vec<String> = store
        .list_tokens(false)
        .await?
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(active, ["ci", "old"]);
    let all = store.list_tokens(true).await?;
    assert_eq!(all.len(), 3);
    assert_eq!(all.iter().filter(|t| t.revoked_at_ms.is_some()).count(), 1);
    Ok(())
}

pub async fn token_validity_by_id_follows_revocation_and_expiry(db: &TestDb) -> anyhow::Result<()> {
    let store = db.open().await?;
    store.create_team("a").await?;
    let ci = store
        .create_token(&token("ci", "hash-ci", None))
        .await?
        .context("created")?;
    let old = store
        .create_token(&token("old", "hash-old", Some(1_000)))
        .await?
        .context("created")?;
    ensure!(
        store.token_is_valid(ci).await?,
        "a fresh token is not valid"
    );
    ensure!(
        !store.token_is_valid(old).await?,
        "an expired token is valid"
    );
    ensure!(
        !store.token_is_valid(ci + old + 1).await?,
        "a missing token is valid"
    );
    ensure!(store.revoke_token("ci").await?);
    ensure!(!store.token_is_valid(ci).await?, "a revoked token is valid");
    // A new token of the same name is another token.
    let again = store
        .create_token(&token("ci", "hash-ci-2", None))
        .await?
        .context("created")?;
    ensure!(again != ci && store.token_is_valid(again).await?);
    ensure!(!store.token_is_valid(ci).await?);
    Ok(())
}

pub async fn credential_versions_change_with_every_credential_change(
    db: &TestDb,
) -> anyhow::Result<()> {
    let store = db.open().await?;
    store.create_team("a").await?;
    assert_eq!(store.user_credential_version("alice").await?, None);
    store
        .create_user(&user("alice", Role::Developer, &["a"]))
        .await?;
    let first = store
        .user_credential_version("alice")
        .await?
        .context("alice")?;
    assert_eq!(first.password_hash, "$argon2id$fake$alice");
    assert!(
        !format!("{first:?}").contains("fake"),
        "Debug shows the password hash"
    );
    assert_eq!(
        store.user_credential_version("alice").await?.as_ref(),
        Some(&first)
    );

    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    ensure!(
        store
            .set_user_role_and_teams("alice", Role::Developer, &teams(&[]))
            .await?
    );
    let second = store
        .user_credential_version("alice")
        .await?
        .context("alice")?;
    ensure!(
        second != first,
        "a change of teams left the version as it was"
    );

    ensure!(store.set_password("alice", "$argon2id$other").await?);
    let third = store
        .user_credential_version("alice")
        .await?
        .context("alice")?;
    ensure!(third != second && third.password_hash == "$argon2id$other");

    ensure!(store.delete_user("alice").await?);
    assert_eq!(store.user_credential_version("alice").await?, None);
    Ok(())
}

pub async fn admins_are_detected_by_users_and_usable_tokens(db: &TestDb) -> anyhow::Result<()> {
    let store = db.open().await?;
    ensure!(!store.admin_exists().await?);
    let mut admin_token = token("root", "hash-root", Some(1_000));
    admin_token.role = Role::Admin;
    admin_token.teams.clear();
    store.create_token(&admin_token).await?;
    ensure!(
        !store.admin_exists().await?,
        "an expired admin token counts"
    );
    admin_token.name = "root2".to_owned();
    admin_token.secret_hash = "hash-root2".to_owned();
    admin_token.expires_at_ms = None;
    store.create_token(&admin_token).await?;
    ensure!(store.admin_exists().await?);
    store.revoke_token("root2").await?;
    ensure!(!store.admin_exists().await?, "a revoked admin token counts");
    store.create_user(&user("root", Role::Admin, &[])).await?;
    ensure!(store.admin_exists().await?);
    Ok(())
}

pub async fn settings_are_created_once_even_when_concurrent(db: &TestDb) -> anyhow::Result<()> {
    let store = db.open().await?;
    assert_eq!(store.setting("k").await?, None);
    let mut tasks = Vec::new();
    for n in 0..8 {
        let store = db.open().await?;
        tasks.push(tokio::spawn(async move {
            store
                .get_or_create_setting("k", &format!("value-{n}"))
                .await
        }));
    }
    let mut values = BTreeSet::new();
    for task in tasks {
        values.insert(task.await??);
    }
    assert_eq!(values.len(), 1, "concurrent callers saw {values:?}");
    let value = values.pop_first().context("a value")?;
    store.close().await;

    let reopened = db.open().await?;
    assert_eq!(reopened.get_or_create_setting("k", "other").await?, value);
    assert_eq!(reopened.setting("k").await?, Some(value));
    Ok(())
}
