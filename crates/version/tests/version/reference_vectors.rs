//! Documented examples of the references: Maven's `ComparableVersionTest`, Go's
//! `semver_test.go`, RubyGems' `test_gem_version.rb` and NuGet's documentation. (Maven, Go
//! and RubyGems are also run as oracles on real versions: see `*_oracle.rs`; NuGet has no
//! runnable oracle here.)

use std::cmp::Ordering;

use portcullis_version::{Scheme, compare, satisfies};

use super::oracle::{assert_no_disagreement, fixture_lines};

fn unescape(text: &str) -> String {
    text.replace("\\n", "\n")
}

fn check(scheme: Scheme, file: &str) -> usize {
    let lines = fixture_lines("reference-vectors", file);
    let mut failures = Vec::new();
    for line in &lines {
        let fields: Vec<String> = line.split('\t').map(unescape).collect();
        let ok = match fields
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .as_slice()
        {
            [a, op @ ("<" | "=" | ">"), b] => {
                let expected = match *op {
                    "<" => Ordering::Less,
                    "=" => Ordering::Equal,
                    _ => Ordering::Greater,
                };
                compare(scheme, a, b) == Ok(expected)
                    && compare(scheme, b, a) == Ok(expected.reverse())
            }
            [v, "valid"] => compare(scheme, v, v).is_ok(),
            [v, "!valid"] => compare(scheme, v, v).is_err(),
            [v, "prerelease"] => v
                .parse::<portcullis_version::GemVersion>()
                .is_ok_and(|g| g.is_prerelease()),
            [v, "release"] => v
                .parse::<portcullis_version::GemVersion>()
                .is_ok_and(|g| !g.is_prerelease()),
            // `~> V` accepts V and rejects bump(V).
            [v, "bump", w] => {
                satisfies(scheme, v, &format!("~> {v}")) == Ok(true)
                    && satisfies(scheme, w, &format!("~> {v}")) == Ok(false)
            }
            _ => false,
        };
        if !ok {
            failures.push(line.clone());
        }
    }
    assert_no_disagreement(file, lines.len(), &failures);
    lines.len()
}

#[test]
fn maven_comparable_version_test_cases() {
    let count = check(Scheme::Maven, "maven.tsv");
    eprintln!("maven: {count} ComparableVersionTest cases");
}

#[test]
fn go_semver_test_cases() {
    let count = check(Scheme::Go, "go.tsv");
    eprintln!("go: {count} semver_test.go cases");
}

#[test]
fn rubygems_version_test_cases() {
    let count = check(Scheme::Gem, "gem.tsv");
    eprintln!("gem: {count} test_gem_version.rb cases");
}

#[test]
fn nuget_documented_examples() {
    let count = check(Scheme::Nuget, "nuget.tsv");
    eprintln!("nuget: {count} documented examples");
}
