//! Comparing already-parsed versions never allocates: a counting global
//! allocator (the `allocation-counter` crate, which counts per thread) proves it.

use portcullis_version::{ApkVersion, DebVersion, NpmVersion, RpmVersion};

fn allocations_during(work: impl FnOnce()) -> u64 {
    allocation_counter::measure(work).count_total
}

fn parse_all<T: std::str::FromStr>(texts: &[&str]) -> Vec<T> {
    texts.iter().filter_map(|t| t.parse().ok()).collect()
}

#[test]
fn comparing_parsed_versions_does_not_allocate() {
    let deb: Vec<DebVersion> = parse_all(&[
        "2.36-9+deb12u4",
        "2.36-9+deb12u7",
        "1:9.18.24-1",
        "1:9.18.28-1~deb12u2",
        "1.0~rc1",
        "1.0",
        "1.0é",
        "1.99999999999999999999999-1",
    ]);
    let rpm: Vec<RpmVersion> = parse_all(&[
        "0:4.18.0-477.10.1.el8_8",
        "4.18.0-477.13.1.el8_8",
        "1.0~rc1",
        "1.0^git2",
        "1.0",
    ]);
    let apk: Vec<ApkVersion> = parse_all(&[
        "1.36.1-r5",
        "1.36.1-r7",
        "2.12_rc1-r0",
        "8.5.0_p2-r1",
        "1.0~abc-r1",
    ]);
    let npm: Vec<NpmVersion> =
        parse_all(&["1.0.0-beta.2", "1.0.0-beta.11", "4.17.21", "1.0.0-alpha"]);
    assert_eq!((deb.len(), rpm.len(), apk.len(), npm.len()), (8, 5, 5, 4));
    let count = allocations_during(|| {
        let mut sink = 0i32;
        for _ in 0..100 {
            for a in &deb {
                for b in &deb {
                    sink += a.cmp(b) as i32;
                }
            }
            for a in &rpm {
                for b in &rpm {
                    sink += a.cmp(b) as i32;
                }
            }
            for a in &apk {
                for b in &apk {
                    sink += a.cmp(b) as i32;
                }
            }
            for a in &npm {
                for b in &npm {
                    sink += a.cmp(b) as i32;
                }
            }
        }
        std::hint::black_box(sink);
    });
    assert_eq!(count, 0, "comparisons allocated {count} times");
    // The counter works: parsing does allocate.
    assert!(allocations_during(|| drop(std::hint::black_box("1.0-1".parse::<DebVersion>()))) > 0);
}
