//! `portcullis version compare|satisfies`, as users and scripts call it.

use std::io::Write as _;
use std::process::Stdio;

use crate::harness::{portcullis, run_ok};

fn stdout(args: &[&str]) -> anyhow::Result<String> {
    Ok(String::from_utf8(run_ok(portcullis().args(args))?)?)
}

#[test]
fn compare_prints_the_sign() -> anyhow::Result<()> {
    assert_eq!(
        stdout(&[
            "version",
            "compare",
            "--scheme",
            "deb",
            "1:2.3-1~deb12u1",
            "1:2.3-1"
        ])?,
        "<\n"
    );
    assert_eq!(
        stdout(&[
            "version",
            "compare",
            "--scheme",
            "pep440",
            "2.0.0rc1.post1",
            "2.0.0rc1"
        ])?,
        ">\n"
    );
    assert_eq!(
        stdout(&["version", "compare", "--scheme", "rpm", "0:1.0-1", "1.0-1"])?,
        "=\n"
    );
    Ok(())
}

#[test]
fn compare_stdin_answers_every_line() -> anyhow::Result<()> {
    let mut child = portcullis()
        .args(["version", "compare", "--scheme", "deb", "--stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .ok_or_else(|| anyhow::anyhow!("no stdin"))?
        .write_all(b"1.0\t1.0-0\n1.0~rc1\t1.0\n2\t1\nnot a version!\t1\n")?;
    let out = child.wait_with_output()?;
    let text = String::from_utf8(out.stdout)?;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(&lines[..3], ["0", "-1", "1"]);
    assert!(lines[3].starts_with("error: "), "{text}");
    Ok(())
}

#[test]
fn satisfies_exit_code_follows_the_answer() -> anyhow::Result<()> {
    assert_eq!(
        stdout(&[
            "version",
            "satisfies",
            "--scheme",
            "npm",
            "1.2.3",
            ">=1.0.0 <2.0.0"
        ])?,
        "true\n"
    );
    let out = portcullis()
        .args([
            "version",
            "satisfies",
            "--scheme",
            "npm",
            "2.0.0",
            ">=1.0.0 <2.0.0",
        ])
        .output()?;
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8(out.stdout)?, "false\n");
    Ok(())
}

#[test]
fn unknown_scheme_lists_the_schemes() -> anyhow::Result<()> {
    let out = portcullis()
        .args(["version", "compare", "--scheme", "cobol", "1", "2"])
        .output()?;
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr)?;
    assert!(
        err.contains("cobol") && err.contains("deb") && err.contains("pep440"),
        "{err}"
    );
    Ok(())
}
