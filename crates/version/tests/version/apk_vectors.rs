//! apk-tools' own test vectors (`test/unit/version.data`), read the way its
//! `version_test.c` reads them.

use std::cmp::Ordering;

use portcullis_version::apk::{compare_str, is_valid, match_str};
use portcullis_version::{ApkVersion, Scheme, compare};

use super::oracle::{assert_no_disagreement, fixture_path};

#[test]
fn apk_tools_test_vectors_pass() {
    let text =
        std::fs::read_to_string(fixture_path("apk-vectors", "version.data")).expect("fixture");
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in text.lines().filter(|line| !line.starts_with("# ")) {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        checked += 1;
        let words: Vec<&str> = line.split(' ').collect();
        let ok = match words.as_slice() {
            [a, op, b] => {
                let (invert, op) = match op.strip_prefix('!') {
                    Some(op) => (true, op),
                    None => (false, *op),
                };
                let matched = match_str(a, op, b) != invert;
                // Valid pairs must also agree through the parsed type.
                if let (Ok(x), Ok(y)) = (a.parse::<ApkVersion>(), b.parse::<ApkVersion>()) {
                    let through_type = x.cmp(&y) == compare_str(a, b)
                        && compare(Scheme::Apk, a, b) == Ok(compare_str(a, b));
                    matched && through_type
                } else {
                    matched
                }
            }
            [version] => match version.strip_prefix('!') {
                Some(invalid) => !is_valid(invalid) && invalid.parse::<ApkVersion>().is_err(),
                None => is_valid(version) && version.parse::<ApkVersion>().is_ok(),
            },
            _ => false,
        };
        if !ok {
            failures.push(line.to_owned());
        }
    }
    eprintln!("apk: {checked} apk-tools test vectors checked");
    assert!(checked > 700);
    assert_no_disagreement("apk version.data", checked, &failures);
    assert_eq!(compare_str("1.0", "1.0"), Ordering::Equal);
}
