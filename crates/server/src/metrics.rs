//! Prometheus metrics in the text exposition format: counters and a histogram kept in
//! atomics, rendered on `GET /metrics`. Few enough that a metrics crate would add more
//! than it saves.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// A monotonically increasing counter.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// Counters by label value (the decision's outcome).
#[derive(Debug, Default)]
pub struct LabelledCounter(Mutex<std::collections::BTreeMap<String, u64>>);

impl LabelledCounter {
    pub fn inc(&self, label: &str) {
        if let Ok(mut map) = self.0.lock() {
            *map.entry(label.to_owned()).or_default() += 1;
        }
    }
}

/// Bucket bounds, in seconds, for scan durations.
const BUCKETS: [f64; 10] = [0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0];

/// A histogram of durations.
#[derive(Debug, Default)]
pub struct Histogram(Mutex<(Vec<u64>, u64, f64)>);

impl Histogram {
    pub fn observe(&self, seconds: f64) {
        if let Ok(mut h) = self.0.lock() {
            if h.0.is_empty() {
                h.0 = vec![0; BUCKETS.len()];
            }
            for (i, bound) in BUCKETS.iter().enumerate() {
                if seconds <= *bound {
                    h.0[i] += 1;
                }
            }
            h.1 += 1;
            h.2 += seconds;
        }
    }
}

/// A gauge read at scrape time: name, help, and values by label set (`{state="queued"}`).
pub type Gauge<'a> = (&'a str, &'a str, Vec<(String, u64)>);

/// Everything the server counts.
#[derive(Debug, Default)]
pub struct Metrics {
    pub http_requests: Counter,
    pub scans: Counter,
    pub decisions: LabelledCounter,
    pub worker_errors: Counter,
    pub scan_seconds: Histogram,
}

impl Metrics {
    /// The exposition text; `gauges` are values read at scrape time (queue depth, images
    /// per state).
    pub fn render(&self, gauges: &[Gauge<'_>]) -> String {
        let mut out = String::new();
        let mut counter = |name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        counter(
            "portcullis_http_requests_total",
            "HTTP requests served.",
            self.http_requests.get(),
        );
        counter(
            "portcullis_scans_total",
            "Image manifests scanned.",
            self.scans.get(),
        );
        counter(
            "portcullis_worker_errors_total",
            "Jobs that failed an attempt.",
            self.worker_errors.get(),
        );
        let _ = writeln!(
            out,
            "# HELP portcullis_decisions_total Policy decisions by outcome.\n# TYPE portcullis_decisions_total counter"
        );
        if let Ok(map) = self.decisions.0.lock() {
            for (label, value) in map.iter() {
                let _ = writeln!(
                    out,
                    "portcullis_decisions_total{{outcome=\"{label}\"}} {value}"
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP portcullis_scan_duration_seconds Time to scan one image manifest.\n# TYPE portcullis_scan_duration_seconds histogram"
        );
        if let Ok(h) = self.scan_seconds.0.lock() {
            for (i, bound) in BUCKETS.iter().enumerate() {
                let n = h.0.get(i).copied().unwrap_or(0);
                let _ = writeln!(
                    out,
                    "portcullis_scan_duration_seconds_bucket{{le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "portcullis_scan_duration_seconds_bucket{{le=\"+Inf\"}} {}\nportcullis_scan_duration_seconds_sum {}\nportcullis_scan_duration_seconds_count {}",
                h.1, h.2, h.1
            );
        }
        for (name, help, values) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for (label, value) in values {
                let _ = writeln!(out, "{name}{label} {value}");
            }
        }
        out
    }
}
