//! Bad input to `portcullis sbom` ends in a clear message and a non-zero exit, never a panic.

use crate::harness::portcullis;

fn fails_with(args: &[&str], expected: &[&str]) -> anyhow::Result<()> {
    let out = portcullis().args(args).output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
    for text in expected {
        assert!(
            stderr.contains(text),
            "{args:?}: `{text}` missing from:\n{stderr}"
        );
    }
    Ok(())
}

#[test]
fn unknown_source_syntax_lists_the_valid_ones() -> anyhow::Result<()> {
    fails_with(&["sbom", "tarball:/x.tar"], &["tarball:/x.tar"])
}

#[test]
fn missing_files_are_named() -> anyhow::Result<()> {
    fails_with(
        &["sbom", "oci:/nonexistent/layout"],
        &["/nonexistent/layout"],
    )?;
    fails_with(
        &["sbom", "docker-archive:/nonexistent.tar"],
        &["/nonexistent.tar"],
    )?;
    fails_with(&["sbom", "dir:/nonexistent-root"], &["/nonexistent-root"])
}

#[test]
fn a_file_that_is_not_an_image_is_refused() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let junk = dir.path().join("junk.tar");
    std::fs::write(&junk, b"this is not a tar archive at all")?;
    fails_with(
        &["sbom", &format!("docker-archive:{}", junk.display())],
        &["junk.tar"],
    )
}

#[test]
fn wrong_flags_say_what_is_expected() -> anyhow::Result<()> {
    fails_with(
        &["sbom", "--format", "xml", "dir:/"],
        &["xml", "table", "cyclonedx", "spdx"],
    )?;
    fails_with(
        &["sbom", "--platform", "nonsense", "dir:/"],
        &["--platform"],
    )?;
    fails_with(&["sbom", "--max-uncompressed", "lots", "dir:/"], &["lots"])
}

#[test]
fn output_file_is_not_left_half_written_on_failure() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("sbom.json");
    std::fs::write(&out, b"previous")?;
    fails_with(
        &[
            "sbom",
            "-q",
            "-o",
            &out.display().to_string(),
            "oci:/nonexistent/layout",
        ],
        &["/nonexistent/layout"],
    )?;
    assert_eq!(std::fs::read(&out)?, b"previous");
    assert_eq!(
        std::fs::read_dir(dir.path())?.count(),
        1,
        "a temporary file was left behind"
    );
    Ok(())
}

#[test]
fn output_to_a_device_writes_through_it_and_leaves_it_a_device() -> anyhow::Result<()> {
    use std::os::unix::fs::FileTypeExt as _;
    // A FIFO stands in for /dev/null or /dev/stdout: renaming a file over it would
    // replace the device, which must never happen.
    let dir = tempfile::tempdir()?;
    let fifo = dir.path().join("out.fifo");
    crate::harness::run_ok(std::process::Command::new("mkfifo").arg(&fifo))?;
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo))
    };
    let root = tempfile::tempdir()?;
    std::fs::create_dir_all(root.path().join("etc"))?;
    std::fs::write(
        root.path().join("etc/os-release"),
        "ID=debian\nVERSION_ID=12\n",
    )?;
    crate::harness::run_ok(
        portcullis()
            .args(["sbom", "-q", "--format", "json", "-o"])
            .arg(&fifo)
            .arg(format!("dir:{}", root.path().display())),
    )?;
    let written = reader
        .join()
        .map_err(|_| anyhow::anyhow!("reader thread"))??;
    assert!(String::from_utf8(written)?.contains("\"debian\""));
    assert!(std::fs::symlink_metadata(&fifo)?.file_type().is_fifo());
    assert_eq!(
        std::fs::read_dir(dir.path())?.count(),
        1,
        "a temporary file was left behind"
    );
    Ok(())
}
