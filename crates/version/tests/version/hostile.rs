//! Hostile inputs never panic: huge numbers, very long strings, odd
//! separators, unicode, control characters — for every parser and range
//! syntax. `PORTCULLIS_FUZZ_CASES` raises the number of random cases for
//! long runs (the default keeps `cargo test` quick).

use portcullis_version::{Scheme, compare, compare_line, osv, satisfies};
use proptest::prelude::*;

const CRAFTED: &[&str] = &[
    "",
    " ",
    "99999999999999999999999",
    "1.99999999999999999999999999999999999999",
    "99999999999999999999999:1",
    "1:99999999999999999999999-99999999999999999999999",
    "go99999999999999999999999.1",
    "v99999999999999999999999.0.0",
    "9007199254740993.0.0",
    "1.0-r99999999999999999999999",
    "1.0_p99999999999999999999999",
    "1!2!3",
    "1..2..3",
    "--",
    "::",
    "~^~^",
    "+",
    "[",
    "[1,",
    "(,)",
    "[,]",
    "||||",
    " - ",
    "^~>=<",
    "\u{0}",
    "é",
    "١٢٣",
    "𝟙.𝟚.𝟛",
    "1.0\u{202e}",
    "\u{feff}1.0",
];

fn exercise(a: &str, b: &str) {
    for scheme in Scheme::all() {
        let _ = compare(scheme, a, b);
        let _ = satisfies(scheme, a, b);
        let _ = compare_line(scheme, &format!("{a}\t{b}"));
        let range = osv::OsvRange {
            kind: osv::OsvRangeKind::Ecosystem,
            events: vec![
                osv::OsvEvent::Introduced(a.to_owned()),
                osv::OsvEvent::Fixed(b.to_owned()),
            ],
        };
        let _ = osv::osv_range_affected(scheme, a, &range);
    }
}

#[test]
fn megabyte_inputs_do_not_panic() {
    for text in [
        "1.".repeat(500_000),
        "9".repeat(1_000_000),
        "-".repeat(1_000_000),
        "é".repeat(500_000),
    ] {
        for scheme in Scheme::all() {
            let _ = compare(scheme, &text, &text);
            let _ = satisfies(scheme, "1.0", &text);
        }
    }
}

#[test]
fn crafted_hostile_inputs_do_not_panic() {
    let long = "1.".repeat(10_000) + "1";
    let long_digits = "9".repeat(20_000);
    let long_tildes = "~".repeat(10_000);
    let mut inputs: Vec<String> = CRAFTED.iter().map(|s| s.to_string()).collect();
    inputs.extend([long, long_digits, long_tildes]);
    for a in &inputs {
        for b in &inputs {
            exercise(a, b);
        }
    }
}

fn cases() -> u32 {
    std::env::var("PORTCULLIS_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]
    #[test]
    fn arbitrary_strings_do_not_panic(a in any::<String>(), b in any::<String>()) {
        exercise(&a, &b);
    }

    #[test]
    fn version_shaped_strings_do_not_panic(
        a in "[0-9a-zA-Z.:~^+_!*=<>|, \\-\\[\\]()]{0,40}",
        b in "[0-9a-zA-Z.:~^+_!*=<>|, \\-\\[\\]()]{0,40}",
    ) {
        exercise(&a, &b);
    }
}
