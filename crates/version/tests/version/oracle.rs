//! Shared helpers: fixtures, deterministic pairs, and running oracle tools.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// `tests/fixtures/<scenario>/<file>`.
pub fn fixture_path(scenario: &str, file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(scenario)
        .join(file)
}

/// The non-comment, non-empty lines of a fixture.
pub fn fixture_lines(scenario: &str, file: &str) -> Vec<String> {
    let path = fixture_path(scenario, file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read fixture {}: {error}", path.display()));
    text.lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// Deterministic pairs: each version with its neighbour in sorted order
/// (close versions, the hard cases), plus pseudo-random pairs.
pub fn pairs(versions: &[String], random: usize) -> Vec<(String, String)> {
    let mut sorted = versions.to_vec();
    sorted.sort();
    let mut out: Vec<(String, String)> = sorted
        .windows(2)
        .filter_map(|w| Some((w.first()?.clone(), w.get(1)?.clone())))
        .collect();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 33) as usize
    };
    for _ in 0..random {
        let a = next() % sorted.len();
        let b = next() % sorted.len();
        out.push((sorted[a].clone(), sorted[b].clone()));
    }
    out
}

/// Fails with an install hint when `tool` is not on PATH.
pub fn require_tool(tool: &str, install: &str) {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "the oracle `{tool}` is not installed; install it with `{install}` (CI does) and run the tests again"
    );
}

/// Runs `program args` with `input` on stdin and returns stdout lines.
pub fn run_with_input(program: &str, args: &[&str], input: &str) -> Result<Vec<String>> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {program}"))?;
    let mut stdin = child.stdin.take().context("no stdin")?;
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output()?;
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("writer thread failed"))??;
    if !output.status.success() {
        bail!(
            "{program} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8(output.stdout)?
        .lines()
        .map(str::to_owned)
        .collect())
}

/// `-1`, `0` or `1` for an ordering.
pub fn sign(ordering: std::cmp::Ordering) -> &'static str {
    match ordering {
        std::cmp::Ordering::Less => "-1",
        std::cmp::Ordering::Equal => "0",
        std::cmp::Ordering::Greater => "1",
    }
}

/// Asserts that no disagreement was found, listing the first few.
pub fn assert_no_disagreement(what: &str, checked: usize, disagreements: &[String]) {
    assert!(
        disagreements.is_empty(),
        "{what}: {} of {checked} disagree with the oracle, e.g.\n{}",
        disagreements.len(),
        disagreements
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
