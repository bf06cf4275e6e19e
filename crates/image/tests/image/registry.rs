//! `docker://` against the reference registry (`docker-registry`, the CNCF distribution
//! registry) on loopback, with images pushed by skopeo as OCI and as Docker v2s2.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use portcullis_image::ReadOptions;
use portcullis_testkit::{Compression, ImageBuilder, LayerBuilder, OciLayoutBuilder};

use super::sources::sample_image;
use super::support::{all, path_str, read, read_with, require, run, summary};

/// The registry process, stopped when dropped.
struct Registry {
    child: Child,
    port: u16,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_registry(dir: &Path) -> Registry {
    require("docker-registry", "docker-registry");
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let config = dir.join("config.yml");
    let storage = dir.join("storage");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog: {{ level: error }}\nstorage:\n  filesystem: {{ rootdirectory: {} }}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            storage.display()
        ),
    )
    .expect("write registry config");
    let child = Command::new("docker-registry")
        .args(["serve", path_str(&config)])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start docker-registry");
    let registry = Registry { child, port };
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.write_all(b"GET /v2/ HTTP/1.0\r\n\r\n");
            let mut reply = String::new();
            let _ = s.read_to_string(&mut reply);
            if reply.starts_with("HTTP/1.1 200") || reply.starts_with("HTTP/1.0 200") {
                return registry;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("docker-registry did not answer on 127.0.0.1:{port}");
}

fn insecure() -> ReadOptions {
    let mut options = ReadOptions::default();
    options.registry.insecure = true;
    options
}

#[test]
fn registry_images_read_like_the_layout_they_were_pushed_from() -> anyhow::Result<()> {
    require("skopeo", "skopeo");
    let dir = tempfile::tempdir()?;
    let registry = start_registry(dir.path());
    let layout = dir.path().join("layout");
    let mut builder = OciLayoutBuilder::new(&layout);
    let manifest = builder.image(&sample_image(Compression::Gzip));
    let arm = builder.image(
        &ImageBuilder::new().platform("linux/arm64/v8").layer(
            LayerBuilder::new()
                .file("arch", "arm64")
                .build(Compression::Gzip),
        ),
    );
    let index = builder.index(&[manifest.clone(), arm]);
    builder
        .tag(&manifest, Some("v1"))
        .tag(&index, Some("multi"))
        .finish();
    let src = format!("oci:{}:v1", path_str(&layout));
    let reference = read(&src, &all)?;
    let host = format!("127.0.0.1:{}", registry.port);
    let push = |from: &str, to: &str, extra: &[&str]| {
        let mut args = vec!["copy", "-q", "--dest-tls-verify=false"];
        args.extend_from_slice(extra);
        let to = format!("docker://{host}/test/sample:{to}");
        args.extend_from_slice(&[from, &to]);
        run("skopeo", &args);
    };
    push(&src, "oci", &[]);
    push(&src, "v2s2", &["--format", "v2s2"]);
    push(
        &format!("oci:{}:multi", path_str(&layout)),
        "multi",
        &["--all"],
    );

    let oci = read_with(
        &format!("docker://{host}/test/sample:oci"),
        &insecure(),
        &all,
    )?;
    assert_eq!(summary(&oci.tree), summary(&reference.tree));
    assert_eq!(oci.info.source_kind, "docker");
    assert_eq!(
        oci.info.manifest_digest.as_ref().map(ToString::to_string),
        Some(manifest.digest.clone())
    );
    assert_eq!(oci.info.layers, reference.info.layers);

    let v2s2 = read_with(
        &format!("docker://{host}/test/sample:v2s2"),
        &insecure(),
        &all,
    )?;
    assert_eq!(summary(&v2s2.tree), summary(&reference.tree));
    assert_eq!(
        v2s2.info.layers[0].media_type.as_deref(),
        Some("application/vnd.docker.image.rootfs.diff.tar.gzip"),
        "skopeo converted the manifest to Docker v2s2"
    );
    assert_eq!(v2s2.info.config_digest, reference.info.config_digest);

    let by_digest = format!("docker://{host}/test/sample@{}", manifest.digest);
    assert_eq!(
        summary(&read_with(&by_digest, &insecure(), &all)?.tree),
        summary(&reference.tree)
    );

    let mut arm_options = insecure();
    arm_options.platform = "linux/arm64".parse()?;
    let multi = read_with(
        &format!("docker://{host}/test/sample:multi"),
        &arm_options,
        &all,
    )?;
    assert_eq!(multi.tree.read("/arch")?, Some(&b"arm64"[..]));
    assert_eq!(
        multi.info.index_digest.as_ref().map(ToString::to_string),
        Some(index.digest)
    );

    let err = read_with(
        &format!("docker://{host}/test/sample:missing"),
        &insecure(),
        &all,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("missing"), "{err}");
    Ok(())
}
