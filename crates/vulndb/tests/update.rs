//! `update` end to end against a real HTTP server on loopback that serves
//! feeds as upstream publishes them (an osv.dev-style `all.zip` of real Go
//! records, the real CISA KEV catalog, a gzip'd EPSS CSV): the second update
//! receives `304 Not Modified` and does no work, an interrupted download is
//! retried, a failing source leaves the previous index in use, and bundles
//! round-trip while corrupted ones are refused.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

#[path = "support/http_server.rs"]
mod http_server;

use anyhow::{Context, Result};
use http_server::{Fault, Server};
use portcullis_types::AdvisorySource;
use portcullis_vulndb::fetch::{FetchOptions, FetchOutcome, FetchProgress};
use portcullis_vulndb::{Home, SourceInfo, SourceSpec, UpdateOptions, UpdateProgress};

fn vulndata(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vulndata")
        .join(name)
}

/// The regular files of a `.tar.gz` whose path satisfies `keep`.
fn untar(archive: &Path, keep: impl Fn(&str) -> bool) -> Result<BTreeMap<String, Vec<u8>>> {
    let file = std::fs::File::open(archive).with_context(|| archive.display().to_string())?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut out = BTreeMap::new();
    for entry in tar.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        if entry.header().entry_type().is_file() && keep(&path) {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes)?;
            out.insert(path, bytes);
        }
    }
    Ok(out)
}

/// An `all.zip` as osv.dev publishes it: one `ID.json` per record at the top.
fn osv_zip(records: &BTreeMap<String, Vec<u8>>) -> Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (path, bytes) in records {
        let name = path.rsplit('/').next().unwrap_or(path);
        zip.start_file(name, options)?;
        zip.write_all(bytes)?;
    }
    Ok(zip.finish()?.into_inner())
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes)?;
    Ok(enc.finish()?)
}

#[derive(Default)]
struct Log {
    lines: Mutex<Vec<String>>,
}

impl Log {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.lines.lock().unwrap())
    }
}

impl FetchProgress for Log {
    fn started(&self, _: &str, _: Option<u64>) {}
    fn advanced(&self, _: u64) {}
    fn retrying(&self, url: &str, attempt: u32, reason: &str) {
        self.lines
            .lock()
            .unwrap()
            .push(format!("retry {attempt} {url}: {reason}"));
    }
}

impl UpdateProgress for Log {
    fn fetched(&self, source: &str, _: &str, outcome: &FetchOutcome) {
        let what = match outcome {
            FetchOutcome::NotModified { .. } => "not-modified",
            FetchOutcome::Downloaded { resumed: true, .. } => "resumed",
            FetchOutcome::Downloaded { .. } => "downloaded",
        };
        self.lines.lock().unwrap().push(format!("{source} {what}"));
    }
    fn reading(&self, _: &str) {}
    fn read(&self, _: &SourceInfo) {}
    fn building(&self) {}
}

struct Feeds {
    server: Server,
    go: Vec<u8>,
    kev: Vec<u8>,
    specs: Vec<SourceSpec>,
}

fn serve_feeds() -> Result<Feeds> {
    let go_records = untar(&vulndata("go-vulndb.tar.gz"), |p| {
        p.contains("/data/osv/GO-2022-") && p.ends_with(".json")
    })?;
    anyhow::ensure!(go_records.len() > 100, "expected the 2022 Go records");
    let go = osv_zip(&go_records)?;
    let kev_files = untar(&vulndata("cisa-kev.tar.gz"), |p| p.ends_with(".json"))?;
    let kev = kev_files.into_values().next().context("no KEV json")?;
    let epss = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/epss/epss_scores-2025-03-20.csv"),
    )?;
    let server = Server::start();
    server.serve("/osv/Go/all.zip", &go, Some("\"go-1\""), None);
    server.serve(
        "/kev/known_exploited_vulnerabilities.json",
        &kev,
        None,
        Some("Mon, 25 Aug 2025 17:04:19 GMT"),
    );
    server.serve(
        "/epss/epss_scores-current.csv.gz",
        &gzip(&epss)?,
        Some("\"e-1\""),
        None,
    );
    let specs = vec![
        SourceSpec {
            name: "osv-go".into(),
            locations: vec![server.url("/osv/Go/all.zip")],
        },
        SourceSpec {
            name: "kev".into(),
            locations: vec![server.url("/kev/known_exploited_vulnerabilities.json")],
        },
        SourceSpec {
            name: "epss".into(),
            locations: vec![server.url("/epss/epss_scores-current.csv.gz")],
        },
    ];
    Ok(Feeds {
        server,
        go,
        kev,
        specs,
    })
}

fn options() -> UpdateOptions {
    UpdateOptions {
        fetch: FetchOptions {
            timeout: Duration::from_secs(5),
            retries: 3,
            retry_backoff: Duration::from_millis(10),
            ..FetchOptions::default()
        },
        ..UpdateOptions::default()
    }
}

fn inode(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).map(|m| m.ino()).unwrap_or(0)
}

#[test]
fn second_update_is_not_modified_and_an_interrupted_download_is_retried() -> Result<()> {
    let feeds = serve_feeds()?;
    let dir = tempfile::tempdir()?;
    let home = Home::new(dir.path());
    let log = Log::default();

    let first = portcullis_vulndb::update(&home, &feeds.specs, &options(), &log)?;
    assert!(!first.up_to_date);
    assert_eq!(
        log.take(),
        ["osv-go downloaded", "kev downloaded", "epss downloaded"]
    );
    let by_name: BTreeMap<&str, &SourceInfo> = first
        .manifest
        .sources
        .iter()
        .map(|s| (s.name.as_str(), s))
        .collect();
    let go_count = untar(&vulndata("go-vulndb.tar.gz"), |p| {
        p.contains("/data/osv/GO-2022-")
    })?
    .len();
    assert_eq!(by_name["osv-go"].records["OSV records"], go_count as u64);
    assert_eq!(by_name["osv-go"].advisories, go_count as u64);
    assert_eq!(by_name["kev"].kev, 1404);
    assert!(by_name["epss"].epss > 0);
    let index = home.open_index()?;
    assert!(!index.affected("Go", "stdlib")?.is_empty());
    assert_eq!(
        index
            .cve_info("CVE-2021-44228")?
            .and_then(|i| i.kev)
            .map(|k| k.date_added),
        Some("2021-12-10".to_owned())
    );
    drop(index);
    let built = inode(&home.index_path());
    let served = feeds.server.bytes();

    // Nothing changed upstream: every request is conditional, every answer a
    // 304 with no body, and the index file is not rebuilt.
    let second = portcullis_vulndb::update(&home, &feeds.specs, &options(), &log)?;
    assert!(second.up_to_date);
    assert_eq!(
        log.take(),
        [
            "osv-go not-modified",
            "kev not-modified",
            "epss not-modified"
        ]
    );
    assert_eq!(feeds.server.bytes(), served, "no body was sent");
    assert_eq!(
        inode(&home.index_path()),
        built,
        "the index was not rebuilt"
    );
    let seen = feeds.server.seen();
    let last3 = &seen[seen.len() - 3..];
    assert!(last3.iter().all(|s| s.status == 304), "{last3:?}");
    assert!(last3[0].headers.contains_key("if-none-match"), "{last3:?}");
    assert!(
        last3[1].headers.contains_key("if-modified-since"),
        "{last3:?}"
    );

    // KEV changes upstream; its download is cut half-way, retried, resumed.
    let mut kev = feeds.kev.clone();
    let text = String::from_utf8(kev.clone())?;
    let changed = text.replacen("\"catalogVersion\": \"", "\"catalogVersion\": \"9", 1);
    anyhow::ensure!(changed != text, "the KEV catalog has a catalogVersion");
    kev = changed.into_bytes();
    feeds.server.serve(
        "/kev/known_exploited_vulnerabilities.json",
        &kev,
        Some("\"kev-2\""),
        Some("Tue, 26 Aug 2025 17:04:19 GMT"),
    );
    feeds.server.fault(Fault::CutAfter(kev.len() / 2));
    let third = portcullis_vulndb::update(&home, &feeds.specs, &options(), &log)?;
    assert!(!third.up_to_date);
    let lines = log.take();
    assert!(lines.iter().any(|l| l.starts_with("retry 2 ")), "{lines:?}");
    assert!(lines.contains(&"kev resumed".to_owned()), "{lines:?}");
    assert_ne!(
        inode(&home.index_path()),
        built,
        "a new index was swapped in"
    );
    let cached = std::fs::read(
        home.feeds_dir()
            .join("kev/kev_known_exploited_vulnerabilities.json"),
    )?;
    assert_eq!(cached, kev, "the resumed file is byte-identical");
    assert_eq!(home.open_index()?.manifest().sources.len(), 3);
    let _ = feeds.go;
    Ok(())
}

#[test]
fn a_failing_source_leaves_the_previous_index_in_use() -> Result<()> {
    let feeds = serve_feeds()?;
    let dir = tempfile::tempdir()?;
    let home = Home::new(dir.path());
    let log = Log::default();
    let first = portcullis_vulndb::update(&home, &feeds.specs, &options(), &log)?;

    let mut broken = feeds.specs.clone();
    broken.push(SourceSpec {
        name: "missing".into(),
        locations: vec![feeds.server.url("/nowhere/all.zip")],
    });
    let err = portcullis_vulndb::update(&home, &broken, &options(), &log).unwrap_err();
    let text = format!("{err}");
    assert!(
        text.contains("404") && text.contains("/nowhere/all.zip"),
        "{text}"
    );
    let index = home.open_index()?;
    assert_eq!(index.manifest(), &first.manifest);
    assert!(!index.affected("Go", "stdlib")?.is_empty());
    // No temporary index is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(home.db_dir())?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // A feed that turns into garbage fails the update with a message naming it;
    // the previous index stays in use rather than one missing a whole source.
    feeds.server.serve(
        "/osv/Go/all.zip",
        b"PK\x03\x04 not a zip",
        Some("\"go-2\""),
        None,
    );
    let err = portcullis_vulndb::update(&home, &feeds.specs, &options(), &log).unwrap_err();
    assert!(format!("{err}").contains("not a valid zip"), "{err}");
    assert_eq!(home.open_index()?.manifest(), &first.manifest);
    Ok(())
}

#[test]
fn bundles_round_trip_and_corrupted_ones_are_refused() -> Result<()> {
    let feeds = serve_feeds()?;
    let dir = tempfile::tempdir()?;
    let home = Home::new(dir.path().join("online"));
    let log = Log::default();
    portcullis_vulndb::update(&home, &feeds.specs, &options(), &log)?;
    let bundle = dir.path().join("advisories.tar.zst");
    let exported = portcullis_vulndb::bundle::export(&home, &bundle, 3)?;

    let offline = Home::new(dir.path().join("offline"));
    let imported = portcullis_vulndb::bundle::import(&offline, &bundle)?;
    assert_eq!(imported, exported);
    assert_eq!(
        std::fs::read(offline.index_path())?,
        std::fs::read(home.index_path())?
    );
    let found = offline.open_index()?.by_alias("CVE-2016-3959")?;
    assert!(found.iter().any(|a| a.id == "GO-2022-0166"), "{found:?}");

    let good = std::fs::read(&bundle)?;
    let before = std::fs::read(offline.index_path())?;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("flipped byte", {
            let mut b = good.clone();
            let i = b.len() / 2;
            b[i] ^= 0x40;
            b
        }),
        ("truncated", good[..good.len() * 2 / 3].to_vec()),
        ("not a bundle", b"hello".to_vec()),
    ];
    for (what, bytes) in cases {
        let bad = dir.path().join("bad.tar.zst");
        std::fs::write(&bad, &bytes)?;
        let err = portcullis_vulndb::bundle::import(&offline, &bad)
            .expect_err(what)
            .to_string();
        assert!(
            err.contains("bad.tar.zst") && err.contains("nothing was changed"),
            "{what}: {err}"
        );
        assert_eq!(std::fs::read(offline.index_path())?, before, "{what}");
    }
    Ok(())
}
