//! Authentication attacked end to end, by someone holding a developer's API token: a real
//! `portcullis server` on loopback, plain HTTP requests as an attacker would send them.
//!
//! - password spraying with Basic credentials on `/v2/` and on the API is limited per
//!   source address (429 with `Retry-After`, in each surface's error shape);
//! - a CI pipeline's valid API token keeps working under a user name that was sprayed;
//! - a registry token (the JWT of `/token`) is never an API credential;
//! - a registry token minted from an API token dies with that API token.

use std::time::Duration;

use anyhow::{Context as _, ensure};
use base64::Engine as _;
use serde_json::Value;

use crate::server_harness::{ADMIN, ServerProcess};

/// The failed sign-ins allowed per minute in these tests.
const LIMIT: usize = 5;

/// What the server answered.
struct Reply {
    status: u16,
    retry_after: Option<String>,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

fn basic(user: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{secret}"))
    )
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .new_agent()
}

fn reply(mut response: ureq::http::Response<ureq::Body>) -> anyhow::Result<Reply> {
    let retry_after = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok(Reply {
        status: response.status().as_u16(),
        retry_after,
        body: response.body_mut().read_to_string()?,
    })
}

fn get(server: &ServerProcess, path: &str, authorization: &str) -> anyhow::Result<Reply> {
    reply(
        agent()
            .get(format!("{}{path}", server.url()))
            .header("Authorization", authorization)
            .call()?,
    )
}

fn post(
    server: &ServerProcess,
    path: &str,
    authorization: &str,
    body: &str,
) -> anyhow::Result<Reply> {
    reply(
        agent()
            .post(format!("{}{path}", server.url()))
            .header("Authorization", authorization)
            .header("Content-Type", "application/json")
            .send(body.as_bytes())?,
    )
}

fn delete(server: &ServerProcess, path: &str, authorization: &str) -> anyhow::Result<Reply> {
    reply(
        agent()
            .delete(format!("{}{path}", server.url()))
            .header("Authorization", authorization)
            .call()?,
    )
}

fn api_token(
    server: &ServerProcess,
    name: &str,
    role: &str,
    teams: &[&str],
) -> anyhow::Result<String> {
    let body = serde_json::json!({ "name": name, "role": role, "teams": teams });
    let (status, v) = server.send("POST", "/api/v1/tokens", ADMIN, &body.to_string())?;
    ensure!(status == 201, "creating token {name}: {status} {v}");
    v["token"]
        .as_str()
        .map(str::to_owned)
        .context("no token in the answer")
}

/// A registry token from `GET /token` for `authorization` and `scopes`.
fn registry_token(
    server: &ServerProcess,
    authorization: &str,
    scopes: &[&str],
) -> anyhow::Result<String> {
    let mut path = "/token?service=portcullis".to_owned();
    for scope in scopes {
        path.push_str("&scope=");
        path.push_str(scope);
    }
    let reply = get(server, &path, authorization)?;
    ensure!(
        reply.status == 200,
        "/token: {} {}",
        reply.status,
        reply.body
    );
    reply.json()["token"]
        .as_str()
        .map(str::to_owned)
        .context("no token in /token's answer")
}

fn start(dir: &tempfile::TempDir) -> anyhow::Result<ServerProcess> {
    let server = ServerProcess::start(dir.path(), &format!("login-attempts-per-minute = {LIMIT}"))?;
    server.create_team("a")?;
    Ok(server)
}

/// Sprays `names` with one guessed password each on `path`; the statuses in order.
fn spray(server: &ServerProcess, path: &str, names: &[String]) -> anyhow::Result<Vec<Reply>> {
    names
        .iter()
        .map(|name| get(server, path, &basic(name, "Winter2024!")))
        .collect()
}

fn names(prefix: &str) -> Vec<String> {
    (0..30).map(|i| format!("{prefix}{i}")).collect()
}

/// 30 user names, one guess each, from one address: 401 until the limit, then 429 with
/// `Retry-After`, in the registry's error shape on `/v2/` and the API's on `/api/`.
#[test]
fn spraying_user_names_is_limited_per_source_on_the_registry_and_the_api() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = start(&dir)?;

    let replies = spray(&server, "/v2/", &names("victim"))?;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    ensure!(
        statuses[..LIMIT].iter().all(|s| *s == 401),
        "the first {LIMIT} guesses on /v2/ must be plain 401s: {statuses:?}"
    );
    ensure!(
        statuses[LIMIT..].iter().all(|s| *s == 429),
        "guesses past the limit on /v2/ must be 429s: {statuses:?}"
    );
    let limited = &replies[LIMIT];
    let retry: u64 = limited
        .retry_after
        .as_deref()
        .context("no Retry-After on /v2/")?
        .parse()?;
    ensure!((1..=60).contains(&retry), "Retry-After {retry}");
    ensure!(
        limited.json()["errors"][0]["code"] == "TOOMANYREQUESTS",
        "the registry's 429 is in the distribution error shape: {}",
        limited.body
    );

    // The API shares the limit: this source is already over it.
    let replies = spray(&server, "/api/v1/images", &names("other"))?;
    ensure!(
        replies.iter().all(|r| r.status == 429),
        "guesses on the API from a limited source: {:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let limited = &replies[0];
    ensure!(
        limited.retry_after.is_some(),
        "no Retry-After on the API's 429"
    );
    ensure!(
        limited.json()["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("too many failed sign-ins")),
        "the API's 429 is in its JSON error shape: {}",
        limited.body
    );
    Ok(())
}

/// The API alone limits a sprayer too (a fresh server, so the registry played no part).
#[test]
fn spraying_user_names_on_the_api_alone_is_limited() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = start(&dir)?;
    let replies = spray(&server, "/api/v1/images", &names("victim"))?;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    ensure!(
        statuses[..LIMIT].iter().all(|s| *s == 401) && statuses[LIMIT..].iter().all(|s| *s == 429),
        "spraying the API: {statuses:?}"
    );
    Ok(())
}

/// A CI pipeline logs in as `ci:<token>` (any user name); an attacker spraying `ci` and
/// exhausting the source's limit must not lock it out.
#[test]
fn a_valid_ci_token_keeps_working_under_a_sprayed_user_name() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = start(&dir)?;
    let ci = api_token(&server, "ci-a", "developer", &["a"])?;

    // Wrong passwords and wrong `pct_` tokens under `ci`, well past the limit.
    for i in 0..3 * LIMIT {
        let reply = get(&server, "/v2/", &basic("ci", &format!("guess-{i}")))?;
        ensure!(
            matches!(reply.status, 401 | 429),
            "{} {}",
            reply.status,
            reply.body
        );
        let forged = format!("pct_{}", "A".repeat(42) + &i.to_string());
        let reply = get(&server, "/v2/", &basic("ci", &forged))?;
        ensure!(
            matches!(reply.status, 401 | 429),
            "{} {}",
            reply.status,
            reply.body
        );
    }
    let reply = get(&server, "/v2/", &basic("ci", "yet another guess"))?;
    ensure!(
        reply.status == 429,
        "the sprayer is limited: {} {}",
        reply.status,
        reply.body
    );

    // The real token, under the sprayed name, from the same (limited) address.
    let reply = get(&server, "/v2/", &basic("ci", &ci))?;
    ensure!(
        reply.status == 200,
        "/v2/ with the CI token: {} {}",
        reply.status,
        reply.body
    );
    let reply = get(&server, "/api/v1/images", &basic("ci", &ci))?;
    ensure!(
        reply.status == 200,
        "the API with the CI token: {} {}",
        reply.status,
        reply.body
    );
    let reply = get(&server, "/api/v1/images", &format!("Bearer {ci}"))?;
    ensure!(
        reply.status == 200,
        "the API with the CI token as Bearer: {} {}",
        reply.status,
        reply.body
    );
    registry_token(
        &server,
        &basic("ci", &ci),
        &["repository:unscanned/a/app:pull,push"],
    )?;
    Ok(())
}

/// A registry token minted with no scope grants no API access, whatever its holder's role:
/// the API answers 401 and says to use an API token, and nothing can be approved with it.
#[test]
fn a_registry_token_is_not_an_api_credential() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = start(&dir)?;
    server.create_user("sec", "correct horse battery staple", "security", &[])?;
    let admin = registry_token(
        &server,
        &format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("x:{ADMIN}"))
        ),
        &[],
    )?;
    let security = registry_token(&server, &basic("sec", "correct horse battery staple"), &[])?;
    for (who, jwt) in [("admin", &admin), ("security", &security)] {
        let bearer = format!("Bearer {jwt}");
        for path in [
            "/api/v1/images",
            "/api/v1/tokens",
            "/api/v1/policies",
            "/reports/1",
            "/approve/1",
        ] {
            let reply = get(&server, path, &bearer)?;
            ensure!(
                reply.status == 401,
                "{who}'s registry token on {path}: {} {}",
                reply.status,
                reply.body
            );
        }
        let reply = get(&server, "/api/v1/images", &bearer)?;
        ensure!(
            reply.json()["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("API token")),
            "the refusal says to use an API token: {}",
            reply.body
        );
        let reply = post(
            &server,
            "/api/v1/images/1/approvals",
            &bearer,
            r#"{"reason":"looks fine to me"}"#,
        )?;
        ensure!(
            reply.status == 401,
            "{who}'s registry token approving: {} {}",
            reply.status,
            reply.body
        );
        let reply = post(
            &server,
            "/api/v1/tokens",
            &bearer,
            r#"{"name":"escalated","role":"admin","teams":[]}"#,
        )?;
        ensure!(
            reply.status == 401,
            "{who}'s registry token creating a token: {} {}",
            reply.status,
            reply.body
        );
    }
    // The registry still takes it for what it grants (`GET /v2/` needs only an identity).
    let reply = get(&server, "/v2/", &format!("Bearer {security}"))?;
    ensure!(
        reply.status == 200,
        "/v2/ with a registry token: {} {}",
        reply.status,
        reply.body
    );
    Ok(())
}

/// A registry token minted from an API token stops working as soon as that API token is
/// revoked, not when it expires.
#[test]
fn revoking_an_api_token_ends_the_registry_tokens_minted_from_it() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = start(&dir)?;
    let ci = api_token(&server, "ci-a", "developer", &["a"])?;
    let jwt = registry_token(
        &server,
        &basic("ci", &ci),
        &["repository:unscanned/a/app:pull,push"],
    )?;
    let bearer = format!("Bearer {jwt}");
    let tags = "/v2/unscanned/a/app/tags/list";
    let reply = get(&server, "/v2/", &bearer)?;
    ensure!(
        reply.status == 200,
        "/v2/ before the revocation: {} {}",
        reply.status,
        reply.body
    );
    let reply = get(&server, tags, &bearer)?;
    ensure!(
        reply.status != 401 && reply.status != 403,
        "{tags} before the revocation: {} {}",
        reply.status,
        reply.body
    );

    let reply = delete(&server, "/api/v1/tokens/ci-a", &format!("Bearer {ADMIN}"))?;
    ensure!(
        matches!(reply.status, 200 | 204),
        "revoking: {} {}",
        reply.status,
        reply.body
    );

    for path in ["/v2/", tags] {
        let reply = get(&server, path, &bearer)?;
        ensure!(
            reply.status == 401,
            "{path} after the revocation: {} {}",
            reply.status,
            reply.body
        );
    }
    // And it cannot be exchanged for a fresh one.
    let reply = get(&server, "/token?service=portcullis", &basic("ci", &ci))?;
    ensure!(
        reply.status == 401,
        "/token with the revoked token: {} {}",
        reply.status,
        reply.body
    );
    Ok(())
}
