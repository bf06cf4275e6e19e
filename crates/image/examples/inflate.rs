//! The physical limit for `scripts/bench-sbom.py`: decompress gzip layer blobs with the
//! same inflater portcullis uses (flate2 on zlib-rs), on N threads, doing nothing else.
//!
//! Usage: inflate [--threads N] BLOB...
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark program that reports"
)]

use std::io::{BufReader, Read};
use std::sync::Mutex;
use std::time::Instant;

fn main() -> std::io::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    if args.first().map(String::as_str) == Some("--threads") && args.len() > 1 {
        threads = args[1].parse().unwrap_or(threads).max(1);
        args.drain(..2);
    }
    // Sorted by size so that `pop` hands out the largest first, as portcullis schedules
    // layers, and one thread does not finish alone on the biggest.
    args.sort_by_key(|p| std::fs::metadata(p).map_or(0, |m| m.len()));
    let queue = Mutex::new(args);
    let start = Instant::now();
    let total = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> std::io::Result<u64> {
                    let mut out = 0u64;
                    let mut buf = vec![0u8; 256 * 1024];
                    loop {
                        let Some(path) = queue.lock().ok().and_then(|mut q| q.pop()) else {
                            return Ok(out);
                        };
                        let file =
                            BufReader::with_capacity(256 * 1024, std::fs::File::open(&path)?);
                        let mut gz = flate2::read::MultiGzDecoder::new(file);
                        loop {
                            let n = gz.read(&mut buf)?;
                            if n == 0 {
                                break;
                            }
                            out += n as u64;
                        }
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or(Ok(0)))
            .sum::<std::io::Result<u64>>()
    })?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{total} bytes in {secs:.3} s ({:.0} MB/s) on {threads} threads",
        total as f64 / secs / 1e6
    );
    Ok(())
}
