//! `portcullis server` end to end: real skopeo and buildah push the real test image to
//! `unscanned/`, the server scans it against the real advisory data, the policy decides,
//! and promoted images are pulled from `scanned/` with the identical digest.

use std::time::Duration;

use anyhow::ensure;
use serde_json::Value;

use crate::harness::require;
use crate::server_harness::{ADMIN, ServerProcess, digest_of, layout, push, skopeo};

const ORG_POLICY: &str = "apiVersion: portcullis.dev/v1
kind: Policy
metadata: { name: e2e }
spec:
  stages:
    - name: prod
      rules:
        - { name: urllib3-review, when: { packages: [urllib3] }, action: nudge }
";

const STRICT_POLICY: &str = "apiVersion: portcullis.dev/v1
kind: Policy
metadata: { name: strict, team: strict }
spec:
  stages:
    - name: prod
      rules:
        - { name: no-old-lodash, when: { packages: [lodash] }, action: block }
";

const WAIT: Duration = Duration::from_secs(120);

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The digest of the manifest `reference` names, as skopeo reads it raw.
fn raw_digest(reference: &str, creds: Option<&str>) -> anyhow::Result<(String, Value)> {
    let mut args = vec!["inspect", "--raw", "--tls-verify=false"];
    if let Some(c) = creds {
        args.extend(["--creds", c]);
    }
    args.push(reference);
    let out = skopeo(&args)?;
    ensure!(
        out.status.success(),
        "skopeo inspect {reference}: {}",
        stderr(&out)
    );
    Ok((digest_of(&out.stdout), serde_json::from_slice(&out.stdout)?))
}

#[test]
fn pushes_are_scanned_decided_promoted_or_held_and_pulled_from_scanned_with_the_same_digest()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::start(dir.path(), "")?;
    for team in ["a", "b", "strict"] {
        server.create_team(team)?;
    }
    server.create_user("dev-a", "dev-a-password-1", "developer", &["a"])?;
    server.create_user("dev-b", "dev-b-password-1", "developer", &["b"])?;
    server.create_user("sec", "security-password-1", "security", &[])?;
    let (status, v) = server.send("PUT", "/api/v1/policies/organisation", ADMIN, ORG_POLICY)?;
    ensure!(status == 200, "{status} {v}");
    let (status, v) = server.send("PUT", "/api/v1/policies/team:strict", ADMIN, STRICT_POLICY)?;
    ensure!(status == 200, "{status} {v}");
    // An invalid policy is refused with the parser's position, and nothing is stored.
    let (status, v) = server.send(
        "PUT",
        "/api/v1/policies/organisation",
        ADMIN,
        "kind: Policy\nspec: [",
    )?;
    ensure!(
        status == 422
            && v["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("organisation")),
        "{status} {v}"
    );

    // 1. A nudged image (urllib3): held until security approves it with a reason.
    let vuln = layout("bookworm-vuln")?;
    let (pushed_digest, _) = raw_digest(&vuln, None)?;
    let out = push(
        &server,
        &vuln,
        "unscanned/a/app:v1",
        "dev-a:dev-a-password-1",
        &[],
    )?;
    ensure!(out.status.success(), "push: {}", stderr(&out));
    let image = server.wait_for("unscanned/a/app", "v1", &["awaiting_approval"], WAIT)?;
    ensure!(image["digest"] == pushed_digest.as_str(), "{image}");
    ensure!(
        image["outcome"] == "nudge" && image["stage"] == "prod",
        "{image}"
    );
    let diagnostics = image["decision"]["platforms"][0]["decision"].to_string();
    ensure!(
        diagnostics.contains("urllib3-review"),
        "the decision names the rule: {diagnostics}"
    );
    let id = image["id"].as_i64().unwrap_or_default();
    // Not pullable from scanned/ while held.
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
        "a held image must not be in scanned/"
    );
    // A developer cannot approve; a reason is required; security approves.
    let body = r#"{"reason":"urllib3 is only used for the internal health check"}"#;
    let dev_token = basic("dev-a", "dev-a-password-1");
    let (status, v) = server.send_basic(
        "POST",
        &format!("/api/v1/images/{id}/approvals"),
        &dev_token,
        body,
    )?;
    ensure!(status == 403, "developer approval: {status} {v}");
    let sec = basic("sec", "security-password-1");
    let (status, v) = server.send_basic(
        "POST",
        &format!("/api/v1/images/{id}/approvals"),
        &sec,
        r#"{"reason":"  "}"#,
    )?;
    ensure!(status == 400, "empty reason: {status} {v}");
    let (status, v) = server.send_basic(
        "POST",
        &format!("/api/v1/images/{id}/approvals"),
        &sec,
        body,
    )?;
    ensure!(
        status == 201 && v["state"] == "promoted",
        "approval: {status} {v}"
    );
    ensure!(v["approvals"][0]["approver"] == "sec", "{v}");
    let (status, v) = server.send_basic(
        "POST",
        &format!("/api/v1/images/{id}/approvals"),
        &sec,
        body,
    )?;
    ensure!(status == 409, "a second approval: {status} {v}");
    let (digest, _) = raw_digest(
        &format!("docker://{}/scanned/a/app:v1", server.addr),
        Some("dev-a:dev-a-password-1"),
    )?;
    ensure!(
        digest == pushed_digest,
        "scanned/a/app:v1 is {digest}, pushed {pushed_digest}"
    );

    // 2. The same digest pushed by another team with a stricter policy: blocked, and not
    //    scanned again.
    let out = push(
        &server,
        &vuln,
        "unscanned/strict/app:v1",
        &format!("admin:{ADMIN}"),
        &[],
    )?;
    ensure!(out.status.success(), "push: {}", stderr(&out));
    let rejected = server.wait_for("unscanned/strict/app", "v1", &["rejected"], WAIT)?;
    ensure!(rejected["outcome"] == "block", "{rejected}");
    ensure!(
        rejected["scans"] == image["scans"],
        "one scan for one digest:\n{rejected}\n{image}"
    );
    let (_, metrics) = server.get("/metrics", ADMIN)?;
    let metrics = metrics.as_str().unwrap_or_default().to_owned();
    ensure!(metrics.contains("portcullis_scans_total 1\n"), "{metrics}");
    let out = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--creds",
        &format!("admin:{ADMIN}"),
        &format!("docker://{}/scanned/strict/app:v1", server.addr),
    ])?;
    ensure!(
        !out.status.success() && stderr(&out).contains("manifest unknown"),
        "{}",
        stderr(&out)
    );

    // 3. A clean image passes silently and is promoted; skopeo pulls it with its digest.
    let clean = layout("bookworm-vuln-deleted")?;
    let (clean_digest, _) = raw_digest(&clean, None)?;
    let out = push(
        &server,
        &clean,
        "unscanned/a/clean:v1",
        "dev-a:dev-a-password-1",
        &[],
    )?;
    ensure!(out.status.success(), "push: {}", stderr(&out));
    let promoted = server.wait_for(
        "unscanned/a/clean",
        "v1",
        &["promoted", "rejected", "awaiting_approval", "failed"],
        WAIT,
    )?;
    ensure!(
        promoted["state"] == "promoted" && promoted["outcome"] == "pass",
        "{promoted}"
    );
    let pulled = dir.path().join("pulled");
    let out = skopeo(&[
        "copy",
        "-q",
        "--src-tls-verify=false",
        "--src-creds",
        "dev-a:dev-a-password-1",
        &format!("docker://{}/scanned/a/clean:v1", server.addr),
        &format!("oci:{}:v1", pulled.display()),
    ])?;
    ensure!(out.status.success(), "pull: {}", stderr(&out));
    let (digest, _) = raw_digest(&format!("oci:{}:v1", pulled.display()), None)?;
    ensure!(
        digest == clean_digest,
        "pulled {digest}, pushed {clean_digest}"
    );

    // 4. Docker v2 schema 2, pushed by buildah: promoted with its own digest.
    require("buildah", "apt-get install -y buildah")?;
    let storage = dir.path().join("buildah");
    let buildah = |driver: &str| {
        let mut cmd = std::process::Command::new("buildah");
        cmd.arg("--root")
            .arg(storage.join(driver).join("root"))
            .arg("--runroot")
            .arg(storage.join(driver).join("run"))
            .args(["--storage-driver", driver]);
        cmd
    };
    // overlay where the kernel allows it (8 s here), else vfs (copies every layer).
    let mut driver = "overlay";
    let mut out = buildah(driver).args(["pull", "-q"]).arg(&clean).output()?;
    if !out.status.success() {
        driver = "vfs";
        out = buildah(driver).args(["pull", "-q"]).arg(&clean).output()?;
    }
    ensure!(out.status.success(), "buildah pull: {}", stderr(&out));
    let local = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let out = buildah(driver)
        .args([
            "push",
            "-q",
            "--tls-verify=false",
            "--format",
            "v2s2",
            "--creds",
            "dev-a:dev-a-password-1",
        ])
        .arg(&local)
        .arg(format!("docker://{}/unscanned/a/clean:v2s2", server.addr))
        .output()?;
    ensure!(out.status.success(), "buildah push: {}", stderr(&out));
    let v2s2 = server.wait_for(
        "unscanned/a/clean",
        "v2s2",
        &["promoted", "rejected", "awaiting_approval", "failed"],
        WAIT,
    )?;
    ensure!(
        v2s2["state"] == "promoted"
            && v2s2["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json",
        "{v2s2}"
    );
    let (digest, manifest) = raw_digest(
        &format!("docker://{}/scanned/a/clean:v2s2", server.addr),
        Some("dev-a:dev-a-password-1"),
    )?;
    ensure!(
        digest == v2s2["digest"].as_str().unwrap_or_default(),
        "{digest} {v2s2}"
    );
    ensure!(
        manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json",
        "{manifest}"
    );

    // 5. Refusals: nobody pushes to scanned/; a developer pushes only to their team.
    let out = push(
        &server,
        &clean,
        "scanned/a/clean:v9",
        &format!("admin:{ADMIN}"),
        &[],
    )?;
    ensure!(
        !out.status.success()
            && stderr(&out).contains("denied")
            && stderr(&out).contains("written only by promotion"),
        "{}",
        stderr(&out)
    );
    let out = push(
        &server,
        &clean,
        "unscanned/a/other:v1",
        "dev-b:dev-b-password-1",
        &[],
    )?;
    let text = stderr(&out);
    // skopeo's first request is a HEAD of a blob, whose answer has no body: it shows the
    // status; a GET or POST shows the registry's DENIED message.
    ensure!(
        !out.status.success()
            && text.contains("unscanned/a/other")
            && (text.contains("denied") || text.contains("403 (Forbidden)")),
        "{text}"
    );
    // Developers do not see other teams' images.
    let (status, _) = server.get_basic(
        &format!("/api/v1/images/{id}"),
        &basic("dev-b", "dev-b-password-1"),
    )?;
    ensure!(status == 404, "dev-b read team a's image: {status}");

    // 6. The report page and the audit trail.
    let (status, page) = server.get(&format!("/reports/{id}"), ADMIN)?;
    ensure!(
        status == 200 && page.as_str().is_some_and(|p| p.contains("urllib3")),
        "report page: {status}"
    );
    let out = crate::harness::portcullis()
        .args(["audit", "verify", "--data-dir"])
        .arg(&server.data)
        .output()?;
    ensure!(out.status.success(), "audit verify: {}", stderr(&out));
    let (status, audit) = server.get("/api/v1/audit?limit=1000", ADMIN)?;
    ensure!(status == 200, "{audit}");
    let actions: Vec<&str> = audit["entries"]
        .as_array()
        .map(|e| e.iter().filter_map(|x| x["action"].as_str()).collect())
        .unwrap_or_default();
    for expected in [
        "team.created",
        "user.created",
        "policy.updated",
        "manifest.pushed",
        "scan.completed",
        "image.decided",
        "approval.granted",
        "image.promoted",
    ] {
        ensure!(
            actions.contains(&expected),
            "no {expected} in the audit log: {actions:?}"
        );
    }
    Ok(())
}

/// `user:password` as a Basic header value.
fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// An OCI layout whose index lists the two test images as two platforms.
pub fn multi_platform_layout(
    dir: &std::path::Path,
) -> anyhow::Result<(String, String, String, String)> {
    let source = crate::harness::test_images()?.join("oci");
    let layout = dir.join("multi");
    let blobs = layout.join("blobs/sha256");
    std::fs::create_dir_all(&blobs)?;
    for entry in std::fs::read_dir(source.join("blobs/sha256"))? {
        let entry = entry?;
        let target = blobs.join(entry.file_name());
        if std::fs::hard_link(entry.path(), &target).is_err() {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    std::fs::copy(source.join("oci-layout"), layout.join("oci-layout"))?;
    let index: Value = serde_json::from_slice(&std::fs::read(source.join("index.json"))?)?;
    let find = |tag: &str| {
        index["manifests"]
            .as_array()
            .and_then(|m| {
                m.iter()
                    .find(|d| d["annotations"]["org.opencontainers.image.ref.name"] == tag)
            })
            .cloned()
            .unwrap_or_default()
    };
    let (mut amd64, mut arm64) = (find("bookworm-vuln"), find("bookworm-vuln-deleted"));
    amd64.as_object_mut().map(|o| o.remove("annotations"));
    arm64.as_object_mut().map(|o| o.remove("annotations"));
    amd64["platform"] = serde_json::json!({ "os": "linux", "architecture": "amd64" });
    arm64["platform"] = serde_json::json!({ "os": "linux", "architecture": "arm64" });
    let multi = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [amd64, arm64],
    }))?;
    let digest = digest_of(&multi);
    std::fs::write(blobs.join(digest.trim_start_matches("sha256:")), &multi)?;
    std::fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "manifests": [{
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "digest": digest,
                "size": multi.len(),
                "annotations": { "org.opencontainers.image.ref.name": "multi" },
            }],
        }))?,
    )?;
    Ok((
        format!("oci:{}:multi", layout.display()),
        digest,
        amd64["digest"].as_str().unwrap_or_default().to_owned(),
        arm64["digest"].as_str().unwrap_or_default().to_owned(),
    ))
}

#[test]
fn a_multi_platform_index_is_decided_per_platform_and_as_a_whole() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::start(dir.path(), "")?;
    server.create_team("a")?;
    let (status, v) = server.send("PUT", "/api/v1/policies/organisation", ADMIN, ORG_POLICY)?;
    ensure!(status == 200, "{status} {v}");
    let (source, index_digest, amd64, arm64) = multi_platform_layout(dir.path())?;
    let out = push(
        &server,
        &source,
        "unscanned/a/multi:v1",
        &format!("admin:{ADMIN}"),
        &["--all"],
    )?;
    ensure!(out.status.success(), "push: {}", stderr(&out));
    let image = server.wait_for("unscanned/a/multi", "v1", &["awaiting_approval"], WAIT)?;
    ensure!(image["digest"] == index_digest.as_str(), "{image}");
    let platforms = image["decision"]["platforms"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let outcome = |digest: &str| {
        platforms
            .iter()
            .find(|p| p["digest"] == digest)
            .map(|p| (p["platform"].clone(), p["outcome"].clone()))
    };
    // urllib3 is in the amd64 image only: it nudges, arm64 passes, the index as a whole nudges.
    ensure!(
        outcome(&amd64) == Some((Value::from("linux/amd64"), Value::from("nudge"))),
        "{image}"
    );
    ensure!(
        outcome(&arm64) == Some((Value::from("linux/arm64"), Value::from("pass"))),
        "{image}"
    );
    ensure!(
        image["outcome"] == "nudge" && image["scans"].as_array().map(Vec::len) == Some(2),
        "{image}"
    );
    let id = image["id"].as_i64().unwrap_or_default();
    let (status, report) = server.get(
        &format!("/api/v1/images/{id}/report?platform=linux/arm64"),
        ADMIN,
    )?;
    ensure!(
        status == 200 && report["decision"]["outcome"] == "pass",
        "{status} {report}"
    );
    let (status, v) = server.send(
        "POST",
        &format!("/api/v1/images/{id}/approvals"),
        ADMIN,
        r#"{"reason":"internal tool"}"#,
    )?;
    ensure!(status == 201 && v["state"] == "promoted", "{status} {v}");
    let creds = format!("admin:{ADMIN}");
    let (digest, _) = raw_digest(
        &format!("docker://{}/scanned/a/multi:v1", server.addr),
        Some(&creds),
    )?;
    ensure!(digest == index_digest, "{digest} != {index_digest}");
    for child in [&amd64, &arm64] {
        let (digest, _) = raw_digest(
            &format!("docker://{}/scanned/a/multi@{child}", server.addr),
            Some(&creds),
        )?;
        ensure!(&digest == child);
    }
    Ok(())
}

#[test]
fn the_server_serves_https_with_the_given_certificate_and_refuses_a_bad_one() -> anyhow::Result<()>
{
    require("openssl", "apt-get install -y openssl")?;
    let dir = tempfile::tempdir()?;
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let out = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()?;
    ensure!(out.status.success(), "openssl: {}", stderr(&out));
    let settings = format!(
        "tls-cert = \"{}\"\ntls-key = \"{}\"\n",
        cert.display(),
        key.display()
    );
    let server = ServerProcess::start(dir.path(), &settings)?;
    ensure!(server.url().starts_with("https://"));
    let (status, _) = server.get("/api/v1/images", ADMIN)?;
    ensure!(status == 200, "{status}");
    // skopeo verifies the certificate against the CA it is given (docker's certs.d layout).
    let certs = dir.path().join("certs.d");
    std::fs::create_dir_all(&certs)?;
    std::fs::copy(&cert, certs.join("ca.crt"))?;
    let creds = format!("admin:{ADMIN}");
    let out = skopeo(&[
        "copy",
        "-q",
        "--dest-cert-dir",
        &certs.display().to_string(),
        "--dest-creds",
        &creds,
        &layout("bookworm-vuln-deleted")?,
        &format!("docker://{}/unscanned/a/tls:v1", server.addr),
    ])?;
    ensure!(out.status.success(), "push over TLS: {}", stderr(&out));
    // Without the CA the certificate is not trusted.
    let out = skopeo(&[
        "inspect",
        "--raw",
        "--creds",
        &creds,
        &format!("docker://{}/unscanned/a/tls:v1", server.addr),
    ])?;
    ensure!(
        !out.status.success() && stderr(&out).contains("certificate"),
        "{}",
        stderr(&out)
    );

    // A key that is not a key: refused at start, naming the file.
    std::fs::write(dir.path().join("bad.pem"), "not a key")?;
    let bad = dir.path().join("bad");
    std::fs::create_dir_all(&bad)?;
    let out = crate::harness::portcullis()
        .args(["server", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(bad.join("data"))
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(dir.path().join("bad.pem"))
        .output()?;
    let text = stderr(&out);
    ensure!(
        out.status.code() == Some(2) && text.contains("bad.pem") && text.contains("private key"),
        "{text}"
    );
    Ok(())
}

#[test]
fn an_image_that_cannot_be_scanned_is_failed_with_the_reason() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    // No advisory database: every scan fails; one retry, one second apart.
    let empty = dir.path().join("no-advisories");
    let server = ServerProcess::start_with_home(
        dir.path(),
        "scan-attempts = 2\nscan-retry-seconds = 1\n",
        empty,
    )?;
    server.create_team("a")?;
    let out = push(
        &server,
        &layout("bookworm-vuln-deleted")?,
        "unscanned/a/app:v1",
        &format!("admin:{ADMIN}"),
        &[],
    )?;
    ensure!(out.status.success(), "{}", stderr(&out));
    let image = server.wait_for("unscanned/a/app", "v1", &["failed"], WAIT)?;
    let reason = image["reason"].as_str().unwrap_or_default();
    ensure!(
        reason.contains("advisory database") && reason.contains("db update"),
        "{image}"
    );
    ensure!(image["scans"][0]["state"] == "failed", "{image}");
    let out = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        "--creds",
        &format!("admin:{ADMIN}"),
        &format!("docker://{}/scanned/a/app:v1", server.addr),
    ])?;
    ensure!(!out.status.success(), "a failed image must not be promoted");
    Ok(())
}

#[test]
fn malformed_api_requests_get_json_errors_that_name_the_problem() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::start(dir.path(), "")?;
    let cases: [(&str, &str, Option<&str>, u16, &str); 5] = [
        ("POST", "/api/v1/teams", Some("{bad"), 400, "JSON"),
        (
            "POST",
            "/api/v1/teams",
            Some("{}"),
            422,
            "missing field `name`",
        ),
        ("GET", "/api/v1/images/abc", None, 400, "abc"),
        ("GET", "/api/v1/images?limit=-1", None, 400, "limit"),
        (
            "GET",
            "/api/v1/images?state=bogus",
            None,
            400,
            "awaiting_approval",
        ),
    ];
    for (method, path, body, status, needle) in cases {
        let (got, v) = match body {
            Some(b) => server.send(method, path, ADMIN, b)?,
            None => server.get(path, ADMIN)?,
        };
        let message = v["error"]["message"].as_str().unwrap_or_default();
        ensure!(
            got == status && v["error"]["code"].is_string() && message.contains(needle),
            "{method} {path}: {got} {v}"
        );
    }
    // Without credentials: 401 with a challenge, in the same shape.
    let (status, v) = server.get_basic("/api/v1/images", "Basic bm9ib2R5Om5vdGhpbmc=")?;
    ensure!(
        status == 401 && v["error"]["code"] == "unauthorized",
        "{status} {v}"
    );
    Ok(())
}
