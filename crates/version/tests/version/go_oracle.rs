//! `golang.org/x/mod/semver.Compare` (Debian's `golang-golang-x-mod-dev`,
//! built offline in GOPATH mode, run once) against `GoVersion` on module
//! versions of the Go vulnerability database plus crafted edge cases.
//! Only module versions (`vX.Y.Z…`) are compared: toolchain versions
//! (`go1.21.3`) and the `v`-less OSV spelling are ours alone.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use portcullis_version::{Scheme, compare};

use super::oracle::{
    assert_no_disagreement, fixture_lines, pairs, require_tool, run_with_input, sign,
};

const INSTALL: &str = "apt-get install -y golang-go golang-golang-x-mod-dev";

/// Where Debian's package puts the x/mod sources (a GOPATH root).
const GOCODE: &str = "/usr/share/gocode";

/// Edge cases of the grammar: shorthands, build metadata, leading zeros,
/// pre-release identifiers, pseudo-versions and strings x/mod rejects.
const CRAFTED: &[&str] = &[
    "v",
    "v1",
    "v1.2",
    "v1.2.0",
    "v1.2.3",
    "v1.2.3+incompatible",
    "v1.2.3+meta.1",
    "v1.2.3+incompatible+x",
    "v1.2+meta",
    "v1.2-rc.1",
    "v01.2.3",
    "v1.02.3",
    "v1.2.03",
    "v1.2.3.4",
    "v1.2.3-",
    "v1.2.3-0",
    "v1.2.3-01",
    "v1.2.3-1",
    "v1.2.3-10",
    "v1.2.3-2",
    "v1.2.3-a",
    "v1.2.3-A",
    "v1.2.3-a1",
    "v1.2.3-alpha",
    "v1.2.3-alpha.1",
    "v1.2.3-alpha.a1",
    "v1.2.3-alpha.beta",
    "v1.2.3-alpha.1.2",
    "v1.2.3-alpha..1",
    "v1.2.3-alpha-1",
    "v1.2.3-a_b",
    "v1.2.3-rc.01",
    "v1.2.3-rc.1+build",
    "v1.2.3 ",
    "V1.2.3",
    "v1.2.4-0.20210101000000-abcdef123456",
    "v0.0.0-20210101000000-abcdef123456",
    "v2.0.0+incompatible",
    "v99999999999999999999.0.0",
    "v1.99999999999999999999.0",
    "v1.2.3-99999999999999999999",
];

const PROGRAM: &str = r#"package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"golang.org/x/mod/semver"
)

// Reads "a\tb" lines and prints semver.Compare(a, b), or "invalid" when
// either side is not a valid semantic version to x/mod.
func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		a, b, _ := strings.Cut(in.Text(), "\t")
		if !semver.IsValid(a) || !semver.IsValid(b) {
			fmt.Fprintln(out, "invalid")
			continue
		}
		fmt.Fprintln(out, semver.Compare(a, b))
	}
}
"#;

/// Builds the oracle offline (GOPATH mode, no module proxy) into `dir`.
fn build_oracle(dir: &Path) -> std::path::PathBuf {
    assert!(
        Path::new(GOCODE)
            .join("src/golang.org/x/mod/semver/semver.go")
            .is_file(),
        "golang.org/x/mod is not installed under {GOCODE}; install it with `{INSTALL}` (CI does) and run the tests again"
    );
    let source = dir.join("src/semvercmp");
    std::fs::create_dir_all(&source).expect("create GOPATH source dir");
    std::fs::write(source.join("main.go"), PROGRAM).expect("write main.go");
    let binary = dir.join("semvercmp");
    let output = Command::new("go")
        .args(["build", "-o"])
        .arg(&binary)
        .arg("semvercmp")
        .env("GO111MODULE", "off")
        .env("GOPATH", format!("{GOCODE}:{}", dir.display()))
        .env("GOCACHE", dir.join("cache"))
        .env("GOFLAGS", "")
        .env("GOPROXY", "off")
        .output()
        .expect("go runs");
    assert!(
        output.status.success(),
        "go build of the x/mod oracle failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    binary
}

#[test]
fn x_mod_semver_agrees_on_real_module_versions() {
    require_tool("go", INSTALL);
    let versions = fixture_lines("go-versions", "versions.txt");
    assert!(
        versions.iter().all(|v| v.starts_with('v')),
        "the fixture holds module versions only"
    );
    let mut all = pairs(&versions, 4000);
    for a in CRAFTED {
        for b in CRAFTED {
            all.push((a.to_string(), b.to_string()));
        }
        for b in versions.iter().step_by(101) {
            all.push((a.to_string(), b.clone()));
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let binary = build_oracle(dir.path());
    let text: String = all.iter().map(|(a, b)| format!("{a}\t{b}\n")).collect();

    let started = Instant::now();
    let answers = run_with_input(binary.to_str().expect("utf-8 path"), &[], &text)
        .expect("the x/mod oracle runs");
    let elapsed = started.elapsed();
    assert_eq!(answers.len(), all.len(), "x/mod answered every pair");

    let mut disagreements = Vec::new();
    let mut invalid = 0;
    for ((a, b), expected) in all.iter().zip(&answers) {
        // Where x/mod rejects a side we must reject it too, not order it.
        let ours = compare(Scheme::Go, a, b).map(sign).unwrap_or("invalid");
        invalid += usize::from(expected == "invalid");
        if ours != expected {
            disagreements.push(format!("{a:?} vs {b:?}: x/mod {expected}, ours {ours}"));
        }
    }
    let go_version = run_with_input("go", &["version"], "")
        .expect("go runs")
        .join("");
    eprintln!(
        "go: {} versions, {} pairs ({invalid} with a side x/mod rejects) checked against x/mod/semver ({go_version}) in {elapsed:.1?}",
        versions.len(),
        all.len()
    );
    assert!(all.len() >= 5000);
    assert_no_disagreement("go", all.len(), &disagreements);
}
