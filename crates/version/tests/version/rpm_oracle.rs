//! rpm's Lua `rpm.vercmp`, in one process, against `RpmVersion` on real
//! EVRs from the AlmaLinux OSV database plus crafted `~`, `^` and epoch cases.

use std::time::Instant;

use portcullis_version::{Scheme, compare};

use super::oracle::{assert_no_disagreement, fixture_lines, pairs, require_tool, sign};

const CRAFTED: &[(&str, &str)] = &[
    ("1.0~rc1", "1.0"),
    ("1.0~rc1", "1.0~rc2"),
    ("1.0~~", "1.0~"),
    ("1.0^1", "1.0"),
    ("1.0^", "1.0"),
    ("1.0^git1", "1.0.1"),
    ("1.0^git1", "1.0~rc1"),
    ("1.0^a", "1.0^1"),
    ("1:1.0", "2.0"),
    ("0:1.0", "1.0"),
    ("00:1.0", "0:1.0"),
    (":1.0", "1.0"),
    ("a:1", "1"),
    ("1.0", "1.0-"),
    ("1.0", "1.0-0"),
    ("1-2-3", "1-2"),
    ("1.a", "1a"),
    ("1..2", "1.2"),
    ("1.0a", "1.0.a"),
    ("2.0", "2.0.0"),
    ("1.0é", "1.0"),
    ("10", "9"),
    ("0010", "10"),
    ("1.99999999999999999999999", "1.100000000000000000000000"),
];

#[test]
fn rpm_vercmp_agrees_on_real_evrs() {
    require_tool("rpm", "apt-get install -y rpm");
    let versions = fixture_lines("rpm-versions", "versions.txt");
    let mut all = pairs(&versions, 4000);
    all.extend(CRAFTED.iter().map(|(a, b)| (a.to_string(), b.to_string())));
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("pairs.tsv");
    let text: String = all.iter().map(|(a, b)| format!("{a}\t{b}\n")).collect();
    std::fs::write(&input, text).expect("write pairs");
    let started = Instant::now();
    let lua = format!(
        "%{{lua: for line in io.lines(\"{}\") do local a, b = line:match(\"^(.-)\\t(.*)$\"); io.write(rpm.vercmp(a, b), \"\\n\") end}}",
        input.display()
    );
    let output = std::process::Command::new("rpm")
        .args(["--eval", &lua])
        .output()
        .expect("rpm runs");
    assert!(
        output.status.success(),
        "rpm failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answers: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter(|line| !line.is_empty())
        .map(str::to_owned)
        .collect();
    assert_eq!(answers.len(), all.len(), "rpm answered every pair");
    let mut disagreements = Vec::new();
    for ((a, b), expected) in all.iter().zip(&answers) {
        let ours = compare(Scheme::Rpm, a, b).map(sign).unwrap_or("error");
        if ours != expected {
            disagreements.push(format!("{a} vs {b}: rpm {expected}, ours {ours}"));
        }
    }
    eprintln!(
        "rpm: {} pairs checked against rpm.vercmp in {:.1?}",
        all.len(),
        started.elapsed()
    );
    assert!(all.len() >= 5000);
    assert_no_disagreement("rpm", all.len(), &disagreements);
}
