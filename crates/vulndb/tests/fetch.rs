//! The feed downloader against a real HTTP/1.1 server on loopback that serves
//! files with validators, honours conditional and range requests, and
//! misbehaves on demand.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use portcullis_vulndb::fetch::{
    FetchError, FetchOptions, FetchOutcome, FetchProgress, Fetcher, NoProgress,
};
use sha2::{Digest as _, Sha256};

#[path = "support/http_server.rs"]
mod http_server;
use http_server::{Fault, Server};

#[derive(Default)]
struct Recorder {
    started: Mutex<Vec<(String, Option<u64>)>>,
    advanced: AtomicU64,
    retries: Mutex<Vec<(String, u32, String)>>,
}

impl FetchProgress for Recorder {
    fn started(&self, url: &str, total: Option<u64>) {
        self.started.lock().unwrap().push((url.to_owned(), total));
        self.advanced.store(0, Ordering::SeqCst);
    }
    fn advanced(&self, bytes: u64) {
        self.advanced.fetch_add(bytes, Ordering::SeqCst);
    }
    fn retrying(&self, url: &str, attempt: u32, reason: &str) {
        self.retries
            .lock()
            .unwrap()
            .push((url.to_owned(), attempt, reason.to_owned()));
    }
}

fn fetcher(retries: u32) -> Fetcher {
    Fetcher::new(FetchOptions {
        timeout: Duration::from_secs(5),
        retries,
        retry_backoff: Duration::from_millis(5),
        ..FetchOptions::default()
    })
    .unwrap()
}

/// Deterministic, not compressible-looking content.
fn content(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_be_bytes()[1] ^ seed)
        .collect()
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn with_suffix(path: &Path, suffix: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

fn downloaded(outcome: &FetchOutcome) -> (u64, &str, bool) {
    match outcome {
        FetchOutcome::Downloaded {
            bytes,
            sha256,
            resumed,
        } => (*bytes, sha256, *resumed),
        other => panic!("expected a download, got {other:?}"),
    }
}

fn error_text(error: &FetchError) -> String {
    let mut text = format!("{error} {error:?}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(" {cause} {cause:?}"));
        source = cause.source();
    }
    text
}

const ETAG: &str = "\"v1\"";
const DATE: &str = "Tue, 01 Jul 2025 10:00:00 GMT";

// ---------------------------------------------------------------- tests

#[test]
fn downloads_then_is_not_modified() {
    let server = Server::start();
    let body = content(50_000, 1);
    server.serve("/osv/all.zip", &body, Some(ETAG), Some(DATE));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("feeds/osv/all.zip");
    let progress = Recorder::default();

    let outcome = fetcher(3)
        .fetch(&server.url("/osv/all.zip"), &dest, &progress)
        .unwrap();
    let (bytes, sha, resumed) = downloaded(&outcome);
    assert_eq!(
        (bytes, sha, resumed),
        (50_000, sha256(&body).as_str(), false)
    );
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    assert_eq!(progress.advanced.load(Ordering::SeqCst), 50_000);
    assert_eq!(
        progress.started.lock().unwrap().as_slice(),
        [(server.url("/osv/all.zip"), Some(50_000))]
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(with_suffix(&dest, ".meta.json")).unwrap()).unwrap();
    assert_eq!(meta["url"], server.url("/osv/all.zip"));
    assert_eq!(meta["etag"], ETAG);
    assert_eq!(meta["last_modified"], DATE);
    assert_eq!(meta["sha256"], sha256(&body));
    assert_eq!(meta["bytes"], 50_000);
    assert!(meta["fetched_at"].as_str().unwrap().ends_with('Z'));
    assert!(!with_suffix(&dest, ".partial").exists());
    assert!(!with_suffix(&dest, ".partial.meta.json").exists());
    let served = server.bytes();
    let modified = std::fs::metadata(&dest).unwrap().modified().unwrap();

    let again = fetcher(3)
        .fetch(&server.url("/osv/all.zip"), &dest, &NoProgress)
        .unwrap();
    assert_eq!(
        again,
        FetchOutcome::NotModified {
            bytes: 50_000,
            sha256: sha256(&body)
        }
    );
    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|s| s.path == "/osv/all.zip"));
    assert!(!seen[0].headers.contains_key("if-none-match"));
    assert_eq!(seen[1].headers["if-none-match"], ETAG);
    assert_eq!(seen[1].headers["if-modified-since"], DATE);
    assert!(seen[1].headers["user-agent"].starts_with("portcullis/"));
    assert_eq!(seen[1].status, 304);
    assert_eq!(server.bytes(), served, "no body after a 304");
    assert_eq!(
        std::fs::metadata(&dest).unwrap().modified().unwrap(),
        modified
    );
}

#[test]
fn last_modified_alone_is_a_validator_and_a_change_downloads_again() {
    let server = Server::start();
    server.serve("/secdb/main.json", b"{\"v\":1}", None, Some(DATE));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("main.json");
    let url = server.url("/secdb/main.json");
    downloaded(&fetcher(0).fetch(&url, &dest, &NoProgress).unwrap());
    let again = fetcher(0).fetch(&url, &dest, &NoProgress).unwrap();
    assert!(matches!(again, FetchOutcome::NotModified { bytes: 7, .. }));
    let seen = server.seen();
    assert!(!seen[1].headers.contains_key("if-none-match"));
    assert_eq!(seen[1].headers["if-modified-since"], DATE);

    server.serve(
        "/secdb/main.json",
        b"{\"v\":22}",
        None,
        Some("Wed, 02 Jul 2025 10:00:00 GMT"),
    );
    let changed = fetcher(0).fetch(&url, &dest, &NoProgress).unwrap();
    assert_eq!(downloaded(&changed).0, 8);
    assert_eq!(std::fs::read(&dest).unwrap(), b"{\"v\":22}");
}

#[test]
fn a_cut_body_is_resumed_with_a_range_request() {
    let server = Server::start();
    let body = content(100_000, 2);
    server.serve("/nvd.json.gz", &body, Some(ETAG), Some(DATE));
    server.fault(Fault::CutAfter(30_000));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("nvd.json.gz");
    let progress = Recorder::default();
    let outcome = fetcher(3)
        .fetch(&server.url("/nvd.json.gz"), &dest, &progress)
        .unwrap();
    let (bytes, sha, resumed) = downloaded(&outcome);
    assert_eq!(
        (bytes, sha, resumed),
        (100_000, sha256(&body).as_str(), true)
    );
    assert_eq!(std::fs::read(&dest).unwrap(), body);

    let seen = server.seen();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].headers["range"], "bytes=30000-");
    assert_eq!(seen[1].headers["if-range"], ETAG);
    assert_eq!(seen[1].status, 206);
    assert_eq!(server.bytes(), 100_000, "nothing sent twice");
    let retries = progress.retries.lock().unwrap();
    assert_eq!(retries.len(), 1);
    assert_eq!(retries[0].1, 2);
    assert_eq!(progress.advanced.load(Ordering::SeqCst), 100_000);
    assert!(!with_suffix(&dest, ".partial").exists());
}

#[test]
fn a_server_without_ranges_restarts_from_zero() {
    let server = Server::start();
    server.state.lock().unwrap().ranges = false;
    let body = content(40_000, 3);
    server.serve("/feed.json", &body, Some(ETAG), Some(DATE));
    server.fault(Fault::CutAfter(10_000));
    server.fault(Fault::CutAfter(20_000));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("feed.json");
    let outcome = fetcher(3)
        .fetch(&server.url("/feed.json"), &dest, &NoProgress)
        .unwrap();
    assert_eq!(
        downloaded(&outcome),
        (40_000, sha256(&body).as_str(), false)
    );
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    let seen = server.seen();
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|s| !s.headers.contains_key("range")));
    assert_eq!(server.bytes(), 70_000);
}

#[test]
fn a_stalled_body_times_out_and_resumes() {
    let server = Server::start();
    let body = content(20_000, 4);
    server.serve("/kev.json", &body, Some(ETAG), None);
    server.fault(Fault::StallAfter(5_000, Duration::from_millis(800)));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("kev.json");
    let fetcher = Fetcher::new(FetchOptions {
        timeout: Duration::from_millis(250),
        retries: 2,
        retry_backoff: Duration::from_millis(5),
        ..FetchOptions::default()
    })
    .unwrap();
    let progress = Recorder::default();
    let outcome = fetcher
        .fetch(&server.url("/kev.json"), &dest, &progress)
        .unwrap();
    assert_eq!(downloaded(&outcome), (20_000, sha256(&body).as_str(), true));
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    assert_eq!(server.seen()[1].headers["range"], "bytes=5000-");
    let reason = progress.retries.lock().unwrap()[0].2.to_lowercase();
    assert!(reason.contains("time"), "{reason}");
}

#[test]
fn service_unavailable_then_success_honours_retry_after() {
    let server = Server::start();
    server.serve("/epss.csv.gz", b"cve,epss\n", Some(ETAG), None);
    server.status(503, Some(1));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("epss.csv.gz");
    let progress = Recorder::default();
    let start = Instant::now();
    let outcome = fetcher(3)
        .fetch(&server.url("/epss.csv.gz"), &dest, &progress)
        .unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "waited {:?}",
        start.elapsed()
    );
    assert_eq!(downloaded(&outcome).0, 9);
    let retries = progress.retries.lock().unwrap();
    assert_eq!(retries.len(), 1);
    assert!(retries[0].2.contains("503"), "{}", retries[0].2);
    assert_eq!(server.seen().len(), 2);
}

#[test]
fn server_errors_are_retried_until_the_retries_run_out() {
    let server = Server::start();
    server.serve("/x.json", b"{}", None, None);
    for _ in 0..3 {
        server.status(500, None);
    }
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("x.json");
    let error = fetcher(2)
        .fetch(&server.url("/x.json"), &dest, &NoProgress)
        .unwrap_err();
    assert!(
        matches!(error, FetchError::GaveUp { attempts: 3, .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains(&server.url("/x.json")) && text.contains("500"),
        "{text}"
    );
    assert_eq!(server.seen().len(), 3);
    assert!(!dest.exists());
}

#[test]
fn not_found_fails_at_once() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let progress = Recorder::default();
    let url = server.url("/missing.json");
    let error = fetcher(3)
        .fetch(&url, &dir.path().join("missing.json"), &progress)
        .unwrap_err();
    assert!(
        matches!(error, FetchError::Status { status: 404, .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(text.contains(&url) && text.contains("404"), "{text}");
    assert!(text.contains("check the URL"), "{text}");
    assert_eq!(server.seen().len(), 1);
    assert!(progress.retries.lock().unwrap().is_empty());
}

#[test]
fn credentials_are_sent_but_never_shown() {
    let server = Server::start();
    server.serve("/private/feed.json", b"[]", Some(ETAG), None);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("feed.json");
    let progress = Recorder::default();
    let url = server.with_credentials("/private/feed.json");
    downloaded(&fetcher(0).fetch(&url, &dest, &progress).unwrap());
    let seen = server.seen();
    // base64("user:s3cret!")
    assert_eq!(seen[0].headers["authorization"], "Basic dXNlcjpzM2NyZXQh");
    let meta = std::fs::read_to_string(with_suffix(&dest, ".meta.json")).unwrap();
    assert!(!meta.contains("s3cret") && meta.contains("***@"), "{meta}");
    assert!(progress.started.lock().unwrap()[0].0.contains("***@"));
    // The same URL with its credentials is the same cache entry.
    let again = fetcher(0).fetch(&url, &dest, &NoProgress).unwrap();
    assert!(matches!(again, FetchOutcome::NotModified { .. }));

    let error = fetcher(0)
        .fetch(
            &server.with_credentials("/nope"),
            &dir.path().join("nope"),
            &NoProgress,
        )
        .unwrap_err();
    let text = error_text(&error);
    assert!(text.contains("http://***@127.0.0.1:"), "{text}");
    assert!(
        !text.contains("s3cret") && !text.contains("user:"),
        "{text}"
    );

    // A transport failure: nothing listens on this port any more.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let error = fetcher(1)
        .fetch(
            &format!("http://user:s3cret%21@127.0.0.1:{port}/feed.json"),
            &dir.path().join("gone"),
            &progress,
        )
        .unwrap_err();
    assert!(
        matches!(error, FetchError::GaveUp { attempts: 2, .. }),
        "{error:?}"
    );
    let text = error_text(&error);
    assert!(
        !text.contains("s3cret") && !text.contains("user:"),
        "{text}"
    );
    for (url, _, reason) in progress.retries.lock().unwrap().iter() {
        assert!(!url.contains("s3cret") && !reason.contains("s3cret"));
    }
}

#[test]
fn a_partial_left_by_a_killed_run_is_resumed_by_a_new_fetcher() {
    let server = Server::start();
    let body = content(64_000, 5);
    server.serve("/debian.json", &body, Some(ETAG), Some(DATE));
    server.fault(Fault::CutAfter(24_000));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("debian.json");
    let url = server.url("/debian.json");
    let error = fetcher(0).fetch(&url, &dest, &NoProgress).unwrap_err();
    assert!(
        matches!(error, FetchError::GaveUp { attempts: 1, .. }),
        "{error:?}"
    );
    assert!(!dest.exists());
    assert_eq!(
        std::fs::metadata(with_suffix(&dest, ".partial"))
            .unwrap()
            .len(),
        24_000
    );
    assert!(with_suffix(&dest, ".partial.meta.json").exists());

    let progress = Recorder::default();
    let outcome = fetcher(0).fetch(&url, &dest, &progress).unwrap();
    assert_eq!(downloaded(&outcome), (64_000, sha256(&body).as_str(), true));
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    let seen = server.seen();
    assert_eq!(seen[1].headers["range"], "bytes=24000-");
    assert_eq!(seen[1].headers["if-range"], ETAG);
    assert_eq!(progress.started.lock().unwrap()[0].1, Some(64_000));
    assert_eq!(progress.advanced.load(Ordering::SeqCst), 64_000);
    assert!(!with_suffix(&dest, ".partial").exists());
    assert!(!with_suffix(&dest, ".partial.meta.json").exists());
}

#[test]
fn a_partial_of_an_older_version_is_replaced() {
    let server = Server::start();
    server.serve("/debian.json", &content(64_000, 6), Some(ETAG), Some(DATE));
    server.fault(Fault::CutAfter(24_000));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("debian.json");
    let url = server.url("/debian.json");
    fetcher(0).fetch(&url, &dest, &NoProgress).unwrap_err();

    let newer = content(70_000, 7);
    server.serve("/debian.json", &newer, Some("\"v2\""), None);
    let outcome = fetcher(0).fetch(&url, &dest, &NoProgress).unwrap();
    assert_eq!(
        downloaded(&outcome),
        (70_000, sha256(&newer).as_str(), false)
    );
    assert_eq!(std::fs::read(&dest).unwrap(), newer);
    let seen = server.seen();
    assert_eq!(seen[1].headers["if-range"], ETAG);
    assert_eq!(seen[1].status, 200);
}

#[test]
fn a_corrupted_cache_is_downloaded_again() {
    let server = Server::start();
    let body = content(10_000, 8);
    server.serve("/rustsec.zip", &body, Some(ETAG), Some(DATE));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("rustsec.zip");
    let url = server.url("/rustsec.zip");
    downloaded(&fetcher(0).fetch(&url, &dest, &NoProgress).unwrap());
    let mut damaged = body.clone();
    damaged[5_000] ^= 0xff;
    std::fs::write(&dest, &damaged).unwrap();

    let outcome = fetcher(0).fetch(&url, &dest, &NoProgress).unwrap();
    assert_eq!(
        downloaded(&outcome),
        (10_000, sha256(&body).as_str(), false)
    );
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    let seen = server.seen();
    assert!(!seen[1].headers.contains_key("if-none-match"));
    assert!(!seen[1].headers.contains_key("if-modified-since"));
    assert_eq!(server.bytes(), 20_000);
}

#[test]
fn a_body_over_the_limit_is_refused() {
    let server = Server::start();
    server.serve("/huge.json", &content(5_000, 9), Some(ETAG), None);
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("huge.json");
    let fetcher = Fetcher::new(FetchOptions {
        max_bytes: 4_096,
        retries: 3,
        retry_backoff: Duration::from_millis(5),
        ..FetchOptions::default()
    })
    .unwrap();
    let error = fetcher
        .fetch(&server.url("/huge.json"), &dest, &NoProgress)
        .unwrap_err();
    assert!(
        matches!(error, FetchError::TooLarge { limit: 4_096, .. }),
        "{error:?}"
    );
    assert_eq!(server.seen().len(), 1);
    assert!(!dest.exists() && !with_suffix(&dest, ".partial").exists());
}

#[test]
fn local_locations_are_not_fetched() {
    let dir = tempfile::tempdir().unwrap();
    for url in ["file:///tmp/feed.json", "/tmp/feed.json"] {
        let error = fetcher(0)
            .fetch(url, &dir.path().join("feed.json"), &NoProgress)
            .unwrap_err();
        assert!(
            matches!(error, FetchError::UnsupportedUrl { .. }),
            "{error:?}"
        );
    }
}

#[test]
fn a_range_of_another_version_is_not_appended() {
    let server = Server::start();
    server.serve("/debian.json", &content(30_000, 10), Some(ETAG), None);
    server.fault(Fault::CutAfter(10_000));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("debian.json");
    let url = server.url("/debian.json");
    fetcher(0).fetch(&url, &dest, &NoProgress).unwrap_err();

    // The file changes and the server ignores If-Range, but its ETag tells.
    server.state.lock().unwrap().if_range = false;
    let newer = content(30_000, 11);
    server.serve("/debian.json", &newer, Some("\"v2\""), None);
    let outcome = fetcher(0).fetch(&url, &dest, &NoProgress).unwrap();
    assert_eq!(
        downloaded(&outcome),
        (30_000, sha256(&newer).as_str(), false)
    );
    assert_eq!(std::fs::read(&dest).unwrap(), newer);
    let seen = server.seen();
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[1].status, 206);
    assert!(!seen[2].headers.contains_key("range"));
}

#[test]
fn a_partial_that_is_already_complete_is_fetched_again() {
    let server = Server::start();
    let body = content(30_000, 12);
    server.serve("/kev.json", &body, Some(ETAG), None);
    server.fault(Fault::CutAfter(10_000));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("kev.json");
    let url = server.url("/kev.json");
    fetcher(0).fetch(&url, &dest, &NoProgress).unwrap_err();
    // Killed after the last byte was written but before the rename.
    std::fs::write(with_suffix(&dest, ".partial"), &body).unwrap();

    let outcome = fetcher(0).fetch(&url, &dest, &NoProgress).unwrap();
    assert_eq!(
        downloaded(&outcome),
        (30_000, sha256(&body).as_str(), false)
    );
    let seen = server.seen();
    assert_eq!(seen[1].headers["range"], "bytes=30000-");
    assert_eq!(seen[1].status, 416);
    assert_eq!(seen[2].status, 200);
}
