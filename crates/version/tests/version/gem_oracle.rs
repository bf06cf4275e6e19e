//! Ruby's own `Gem::Version#<=>` (one `ruby` process) against `GemVersion`
//! on the versions of real ruby-advisory-db requirements, plus crafted edge
//! cases of the grammar compared each with each.

use std::time::Instant;

use portcullis_version::{Scheme, compare};

use super::oracle::{
    assert_no_disagreement, fixture_lines, pairs, require_tool, run_with_input, sign,
};

const INSTALL: &str = "apt-get install -y ruby";

/// Edge cases: segment splitting, trailing zeros, `-` as `.pre.`, letters
/// against numbers, spaces, and strings `Gem::Version` rejects.
const CRAFTED: &[&str] = &[
    "",
    " ",
    "0",
    "1",
    "1.0",
    "1.0.0",
    "1.0.0.0",
    "01.0",
    "1.0.a",
    "1.0.a.0",
    "1.0.A",
    "1.a",
    "1a",
    "1.0b1",
    "1.0.b1",
    "1.0.b.1",
    "1.0-beta1",
    "1.0-1",
    "1.0.pre",
    "1.0.pre.0",
    "1.0.pre.1",
    "1.0.rc1",
    " 1.0",
    "1.0 ",
    "1..0",
    "1.0.",
    ".1",
    "-1",
    "1.0_1",
    "a",
    "1.2.3.4.5",
    "99999999999999999999999",
    "1.99999999999999999999999",
];

/// Reads `a\tb` lines from the file named by its argument and prints
/// `a <=> b` (or `error` when either is malformed) for each.
const SCRIPT: &str = r#"
File.foreach(ARGV.fetch(0), chomp: true) do |line|
  a, b = line.split("\t", -1)
  begin
    puts(Gem::Version.new(a) <=> Gem::Version.new(b))
  rescue ArgumentError
    puts "error"
  end
end
"#;

#[test]
fn gem_version_agrees_on_real_rubysec_versions() {
    require_tool("ruby", INSTALL);
    let versions = fixture_lines("gem-versions", "versions.txt");
    let mut all = pairs(&versions, 4500);
    for a in CRAFTED {
        for b in CRAFTED {
            all.push((a.to_string(), b.to_string()));
        }
        // Crafted against a few real versions too.
        for b in versions.iter().step_by(97) {
            all.push((a.to_string(), b.clone()));
        }
    }
    // One pair a line: a version containing a newline cannot be written.
    let all: Vec<(String, String)> = all
        .into_iter()
        .filter(|(a, b)| !format!("{a}{b}").contains(['\n', '\t']))
        .collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("pairs.tsv");
    let text: String = all.iter().map(|(a, b)| format!("{a}\t{b}\n")).collect();
    std::fs::write(&input, text).expect("write pairs");
    let oracle_version = run_with_input(
        "ruby",
        &["-e", "print RUBY_VERSION, ' rubygems ', Gem::VERSION"],
        "",
    )
    .expect("ruby runs")
    .join("");

    let started = Instant::now();
    let path = input.to_str().expect("utf-8 temp path");
    let answers = run_with_input("ruby", &["-e", SCRIPT, path], "").expect("ruby runs");
    let elapsed = started.elapsed();
    assert_eq!(answers.len(), all.len(), "ruby answered every pair");

    let mut disagreements = Vec::new();
    let mut errors = 0;
    for ((a, b), expected) in all.iter().zip(&answers) {
        let ours = compare(Scheme::Gem, a, b).map(sign).unwrap_or("error");
        errors += usize::from(ours == "error");
        if ours != expected {
            disagreements.push(format!(
                "{a:?} vs {b:?}: Gem::Version {expected}, ours {ours}"
            ));
        }
    }
    eprintln!(
        "gem: {} versions, {} pairs ({errors} with a malformed side) checked against ruby {oracle_version} Gem::Version in {elapsed:.1?}",
        versions.len(),
        all.len()
    );
    assert!(all.len() >= 5000);
    assert_no_disagreement("gem", all.len(), &disagreements);
}
