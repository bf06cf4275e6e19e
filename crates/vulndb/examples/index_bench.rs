//! Builds the index from feed snapshots and measures what the issue asks:
//! build time, lookup latency by (ecosystem, package), index and bundle size;
//! and compares redb with SQLite on the same stored data in the same run.
//!
//! `cargo run --release -p portcullis-vulndb --example index_bench -- ../shared/vulndata/*.tar.gz`

#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use portcullis_types::AdvisorySource;
use portcullis_vulndb::fetch::NoProgress;
use portcullis_vulndb::{Home, Index, SourceSpec, UpdateOptions};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(name: &str, mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    let p99 = percentile(&samples, 0.99);
    println!(
        "{name:<28} n={:<7} p50 {:>7.2} µs  p99 {:>7.2} µs  p99.9 {:>7.2} µs  max {:>8.2} µs",
        samples.len(),
        percentile(&samples, 0.5).as_secs_f64() * 1e6,
        p99.as_secs_f64() * 1e6,
        percentile(&samples, 0.999).as_secs_f64() * 1e6,
        samples.last().copied().unwrap_or_default().as_secs_f64() * 1e6,
    );
    p99
}

fn main() -> anyhow::Result<()> {
    let sources: Vec<String> = std::env::args().skip(1).collect();
    anyhow::ensure!(!sources.is_empty(), "usage: index_bench FEED...");
    let dir = tempfile::tempdir()?;
    let home = Home::new(dir.path());
    let specs: Vec<SourceSpec> = sources
        .iter()
        .map(|s| SourceSpec::from_location(s))
        .collect();
    let options = UpdateOptions::default();

    let t = Instant::now();
    let report_ = portcullis_vulndb::update(&home, &specs, &options, &NoProgress)?;
    let build = t.elapsed();
    let index_bytes = std::fs::metadata(home.index_path())?.len();
    println!(
        "build: {:.2} s for {} sources, {} advisories, {} affected, {} package keys ({} threads); index {:.1} MiB",
        build.as_secs_f64(),
        specs.len(),
        report_.manifest.advisories,
        report_.manifest.affected,
        report_.manifest.package_keys,
        options.threads,
        index_bytes as f64 / 1048576.0
    );

    let t = Instant::now();
    let bundle = dir.path().join("bundle.tar.zst");
    portcullis_vulndb::bundle::export(&home, &bundle, 12)?;
    println!(
        "bundle (zstd 12): {:.1} MiB in {:.2} s",
        std::fs::metadata(&bundle)?.len() as f64 / 1048576.0,
        t.elapsed().as_secs_f64()
    );

    let index = home.open_index()?;
    let keys = index.package_keys()?;
    // Every key, three passes in a fixed shuffled order; the first pass reads from disk
    // through the OS page cache, the later ones from redb's cache.
    let mut order: Vec<usize> = (0..keys.len()).collect();
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    for i in (1..order.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        order.swap(i, (seed % (i as u64 + 1)) as usize);
    }
    let mut redb_samples = Vec::new();
    let mut matches = 0usize;
    for _ in 0..3 {
        for &i in &order {
            let (eco, name) = &keys[i];
            let t = Instant::now();
            let found = index.affected(eco, name)?;
            redb_samples.push(t.elapsed());
            matches += found.len();
        }
    }
    println!(
        "lookups over every package key ({} keys × 3), {} entries decoded",
        keys.len(),
        matches / 3
    );
    let redb_p99 = report("redb: affected(eco, pkg)", redb_samples);

    // The same blobs in SQLite (WITHOUT ROWID, prepared statement), same decode.
    let blobs = index.raw_affected()?;
    let sqlite_path: PathBuf = dir.path().join("affected.sqlite");
    let t = Instant::now();
    {
        let mut conn = rusqlite::Connection::open(&sqlite_path)?;
        conn.execute_batch(
            "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;
             CREATE TABLE affected (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;",
        )?;
        let txn = conn.transaction()?;
        {
            let mut stmt = txn.prepare("INSERT INTO affected (key, value) VALUES (?1, ?2)")?;
            for (k, v) in &blobs {
                stmt.execute(rusqlite::params![k, v])?;
            }
        }
        txn.commit()?;
    }
    let sqlite_write = t.elapsed();
    let t = Instant::now();
    let redb_only = dir.path().join("affected.redb");
    {
        const T: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("affected");
        let db = redb::Database::create(&redb_only)?;
        let txn = db.begin_write()?;
        {
            let mut table = txn.open_table(T)?;
            for (k, v) in &blobs {
                table.insert(k.as_str(), v.as_slice())?;
            }
        }
        txn.commit()?;
    }
    let redb_write = t.elapsed();
    println!(
        "write the affected table alone: redb {:.0} ms, {:.1} MiB; SQLite {:.0} ms, {:.1} MiB",
        redb_write.as_secs_f64() * 1e3,
        std::fs::metadata(&redb_only)?.len() as f64 / 1048576.0,
        sqlite_write.as_secs_f64() * 1e3,
        std::fs::metadata(&sqlite_path)?.len() as f64 / 1048576.0
    );
    let conn = rusqlite::Connection::open_with_flags(
        &sqlite_path,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )?;
    let mut stmt = conn.prepare("SELECT value FROM affected WHERE key = ?1")?;
    let mut sqlite_samples = Vec::new();
    for _ in 0..3 {
        for &i in &order {
            let key = &blobs[i].0;
            let t = Instant::now();
            let value: Vec<u8> = stmt.query_row([key], |row| row.get(0))?;
            let n = Index::decode_affected(&value).unwrap_or(0);
            sqlite_samples.push(t.elapsed());
            std::hint::black_box(n);
        }
    }
    let sqlite_p99 = report("sqlite: same blobs + decode", sqlite_samples);
    println!(
        "p99 ratio sqlite/redb: {:.2}",
        sqlite_p99.as_secs_f64() / redb_p99.as_secs_f64()
    );
    Ok(())
}
