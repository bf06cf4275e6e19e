//! Selectors: keep, summarize or skip each file while layers stream past.

use portcullis_image::{
    EntryInfo, NoProgress, ReadOptions, Selection, Selector, Source, read_image,
};
use portcullis_testkit::{Compression, ImageBuilder, LayerBuilder, OciLayoutBuilder};

/// Summarizes executables to "len=N" and keeps `/etc/*`.
struct Test;

fn length(_: &str, bytes: &[u8]) -> Option<Vec<u8>> {
    bytes
        .starts_with(b"\x7fELF")
        .then(|| format!("len={}", bytes.len()).into_bytes())
}

impl Selector for Test {
    fn select(&self, entry: &EntryInfo<'_>) -> Selection {
        if entry.path.starts_with("/etc/") {
            Selection::Keep
        } else if entry.is_executable() {
            Selection::Summarize(length)
        } else {
            Selection::Skip
        }
    }
}

#[test]
fn summaries_replace_content_in_layers_and_through_hardlinks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let elf = [b"\x7fELF".as_slice(), &[0u8; 5000]].concat();
    let layer = LayerBuilder::new()
        .file("etc/config", "kept")
        .file_with_mode("usr/bin/app", &elf, 0o755)
        .file_with_mode("usr/bin/script", "#!/bin/sh\n", 0o755)
        .file("usr/share/data", &elf)
        .hardlink("usr/bin/app-link", "usr/bin/app")
        .build(Compression::Gzip);
    OciLayoutBuilder::write_single(dir.path(), &ImageBuilder::new().layer(layer), "t");
    let source = Source::parse(&format!("oci:{}:t", dir.path().display())).expect("source");
    let image = read_image(&source, &ReadOptions::default(), &Test, &NoProgress).expect("read");
    let read = |p: &str| {
        image
            .tree
            .read(p)
            .expect("resolve")
            .map(|b| String::from_utf8_lossy(b).into_owned())
    };
    assert_eq!(read("/etc/config").as_deref(), Some("kept"));
    assert_eq!(read("/usr/bin/app").as_deref(), Some("len=5004"));
    // Not an ELF file: the summarizer keeps nothing.
    assert_eq!(read("/usr/bin/script"), None);
    // Not executable: never offered to the summarizer.
    assert_eq!(read("/usr/share/data"), None);
    assert_eq!(
        image.tree.get("/usr/share/data").map(|n| n.size),
        Some(5004)
    );
    assert_eq!(read("/usr/bin/app-link").as_deref(), Some("len=5004"));
}

#[test]
fn summaries_in_an_unpacked_rootfs() {
    use std::os::unix::fs::PermissionsExt as _;
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(root.path().join("usr/bin")).expect("mkdir");
    let app = root.path().join("usr/bin/app");
    std::fs::write(&app, [b"\x7fELF".as_slice(), &[1u8; 100]].concat()).expect("write");
    std::fs::set_permissions(&app, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let source = Source::parse(&format!("dir:{}", root.path().display())).expect("source");
    let image = read_image(&source, &ReadOptions::default(), &Test, &NoProgress).expect("read");
    assert_eq!(
        image.tree.read("/usr/bin/app").expect("resolve"),
        Some(b"len=104".as_slice())
    );
}

static DECLINED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn decline(_: &str, _: &[u8]) -> Option<Vec<u8>> {
    DECLINED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    None
}

struct Declines;

impl Selector for Declines {
    fn select(&self, entry: &EntryInfo<'_>) -> Selection {
        if entry.is_executable() {
            Selection::Summarize(decline)
        } else {
            Selection::Skip
        }
    }
}

#[test]
fn a_hardlink_to_a_declined_file_does_not_read_the_layer_again() {
    // Hardlinked executables are common (perl, gzip…); when the summarizer found nothing in
    // the target, the link would get nothing either, so no second pass over the layer.
    let dir = tempfile::tempdir().expect("tempdir");
    let layer = LayerBuilder::new()
        .file_with_mode("usr/bin/perl5.36.0", "#!not elf", 0o755)
        .hardlink("usr/bin/perl", "usr/bin/perl5.36.0")
        .build(Compression::Gzip);
    OciLayoutBuilder::write_single(dir.path(), &ImageBuilder::new().layer(layer), "t");
    let source = Source::parse(&format!("oci:{}:t", dir.path().display())).expect("source");
    read_image(&source, &ReadOptions::default(), &Declines, &NoProgress).expect("read");
    assert_eq!(DECLINED.load(std::sync::atomic::Ordering::SeqCst), 1);
}
