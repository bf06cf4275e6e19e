//! dpkg itself (`dpkg --compare-versions`) against `DebVersion` on real
//! versions from Debian bookworm's package lists.

use std::time::Instant;

use portcullis_version::{Scheme, compare};

use super::oracle::{
    assert_no_disagreement, fixture_lines, pairs, require_tool, run_with_input, sign,
};

/// Pairs beyond real versions: tildes, epochs, odd bytes (dpkg only warns).
const CRAFTED: &[(&str, &str)] = &[
    ("1.0~~", "1.0~"),
    ("1.0~", "1.0"),
    ("1.0", "1.0-0"),
    ("0:1.0", "1.0"),
    ("1.0.", "1.0.0"),
    ("1.0a", "1.0+"),
    ("1.0é", "1.0z"),
    ("1.0é", "1.0~"),
    ("1.0ä", "1.0é"),
    ("a1", "1"),
    ("1.099999999999999999999999", "1.1"),
    ("00001", "1"),
    ("1:1", "2147483647:0"),
    ("1-a-b", "1-a"),
    ("1_0", "1.0"),
];

#[test]
fn dpkg_agrees_on_real_debian_versions() {
    require_tool("dpkg", "apt-get install -y dpkg");
    let versions = fixture_lines("deb-versions", "versions.txt");
    let mut all = pairs(&versions, 1500);
    all.extend(CRAFTED.iter().map(|(a, b)| (a.to_string(), b.to_string())));
    let started = Instant::now();
    // One shell per half keeps both cores busy; dpkg itself decides every pair.
    let script = r#"while IFS="$(printf '\t')" read -r a b; do
        if dpkg --compare-versions "$a" lt "$b" 2>/dev/null; then echo -1;
        elif dpkg --compare-versions "$a" eq "$b" 2>/dev/null; then echo 0;
        else echo 1; fi
    done"#;
    let halves: Vec<&[(String, String)]> = all.chunks(all.len().div_ceil(2)).collect();
    let answers: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = halves
            .iter()
            .map(|half| {
                let input: String = half.iter().map(|(a, b)| format!("{a}\t{b}\n")).collect();
                scope.spawn(move || run_with_input("sh", &["-c", script], &input))
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().expect("oracle thread").expect("dpkg ran"))
            .collect()
    });
    assert_eq!(answers.len(), all.len(), "dpkg answered every pair");
    let mut disagreements = Vec::new();
    let mut orderings = [0usize; 3];
    for ((a, b), expected) in all.iter().zip(&answers) {
        let ours = compare(Scheme::Deb, a, b).map(sign).unwrap_or("error");
        if ours != expected {
            disagreements.push(format!("{a} vs {b}: dpkg {expected}, ours {ours}"));
        }
        if let Ok(ordering) = compare(Scheme::Deb, a, b) {
            orderings[(ordering as i8 + 1) as usize] += 1;
        }
    }
    eprintln!(
        "deb: {} pairs checked against dpkg in {:.1?} (less/equal/greater: {:?})",
        all.len(),
        started.elapsed(),
        orderings
    );
    assert!(all.len() >= 5000);
    assert!(
        orderings.iter().all(|count| *count > 0),
        "all three outcomes are exercised"
    );
    assert_no_disagreement("deb", all.len(), &disagreements);
}
