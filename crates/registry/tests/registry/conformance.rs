//! Raw HTTP conformance: each test drives the registry over a loopback socket and checks
//! statuses, headers, error codes and what a later read sees.

use anyhow::ensure;
use portcullis_registry::RegistryConfig;
use serde_json::{Value, json};

use crate::harness::{CHALLENGE, TestServer, agent, basic, config_with_delete, sha256_of};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

type Resp = ureq::http::Response<ureq::Body>;

fn dev() -> String {
    basic("dev", "pw")
}

fn header(resp: &Resp, name: &str) -> String {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// The status and the first error code of a response.
fn error_code(resp: &mut Resp) -> anyhow::Result<(u16, String)> {
    let body: Value = serde_json::from_str(&resp.body_mut().read_to_string()?)?;
    let code = body["errors"][0]["code"].as_str().unwrap_or("").to_owned();
    Ok((resp.status().as_u16(), code))
}

/// Pushes `bytes` as a blob of `repo` in one request; returns its digest.
pub fn push_blob(
    server: &TestServer,
    repo: &str,
    bytes: &[u8],
    auth: &str,
) -> anyhow::Result<String> {
    let digest = sha256_of(bytes);
    let resp = agent()
        .post(server.url(&format!("/v2/{repo}/blobs/uploads/?digest={digest}")))
        .header("Authorization", auth)
        .send(bytes)?;
    ensure!(resp.status() == 201, "monolithic push: {}", resp.status());
    Ok(digest)
}

/// A manifest of one config and one layer (pushed first), with optional extra fields.
pub fn push_image(
    server: &TestServer,
    repo: &str,
    seed: &str,
    extra: Value,
) -> anyhow::Result<Vec<u8>> {
    let config = format!(r#"{{"architecture":"amd64","os":"linux","seed":"{seed}"}}"#);
    let layer = format!("layer bytes of {seed}").repeat(100);
    let config_digest = push_blob(server, repo, config.as_bytes(), &dev())?;
    let layer_digest = push_blob(server, repo, layer.as_bytes(), &dev())?;
    let mut manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest, "size": layer.len()}],
    });
    if let (Some(map), Value::Object(extra)) = (manifest.as_object_mut(), extra) {
        map.extend(extra);
    }
    Ok(serde_json::to_vec(&manifest)?)
}

fn put_manifest(
    server: &TestServer,
    repo: &str,
    reference: &str,
    body: &[u8],
    auth: Option<&str>,
) -> anyhow::Result<Resp> {
    let mut request = agent()
        .put(server.url(&format!("/v2/{repo}/manifests/{reference}")))
        .header("Content-Type", OCI_MANIFEST);
    if let Some(auth) = auth {
        request = request.header("Authorization", auth);
    }
    Ok(request.send(body)?)
}

#[test]
fn base_endpoint_challenges_anonymous_clients() -> anyhow::Result<()> {
    let server = TestServer::start(RegistryConfig::default())?;
    let resp = agent().get(server.url("/v2/")).call()?;
    assert_eq!(resp.status(), 401);
    assert_eq!(header(&resp, "www-authenticate"), CHALLENGE);
    assert_eq!(
        header(&resp, "docker-distribution-api-version"),
        "registry/2.0"
    );
    let resp = agent()
        .get(server.url("/v2/"))
        .header("Authorization", &dev())
        .call()?;
    assert_eq!(resp.status(), 200);
    let resp = agent()
        .get(server.url("/v2/"))
        .header("Authorization", &basic("dev", "wrong"))
        .call()?;
    assert_eq!(resp.status(), 401);
    Ok(())
}

#[test]
fn chunks_out_of_order_get_416_and_in_order_chunks_complete() -> anyhow::Result<()> {
    let server = TestServer::start(RegistryConfig::default())?;
    let repo = "unscanned/a/app";
    let resp = agent()
        .post(server.url(&format!("/v2/{repo}/blobs/uploads/")))
        .header("Authorization", &dev())
        .send_empty()?;
    assert_eq!(resp.status(), 202);
    let location = header(&resp, "location");
    assert!(
        location.starts_with(&format!("/v2/{repo}/blobs/uploads/")),
        "{location}"
    );
    assert!(!header(&resp, "docker-upload-uuid").is_empty());
    let patch = |range: &str, body: &[u8]| {
        agent()
            .patch(server.url(&location))
            .header("Authorization", &dev())
            .header("Content-Range", range)
            .send(body)
    };
    let resp = patch("0-9", b"0123456789")?;
    assert_eq!(resp.status(), 202);
    assert_eq!(header(&resp, "range"), "0-9");
    let mut resp = patch("20-29", b"abcdefghij")?;
    assert_eq!(
        header(&resp, "range"),
        "0-9",
        "a 416 says where the upload stands"
    );
    assert_eq!(
        error_code(&mut resp)?,
        (416, "BLOB_UPLOAD_INVALID".to_owned())
    );
    let resp = agent()
        .get(server.url(&location))
        .header("Authorization", &dev())
        .call()?;
    assert_eq!(
        (resp.status().as_u16(), header(&resp, "range")),
        (204, "0-9".to_owned())
    );
    assert_eq!(patch("10-19", b"abcdefghij")?.status(), 202);
    let digest = sha256_of(b"0123456789abcdefghij");
    let resp = agent()
        .put(server.url(&format!("{location}?digest={digest}")))
        .header("Authorization", &dev())
        .send_empty()?;
    assert_eq!(resp.status(), 201);
    assert_eq!(header(&resp, "docker-content-digest"), digest);
    let mut resp = agent()
        .get(server.url(&format!("/v2/{repo}/blobs/{digest}")))
        .header("Authorization", &dev())
        .call()?;
    assert_eq!(resp.body_mut().read_to_vec()?, b"0123456789abcdefghij");
    Ok(())
}

#[test]
fn a_wrong_digest_is_refused_and_leaves_no_blob() -> anyhow::Result<()> {
    let server = TestServer::start(RegistryConfig::default())?;
    let repo = "unscanned/a/app";
    let body = b"the real content";
    let actual = sha256_of(body);
    let claimed = sha256_of(b"something else");
    // Monolithic.
    let mut resp = agent()
        .post(server.url(&format!("/v2/{repo}/blobs/uploads/?digest={claimed}")))
        .header("Authorization", &dev())
        .send(&body[..])?;
    assert_eq!(error_code(&mut resp)?, (400, "DIGEST_INVALID".to_owned()));
    // Session.
    let resp = agent()
        .post(server.url(&format!("/v2/{repo}/blobs/uploads/")))
        .header("Authorization", &dev())
        .send_empty()?;
    let location = header(&resp, "location");
    let mut resp = agent()
        .put(server.url(&format!("{location}?digest={claimed}")))
        .header("Authorization", &dev())
        .send(&body[..])?;
    assert_eq!(error_code(&mut resp)?, (400, "DIGEST_INVALID".to_owned()));
    for digest in [&actual, &claimed] {
        let resp = agent()
            .head(server.url(&format!("/v2/{repo}/blobs/{digest}")))
            .header("Authorization", &dev())
            .call()?;
        assert_eq!(resp.status(), 404, "{digest} must not be readable");
        let hex = &digest["sha256:".len()..];
        assert!(!server.root.join("data/blobs/sha256").join(hex).exists());
    }
    let leftovers = std::fs::read_dir(server.root.join("data/uploads"))?.count();
    assert_eq!(leftovers, 0, "the refused uploads are discarded");
    Ok(())
}

#[test]
fn a_manifest_with_a_missing_blob_is_refused() -> anyhow::Result<()> {
    let server = TestServer::start(RegistryConfig::default())?;
    let repo = "unscanned/a/app";
    let config_digest = push_blob(&server, repo, b"{}", &dev())?;
    let missing = sha256_of(b"never pushed");
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": 2},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": missing, "size": 12}],
    }))?;
    let mut resp = put_manifest(&server, repo, "v1", &manifest, Some(&dev()))?;
    assert_eq!(
        error_code(&mut resp)?,
        (400, "MANIFEST_BLOB_UNKNOWN".to_owned())
    );
    let mut resp = agent()
        .get(server.url(&format!("/v2/{repo}/manifests/v1")))
        .header("Authorization", &dev())
        .call()?;
    assert_eq!(error_code(&mut resp)?, (404, "MANIFEST_UNKNOWN".to_owned()));
    Ok(())
}

#[test]
fn writes_outside_unscanned_are_denied_before_authentication() -> anyhow::Result<()> {
    let server = TestServer::start(RegistryConfig::default())?;
    let mut resp = put_manifest(&server, "scanned/a/app", "v1", b"{}", None)?;
    assert!(
        resp.headers().get("www-authenticate").is_none(),
        "no credentials were asked for"
    );
    let message = resp.body_mut().read_to_string()?;
    assert_eq!(resp.status(), 403);
    assert!(
        message.contains("DENIED") && message.contains("unscanned/a/app"),
        "{message}"
    );
    let mut resp = agent()
        .post(server.url("/v2/scanned/a/app/blobs/uploads/"))
        .send_empty()?;
    assert_eq!(error_code(&mut resp)?, (403, "DENIED".to_owned()));
    let mut resp = agent()
        .post(server.url("/v2/elsewhere/a/app/blobs/uploads/"))
        .header("Authorization", &dev())
        .send_empty()?;
    assert_eq!(error_code(&mut resp)?, (403, "DENIED".to_owned()));
    // Reading scanned/ is a matter of authorization, not of the zone.
    let mut resp = agent()
        .get(server.url("/v2/scanned/a/app/tags/list"))
        .header("Authorization", &dev())
        .call()?;
    assert_eq!(error_code(&mut resp)?, (404, "NAME_UNKNOWN".to_owned()));
    Ok(())
}

#[test]
fn deletes_are_unsupported_unless_enabled() -> anyhow::Result<()> {
    let repo = "unscanned/a/app";
    for enabled in [false, true] {
        let server = TestServer::start(config_with_delete(enabled))?;
        let manifest = push_image(&server, repo, "del", json!({}))?;
        assert_eq!(
            put_manifest(&server, repo, "v1", &manifest, Some(&dev()))?.status(),
            201
        );
        let digest = sha256_of(&manifest);
        let mut resp = agent()
            .delete(server.url(&format!("/v2/{repo}/manifests/{digest}")))
            .header("Authorization", &dev())
            .call()?;
        let after = agent()
            .get(server.url(&format!("/v2/{repo}/manifests/v1")))
            .header("Authorization", &dev())
            .call()?;
        if enabled {
            assert_eq!(resp.status(), 202);
            assert_eq!(after.status(), 404, "the tag went with its manifest");
        } else {
            assert_eq!(error_code(&mut resp)?, (405, "UNSUPPORTED".to_owned()));
            assert_eq!(after.status(), 200);
        }
    }
    Ok(())
}

#[test]
fn blob_ranges_are_served_as_206_and_416() -> anyhow::Result<()> {
    let server = TestServer::start(RegistryConfig::default())?;
    let repo = "unscanned/a/app";
    let bytes: Vec<u8> = (0..100u8).collect();
    let digest = push_blob(&server, repo, &bytes, &dev())?;
    let url = server.url(&format!("/v2/{repo}/blobs/{digest}"));
    let mut resp = agent()
        .get(&url)
        .header("Authorization", &dev())
        .header("Range", "bytes=10-19")
        .call()?;
    assert_eq!(resp.status(), 206);
    assert_eq!(header(&resp, "content-range"), "bytes 10-19/100");
    assert_eq!(resp.body_mut().read_to_vec()?, &bytes[10..20]);
    let mut resp = agent()
        .get(&url)
        .header("Authorization", &dev())
        .header("Range", "bytes=-5")
        .call()?;
    assert_eq!(resp.body_mut().read_to_vec()?, &bytes[95..]);
    let resp = agent()
        .get(&url)
        .header("Authorization", &dev())
        .header("Range", "bytes=200-")
        .call()?;
    assert_eq!(resp.status(), 416);
    assert_eq!(header(&resp, "content-range"), "bytes */100");
    let resp = agent().head(&url).header("Authorization", &dev()).call()?;
    assert_eq!(
        (resp.status().as_u16(), header(&resp, "content-length")),
        (200, "100".to_owned())
    );
    Ok(())
}

#[test]
fn tags_are_paginated_with_a_link_header() -> anyhow::Result<()> {
    let server = TestServer::start(RegistryConfig::default())?;
    let repo = "unscanned/a/app";
    let manifest = push_image(&server, repo, "tags", json!({}))?;
    for tag in ["v3", "v1", "latest", "v2", "A"] {
        assert_eq!(
            put_manifest(&server, repo, tag, &manifest, Some(&dev()))?.status(),
            201
        );
    }
    let mut seen = Vec::new();
    let mut next = Some(format!("/v2/{repo}/tags/list?n=2"));
    while let Some(path) = next.take() {
        let mut resp = agent()
            .get(server.url(&path))
            .header("Authorization", &dev())
            .call()?;
        assert_eq!(resp.status(), 200);
        let link = header(&resp, "link");
        let body: Value = serde_json::from_str(&resp.body_mut().read_to_string()?)?;
        let tags: Vec<String> = serde_json::from_value(body["tags"].clone())?;
        assert!(tags.len() <= 2);
        seen.extend(tags);
        if !link.is_empty() {
            assert!(link.ends_with("; rel=\"next\""), "{link}");
            next = Some(
                link.trim_start_matches('<')
                    .split('>')
                    .next()
                    .unwrap_or("")
                    .to_owned(),
            );
        }
    }
    assert_eq!(
        seen,
        ["A", "latest", "v1", "v2", "v3"],
        "byte order, each once"
    );
    Ok(())
}

#[test]
fn referrers_are_listed_and_filtered_by_artifact_type() -> anyhow::Result<()> {
    let server = TestServer::start(RegistryConfig::default())?;
    let repo = "unscanned/a/app";
    let subject = push_image(&server, repo, "subject", json!({}))?;
    assert_eq!(
        put_manifest(&server, repo, "v1", &subject, Some(&dev()))?.status(),
        201
    );
    let subject_digest = sha256_of(&subject);
    let descriptor =
        json!({"mediaType": OCI_MANIFEST, "digest": subject_digest, "size": subject.len()});
    for (seed, artifact_type) in [
        ("sig", "application/vnd.example.sig"),
        ("sbom", "application/vnd.example.sbom"),
    ] {
        let referrer = push_image(
            &server,
            repo,
            seed,
            json!({
                "artifactType": artifact_type, "subject": descriptor, "annotations": {"seed": seed},
            }),
        )?;
        let resp = put_manifest(
            &server,
            repo,
            &sha256_of(&referrer),
            &referrer,
            Some(&dev()),
        )?;
        assert_eq!(resp.status(), 201);
        assert_eq!(header(&resp, "oci-subject"), subject_digest);
    }
    let url = server.url(&format!("/v2/{repo}/referrers/{subject_digest}"));
    let mut resp = agent().get(&url).header("Authorization", &dev()).call()?;
    assert_eq!(
        header(&resp, "content-type"),
        "application/vnd.oci.image.index.v1+json"
    );
    let index: Value = serde_json::from_str(&resp.body_mut().read_to_string()?)?;
    assert_eq!(index["manifests"].as_array().map(Vec::len), Some(2));
    let mut resp = agent()
        .get(&format!("{url}?artifactType=application/vnd.example.sbom"))
        .header("Authorization", &dev())
        .call()?;
    assert_eq!(header(&resp, "oci-filters-applied"), "artifactType");
    let index: Value = serde_json::from_str(&resp.body_mut().read_to_string()?)?;
    let manifests = index["manifests"].as_array().cloned().unwrap_or_default();
    assert_eq!(manifests.len(), 1);
    assert_eq!(manifests[0]["artifactType"], "application/vnd.example.sbom");
    assert_eq!(manifests[0]["annotations"]["seed"], "sbom");
    Ok(())
}

#[test]
fn mounts_link_the_blob_or_fall_back_to_a_session() -> anyhow::Result<()> {
    let server = TestServer::start(RegistryConfig::default())?;
    let digest = push_blob(&server, "unscanned/a/one", b"shared layer", &dev())?;
    let resp = agent()
        .post(server.url(&format!(
            "/v2/unscanned/a/two/blobs/uploads/?mount={digest}&from=unscanned/a/one"
        )))
        .header("Authorization", &dev())
        .send_empty()?;
    assert_eq!(resp.status(), 201);
    assert_eq!(
        header(&resp, "location"),
        format!("/v2/unscanned/a/two/blobs/{digest}")
    );
    let resp = agent()
        .head(server.url(&format!("/v2/unscanned/a/two/blobs/{digest}")))
        .header("Authorization", &dev())
        .call()?;
    assert_eq!(resp.status(), 200);
    // Team a may not pull from team b: the mount falls back to an upload session.
    let other = push_blob(
        &server,
        "unscanned/b/app",
        b"team b layer",
        &basic("devb", "pw"),
    )?;
    let resp = agent()
        .post(server.url(&format!(
            "/v2/unscanned/a/two/blobs/uploads/?mount={other}&from=unscanned/b/app"
        )))
        .header("Authorization", &dev())
        .send_empty()?;
    assert_eq!(resp.status(), 202);
    assert!(header(&resp, "location").contains("/blobs/uploads/"));
    let resp = agent()
        .head(server.url(&format!("/v2/unscanned/a/two/blobs/{other}")))
        .header("Authorization", &dev())
        .call()?;
    assert_eq!(resp.status(), 404, "nothing was linked");
    Ok(())
}

#[test]
fn a_cancelled_upload_is_gone() -> anyhow::Result<()> {
    let server = TestServer::start(RegistryConfig::default())?;
    let repo = "unscanned/a/app";
    let resp = agent()
        .post(server.url(&format!("/v2/{repo}/blobs/uploads/")))
        .header("Authorization", &dev())
        .send_empty()?;
    let location = header(&resp, "location");
    agent()
        .patch(server.url(&location))
        .header("Authorization", &dev())
        .send(&b"partial"[..])?;
    let resp = agent()
        .delete(server.url(&location))
        .header("Authorization", &dev())
        .call()?;
    assert_eq!(resp.status(), 204);
    let mut resp = agent()
        .get(server.url(&location))
        .header("Authorization", &dev())
        .call()?;
    assert_eq!(
        error_code(&mut resp)?,
        (404, "BLOB_UPLOAD_UNKNOWN".to_owned())
    );
    assert_eq!(
        std::fs::read_dir(server.root.join("data/uploads"))?.count(),
        0
    );
    Ok(())
}

#[test]
fn a_manifest_over_the_limit_is_refused() -> anyhow::Result<()> {
    let server = TestServer::start(RegistryConfig {
        max_manifest_bytes: 1024,
        ..RegistryConfig::default()
    })?;
    let repo = "unscanned/a/app";
    let big = push_image(
        &server,
        repo,
        "big",
        json!({"annotations": {"pad": "x".repeat(2000)}}),
    )?;
    let mut resp = put_manifest(&server, repo, "v1", &big, Some(&dev()))?;
    assert_eq!(error_code(&mut resp)?, (413, "SIZE_INVALID".to_owned()));
    let small = push_image(&server, repo, "small", json!({}))?;
    assert_eq!(
        put_manifest(&server, repo, "v1", &small, Some(&dev()))?.status(),
        201
    );
    Ok(())
}

#[test]
fn promotion_makes_the_image_readable_under_scanned() -> anyhow::Result<()> {
    let server = TestServer::start(RegistryConfig::default())?;
    let manifest = push_image(&server, "unscanned/a/app", "promoted", json!({}))?;
    assert_eq!(
        put_manifest(&server, "unscanned/a/app", "v1", &manifest, Some(&dev()))?.status(),
        201
    );
    let digest: portcullis_types::Digest = sha256_of(&manifest).parse()?;
    server.runtime.block_on(async {
        let mut tx = server.store.begin().await?;
        // What the caller did not judge is never promoted.
        let refused = portcullis_registry::promote(
            &mut tx,
            "unscanned/a/app",
            &digest,
            Some("v1"),
            "scanned/a/app",
            &std::collections::BTreeSet::new(),
        )
        .await;
        assert!(
            matches!(
                refused,
                Err(portcullis_registry::RegistryError::NotJudged { .. })
            ),
            "{refused:?}"
        );
        portcullis_registry::promote(
            &mut tx,
            "unscanned/a/app",
            &digest,
            Some("v1"),
            "scanned/a/app",
            &std::collections::BTreeSet::from([digest.clone()]),
        )
        .await?;
        tx.commit().await?;
        anyhow::Ok(())
    })?;
    let mut resp = agent()
        .get(server.url("/v2/scanned/a/app/manifests/v1"))
        .header("Authorization", &dev())
        .call()?;
    assert_eq!(resp.status(), 200);
    assert_eq!(header(&resp, "docker-content-digest"), digest.to_string());
    assert_eq!(resp.body_mut().read_to_vec()?, manifest);
    let parsed: Value = serde_json::from_slice(&manifest)?;
    for blob in [&parsed["config"]["digest"], &parsed["layers"][0]["digest"]] {
        let blob = blob.as_str().unwrap_or_default();
        let resp = agent()
            .get(server.url(&format!("/v2/scanned/a/app/blobs/{blob}")))
            .header("Authorization", &dev())
            .call()?;
        assert_eq!(resp.status(), 200, "{blob} is linked in scanned/");
    }
    Ok(())
}
