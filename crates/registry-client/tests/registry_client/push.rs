//! Pushes from OCI layouts and docker-archives into the real reference registry on
//! loopback, checked with skopeo: the real test image (both forms), a multi-platform
//! index, re-pushes that skip blobs, Basic authentication, and sources that must be refused
//! before anything is pushed under the tag.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use portcullis_registry_client::{
    Client, ClientOptions, Credentials, Digest, PushError, PushProgress, PushSource, Pushed,
    Reference, RegistryError,
};
use portcullis_testkit::{
    ArchiveForm, Compression, DockerArchiveBuilder, ImageBuilder, LayerBuilder, OciLayoutBuilder,
};

use crate::harness::{Registry, insecure_client, insecure_options, require, run, sha256};

/// The real test image built by `../shared/tools/make-images.sh`; CI builds it, so a
/// missing one fails with how to build it.
fn test_images() -> PathBuf {
    let dir = std::env::var_os("PORTCULLIS_TEST_IMAGES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join("pcdata/img")
        });
    assert!(
        dir.join("oci/index.json").is_file() && dir.join("bookworm-vuln.docker.tar").is_file(),
        "the test image is missing under {}; run scripts/test.sh, which builds it (about 3 minutes, once)",
        dir.display()
    );
    dir
}

struct Fresh {
    registry: Registry,
    _storage: tempfile::TempDir,
}

fn fresh_registry() -> Fresh {
    let storage = tempfile::tempdir().expect("tempdir");
    let registry = Registry::start(storage.path(), "").expect("registry");
    Fresh {
        registry,
        _storage: storage,
    }
}

#[derive(Debug, Default)]
struct Counts {
    exists: usize,
    uploading: usize,
    uploaded: usize,
    manifests: Vec<String>,
}

fn push(client: &Client, source: &str, target: &Reference) -> (Result<Pushed, PushError>, Counts) {
    let mut counts = Counts::default();
    let source = PushSource::parse(source).expect("source");
    let result = client.push(&source, target, &mut |event| match event {
        PushProgress::BlobExists { .. } => counts.exists += 1,
        PushProgress::BlobUploading { .. } => counts.uploading += 1,
        PushProgress::BlobUploaded { .. } => counts.uploaded += 1,
        PushProgress::ManifestPushed { reference, .. } => counts.manifests.push(reference),
        _ => {}
    });
    (result, counts)
}

fn skopeo(args: &[&str]) -> String {
    require("skopeo");
    run(Command::new("skopeo").args(args)).expect("skopeo")
}

fn layout_digest(layout: &Path, tag: &str) -> Digest {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).expect("index"))
            .expect("json");
    index["manifests"]
        .as_array()
        .expect("manifests")
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .and_then(|m| m["digest"].as_str())
        .expect("tag in layout")
        .parse()
        .expect("digest")
}

/// The blobs an image manifest of `layout` uses, itself included.
fn manifest_blobs(layout: &Path, digest: &Digest) -> BTreeSet<String> {
    let bytes = std::fs::read(layout.join("blobs/sha256").join(digest.hex())).expect("manifest");
    let manifest: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    let mut blobs: BTreeSet<String> = manifest["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| l["digest"].as_str().expect("digest").to_owned())
        .collect();
    blobs.insert(
        manifest["config"]["digest"]
            .as_str()
            .expect("config")
            .into(),
    );
    blobs.insert(digest.to_string());
    blobs
}

fn blob_files(layout: &Path) -> BTreeSet<String> {
    std::fs::read_dir(layout.join("blobs/sha256"))
        .expect("blobs")
        .map(|e| format!("sha256:{}", e.expect("entry").file_name().to_string_lossy()))
        .collect()
}

#[test]
fn real_oci_layout_pushes_unchanged_and_repushes_skip_every_blob() {
    let images = test_images();
    let layout = images.join("oci");
    let fresh = fresh_registry();
    let client = insecure_client();
    let target = fresh.registry.reference("unscanned/team/app:v1");
    let source = format!("oci:{}:bookworm-vuln", layout.display());
    let (pushed, counts) = push(&client, &source, &target);
    let pushed = pushed.expect("push");
    let expected = layout_digest(&layout, "bookworm-vuln");
    assert_eq!(pushed.digest, expected);
    assert_eq!(
        pushed.media_type,
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(
        (counts.exists, counts.uploading, counts.uploaded),
        (0, 5, 5)
    );
    assert_eq!(counts.manifests, ["v1"]);

    let docker = format!("docker://{}/unscanned/team/app:v1", fresh.registry.addr);
    let raw = skopeo(&["inspect", "--raw", "--tls-verify=false", &docker]);
    assert_eq!(
        sha256(raw.as_bytes()),
        expected,
        "skopeo sees the same bytes"
    );

    let back = tempfile::tempdir().expect("tempdir");
    let back_layout = back.path().join("layout");
    skopeo(&[
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        &docker,
        &format!("oci:{}:v1", back_layout.display()),
    ]);
    assert_eq!(blob_files(&back_layout), manifest_blobs(&layout, &expected));
    assert_eq!(layout_digest(&back_layout, "v1"), expected);

    // The same image again, and the second tag (which shares layers), under other tags.
    let (again, counts) = push(&client, &source, &target);
    assert_eq!(again.expect("re-push").digest, expected);
    assert_eq!((counts.exists, counts.uploading), (5, 0));
    let deleted = format!("oci:{}:bookworm-vuln-deleted", layout.display());
    let (other, counts) = push(
        &client,
        &deleted,
        &fresh.registry.reference("unscanned/team/app:deleted"),
    );
    assert_eq!(
        other.expect("second tag").digest,
        layout_digest(&layout, "bookworm-vuln-deleted")
    );
    assert!(counts.exists >= 4, "shared layers are skipped: {counts:?}");
    assert!(counts.uploading >= 1, "{counts:?}");
}

#[test]
fn real_docker_archive_pushes_its_layers_and_diff_ids() {
    let images = test_images();
    let archive = images.join("bookworm-vuln.docker.tar");
    let fresh = fresh_registry();
    let client = insecure_client();
    let target = fresh.registry.reference("unscanned/team/archive:v1");
    let (pushed, counts) = push(
        &client,
        &format!("docker-archive:{}", archive.display()),
        &target,
    );
    let pushed = pushed.expect("push");
    assert_eq!((counts.uploading, counts.uploaded), (5, 5));
    let docker = format!("docker://{}/unscanned/team/archive:v1", fresh.registry.addr);
    let raw = skopeo(&["inspect", "--raw", "--tls-verify=false", &docker]);
    assert_eq!(sha256(raw.as_bytes()), pushed.digest);

    let archive_arg = format!("docker-archive:{}", archive.display());
    let theirs: serde_json::Value =
        serde_json::from_str(&skopeo(&["inspect", &archive_arg])).expect("json");
    let ours: serde_json::Value =
        serde_json::from_str(&skopeo(&["inspect", "--tls-verify=false", &docker])).expect("json");
    assert_eq!(ours["Layers"], theirs["Layers"]);
    assert_eq!(ours["Layers"].as_array().map(Vec::len), Some(4));
    let their_config: serde_json::Value =
        serde_json::from_str(&skopeo(&["inspect", "--config", &archive_arg])).expect("json");
    let our_config: serde_json::Value = serde_json::from_str(&skopeo(&[
        "inspect",
        "--config",
        "--tls-verify=false",
        &docker,
    ]))
    .expect("json");
    assert_eq!(our_config["rootfs"]["diff_ids"], ours["Layers"]);
    assert_eq!(
        our_config, their_config,
        "the config is pushed byte for byte"
    );

    // Selected by a short repo tag, the same image (same manifest) is found again.
    let (again, counts) = push(
        &client,
        &format!("{archive_arg}:portcullis/bookworm-vuln:1"),
        &fresh.registry.reference("unscanned/team/archive:v2"),
    );
    assert_eq!(again.expect("by repo tag").digest, pushed.digest);
    assert_eq!((counts.exists, counts.uploading), (5, 0));
}

fn small_image(platform: &str, text: &str) -> ImageBuilder {
    ImageBuilder::new().platform(platform).layer(
        LayerBuilder::new()
            .dir("etc")
            .file("etc/hello.txt", text)
            .build(Compression::Gzip),
    )
}

#[test]
fn multi_platform_index_pushes_whole() {
    let dir = tempfile::tempdir().expect("tempdir");
    let layout_dir = dir.path().join("layout");
    let mut layout = OciLayoutBuilder::new(&layout_dir);
    let mut amd64 = layout.image(&small_image("linux/amd64", "amd64\n"));
    amd64.platform = Some("linux/amd64".into());
    let mut arm64 = layout.image(&small_image("linux/arm64", "arm64\n"));
    arm64.platform = Some("linux/arm64".into());
    let index = layout.index(&[amd64.clone(), arm64.clone()]);
    layout.tag(&index, Some("multi")).finish();

    let fresh = fresh_registry();
    let client = insecure_client();
    let target = fresh.registry.reference("unscanned/team/multi:1");
    let (pushed, counts) = push(&client, &format!("oci:{}", layout_dir.display()), &target);
    let pushed = pushed.expect("push");
    assert_eq!(pushed.digest.to_string(), index.digest);
    assert_eq!(pushed.media_type, "application/vnd.oci.image.index.v1+json");
    assert_eq!(counts.uploading, 4, "two configs and two layers");
    assert_eq!(
        counts.manifests,
        [amd64.digest.clone(), arm64.digest.clone(), "1".into()]
    );

    let fetched = client.fetch_manifest(&target, "1").expect("index");
    assert_eq!(fetched.digest, pushed.digest);
    let copy = tempfile::tempdir().expect("tempdir");
    let docker = format!("docker://{}/unscanned/team/multi:1", fresh.registry.addr);
    skopeo(&[
        "copy",
        "--all",
        "--quiet",
        "--src-tls-verify=false",
        &docker,
        &format!("oci:{}:1", copy.path().join("l").display()),
    ]);
    assert_eq!(blob_files(&copy.path().join("l")), blob_files(&layout_dir));
}

/// A one-image layout tagged `v1` whose layer file is then overwritten with other bytes
/// of the same length.
fn corrupt_layout(dir: &Path) -> (PathBuf, String) {
    let layout = dir.join("layout");
    let image = small_image("linux/amd64", "the right content\n");
    OciLayoutBuilder::write_single(&layout, &image, "v1");
    let layer = &image.layers[0];
    let path = layout
        .join("blobs/sha256")
        .join(layer.digest.trim_start_matches("sha256:"));
    let mut bytes = std::fs::read(&path).expect("layer");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&path, bytes).expect("corrupt");
    (layout, layer.digest.clone())
}

fn assert_not_tagged(client: &Client, target: &Reference, tag: &str) {
    match client.fetch_manifest(target, tag) {
        Err(RegistryError::ManifestNotFound { .. } | RegistryError::RepositoryNotFound { .. }) => {}
        other => panic!("nothing should be under `{tag}`: {other:?}"),
    }
}

#[test]
fn a_corrupt_blob_is_refused_and_nothing_is_tagged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (layout, layer) = corrupt_layout(dir.path());
    let fresh = fresh_registry();
    let client = insecure_client();
    let target = fresh.registry.reference("unscanned/team/bad:v1");
    let (result, counts) = push(&client, &format!("oci:{}:v1", layout.display()), &target);
    let error = result.expect_err("corrupt blob");
    assert!(
        matches!(&error, PushError::BlobDigestMismatch { digest, .. } if digest.to_string() == layer),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&layer) && message.contains("copy the image again"),
        "{message}"
    );
    assert!(counts.manifests.is_empty());
    assert_not_tagged(&client, &target, "v1");
    let digest: Digest = layer.parse().expect("digest");
    assert!(
        matches!(
            client.fetch_blob(&target, &digest),
            Err(RegistryError::BlobNotFound { .. } | RegistryError::RepositoryNotFound { .. })
        ),
        "the wrong bytes were never completed as a blob"
    );
}

#[test]
fn bad_sources_are_refused_before_anything_is_pushed() {
    let images = test_images();
    let dir = tempfile::tempdir().expect("tempdir");
    let fresh = fresh_registry();
    let client = insecure_client();
    let target = fresh.registry.reference("unscanned/team/bad:v1");

    let missing = dir.path().join("no-such-layout");
    let (result, _) = push(&client, &format!("oci:{}", missing.display()), &target);
    let error = result.expect_err("missing layout");
    assert!(matches!(error, PushError::Read { .. }), "{error:?}");
    assert!(error.to_string().contains("no-such-layout"), "{error}");

    std::fs::create_dir(dir.path().join("empty")).expect("dir");
    let (result, _) = push(
        &client,
        &format!("oci:{}", dir.path().join("empty").display()),
        &target,
    );
    assert!(
        matches!(result, Err(PushError::NotALayout { .. })),
        "{result:?}"
    );

    let oci = images.join("oci");
    let (result, _) = push(&client, &format!("oci:{}:nope", oci.display()), &target);
    let message = result.expect_err("unknown tag").to_string();
    assert!(
        message.contains("`nope`") && message.contains("bookworm-vuln, bookworm-vuln-deleted"),
        "{message}"
    );
    let (result, _) = push(&client, &format!("oci:{}", oci.display()), &target);
    assert!(
        matches!(result, Err(PushError::Ambiguous { count: 2, .. })),
        "{result:?}"
    );

    let no_manifest = dir.path().join("no-manifest.tar");
    let mut tar = tar_builder();
    append(&mut tar, "layer.tar", b"not really a layer");
    std::fs::write(&no_manifest, tar.into_inner().expect("tar")).expect("write");
    let (result, _) = push(
        &client,
        &format!("docker-archive:{}", no_manifest.display()),
        &target,
    );
    let error = result.expect_err("no manifest.json");
    assert!(
        matches!(error, PushError::NoArchiveManifest { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("manifest.json"), "{error}");

    let archive = DockerArchiveBuilder::new(ArchiveForm::Classic)
        .image(
            small_image("linux/amd64", &"x".repeat(20_000)),
            &["team/app:1"],
        )
        .bytes();
    for cut in [archive.len() / 2, archive.len() - 700, 700] {
        let truncated = dir.path().join(format!("truncated-{cut}.tar"));
        std::fs::write(&truncated, &archive[..cut]).expect("write");
        let (result, _) = push(
            &client,
            &format!("docker-archive:{}", truncated.display()),
            &target,
        );
        assert!(
            matches!(&result, Err(e @ PushError::TruncatedArchive { .. }) if e.to_string().contains("is truncated")),
            "cut at {cut}: {result:?}"
        );
    }
    let (result, _) = push(
        &client,
        &format!(
            "docker-archive:{}:team/other:1",
            images.join("bookworm-vuln.docker.tar").display()
        ),
        &target,
    );
    let message = result.expect_err("unknown ref").to_string();
    assert!(
        message.contains("docker.io/portcullis/bookworm-vuln:1"),
        "{message}"
    );

    assert!(PushSource::parse("docker://x/y:1").is_err());
    assert_not_tagged(&client, &target, "v1");
}

fn tar_builder() -> tar::Builder<Vec<u8>> {
    tar::Builder::new(Vec::new())
}

fn append(tar: &mut tar::Builder<Vec<u8>>, name: &str, data: &[u8]) {
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, name, data).expect("append");
}

#[test]
fn docker_archive_forms_and_compressions_push() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fresh = fresh_registry();
    let client = insecure_client();
    let image = small_image("linux/amd64", "archive\n")
        .layer(
            LayerBuilder::new()
                .file("plain.txt", "plain\n")
                .build(Compression::None),
        )
        .layer(
            LayerBuilder::new()
                .file("z.txt", "zstd\n")
                .build(Compression::Zstd),
        );
    let cases = [
        ("classic", DockerArchiveBuilder::new(ArchiveForm::Classic)),
        (
            "oci-in-tar",
            DockerArchiveBuilder::new(ArchiveForm::OciInTar),
        ),
        (
            "gzipped",
            DockerArchiveBuilder::new(ArchiveForm::Classic).gzip(),
        ),
    ];
    for (name, builder) in cases {
        let file = dir.path().join(format!("{name}.tar"));
        builder.image(image.clone(), &["team/app:1"]).write(&file);
        let target = fresh
            .registry
            .reference(&format!("unscanned/team/{name}:1"));
        let (pushed, _) = push(
            &client,
            &format!("docker-archive:{}", file.display()),
            &target,
        );
        let pushed = pushed.unwrap_or_else(|e| panic!("{name}: {e}"));
        let manifest: serde_json::Value =
            serde_json::from_slice(&client.fetch_manifest(&target, "1").expect("manifest").bytes)
                .expect("json");
        let layers: Vec<(String, String)> = manifest["layers"]
            .as_array()
            .expect("layers")
            .iter()
            .map(|l| {
                (
                    l["digest"].as_str().unwrap_or_default().into(),
                    l["mediaType"].as_str().unwrap_or_default().into(),
                )
            })
            .collect();
        let expected: Vec<(String, String)> = image
            .layers
            .iter()
            .map(|l| (l.digest.clone(), l.media_type.clone()))
            .collect();
        assert_eq!(layers, expected, "{name}");
        assert_eq!(
            manifest["config"]["digest"],
            image.config_descriptor().digest,
            "{name}"
        );
        assert_eq!(
            pushed.media_type,
            "application/vnd.oci.image.manifest.v1+json"
        );
    }
}

#[test]
fn basic_auth_registry_needs_credentials_to_push() {
    let dir = tempfile::tempdir().expect("tempdir");
    let password = "a-long-password";
    let hash = bcrypt::hash_with_result(password, 4)
        .expect("bcrypt")
        .format_for_version(bcrypt::Version::TwoY);
    let htpasswd = dir.path().join("htpasswd");
    std::fs::write(&htpasswd, format!("ci:{hash}\n")).expect("htpasswd");
    let auth = format!(
        "  htpasswd:\n    realm: portcullis-test\n    path: {}\n",
        htpasswd.display()
    );
    let storage = dir.path().join("storage");
    let registry = Registry::start(&storage, &auth).expect("registry");
    let layout = dir.path().join("layout");
    OciLayoutBuilder::write_single(&layout, &small_image("linux/amd64", "auth\n"), "v1");
    let source = format!("oci:{}:v1", layout.display());
    let target = registry.reference("unscanned/team/auth:v1");

    let (anonymous, _) = push(&insecure_client(), &source, &target);
    let message = anonymous.expect_err("anonymous").to_string();
    assert!(message.contains("not authorised to push"), "{message}");

    let client = Client::new(ClientOptions {
        credentials: Some(Credentials {
            username: "ci".into(),
            password: password.into(),
        }),
        ..insecure_options()
    })
    .expect("client");
    let (pushed, counts) = push(&client, &source, &target);
    pushed.expect("with credentials");
    assert_eq!(counts.uploaded, 2);
    assert_eq!(counts.manifests, ["v1"]);
}
