//! Registries that lie, overflow, redirect or fail, scripted on loopback, since the
//! reference registry never does these things.

use std::io::Read as _;
use std::time::Duration;

use portcullis_registry_client::{Client, ClientOptions, Credentials, Reference, RegistryError};

use crate::harness::{insecure_options, sha256};
use crate::scripted::{Reply, Scripted, Seen};

const MANIFEST: &str = r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;

fn reference(server: &Scripted) -> Reference {
    format!("{}/lab/app:v1", server.addr)
        .parse()
        .expect("reference")
}

/// A registry answering `/v2/` with 200 and everything else with `reply`.
fn registry(reply: impl Fn(&Seen) -> Reply + Send + 'static) -> Scripted {
    Scripted::start(move |seen| {
        if seen.path() == "/v2/" {
            Reply::new(200, "{}")
        } else {
            reply(seen)
        }
    })
}

#[test]
fn docker_content_digest_that_disagrees_is_an_error() {
    let liar = sha256(b"something else");
    let header = liar.to_string();
    let server = registry(move |_| {
        Reply::new(200, MANIFEST)
            .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            .header("Docker-Content-Digest", &header)
    });
    let err = Client::new(insecure_options())
        .expect("client")
        .fetch_manifest(&reference(&server), "v1")
        .expect_err("header disagrees");
    assert!(
        matches!(err, RegistryError::HeaderDigestMismatch { .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&liar.to_string())
            && message.contains(&sha256(MANIFEST.as_bytes()).to_string()),
        "{message}"
    );
}

#[test]
fn bytes_that_do_not_match_the_requested_digest_are_an_error() {
    let server = registry(|_| {
        Reply::new(200, MANIFEST)
            .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
    });
    let wanted = sha256(b"the manifest I asked for");
    let err = Client::new(insecure_options())
        .expect("client")
        .fetch_manifest(&reference(&server), &wanted.to_string())
        .expect_err("digest mismatch");
    assert!(
        matches!(err, RegistryError::DigestMismatch { .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains(&wanted.to_string())
            && message.contains(&sha256(MANIFEST.as_bytes()).to_string()),
        "{message}"
    );
}

#[test]
fn matching_header_and_sniffed_media_type() {
    let digest = sha256(MANIFEST.as_bytes()).to_string();
    let server =
        registry(move |_| Reply::new(200, MANIFEST).header("Docker-Content-Digest", &digest));
    let fetched = Client::new(insecure_options())
        .expect("client")
        .fetch_manifest(&reference(&server), "v1")
        .expect("consistent manifest");
    assert_eq!(fetched.bytes, MANIFEST.as_bytes());
    assert_eq!(
        fetched.media_type,
        "application/vnd.oci.image.manifest.v1+json"
    );
    // The client asked for every manifest type it understands.
    let accept = server.seen();
    assert!(
        accept
            .iter()
            .any(|s| s.path() == "/v2/lab/app/manifests/v1")
    );
}

#[test]
fn oversized_manifests_are_refused_with_or_without_length() {
    let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(4096));
    for chunked in [false, true] {
        let body = big.clone();
        let server = registry(move |_| Reply {
            chunked,
            ..Reply::new(200, body.clone())
        });
        let options = ClientOptions {
            max_manifest_bytes: 1024,
            ..insecure_options()
        };
        let err = Client::new(options)
            .expect("client")
            .fetch_manifest(&reference(&server), "v1")
            .expect_err("too large");
        assert!(
            matches!(err, RegistryError::ManifestTooLarge { limit: 1024, .. }),
            "chunked={chunked}: {err:?}"
        );
        assert!(err.to_string().contains("1024 bytes"), "{err}");
    }
}

#[test]
fn redirect_to_blob_storage_drops_the_authorization_header() {
    let blob = b"layer bytes kept in object storage".to_vec();
    let digest = sha256(&blob);
    let storage = {
        let blob = blob.clone();
        Scripted::start(move |_| Reply::new(200, blob.clone()))
    };
    // `localhost` is another host name than the registry's `127.0.0.1`.
    let location = format!(
        "http://localhost:{}/bucket/object?signature=abc",
        storage.addr.rsplit(':').next().unwrap_or_default()
    );
    let expected_auth = format!("Basic {}", {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode("carol:pw")
    });
    let server = {
        let expected_auth = expected_auth.clone();
        Scripted::start(move |seen| {
            if seen.authorization.as_deref() != Some(expected_auth.as_str()) {
                return Reply::new(
                    401,
                    r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
                )
                .header("WWW-Authenticate", r#"Basic realm="lab""#);
            }
            if seen.path() == "/v2/" {
                return Reply::new(200, "{}");
            }
            Reply::new(307, "").header("Location", &location)
        })
    };
    let options = ClientOptions {
        credentials: Some(Credentials {
            username: "carol".into(),
            password: "pw".into(),
        }),
        ..insecure_options()
    };
    let mut stream = Client::new(options)
        .expect("client")
        .fetch_blob(&reference(&server), &digest)
        .expect("blob");
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).expect("read");
    assert_eq!(sha256(&bytes), digest);
    let at_registry: Vec<Seen> = server
        .seen()
        .into_iter()
        .filter(|s| s.path().contains("/blobs/"))
        .collect();
    assert!(
        at_registry
            .iter()
            .all(|s| s.authorization.as_deref() == Some(expected_auth.as_str())),
        "{at_registry:?}"
    );
    let at_storage = storage.seen();
    assert_eq!(at_storage.len(), 1, "{at_storage:?}");
    assert_eq!(
        at_storage[0].authorization, None,
        "credentials leaked to blob storage"
    );
    assert_eq!(at_storage[0].url, "/bucket/object?signature=abc");
}

#[test]
fn rate_limits_and_server_errors_are_explained() {
    let server = registry(|seen| {
        if seen.path().contains("/manifests/") {
            Reply::new(
                429,
                r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"pull rate limit reached"}]}"#,
            )
        } else {
            Reply::new(
                500,
                r#"{"errors":[{"code":"UNKNOWN","message":"disk on fire"}]}"#,
            )
        }
    });
    let client = Client::new(insecure_options()).expect("client");
    let err = client
        .fetch_manifest(&reference(&server), "v1")
        .expect_err("429");
    assert!(matches!(err, RegistryError::RateLimited { .. }), "{err:?}");
    assert!(err.to_string().contains("pull rate limit reached"), "{err}");
    let err = client
        .fetch_blob(&reference(&server), &sha256(b"x"))
        .expect_err("500");
    assert!(
        matches!(err, RegistryError::UnexpectedStatus { status: 500, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("UNKNOWN: disk on fire"), "{err}");
}

#[test]
fn denied_says_how_to_log_in() {
    let server = registry(|_| {
        Reply::new(
            403,
            r#"{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}"#,
        )
    });
    let err = Client::new(insecure_options())
        .expect("client")
        .fetch_manifest(&reference(&server), "v1")
        .expect_err("403");
    assert!(matches!(err, RegistryError::Denied { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("DENIED") && message.contains("docker login"),
        "{message}"
    );
}

#[test]
fn stalled_blob_reads_time_out() {
    // A server that accepts and sends headers, then never sends the body.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = std::thread::spawn(move || {
        use std::io::{BufRead as _, BufReader, Write as _};
        let mut held = Vec::new();
        for _ in 0..3 {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            let mut first = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                if first.is_empty() {
                    first = line.clone();
                }
                line.clear();
            }
            let mut stream = stream;
            if first.starts_with("GET /v2/ ") {
                let _ = stream.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
                );
            } else {
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc");
                held.push(stream);
            }
        }
        std::thread::sleep(Duration::from_secs(3));
    });
    let options = ClientOptions {
        timeout: Duration::from_millis(500),
        ..insecure_options()
    };
    let reference: Reference = format!("{addr}/lab/app:v1").parse().expect("reference");
    let mut stream = Client::new(options)
        .expect("client")
        .fetch_blob(&reference, &sha256(b"x"))
        .expect("headers");
    let started = std::time::Instant::now();
    let mut bytes = Vec::new();
    let result = stream.read_to_end(&mut bytes);
    assert!(
        result.is_err(),
        "a stalled body must fail, got {} bytes",
        bytes.len()
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    let _ = server.join();
}
