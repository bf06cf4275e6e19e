use super::*;
use crate::layer::{EntryKind, LayerContents, LayerEntry, Whiteout};

fn file(path: &str, content: Option<&str>) -> LayerEntry {
    LayerEntry {
        path: path.into(),
        kind: EntryKind::File,
        mode: 0o644,
        size: content.map_or(0, |c| c.len() as u64),
        content: content.map(|c| Arc::from(c.as_bytes())),
        wanted: content.is_some(),
    }
}

fn entry(path: &str, kind: EntryKind) -> LayerEntry {
    LayerEntry {
        path: path.into(),
        kind,
        mode: 0o755,
        size: 0,
        content: None,
        wanted: false,
    }
}

fn layer(entries: Vec<LayerEntry>, whiteouts: Vec<Whiteout>) -> LayerContents {
    LayerContents { entries, whiteouts }
}

fn wh(dir: &str, name: Option<&str>) -> Whiteout {
    Whiteout {
        dir: dir.into(),
        name: name.map(str::to_owned),
    }
}

fn paths(tree: &FileTree) -> Vec<&str> {
    tree.iter().map(|(p, _)| p).collect()
}

#[test]
fn whiteouts_delete_lower_entries_and_subtrees() {
    let mut tree = FileTree::new();
    tree.apply_layer(
        0,
        layer(
            vec![
                entry("/a", EntryKind::Dir),
                file("/a/x", Some("x")),
                entry("/a/sub", EntryKind::Dir),
                file("/a/sub/y", None),
                file("/b", None),
            ],
            vec![],
        ),
    )
    .unwrap();
    tree.apply_layer(
        1,
        layer(vec![], vec![wh("/a", Some("sub")), wh("/", Some("b"))]),
    )
    .unwrap();
    assert_eq!(paths(&tree), ["/a", "/a/x"]);
    // Re-created in a higher layer after the delete.
    tree.apply_layer(2, layer(vec![file("/b", Some("new"))], vec![]))
        .unwrap();
    assert_eq!(tree.read("/b").unwrap(), Some(&b"new"[..]));
    assert_eq!(tree.get("/b").unwrap().layer, Some(2));
    assert_eq!(tree.get("/a/x").unwrap().layer, Some(0));
}

#[test]
fn opaque_dirs_hide_lower_layers_but_not_their_own() {
    let mut tree = FileTree::new();
    tree.apply_layer(
        0,
        layer(
            vec![
                entry("/etc", EntryKind::Dir),
                file("/etc/old", None),
                file("/etc/keep.d", None),
            ],
            vec![],
        ),
    )
    .unwrap();
    tree.apply_layer(
        1,
        layer(
            vec![entry("/etc", EntryKind::Dir), file("/etc/new", None)],
            vec![wh("/etc", None)],
        ),
    )
    .unwrap();
    assert_eq!(paths(&tree), ["/etc", "/etc/new"]);
    assert_eq!(tree.get("/etc").unwrap().layer, Some(1));
}

#[test]
fn whiteout_in_same_layer_does_not_hide_that_layers_entry() {
    let mut tree = FileTree::new();
    tree.apply_layer(0, layer(vec![file("/f", Some("lower"))], vec![]))
        .unwrap();
    tree.apply_layer(
        1,
        layer(vec![file("/f", Some("upper"))], vec![wh("/", Some("f"))]),
    )
    .unwrap();
    assert_eq!(tree.read("/f").unwrap(), Some(&b"upper"[..]));
}

#[test]
fn a_file_replacing_a_directory_removes_the_subtree() {
    let mut tree = FileTree::new();
    tree.apply_layer(
        0,
        layer(
            vec![entry("/d", EntryKind::Dir), file("/d/x", None)],
            vec![],
        ),
    )
    .unwrap();
    tree.apply_layer(1, layer(vec![file("/d", None)], vec![]))
        .unwrap();
    assert_eq!(paths(&tree), ["/d"]);
    assert!(tree.get("/d").unwrap().is_file());
}

#[test]
fn missing_parents_are_created_and_symlinked_parents_followed() {
    let mut tree = FileTree::new();
    tree.apply_layer(
        0,
        layer(
            vec![
                entry("/usr/lib", EntryKind::Dir),
                entry("/lib", EntryKind::Symlink("usr/lib".into())),
                file("/deep/er/file", None),
            ],
            vec![],
        ),
    )
    .unwrap();
    tree.apply_layer(1, layer(vec![file("/lib/libx.so", Some("elf"))], vec![]))
        .unwrap();
    assert!(tree.get("/deep/er").unwrap().is_dir());
    assert_eq!(tree.get("/usr/lib/libx.so").unwrap().layer, Some(1));
    assert_eq!(tree.read("/lib/libx.so").unwrap(), Some(&b"elf"[..]));
    assert_eq!(tree.read_dir("/lib"), ["libx.so"]);
    assert_eq!(tree.read_dir("/"), ["deep", "lib", "usr"]);
}

#[test]
fn resolution_clamps_at_root_and_detects_loops() {
    let mut tree = FileTree::new();
    tree.apply_layer(
        0,
        layer(
            vec![
                entry("/etc", EntryKind::Dir),
                file("/etc/passwd", Some("root")),
                entry(
                    "/escape",
                    EntryKind::Symlink("../../../../etc/passwd".into()),
                ),
                entry("/abs", EntryKind::Symlink("/etc".into())),
                entry("/loop1", EntryKind::Symlink("loop2".into())),
                entry("/loop2", EntryKind::Symlink("/loop1".into())),
                entry("/self", EntryKind::Symlink(".".into())),
                entry("/dangling", EntryKind::Symlink("/nowhere".into())),
            ],
            vec![],
        ),
    )
    .unwrap();
    assert_eq!(tree.read("/escape").unwrap(), Some(&b"root"[..]));
    let (real, _) = tree.resolve("/abs/passwd").unwrap().unwrap();
    assert_eq!(real, "/etc/passwd");
    assert!(matches!(
        tree.resolve("/loop1/x"),
        Err(TreeError::SymlinkLoop { .. })
    ));
    assert_eq!(tree.resolve("/self/self/etc").unwrap().unwrap().0, "/etc");
    assert_eq!(tree.resolve("/dangling").unwrap(), None);
    assert_eq!(tree.resolve("/etc/passwd/x").unwrap(), None);
    assert_eq!(tree.resolve("/").unwrap().unwrap().0, "/");
    assert_eq!(
        tree.get("/abs").unwrap().kind,
        NodeKind::Symlink("/etc".into())
    );
}

#[test]
fn hardlinks_share_content_or_ask_for_a_second_pass() {
    let mut tree = FileTree::new();
    tree.apply_layer(
        0,
        layer(
            vec![file("/kept", Some("k")), file("/unkept", None)],
            vec![],
        ),
    )
    .unwrap();
    let mut link = entry("/link", EntryKind::Hardlink("/kept".into()));
    link.wanted = true;
    let mut link2 = entry("/link2", EntryKind::Hardlink("/unkept".into()));
    link2.wanted = true;
    let pending = tree
        .apply_layer(1, layer(vec![link, link2], vec![]))
        .unwrap();
    assert_eq!(tree.read("/link").unwrap(), Some(&b"k"[..]));
    assert_eq!(
        pending,
        [PendingHardlink {
            path: "/link2".into(),
            link_layer: 1,
            target: "/unkept".into(),
            target_layer: 0
        }]
    );
    tree.fill_hardlink(&pending[0], Arc::from(&b"u"[..]));
    assert_eq!(tree.read("/link2").unwrap(), Some(&b"u"[..]));
    let missing = entry("/bad", EntryKind::Hardlink("/nothing".into()));
    assert!(matches!(
        tree.apply_layer(2, layer(vec![missing], vec![])),
        Err(TreeError::HardlinkTargetMissing { .. })
    ));
}
