//! Comparison throughput of already-parsed versions, and allocations during it.
//!
//! Run with `cargo bench -p portcullis-version`; the dpkg figure is the one
//! the crate promises (at least 10 million comparisons per second on one core,
//! with no allocation).

use divan::{AllocProfiler, Bencher, black_box};
use portcullis_version::{ApkVersion, DebVersion, NpmVersion, Pep440Version, RpmVersion};

#[global_allocator]
static ALLOC: AllocProfiler = AllocProfiler::system();

fn main() {
    divan::main();
}

/// Typical pairs: neighbouring security updates, epochs, tildes, long revisions.
const DEB_PAIRS: [(&str, &str); 8] = [
    ("2.36-9+deb12u4", "2.36-9+deb12u7"),
    ("1:9.18.24-1", "1:9.18.28-1~deb12u2"),
    ("3.0.11-1~deb12u2", "3.0.13-1~deb12u1"),
    ("7.88.1-10+deb12u5", "7.88.1-10+deb12u8"),
    ("1.2.13.dfsg-1", "1:1.2.13.dfsg-1"),
    ("252.22-1~deb12u1", "252.30-1~deb12u2"),
    ("5.2.15-2+b2", "5.2.15-2+b7"),
    ("2.9.14+dfsg-1.3~deb12u1", "2.9.14+dfsg-1.3~deb12u1"),
];

fn parsed<T: std::str::FromStr>(pairs: &[(&str, &str)]) -> Vec<(T, T)> {
    pairs
        .iter()
        .filter_map(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
        .collect()
}

fn compare_all<T: Ord>(bencher: Bencher, pairs: Vec<(T, T)>) {
    bencher
        .counter(divan::counter::ItemsCount::new(pairs.len()))
        .bench_local(|| {
            for (a, b) in &pairs {
                black_box(black_box(a).cmp(black_box(b)));
            }
        });
}

#[divan::bench]
fn deb(bencher: Bencher) {
    compare_all(bencher, parsed::<DebVersion>(&DEB_PAIRS));
}

#[divan::bench]
fn rpm(bencher: Bencher) {
    compare_all(
        bencher,
        parsed::<RpmVersion>(&[
            ("0:4.18.0-477.10.1.el8_8", "0:4.18.0-477.13.1.el8_8"),
            ("1:1.1.1k-7.el8_6", "1:1.1.1k-9.el8_7"),
            ("2.28-225.el8", "2.28-225.el8_8.6"),
            ("9.16.23-0.16.el8_9.2", "32:9.16.23-0.16.el8_9.2"),
        ]),
    );
}

#[divan::bench]
fn apk(bencher: Bencher) {
    compare_all(
        bencher,
        parsed::<ApkVersion>(&[
            ("1.36.1-r5", "1.36.1-r7"),
            ("3.1.4-r5", "3.3.0-r0"),
            ("2.12_rc1-r0", "2.12-r0"),
            ("8.5.0_p2-r1", "8.5.0-r1"),
        ]),
    );
}

#[divan::bench]
fn pep440(bencher: Bencher) {
    compare_all(
        bencher,
        parsed::<Pep440Version>(&[
            ("4.2.11", "4.2.16"),
            ("2.0.0rc1", "2.0.0"),
            ("1.26.0.post1", "1.26.0"),
            ("3.9.0.dev2", "3.9.0a1"),
        ]),
    );
}

#[divan::bench]
fn npm(bencher: Bencher) {
    compare_all(
        bencher,
        parsed::<NpmVersion>(&[
            ("4.17.20", "4.17.21"),
            ("1.0.0-beta.2", "1.0.0-beta.11"),
            ("7.5.1", "7.5.1"),
            ("0.0.0-20230101", "0.0.1"),
        ]),
    );
}
