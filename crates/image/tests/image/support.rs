//! Shared helpers: reading with default options, summarising trees, running tools.

use std::path::Path;
use std::process::Command;

use portcullis_image::{
    FileTree, Image, ImageError, NoProgress, NodeKind, ReadOptions, Source, read_image,
};

/// What tests compare between sources: path, kind, layer, size and kept content.
pub type Summary = Vec<(String, String, Option<usize>, u64, Option<String>)>;

pub fn read(source: &str, wanted: &(dyn Fn(&str) -> bool + Sync)) -> Result<Image, ImageError> {
    read_with(source, &ReadOptions::default(), wanted)
}

pub fn read_with(
    source: &str,
    options: &ReadOptions,
    wanted: &(dyn Fn(&str) -> bool + Sync),
) -> Result<Image, ImageError> {
    let source = Source::parse(source).expect("valid source");
    read_image(&source, options, &wanted, &NoProgress)
}

pub fn all(_: &str) -> bool {
    true
}

pub fn none(_: &str) -> bool {
    false
}

fn kind(kind: &NodeKind) -> String {
    match kind {
        NodeKind::File => "file".into(),
        NodeKind::Dir => "dir".into(),
        NodeKind::Symlink(t) => format!("symlink:{t}"),
        NodeKind::Other => "other".into(),
    }
}

pub fn summary(tree: &FileTree) -> Summary {
    tree.iter()
        .map(|(p, n)| {
            let content = n.content().map(|c| String::from_utf8_lossy(c).into_owned());
            (p.to_owned(), kind(&n.kind), n.layer, n.size, content)
        })
        .collect()
}

/// The summary without layers (for `dir:` sources, which have none).
pub fn shape(tree: &FileTree) -> Vec<(String, String, u64, Option<String>)> {
    summary(tree)
        .into_iter()
        .map(|(p, k, _, s, c)| {
            let s = if k == "dir" { 0 } else { s };
            (p, k, s, c)
        })
        .collect()
}

pub fn paths(tree: &FileTree) -> Vec<&str> {
    tree.iter().map(|(p, _)| p).collect()
}

/// Fails with an install hint when a tool the test needs is missing.
pub fn require(tool: &str, package: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "`{tool}` is required by this test: install it with `apt-get install -y {package}`"
    );
}

/// Runs a command and fails the test with its stderr if it fails.
pub fn run(program: &str, args: &[&str]) {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("failed to run {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

pub fn run_output(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("failed to run {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}
