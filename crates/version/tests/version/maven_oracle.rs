//! Maven's own `ComparableVersion` (Debian's maven-artifact jar, one JVM)
//! against `MavenVersion` on versions of real Java artifacts, Maven's
//! `ComparableVersionTest` strings and crafted edge cases.
//!
//! Debian bookworm ships maven-artifact 3.8.7 (`libmaven3-core-java`); we
//! follow 3.9 (`.X` read as `-X`), yet 3.8.7 agrees on every pair here,
//! `ComparableVersionTest`'s `.X` cases included. The one deliberate
//! difference: Maven accepts a blank version (equal to `0`), we refuse it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use portcullis_version::{Scheme, compare};

use super::oracle::{
    assert_no_disagreement, fixture_lines, pairs, require_tool, run_with_input, sign,
};

const INSTALL: &str = "apt-get install -y default-jdk-headless libmaven3-core-java";

/// Where Debian's `libmaven3-core-java` installs maven-artifact, one
/// directory per version (plus a `3.x` alias).
const REPO: &str = "/usr/share/maven-repo/org/apache/maven/maven-artifact";

/// Edge cases: separators, qualifier aliases, trailing zeros, case, long
/// numbers, empty items.
const CRAFTED: &[&str] = &[
    "",
    " ",
    "0",
    "1",
    "1.0",
    "1.0.0",
    "1-0",
    "1..0",
    "1.0.",
    ".1",
    "-1",
    "1-",
    "1--1",
    "1.0-SNAPSHOT",
    "1.0-snapshot",
    "1.0-alpha",
    "1.0-a1",
    "1.0-a",
    "1.0a1",
    "1.0-beta-1",
    "1.0-b1",
    "1.0-milestone-1",
    "1.0-m1",
    "1.0-rc1",
    "1.0-cr1",
    "1.0-ga",
    "1.0-final",
    "1.0-release",
    "1.0-sp",
    "1.0-sp1",
    "1.0-foo",
    "1.0-1",
    "1.0-0",
    "1.0-jre",
    "1.0-android",
    "1.0.Final",
    "1.0.GA",
    "1.0.RELEASE",
    "1.0.RC1",
    "1.0.M1",
    "1.0.jre",
    "1.0.1-jre",
    "1.0Final",
    "1.0RC1",
    "1.0.0.0",
    "01.0",
    "1.00",
    "1.0-01",
    "1.0.v20240101",
    "1.0.0.v20240101-1200",
    "2147483647",
    "2147483648",
    "9223372036854775807",
    "9223372036854775808",
    "99999999999999999999999",
    "1.99999999999999999999999",
    "1.0+build",
    "1.0_1",
    "1.0 ",
    "\u{0130}",
    "1-\u{0131}",
];

const PROGRAM: &str = r#"
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import org.apache.maven.artifact.versioning.ComparableVersion;

// Reads "a\tb" lines and prints the sign of
// new ComparableVersion(a).compareTo(new ComparableVersion(b)).
public class VersionCompare {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        StringBuilder out = new StringBuilder();
        String line;
        while ((line = in.readLine()) != null) {
            int tab = line.indexOf('\t');
            ComparableVersion a = new ComparableVersion(line.substring(0, tab));
            ComparableVersion b = new ComparableVersion(line.substring(tab + 1));
            out.append(Integer.signum(a.compareTo(b))).append('\n');
        }
        System.out.print(out);
    }
}
"#;

/// The maven-artifact jar of the highest numbered version installed.
fn artifact_jar() -> (String, PathBuf) {
    let entries = std::fs::read_dir(REPO).unwrap_or_else(|error| {
        panic!("maven-artifact is not installed ({REPO}: {error}); install it with `{INSTALL}` (CI does) and run the tests again")
    });
    let mut found: Vec<(Vec<u64>, String, PathBuf)> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().into_string().ok()?;
            let key: Vec<u64> = version
                .split('.')
                .map(str::parse)
                .collect::<Result<_, _>>()
                .ok()?;
            let jar = entry.path().join(format!("maven-artifact-{version}.jar"));
            jar.is_file().then_some((key, version, jar))
        })
        .collect();
    found.sort();
    let (_, version, jar) = found.pop().unwrap_or_else(|| {
        panic!("no maven-artifact jar under {REPO}; install it with `{INSTALL}`")
    });
    (version, jar)
}

/// Compiles the oracle into `dir`.
fn build_oracle(dir: &Path, jar: &Path) {
    let source = dir.join("VersionCompare.java");
    std::fs::write(&source, PROGRAM).expect("write VersionCompare.java");
    let output = Command::new("javac")
        .arg("-cp")
        .arg(jar)
        .arg("-d")
        .arg(dir)
        .arg(&source)
        .output()
        .expect("javac runs");
    assert!(
        output.status.success(),
        "javac of the ComparableVersion oracle failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The strings of Maven's `ComparableVersionTest` (our reference vectors).
fn reference_versions() -> Vec<String> {
    let mut out: Vec<String> = fixture_lines("reference-vectors", "maven.tsv")
        .iter()
        .flat_map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            [fields.first(), fields.get(2)]
                .into_iter()
                .flatten()
                .map(|v| v.to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[test]
fn comparable_version_agrees_on_real_java_artifact_versions() {
    require_tool("java", INSTALL);
    require_tool("javac", INSTALL);
    let (jar_version, jar) = artifact_jar();
    let versions = fixture_lines("maven-versions", "versions.txt");
    let mut all = pairs(&versions, 4300);
    let mut edge: Vec<String> = CRAFTED.iter().map(|v| v.to_string()).collect();
    edge.extend(reference_versions());
    for a in &edge {
        for b in &edge {
            all.push((a.clone(), b.clone()));
        }
        for b in versions.iter().step_by(89) {
            all.push((a.clone(), b.clone()));
        }
    }
    let dir = tempfile::tempdir().expect("temp dir");
    build_oracle(dir.path(), &jar);
    let classpath = format!("{}:{}", jar.display(), dir.path().display());
    let text: String = all.iter().map(|(a, b)| format!("{a}\t{b}\n")).collect();

    let started = Instant::now();
    let answers = run_with_input("java", &["-cp", &classpath, "VersionCompare"], &text)
        .expect("the ComparableVersion oracle runs");
    let elapsed = started.elapsed();
    assert_eq!(
        answers.len(),
        all.len(),
        "ComparableVersion answered every pair"
    );

    let mut disagreements = Vec::new();
    for ((a, b), expected) in all.iter().zip(&answers) {
        let ours = compare(Scheme::Maven, a, b).map(sign).unwrap_or("error");
        // `MavenVersion` refuses blank strings on purpose (an empty version
        // in metadata is a data error, not `0`); there we expect the error.
        let expected = if a.trim().is_empty() || b.trim().is_empty() {
            "error"
        } else {
            expected.as_str()
        };
        if ours != expected {
            disagreements.push(format!(
                "{a:?} vs {b:?}: ComparableVersion {expected}, ours {ours}"
            ));
        }
    }
    eprintln!(
        "maven: {} versions, {} pairs checked against maven-artifact {jar_version} ComparableVersion in {elapsed:.1?}",
        versions.len(),
        all.len()
    );
    assert!(all.len() >= 5000);
    assert_no_disagreement("maven", all.len(), &disagreements);
}
