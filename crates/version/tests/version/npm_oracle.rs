//! npm's `semver` package (node-semver 7.8.6, installed with npm into the
//! test's target directory on first run) against `NpmVersion` and
//! `npm::Range` on real versions and ranges from the Node.js security WG.

use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use portcullis_version::npm::Range;
use portcullis_version::{NpmVersion, Scheme, compare};

use super::oracle::{
    assert_no_disagreement, fixture_lines, pairs, require_tool, run_with_input, sign,
};

const SEMVER_PACKAGE: &str = "semver@7.8.6";

const CRAFTED_VERSIONS: &[&str] = &[
    "1.2.3",
    "v1.2.3",
    "=1.2.3",
    " 1.2.3 ",
    "1.2",
    "1.2.3.4",
    "01.2.3",
    "1.2.3-01",
    "1.2.3-0a",
    "1.2.3-alpha..1",
    "1.2.3-",
    "1.2.3+",
    "1.2.3+build.01",
    "1.2.3-beta+build",
    "9007199254740991.0.0",
    "9007199254740992.0.0",
    "1.2.3-99999999999999999999",
    "1.2.3-9007199254740991",
    "1.2.3-9007199254740990",
    "1.2.3-x.7.z.92",
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "0.0.0-0",
    "vv1.2.3",
    "\u{feff}1.2.3",
    "1.2.3\u{a0}",
];

const CRAFTED_RANGES: &[&str] = &[
    "",
    "*",
    "x",
    "1.x",
    "1.2.x",
    ">=1.2.3 <2",
    "^1.2.3",
    "^0.2.3",
    "^0.0.3",
    "^1.2.3-beta.2",
    "~1.2.3",
    "~1.2",
    "~>1.2",
    "~ 1.2.3",
    "^ 1.2.3",
    ">= 1.2.3",
    "1.2.3 - 2.3.4",
    "1.2 - 2.3",
    "1 - 2",
    "1.2.3-pre - 2.3.4-pre",
    ">1.2",
    "<=1.2",
    ">1",
    "<1.x",
    ">*",
    "<*",
    "||",
    "1.2.3 ||",
    "==1.2.3",
    ">=1.2.3garbage",
    "1.2.3.4",
    "x.1",
    "1.x.2",
    "=v1.2.3",
    "v=1.2.3",
    ">=v1.2.3",
    ">==1.2.3",
    ">=1.2.3+build <2",
    "^1.2.3+build",
    "<1.2.3-0",
    "<0.0.0-0",
    ">=0.0.0",
    "1.2.3 || <0.0.0-0",
    ">1.2.3-alpha.3 <1.2.4",
    "<=1.2.3-beta",
    "~1.2.3-beta.2",
    "foo",
    "~v1.2",
    "^x",
    "~x.1",
    "^9007199254740991.0.0",
    "1 || 2 || 3",
    ">=1.0.0-rc.1 <1.0.0",
];

const SCRIPT: &str = r#"
const semver = require(process.argv[1]);
let input = '';
process.stdin.on('data', d => input += d);
process.stdin.on('end', () => {
  const data = JSON.parse(input);
  const valid = data.versions.map(v => { try { new semver.SemVer(v); return true } catch (e) { return false } });
  const cmp = data.pairs.map(([a, b]) => { try { return String(semver.compare(a, b)) } catch (e) { return 'error' } });
  const ranges = data.ranges.map(r => { try { new semver.Range(r); return true } catch (e) { return false } });
  const sat = data.checks.map(([v, r]) => semver.satisfies(v, r) ? 'true' : 'false');
  process.stdout.write(JSON.stringify({ valid, cmp, ranges, sat }));
});
"#;

/// Installs the pinned `semver` package once per target directory.
fn semver_module() -> PathBuf {
    require_tool("node", "apt-get install -y nodejs npm");
    require_tool("npm", "apt-get install -y npm");
    let prefix = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("npm-semver-oracle");
    let module = prefix.join("node_modules/semver");
    if !module.join("package.json").is_file() {
        let status = Command::new("npm")
            .args(["install", "--no-audit", "--no-fund", "--prefix"])
            .arg(&prefix)
            .arg(SEMVER_PACKAGE)
            .status()
            .expect("npm runs");
        assert!(status.success(), "`npm install {SEMVER_PACKAGE}` failed");
    }
    module
}

#[test]
fn node_semver_agrees_on_real_npm_versions_and_ranges() {
    let module = semver_module();
    let mut versions = fixture_lines("npm-versions", "versions.txt");
    versions.extend(CRAFTED_VERSIONS.iter().map(|v| v.to_string()));
    let mut ranges = fixture_lines("npm-versions", "ranges.txt");
    ranges.extend(CRAFTED_RANGES.iter().map(|r| r.to_string()));
    let all_pairs = pairs(&versions, 6000);
    // Every range against a spread of versions, including the ones it names.
    let mut checks = Vec::new();
    for (index, range) in ranges.iter().enumerate() {
        for step in 0..14 {
            let version = &versions[(index * 31 + step * 23) % versions.len()];
            checks.push((version.clone(), range.clone()));
        }
    }
    let input = serde_json::json!({ "versions": versions, "pairs": all_pairs, "ranges": ranges, "checks": checks });
    let started = Instant::now();
    let module_path = module.to_string_lossy().into_owned();
    let output = run_with_input("node", &["-e", SCRIPT, &module_path], &input.to_string())
        .expect("node runs the semver oracle");
    let answer: serde_json::Value = serde_json::from_str(&output.join("\n")).expect("json");
    let elapsed = started.elapsed();

    let mut disagreements = Vec::new();
    for (version, expected) in versions
        .iter()
        .zip(answer["valid"].as_array().expect("valid"))
    {
        let ours = version.parse::<NpmVersion>().is_ok();
        if Some(ours) != expected.as_bool() {
            disagreements.push(format!(
                "version {version:?}: semver valid={expected}, ours {ours}"
            ));
        }
    }
    for ((a, b), expected) in all_pairs.iter().zip(answer["cmp"].as_array().expect("cmp")) {
        let ours = compare(Scheme::Npm, a, b).map(sign).unwrap_or("error");
        if Some(ours) != expected.as_str() {
            disagreements.push(format!("{a:?} vs {b:?}: semver {expected}, ours {ours}"));
        }
    }
    for (range, expected) in ranges
        .iter()
        .zip(answer["ranges"].as_array().expect("ranges"))
    {
        let ours = range.parse::<Range>().is_ok();
        if Some(ours) != expected.as_bool() {
            disagreements.push(format!(
                "range {range:?}: semver valid={expected}, ours {ours}"
            ));
        }
    }
    for ((version, range), expected) in checks.iter().zip(answer["sat"].as_array().expect("sat")) {
        // semver.satisfies answers false for anything invalid; we answer an error.
        let ours = match (range.parse::<Range>(), version.parse::<NpmVersion>()) {
            (Ok(range), Ok(version)) if range.satisfied_by(&version) => "true",
            _ => "false",
        };
        if Some(ours) != expected.as_str() {
            disagreements.push(format!(
                "{version:?} satisfies {range:?}: semver {expected}, ours {ours}"
            ));
        }
    }
    eprintln!(
        "npm: {} versions, {} pairs, {} ranges, {} satisfies checks against node-semver in {elapsed:.1?}",
        versions.len(),
        all_pairs.len(),
        ranges.len(),
        checks.len()
    );
    assert!(all_pairs.len() >= 5000 && checks.len() >= 5000);
    assert_no_disagreement(
        "npm",
        versions.len() + all_pairs.len() + ranges.len() + checks.len(),
        &disagreements,
    );
}
