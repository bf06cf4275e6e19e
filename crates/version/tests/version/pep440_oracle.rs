//! Python's `packaging` (one process) against `Pep440Version` and
//! `SpecifierSet` on versions of real PyPI projects from the PyPA database.

use std::time::Instant;

use portcullis_version::pep440::SpecifierSet;
use portcullis_version::{Pep440Version, Scheme, compare};

use super::oracle::{
    assert_no_disagreement, fixture_lines, pairs, require_tool, run_with_input, sign,
};

/// Edge cases around the grammar, checked against packaging too.
const CRAFTED: &[&str] = &[
    "",
    " ",
    "1",
    "1.0",
    "v1.0",
    "V1.0",
    " 1.0 ",
    "1.0\n",
    "\u{2003}1.0",
    "\u{1c}1.0",
    "1..0",
    ".1",
    "1.",
    "1.0-",
    "1.0+",
    "1.0+a..b",
    "1.0+a.",
    "1.0+a_b-c",
    "1.0+ABC",
    "1!",
    "1!1.0",
    "01!1.0",
    "1.0a",
    "1.0.a",
    "1.0-a",
    "1.0_a1",
    "1.0alpha1",
    "1.0ALPHA1",
    "1.0preview2",
    "1.0pre",
    "1.0c",
    "1.0rc",
    "1.0-1",
    "1.0-post",
    "1.0post",
    "1.0.post",
    "1.0.r1",
    "1.0rev2",
    "1.0-r",
    "1.0.dev",
    "1.0dev1",
    "1.0.dev.1",
    "1.0a1.post2.dev3",
    "1.0a1-2",
    "1.0a-1",
    "1.0a.post1",
    "1.0.post1.post2",
    "1.0a1a2",
    "1.0.0.0.0.0",
    "99999999999999999999999",
    "1.99999999999999999999999",
    "1.0+99999999999999999999",
    "1.0+local.7",
    "1.0+local.07",
    "1.0 a1",
    "1.0.*",
    "1.0-dev",
    "1.0_post3",
    "1.0.PoSt3",
    "lolwat",
    "1.0K",
    "1.0+ſ",
    "١.٠",
    "1.0\u{0}",
];

const SCRIPT: &str = r#"
import json, sys
from packaging.version import Version, InvalidVersion
from packaging.specifiers import SpecifierSet, InvalidSpecifier
data = json.load(sys.stdin)
def parse(v):
    try:
        return Version(v)
    except InvalidVersion:
        return None
valid = [parse(v) is not None for v in data["versions"]]
cmp = []
for a, b in data["pairs"]:
    va, vb = parse(a), parse(b)
    cmp.append("error" if va is None or vb is None else str((va > vb) - (va < vb)))
contains = []
for v, spec in data["specs"]:
    try:
        s = SpecifierSet(spec)
    except InvalidSpecifier:
        contains.append("invalid")
        continue
    contains.append("true" if s.contains(v, prereleases=True) else "false")
json.dump({"valid": valid, "cmp": cmp, "contains": contains}, sys.stdout)
"#;

/// Specifiers built from real versions: every operator, prefixes, sets.
fn specifiers(versions: &[String]) -> Vec<(String, String)> {
    let valid: Vec<&String> = versions
        .iter()
        .filter(|v| v.parse::<Pep440Version>().is_ok() && !v.contains(char::is_whitespace))
        .collect();
    let mut out = Vec::new();
    let operators = ["<", "<=", ">", ">=", "==", "!=", "~=", "==="];
    for (index, window) in valid.windows(3).enumerate().step_by(3) {
        let [a, b, c] = [window[0], window[1], window[2]];
        let operator = operators[index % operators.len()];
        let spec = match index % 5 {
            0 => format!("{operator}{b}"),
            1 => format!(">={a}, <{c}"),
            2 => {
                let release: Vec<&str> = b.split(['a', 'b', 'r', '+', '-', 'p', 'd']).collect();
                format!("=={}.*", release[0].trim_end_matches('.'))
            }
            3 => format!("{operator} {c},!={b}"),
            _ => format!("<{c},>{a}"),
        };
        for version in [a, b, c] {
            out.push((version.to_string(), spec.clone()));
        }
    }
    out.extend(
        [
            ("1.0", "~=1"),
            ("1.0", "==1.0a1.*"),
            ("1.0", "<1.0+local"),
            ("1.0", "=>1.0"),
            ("1.0", ""),
            ("1.0", "==1.0+ABC"),
            ("1.0+abc", "==1.0+ABC"),
            ("1.0+abc", "==1.0"),
            ("2.0rc1", "<2.0"),
            ("1.7.post2", ">1.7"),
            ("1.7+local", ">1.7"),
            ("1.1a1", "==1.1.*"),
            ("1.10", "==1.1.*"),
            ("1.0", "== 1.0"),
            ("1.0", "==1.0, "),
            ("1.0", ",,"),
            ("1.0", "===1.0"),
            ("1.0", "===1.0.0"),
            ("v1.0", "===v1.0"),
            ("1.0", "~=1.0.0a1"),
            ("1.0.post1", "~=1.0"),
        ]
        .iter()
        .map(|(v, s)| (v.to_string(), s.to_string())),
    );
    out
}

#[test]
fn packaging_agrees_on_real_pypi_versions() {
    require_tool("python3", "pip install packaging");
    let mut versions = fixture_lines("pep440-versions", "versions.txt");
    versions.extend(CRAFTED.iter().map(|v| v.to_string()));
    let all_pairs = pairs(&versions, 2000);
    let specs = specifiers(&versions);
    let input = serde_json::json!({ "versions": versions, "pairs": all_pairs, "specs": specs });
    let started = Instant::now();
    let output = run_with_input("python3", &["-c", SCRIPT], &input.to_string())
        .expect("python3 with packaging runs (pip install packaging)");
    let answer: serde_json::Value = serde_json::from_str(&output.join("\n")).expect("json");
    let elapsed = started.elapsed();

    let mut disagreements = Vec::new();
    let valid = answer["valid"].as_array().expect("valid");
    let mut invalid_count = 0;
    for (version, expected) in versions.iter().zip(valid) {
        let ours = version.parse::<Pep440Version>().is_ok();
        invalid_count += usize::from(!ours);
        if Some(ours) != expected.as_bool() {
            disagreements.push(format!(
                "{version:?}: packaging valid={expected}, ours {ours}"
            ));
        }
    }
    let cmp = answer["cmp"].as_array().expect("cmp");
    for ((a, b), expected) in all_pairs.iter().zip(cmp) {
        let ours = compare(Scheme::Pep440, a, b).map(sign).unwrap_or("error");
        if Some(ours) != expected.as_str() {
            disagreements.push(format!("{a:?} vs {b:?}: packaging {expected}, ours {ours}"));
        }
    }
    let contains = answer["contains"].as_array().expect("contains");
    for ((version, spec), expected) in specs.iter().zip(contains) {
        let ours = match spec.parse::<SpecifierSet>() {
            Err(_) => "invalid",
            Ok(set) => match version.parse::<Pep440Version>() {
                Ok(v) if set.contains(&v) => "true",
                _ => "false",
            },
        };
        if Some(ours) != expected.as_str() {
            disagreements.push(format!(
                "{version:?} in {spec:?}: packaging {expected}, ours {ours}"
            ));
        }
    }
    eprintln!(
        "pep440: {} versions ({invalid_count} invalid), {} pairs, {} specifier checks against packaging in {elapsed:.1?}",
        versions.len(),
        all_pairs.len(),
        specs.len()
    );
    assert!(all_pairs.len() >= 5000 && specs.len() >= 5000);
    assert_no_disagreement(
        "pep440",
        versions.len() + all_pairs.len() + specs.len(),
        &disagreements,
    );
}
