//! Anonymous pulls from the real reference registry over plain HTTP (`insecure`).

use std::io::Read as _;
use std::time::Instant;

use portcullis_registry_client::{Client, ClientOptions, RegistryError};

use crate::harness::{insecure_client, insecure_options, sha256, shared};

#[test]
fn fetches_oci_manifest_by_tag_and_by_digest() {
    let shared = shared();
    let client = insecure_client();
    let reference = shared.registry.reference("portcullis/app:v1");
    let by_tag = client.fetch_manifest(&reference, "v1").expect("by tag");
    assert_eq!(
        by_tag.media_type,
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(
        by_tag.digest, shared.images.oci,
        "digest agrees with skopeo's bytes"
    );
    assert_eq!(sha256(&by_tag.bytes), by_tag.digest);
    let by_digest = client
        .fetch_manifest(&reference, &shared.images.oci.to_string())
        .expect("by digest");
    assert_eq!(by_digest, by_tag);
    let manifest: serde_json::Value = serde_json::from_slice(&by_tag.bytes).expect("json");
    assert_eq!(
        manifest["layers"][0]["digest"],
        shared.images.layer.to_string()
    );
}

#[test]
fn fetches_docker_v2s2_manifest() {
    let shared = shared();
    let reference = shared.registry.reference("portcullis/app:v2s2");
    let fetched = insecure_client()
        .fetch_manifest(&reference, "v2s2")
        .expect("v2s2");
    assert_eq!(
        fetched.media_type,
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    assert_eq!(fetched.digest, shared.images.docker);
    let manifest: serde_json::Value = serde_json::from_slice(&fetched.bytes).expect("json");
    assert_eq!(manifest["schemaVersion"], 2);
    assert_eq!(
        manifest["layers"][0]["mediaType"],
        "application/vnd.docker.image.rootfs.diff.tar.gzip"
    );
}

#[test]
fn fetches_index_and_its_children() {
    let shared = shared();
    let client = insecure_client();
    let reference = shared.registry.reference("portcullis/app:multi");
    let index = client
        .fetch_manifest(&reference, &reference.reference_str())
        .expect("index");
    assert_eq!(index.media_type, "application/vnd.oci.image.index.v1+json");
    assert_eq!(index.digest, shared.images.index);
    let parsed: serde_json::Value = serde_json::from_slice(&index.bytes).expect("json");
    let children: Vec<(String, String)> = parsed["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .map(|m| {
            (
                m["platform"]["architecture"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                m["digest"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        children,
        [
            ("amd64".to_owned(), shared.images.oci.to_string()),
            ("arm64".to_owned(), shared.images.oci_arm64.to_string()),
        ]
    );
    for (_, digest) in children {
        let child = client
            .fetch_manifest(&reference, &digest)
            .expect("child by digest");
        assert_eq!(child.digest.to_string(), digest);
    }
}

#[test]
fn streams_blob_with_matching_digest() {
    let shared = shared();
    let reference = shared.registry.reference("portcullis/app:v1");
    let mut stream = insecure_client()
        .fetch_blob(&reference, &shared.images.layer)
        .expect("blob");
    assert_eq!(stream.size(), Some(shared.images.layer_bytes.len() as u64));
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).expect("read blob");
    assert_eq!(sha256(&bytes), shared.images.layer);
    assert_eq!(bytes, shared.images.layer_bytes);
}

#[test]
fn unknown_manifest_blob_and_repository_are_named() {
    let shared = shared();
    let client = insecure_client();
    let reference = shared.registry.reference("portcullis/app:nope");
    let err = client
        .fetch_manifest(&reference, "nope")
        .expect_err("unknown tag");
    assert!(
        matches!(err, RegistryError::ManifestNotFound { .. }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "manifest `nope` not found in {}/portcullis/app",
            shared.registry.addr
        )
    );

    let missing = sha256(b"not a blob");
    let err = client
        .fetch_blob(&reference, &missing)
        .expect_err("unknown blob");
    assert!(matches!(err, RegistryError::BlobNotFound { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!(
            "blob `{missing}` not found in {}/portcullis/app",
            shared.registry.addr
        )
    );

    let err = client
        .fetch_manifest(
            &shared.registry.reference("portcullis/missing:v1"),
            &missing.to_string(),
        )
        .expect_err("unknown repository");
    assert!(
        matches!(
            err,
            RegistryError::RepositoryNotFound { .. } | RegistryError::ManifestNotFound { .. }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("portcullis/missing"), "{err}");

    let err = client
        .fetch_manifest(&reference, "../../x")
        .expect_err("bad tag");
    assert!(
        matches!(err, RegistryError::InvalidTagOrDigest(_)),
        "{err:?}"
    );
}

#[test]
fn plain_http_needs_insecure() {
    let shared = shared();
    let reference = shared.registry.reference("portcullis/app:v1");
    let secure = Client::new(ClientOptions {
        insecure: false,
        ..insecure_options()
    })
    .expect("client");
    let err = secure
        .fetch_manifest(&reference, "v1")
        .expect_err("TLS to a plain HTTP registry");
    assert!(matches!(err, RegistryError::Tls { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("--insecure") && message.contains(&shared.registry.addr),
        "{message}"
    );
    assert!(insecure_client().fetch_manifest(&reference, "v1").is_ok());
}

#[test]
fn unreachable_registry_is_a_connect_error() {
    let port = crate::harness::free_port();
    let reference = format!("127.0.0.1:{port}/a/b:c")
        .parse()
        .expect("reference");
    let err = insecure_client()
        .fetch_manifest(&reference, "c")
        .expect_err("nothing listens");
    assert!(matches!(err, RegistryError::Connect { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );
}

#[test]
#[allow(
    clippy::print_stderr,
    reason = "reports a timing for people running the tests"
)]
fn one_client_pulls_from_many_threads() {
    let shared = shared();
    let client = insecure_client();
    let reference = shared.registry.reference("portcullis/app:v1");
    let started = Instant::now();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            let reference = reference.clone();
            let layer = shared.images.layer.clone();
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                client
                    .fetch_blob(&reference, &layer)?
                    .read_to_end(&mut bytes)
                    .map_err(anyhow::Error::from)?;
                anyhow::Ok(sha256(&bytes))
            })
        })
        .collect();
    for handle in handles {
        assert_eq!(
            handle.join().expect("thread").expect("pull"),
            shared.images.layer
        );
    }
    eprintln!("8 parallel blob pulls: {:?}", started.elapsed());
}

#[test]
fn works_inside_tokio_spawn_blocking() {
    let shared = shared();
    let reference = shared.registry.reference("portcullis/app:v1");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .expect("runtime");
    let digest = runtime.block_on(async move {
        tokio::task::spawn_blocking(move || {
            let client = insecure_client();
            client.fetch_manifest(&reference, "v1").map(|m| m.digest)
        })
        .await
    });
    assert_eq!(digest.expect("join").expect("fetch"), shared.images.oci);
}
