//! The server side of `portcullis gate` end to end: a real `portcullis server`, the real
//! test image pushed by skopeo, a team policy that nudges at prod, nudges on other findings
//! at dev and blocks at test; decisions per stage, approvals per stage, and the approval
//! page with its form, as a browser and a CI client see them.

use std::time::Duration;

use anyhow::{Context as _, ensure};
use serde_json::Value;

use crate::server_harness::{ADMIN, ServerProcess, layout, push, skopeo};

const ORG_POLICY: &str = "apiVersion: portcullis.dev/v1
kind: Policy
metadata: { name: e2e-stages }
spec:
  stages:
    - name: dev
      rules: []
    - name: test
      rules: []
    - name: prod
      rules: []
";

const TEAM_POLICY: &str = "apiVersion: portcullis.dev/v1
kind: Policy
metadata: { name: team-a, team: a }
spec:
  stages:
    - name: dev
      rules:
        - { name: lodash-review, when: { packages: [lodash] }, action: nudge }
    - name: test
      rules:
        - { name: no-old-lodash, when: { packages: [lodash] }, action: block }
    - name: prod
      rules:
        - { name: urllib3-review, when: { packages: [urllib3] }, action: nudge }
";

const WAIT: Duration = Duration::from_secs(120);

/// `user:password` as a Basic header value.
fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// An HTTP client that shows redirects instead of following them, as the form's caller.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .new_agent()
}

/// `GET path` as `authorization`: status, Content-Security-Policy and body text.
fn page(
    server: &ServerProcess,
    path: &str,
    authorization: &str,
) -> anyhow::Result<(u16, Option<String>, String)> {
    let res = agent()
        .get(format!("{}{path}", server.url()))
        .header("Authorization", authorization)
        .call()?;
    let status = res.status().as_u16();
    let csp = res
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok((status, csp, res.into_body().read_to_string()?))
}

/// The approval form posted as `authorization` with extra `headers`: status, `Location`
/// and body text.
fn post_form(
    server: &ServerProcess,
    id: i64,
    authorization: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> anyhow::Result<(u16, Option<String>, String)> {
    let mut req = agent()
        .post(format!("{}/approve/{id}", server.url()))
        .header("Authorization", authorization)
        .header("Content-Type", "application/x-www-form-urlencoded");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let res = req.send(body.as_bytes())?;
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok((status, location, res.into_body().read_to_string()?))
}

fn codes(decision: &Value) -> Vec<String> {
    decision["platforms"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|p| {
            p["decision"]["diagnostics"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|d| d["code"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn a_nudge_is_decided_per_stage_and_approved_per_stage_through_the_api_and_the_page()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::start(dir.path(), "")?;
    for team in ["a", "b"] {
        server.create_team(team)?;
    }
    server.create_user("dev-a", "dev-a-password-1", "developer", &["a"])?;
    server.create_user("dev-b", "dev-b-password-1", "developer", &["b"])?;
    server.create_user("sec", "security-password-1", "security", &[])?;
    let (status, v) = server.send("PUT", "/api/v1/policies/organisation", ADMIN, ORG_POLICY)?;
    ensure!(status == 200, "{status} {v}");
    let (status, v) = server.send("PUT", "/api/v1/policies/team:a", ADMIN, TEAM_POLICY)?;
    ensure!(status == 200, "{status} {v}");
    let dev_a = basic("dev-a", "dev-a-password-1");
    let dev_b = basic("dev-b", "dev-b-password-1");
    let sec = basic("sec", "security-password-1");

    let out = push(
        &server,
        &layout("bookworm-vuln")?,
        "unscanned/a/app:v1",
        "dev-a:dev-a-password-1",
        &[],
    )?;
    ensure!(
        out.status.success(),
        "push: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let image = server.wait_for("unscanned/a/app", "v1", &["awaiting_approval"], WAIT)?;
    let id = image["id"].as_i64().context("an image id")?;
    ensure!(
        image["permissions"]["approve"] == true
            && image["links"]["approve"]
                .as_str()
                .is_some_and(|l| l.ends_with(&format!("/approve/{id}"))),
        "{image}"
    );

    // 1. Decisions per stage, as the developer's CI asks.
    let (status, prod) =
        server.get_basic(&format!("/api/v1/images/{id}/decision?stage=prod"), &dev_a)?;
    ensure!(status == 200, "{status} {prod}");
    ensure!(
        prod["outcome"] == "nudge"
            && prod["stage"] == "prod"
            && prod["promotionStage"] == "prod"
            && prod["state"] == "awaiting_approval"
            && prod["promoted"] == false
            && prod["promotedTo"].is_null()
            && prod["approval"].is_null()
            && prod["permissions"]["approve"] == false,
        "{prod}"
    );
    // The stored decision, exactly what the promotion used.
    ensure!(
        prod["platforms"][0]["decision"] == image["decision"]["platforms"][0]["decision"],
        "{prod}\n{image}"
    );
    ensure!(codes(&prod) == ["urllib3-review"], "{:?}", codes(&prod));
    let (status, dev) =
        server.get_basic(&format!("/api/v1/images/{id}/decision?stage=dev"), &dev_a)?;
    ensure!(
        status == 200 && dev["outcome"] == "nudge" && dev["stage"] == "dev",
        "{status} {dev}"
    );
    ensure!(codes(&dev) == ["lodash-review"], "{:?}", codes(&dev));
    let (status, test) =
        server.get_basic(&format!("/api/v1/images/{id}/decision?stage=test"), &dev_a)?;
    ensure!(
        status == 200 && test["outcome"] == "block" && codes(&test) == ["no-old-lodash"],
        "{status} {test}"
    );
    let (status, v) =
        server.get_basic(&format!("/api/v1/images/{id}/decision?stage=qa"), &dev_a)?;
    let message = v["error"]["message"].as_str().unwrap_or_default();
    ensure!(
        status == 400 && message.contains("qa") && message.contains("dev, test, prod"),
        "{status} {v}"
    );
    // Without a stage: the promotion stage.
    let (_, default) = server.get_basic(&format!("/api/v1/images/{id}/decision"), &dev_a)?;
    ensure!(
        default["stage"] == "prod" && default["outcome"] == "nudge",
        "{default}"
    );

    // 2. The approval page: what security needs to decide, and the form.
    let (status, report) = server.get(&format!("/api/v1/images/{id}/report"), ADMIN)?;
    ensure!(status == 200, "{status}");
    let urllib3_fix = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["package"]["name"] == "urllib3")
        .and_then(|f| f["fixed_versions"][0].as_str())
        .context("a fixed version of urllib3 in the report")?
        .to_owned();
    let (status, csp, html) = page(&server, &format!("/approve/{id}?stage=prod"), &sec)?;
    ensure!(status == 200, "{status} {html}");
    ensure!(
        csp.as_deref() == Some("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"),
        "{csp:?}"
    );
    for needle in [
        "unscanned/a/app",
        image["digest"].as_str().unwrap_or("?"),
        "v1",
        "dev-a",
        "urllib3-review",
        "urllib3",
        urllib3_fix.as_str(),
        "Remedy",
        "team-a",
        "team:a",
        "<form method=\"post\" action=\"/approve/",
        "name=\"stage\" value=\"prod\"",
        "<textarea",
        &format!("/reports/{id}"),
    ] {
        ensure!(html.contains(needle), "the page lacks `{needle}`:\n{html}");
    }
    ensure!(!html.contains("<script"), "{html}");
    // A developer of the team sees the page without the form; another team's gets nothing.
    let (status, _, html) = page(&server, &format!("/approve/{id}?stage=prod"), &dev_a)?;
    ensure!(
        status == 200 && html.contains("urllib3-review") && !html.contains("<form"),
        "{status} {html}"
    );
    let (status, _, _) = page(&server, &format!("/approve/{id}?stage=prod"), &dev_b)?;
    ensure!(status == 404, "another team's developer: {status}");
    let (status, _, html) = page(&server, &format!("/approve/{id}?stage=qa"), &sec)?;
    ensure!(
        status == 400 && html.contains("dev, test, prod"),
        "{status} {html}"
    );

    // 3. Approvals at another stage, through the API: only a nudge, once, no promotion.
    let approvals = format!("/api/v1/images/{id}/approvals");
    let (status, v) = server.send_basic(
        "POST",
        &approvals,
        &sec,
        r#"{"reason":"lodash is test tooling","stage":"test"}"#,
    )?;
    ensure!(
        status == 409
            && v["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("blocks")),
        "{status} {v}"
    );
    let (status, v) = server.send_basic(
        "POST",
        &approvals,
        &sec,
        r#"{"reason":"lodash is dev tooling only","stage":"dev"}"#,
    )?;
    ensure!(
        status == 201 && v["state"] == "awaiting_approval",
        "{status} {v}"
    );
    let (status, v) = server.send_basic(
        "POST",
        &approvals,
        &sec,
        r#"{"reason":"again","stage":"dev"}"#,
    )?;
    ensure!(status == 409, "a second approval at dev: {status} {v}");
    let (_, dev) = server.get_basic(&format!("/api/v1/images/{id}/decision?stage=dev"), &dev_a)?;
    ensure!(
        dev["approval"]["approver"] == "sec"
            && dev["approval"]["stage"] == "dev"
            && dev["promoted"] == false,
        "{dev}"
    );
    let held = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--creds",
        "dev-a:dev-a-password-1",
        &format!("docker://{}/scanned/a/app:v1", server.addr),
    ])?;
    ensure!(
        !held.status.success(),
        "an approval at dev must not promote"
    );

    // 4. The form: refused across sites, then approves at prod and redirects to the page.
    let origin = server.url();
    let body = "stage=prod&reason=urllib3+is+only+used+by+the+health+check";
    let (status, _, html) = post_form(&server, id, &sec, &[], body)?;
    ensure!(
        status == 403 && html.contains("use the API"),
        "no Origin: {status} {html}"
    );
    let (status, _, _) = post_form(
        &server,
        id,
        &sec,
        &[("Origin", "http://attacker.example:8080")],
        body,
    )?;
    ensure!(status == 403, "a foreign Origin: {status}");
    let (status, _, html) = post_form(
        &server,
        id,
        &sec,
        &[("Origin", origin.as_str())],
        "stage=prod&reason=",
    )?;
    ensure!(
        status == 400 && html.contains("reason is required"),
        "{status} {html}"
    );
    let (status, location, html) =
        post_form(&server, id, &sec, &[("Origin", origin.as_str())], body)?;
    ensure!(
        status == 303 && location.as_deref() == Some(format!("/approve/{id}?stage=prod").as_str()),
        "{status} {location:?} {html}"
    );
    let (status, _, html) = page(&server, &format!("/approve/{id}?stage=prod"), &sec)?;
    ensure!(
        status == 200
            && html.contains("approved by sec: urllib3 is only used by the health check")
            && !html.contains("<form"),
        "{status} {html}"
    );
    let (_, prod) =
        server.get_basic(&format!("/api/v1/images/{id}/decision?stage=prod"), &dev_a)?;
    ensure!(
        prod["promoted"] == true
            && prod["promotedTo"] == "scanned/a/app"
            && prod["state"] == "promoted"
            && prod["approval"]["approver"] == "sec",
        "{prod}"
    );
    let out = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--creds",
        "dev-a:dev-a-password-1",
        &format!("docker://{}/scanned/a/app:v1", server.addr),
    ])?;
    ensure!(
        out.status.success(),
        "scanned/a/app:v1 after the approval: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (status, list) = server.get_basic(&approvals, &dev_a)?;
    let stages: Vec<&str> = list["approvals"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["stage"].as_str())
        .collect();
    ensure!(status == 200 && stages == ["dev", "prod"], "{list}");
    // Approving the promoted image again is a conflict, on the page as in the API.
    let (status, _, html) = post_form(&server, id, &sec, &[("Origin", origin.as_str())], body)?;
    ensure!(
        status == 409 && html.contains("promoted"),
        "{status} {html}"
    );
    Ok(())
}
