//! Reading speed against the floor: merely inflating the same gzip layers with the same
//! inflater (flate2 + zlib-rs) on the same number of threads.
//!
//! `cargo run --release -p portcullis-image --example read_speed -- oci:DIR:TAG [THREADS]`
//! prints both timings and their ratio; the target is a ratio of at most 1.3.
#![allow(clippy::print_stdout, reason = "an example that reports timings")]

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use portcullis_image::{NoProgress, ReadOptions, Source, read_image};

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let source = args
        .next()
        .context("usage: read_speed oci:DIR:TAG [THREADS]")?;
    let threads: usize = args.next().map(|t| t.parse()).transpose()?.unwrap_or(0);
    let parsed = Source::parse(&source)?;
    let options = ReadOptions {
        threads,
        ..ReadOptions::default()
    };
    let wanted = |p: &str| p.starts_with("/var/lib/dpkg/");

    // Warm the page cache so that both runs read from memory.
    let first = read_image(&parsed, &options, &wanted, &NoProgress)?;
    let Source::OciLayout { dir, .. } = &parsed else {
        bail!("the baseline needs an oci: source")
    };
    let blobs: Vec<PathBuf> = first
        .info
        .layers
        .iter()
        .map(|l| {
            dir.join("blobs")
                .join(l.digest.algorithm())
                .join(l.digest.hex())
        })
        .collect();
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, usize::from)
    } else {
        threads
    };

    let mut best_inflate = f64::MAX;
    let mut best_read = f64::MAX;
    let mut bytes = 0;
    for _ in 0..3 {
        let started = Instant::now();
        bytes = inflate_all(&blobs, threads)?;
        best_inflate = best_inflate.min(started.elapsed().as_secs_f64());
        let started = Instant::now();
        let image = read_image(&parsed, &options, &wanted, &NoProgress)?;
        best_read = best_read.min(started.elapsed().as_secs_f64());
        assert!(image.tree.read("/var/lib/dpkg/status")?.is_some());
    }
    println!(
        "layers: {}, uncompressed: {} MB, threads: {threads}",
        blobs.len(),
        bytes / 1_000_000
    );
    println!(
        "inflate only (baseline): {:.3} s ({:.0} MB/s)",
        best_inflate,
        bytes as f64 / 1e6 / best_inflate
    );
    println!(
        "read_image (dpkg wanted): {:.3} s ({:.0} MB/s)",
        best_read,
        bytes as f64 / 1e6 / best_read
    );
    println!("ratio: {:.2} (target <= 1.30)", best_read / best_inflate);
    Ok(())
}

/// Inflates every blob to nowhere, largest first, on `threads` threads.
fn inflate_all(blobs: &[PathBuf], threads: usize) -> anyhow::Result<u64> {
    let mut order: Vec<&PathBuf> = blobs.iter().collect();
    order.sort_by_key(|p| std::cmp::Reverse(p.metadata().map(|m| m.len()).unwrap_or(0)));
    let next = AtomicUsize::new(0);
    let total = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads.min(order.len()) {
            s.spawn(|| -> io::Result<()> {
                while let Some(path) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    total.fetch_add(inflate(path)?, Ordering::Relaxed);
                }
                Ok(())
            });
        }
    });
    Ok(total.into_inner())
}

fn inflate(path: &Path) -> io::Result<u64> {
    let file = BufReader::with_capacity(256 * 1024, File::open(path)?);
    let mut decoder = flate2::bufread::MultiGzDecoder::new(file);
    let mut buf = vec![0u8; 256 * 1024];
    let mut n = 0u64;
    loop {
        match decoder.read(&mut buf)? {
            0 => return Ok(n),
            k => n += k as u64,
        }
    }
}
