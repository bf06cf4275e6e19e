//! Hostile archives: every case ends in a clear error or in confinement, never a
//! panic, a hang or unbounded memory. Nothing is ever written outside temp dirs.

use std::io::{self, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use portcullis_image::{ImageError, LayerError, Limits, ReadOptions, TreeError};
use portcullis_testkit::{
    Compression, ImageBuilder, Layer, LayerBuilder, OciLayoutBuilder, sha256_digest,
};
use sha2::{Digest as _, Sha256};

use super::support::{all, none, path_str, paths, read, read_with};

fn layout_of(dir: &Path, layers: Vec<Layer>) -> String {
    let mut image = ImageBuilder::new();
    for layer in layers {
        image = image.layer(layer);
    }
    OciLayoutBuilder::write_single(dir, &image, "t");
    format!("oci:{}:t", path_str(dir))
}

#[test]
fn entries_climbing_above_root_are_refused() -> anyhow::Result<()> {
    for name in [&b"../../etc/passwd"[..], b"./a/../../etc/passwd", b"/.."] {
        let dir = tempfile::tempdir()?;
        let layer = LayerBuilder::new()
            .raw(name, tar::EntryType::Regular, b"", b"root:x:0:0")
            .build(Compression::Gzip);
        let err = read(&layout_of(dir.path(), vec![layer]), &all).unwrap_err();
        assert!(
            matches!(err, ImageError::Layer(LayerError::EscapesRoot { .. })),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("climbs above the image root"),
            "{err}"
        );
    }
    // A hardlink whose target climbs out.
    let dir = tempfile::tempdir()?;
    let layer = LayerBuilder::new()
        .raw(
            b"etc/shadow",
            tar::EntryType::Link,
            b"../../../etc/shadow",
            b"",
        )
        .build(Compression::Gzip);
    let err = read(&layout_of(dir.path(), vec![layer]), &all).unwrap_err();
    assert!(
        matches!(
            err,
            ImageError::Layer(LayerError::HardlinkEscapesRoot { .. })
        ),
        "{err:?}"
    );
    Ok(())
}

#[test]
fn absolute_and_odd_names_are_confined_to_the_root() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let long = format!("{}/file", "d".repeat(150));
    let layer = LayerBuilder::new()
        .raw(b"/etc/absolute", tar::EntryType::Regular, b"", b"abs")
        .raw(b"./etc//./dots", tar::EntryType::Regular, b"", b"dots")
        .raw(b"x/../y", tar::EntryType::Regular, b"", b"inner dotdot")
        .raw(long.as_bytes(), tar::EntryType::Regular, b"", b"long")
        .build(Compression::Gzip);
    let tree = read(&layout_of(dir.path(), vec![layer]), &all)?.tree;
    assert_eq!(tree.read("/etc/absolute")?, Some(&b"abs"[..]));
    assert_eq!(tree.read("/etc/dots")?, Some(&b"dots"[..]));
    assert_eq!(tree.read("/y")?, Some(&b"inner dotdot"[..]));
    assert_eq!(tree.read(&format!("/{long}"))?, Some(&b"long"[..]));
    assert!(
        paths(&tree)
            .iter()
            .all(|p| p.starts_with('/') && !p.contains("/../") && !p.contains("//"))
    );
    Ok(())
}

#[test]
fn symlinks_out_of_the_root_clamp_and_loops_are_errors() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let layer = LayerBuilder::new()
        .file("etc/passwd", "image passwd")
        .symlink("up", "../../../../../../")
        .symlink("abs", "/../../etc/passwd")
        .symlink("loop-a", "loop-b")
        .symlink("loop-b", "./loop-a")
        .build(Compression::Gzip);
    let tree = read(&layout_of(dir.path(), vec![layer]), &all)?.tree;
    assert_eq!(
        tree.read("/up/etc/passwd")?,
        Some(&b"image passwd"[..]),
        "`..` stops at the image root"
    );
    assert_eq!(tree.read("/abs")?, Some(&b"image passwd"[..]));
    let started = Instant::now();
    let err = tree.read("/loop-a/x").unwrap_err();
    assert!(matches!(err, TreeError::SymlinkLoop { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(tree.read_dir("/loop-a").is_empty());
    Ok(())
}

#[test]
fn hardlinks_to_missing_files_are_errors() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let layer = LayerBuilder::new()
        .hardlink("etc/link", "etc/nothing")
        .build(Compression::Gzip);
    let err = read(&layout_of(dir.path(), vec![layer]), &none).unwrap_err();
    assert!(
        matches!(
            err,
            ImageError::Tree(TreeError::HardlinkTargetMissing { .. })
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("`/etc/link` to `/etc/nothing`"),
        "{err}"
    );
    Ok(())
}

#[test]
fn truncated_and_corrupt_layers_are_errors() -> anyhow::Result<()> {
    let full = LayerBuilder::new()
        .file("f", vec![7u8; 100_000])
        .file("g", "tail")
        .build(Compression::Gzip);
    for (what, bytes) in [
        (
            "truncated gzip",
            full.bytes[..full.bytes.len() / 2].to_vec(),
        ),
        (
            "garbage",
            b"\x1f\x8b\x08\x00garbage that is not deflate".to_vec(),
        ),
        (
            "not a tar",
            b"hello, I am not a tar archive at all".repeat(20),
        ),
    ] {
        let dir = tempfile::tempdir()?;
        // Honest digests: the blob is what it claims, only its content is broken.
        let layer = Layer {
            digest: sha256_digest(&bytes),
            bytes,
            ..full.clone()
        };
        let err = read(&layout_of(dir.path(), vec![layer]), &none).unwrap_err();
        assert!(
            matches!(
                err,
                ImageError::Layer(LayerError::Corrupt { .. } | LayerError::DiffIdMismatch { .. })
            ),
            "{what}: {err:?}"
        );
    }
    Ok(())
}

#[test]
fn limits_on_entries_paths_and_kept_bytes_name_the_limit() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut builder = LayerBuilder::new();
    for i in 0..50 {
        builder = builder.file(&format!("f{i}"), "0123456789");
    }
    let src = layout_of(dir.path(), vec![builder.build(Compression::Gzip)]);
    let with = |limits: Limits| ReadOptions {
        limits,
        ..ReadOptions::default()
    };
    let cases = [
        (
            Limits {
                max_entries: 10,
                ..Limits::default()
            },
            "max_entries",
        ),
        (
            Limits {
                max_path_len: 2,
                ..Limits::default()
            },
            "max_path_len",
        ),
        (
            Limits {
                max_retained_file_bytes: 5,
                ..Limits::default()
            },
            "max_retained_file_bytes",
        ),
        (
            Limits {
                max_retained_total_bytes: 100,
                ..Limits::default()
            },
            "max_retained_total_bytes",
        ),
        (
            Limits {
                max_uncompressed_bytes: 4096,
                ..Limits::default()
            },
            "max_uncompressed_bytes",
        ),
    ];
    for (limits, name) in cases {
        let err = read_with(&src, &with(limits), &all).unwrap_err();
        let ImageError::Layer(LayerError::LimitExceeded {
            limit, layer: 0, ..
        }) = &err
        else {
            panic!("{name}: {err:?}");
        };
        assert_eq!(*limit, name);
        assert!(
            err.to_string().contains(&format!("raise `{name}`")),
            "{err}"
        );
    }
    Ok(())
}

/// A gzip layer of one 10 GiB file of zeros, written streaming: concatenated gzip
/// members (a 64 MiB zero block compressed once, repeated) are one valid gzip stream.
fn write_bomb(path: &Path, gib: u64) -> io::Result<(String, u64)> {
    let block = 64u64 << 20;
    let count = (gib << 30) / block;
    let member = |data: &mut dyn Read| -> io::Result<Vec<u8>> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        io::copy(data, &mut enc)?;
        enc.finish()
    };
    let mut header = tar::Header::new_gnu();
    header.set_path("zeros")?;
    header.set_size(block * count);
    header.set_mode(0o644);
    header.set_cksum();
    let head = member(&mut header.as_bytes().as_slice())?;
    let zeros = member(&mut io::repeat(0).take(block))?;
    let trailer = member(&mut io::repeat(0).take(1024))?;
    let mut file = io::BufWriter::new(std::fs::File::create(path)?);
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut write = |bytes: &[u8]| -> io::Result<()> {
        hasher.update(bytes);
        size += bytes.len() as u64;
        file.write_all(bytes)
    };
    write(&head)?;
    for _ in 0..count {
        write(&zeros)?;
    }
    write(&trailer)?;
    file.flush()?;
    Ok((format!("sha256:{}", hex_encode(&hasher.finalize())), size))
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn bomb_layout(dir: &Path) -> anyhow::Result<String> {
    std::fs::create_dir_all(dir.join("blobs/sha256"))?;
    let tmp = dir.join("bomb.tmp");
    let (digest, _size) = write_bomb(&tmp, 10)?;
    std::fs::rename(
        &tmp,
        dir.join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:")),
    )?;
    // The diff_id is never reached: the limit stops the read long before.
    let fake = Layer {
        bytes: std::fs::read(
            dir.join("blobs/sha256")
                .join(digest.trim_start_matches("sha256:")),
        )?,
        digest,
        diff_id: format!("sha256:{}", "1".repeat(64)),
        media_type: "application/vnd.oci.image.layer.v1.tar+gzip".into(),
    };
    Ok(layout_of(dir, vec![fake]))
}

/// Child half of the bomb test: reads the bomb and prints the outcome and peak RSS.
#[test]
#[allow(
    clippy::print_stdout,
    reason = "the child reports to its parent test on stdout"
)]
#[ignore = "run by `a_gzip_bomb_stops_at_the_limit_quickly_in_bounded_memory` in a child process"]
fn bomb_child() {
    let Ok(src) = std::env::var("PORTCULLIS_BOMB_SOURCE") else {
        return;
    };
    let options = ReadOptions {
        limits: Limits {
            max_uncompressed_bytes: 32 << 20,
            ..Limits::default()
        },
        ..ReadOptions::default()
    };
    let started = Instant::now();
    // Unwanted content, so that only the uncompressed-size limit can stop it.
    let result = read_with(&src, &options, &none);
    let elapsed = started.elapsed();
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let hwm = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .unwrap_or("VmHWM: ?")
        .to_owned();
    let outcome = match result {
        Err(ImageError::Layer(LayerError::LimitExceeded { limit, .. })) => format!("limit {limit}"),
        other => format!("unexpected {other:?}"),
    };
    println!("BOMB-RESULT {outcome} | {} ms | {hwm}", elapsed.as_millis());
}

#[test]
#[allow(
    clippy::print_stderr,
    reason = "reports the measured figures in the test log"
)]
fn a_gzip_bomb_stops_at_the_limit_quickly_in_bounded_memory() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let src = bomb_layout(dir.path())?;
    let blob_bytes: u64 = std::fs::read_dir(dir.path().join("blobs/sha256"))?
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .max()
        .unwrap_or(0);
    assert!(
        blob_bytes < 20 << 20,
        "the bomb is small on disk: {blob_bytes} bytes"
    );
    let exe = std::env::current_exe()?;
    let output = std::process::Command::new(exe)
        .args([
            "--ignored",
            "--exact",
            "image::hostile::bomb_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("PORTCULLIS_BOMB_SOURCE", &src)
        .output()?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .find(|l| l.contains("BOMB-RESULT"))
        .unwrap_or_else(|| panic!("no result from child: {stdout}"));
    eprintln!("{line} (bomb: 10 GiB of zeros in {blob_bytes} bytes of gzip)");
    assert!(line.contains("limit max_uncompressed_bytes"), "{line}");
    let ms: u64 = line
        .split(" | ")
        .nth(1)
        .and_then(|s| s.trim_end_matches(" ms").parse().ok())
        .unwrap_or(u64::MAX);
    assert!(ms < 10_000, "stopped in {ms} ms");
    let kb: u64 = line
        .split("VmHWM:")
        .nth(1)
        .and_then(|s| s.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(u64::MAX);
    assert!(
        kb < 200 * 1024,
        "peak RSS {kb} kB must stay bounded (well under the 10 GiB the bomb expands to)"
    );
    Ok(())
}
