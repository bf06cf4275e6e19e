//! Real reference registries (`docker-registry`) on loopback, and images pushed into them
//! by `skopeo`, built with `umoci`.

use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use portcullis_registry_client::{Client, ClientOptions, Digest, Reference};
use sha2::{Digest as _, Sha256};

const INSTALL: &str = "apt-get install -y docker-registry skopeo umoci";

/// Fails the test with the install command when `tool` is missing (CI installs them).
pub fn require(tool: &str) {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(tool).is_file()));
    assert!(
        found,
        "`{tool}` is not installed; these tests need it: {INSTALL}"
    );
}

pub fn run(command: &mut Command) -> Result<String> {
    let output = command
        .output()
        .with_context(|| format!("failed to run {command:?}"))?;
    ensure!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

/// A `docker-registry serve` process. It is killed on drop, and also when the test process
/// ends (its wrapper shell waits on a pipe we hold), so that shared registries kept in
/// statics do not outlive the tests.
pub struct Registry {
    pub addr: String,
    child: Child,
    keepalive: Option<ChildStdin>,
    _config_dir: tempfile::TempDir,
}

impl Registry {
    /// `auth` is the YAML of the `auth:` section's body, indented by 2, or empty.
    pub fn start(storage: &Path, auth: &str) -> Result<Self> {
        require("docker-registry");
        let config_dir = tempfile::tempdir()?;
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let auth = if auth.is_empty() {
            String::new()
        } else {
            format!("auth:\n{auth}")
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {addr}\n{auth}",
            storage.display()
        );
        let config_path = config_dir.path().join("config.yml");
        std::fs::write(&config_path, config)?;
        let log = std::fs::File::create(config_dir.path().join("registry.log"))?;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg("docker-registry serve \"$0\" & pid=$!; read ignored; kill $pid; wait $pid")
            .arg(&config_path)
            .stdin(Stdio::piped())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let keepalive = child.stdin.take();
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(&addr).is_err() {
            if Instant::now() > deadline || child.try_wait()?.is_some() {
                let log = std::fs::read_to_string(config_dir.path().join("registry.log"))
                    .unwrap_or_default();
                bail!("docker-registry did not start on {addr}: {log}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Self {
            addr,
            child,
            keepalive,
            _config_dir: config_dir,
        })
    }

    pub fn reference(&self, repository_and_tag: &str) -> Reference {
        format!("{}/{repository_and_tag}", self.addr)
            .parse()
            .expect("valid reference")
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        if let Some(mut keepalive) = self.keepalive.take() {
            let _ = keepalive.write_all(b"stop\n");
        }
        let _ = self.child.wait();
    }
}

/// Digests of what the shared registry holds under `portcullis/app`.
#[derive(Debug)]
pub struct Images {
    /// OCI manifest, tag `v1` (linux/amd64).
    pub oci: Digest,
    /// OCI manifest for linux/arm64, tag `arm64`.
    pub oci_arm64: Digest,
    /// Docker v2 schema 2 manifest, tag `v2s2` (same content as `v1`).
    pub docker: Digest,
    /// OCI index over `v1` and `arm64`, tag `multi`.
    pub index: Digest,
    /// The single layer of `v1` and its bytes as pushed (gzip).
    pub layer: Digest,
    pub layer_bytes: Vec<u8>,
}

pub struct Shared {
    pub storage: PathBuf,
    pub registry: Registry,
    pub images: Images,
}

/// One open registry, filled once per test run; authenticated registries are started over
/// the same storage so that they serve the same images.
pub fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| build_shared().expect("failed to set up the shared registry"))
}

fn build_shared() -> Result<Shared> {
    require("skopeo");
    require("umoci");
    let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("registry-client");
    // Runs leave their storage behind (statics are never dropped); keep only this one.
    let _ = std::fs::remove_dir_all(&root);
    let storage = root.join(format!("storage-{}", std::process::id()));
    std::fs::create_dir_all(&storage)?;
    let registry = Registry::start(&storage, "")?;
    let work = tempfile::tempdir()?;
    let layout = work.path().join("layout");
    let layout_str = layout.display().to_string();
    run(Command::new("umoci").args(["init", "--layout", &layout_str]))?;
    run(Command::new("umoci").args(["new", "--image", &format!("{layout_str}:base")]))?;
    let rootfs = work.path().join("rootfs");
    std::fs::create_dir_all(rootfs.join("etc"))?;
    std::fs::write(
        rootfs.join("etc/portcullis.txt"),
        "hello from a test layer\n",
    )?;
    let layer_tar = work.path().join("layer.tar");
    run(Command::new("tar")
        .arg("-C")
        .arg(&rootfs)
        .arg("-cf")
        .arg(&layer_tar)
        .arg("."))?;
    run(Command::new("umoci")
        .args([
            "raw",
            "add-layer",
            "--image",
            &format!("{layout_str}:base"),
            "--tag",
            "v1",
        ])
        .arg(&layer_tar))?;
    run(Command::new("umoci").args([
        "config",
        "--image",
        &format!("{layout_str}:v1"),
        "--architecture",
        "arm64",
        "--tag",
        "arm64",
    ]))?;
    write_index(&layout, &[("v1", "amd64"), ("arm64", "arm64")], "multi")?;

    let dest = |tag: &str| format!("docker://{}/portcullis/app:{tag}", registry.addr);
    let copy = |args: &[&str]| -> Result<String> {
        run(Command::new("skopeo")
            .args(["copy", "--quiet", "--dest-tls-verify=false"])
            .args(args))
    };
    copy(&[&format!("oci:{layout_str}:v1"), &dest("v1")])?;
    copy(&[&format!("oci:{layout_str}:arm64"), &dest("arm64")])?;
    copy(&[
        "--format",
        "v2s2",
        &format!("oci:{layout_str}:v1"),
        &dest("v2s2"),
    ])?;
    copy(&["--all", &format!("oci:{layout_str}:multi"), &dest("multi")])?;

    let inspect = |tag: &str| -> Result<Digest> {
        let out = run(Command::new("skopeo").args([
            "inspect",
            "--raw",
            "--tls-verify=false",
            &dest(tag),
        ]))?;
        Ok(Digest::sha256_from_bytes(
            Sha256::digest(out.as_bytes()).into(),
        ))
    };
    let manifest: serde_json::Value =
        serde_json::from_slice(&read_blob(&layout, &layout_digest(&layout, "v1")?)?)?;
    let layer: Digest = manifest["layers"][0]["digest"]
        .as_str()
        .context("no layer")?
        .parse()?;
    let layer_bytes = read_blob(&layout, &layer)?;
    let images = Images {
        oci: inspect("v1")?,
        oci_arm64: inspect("arm64")?,
        docker: inspect("v2s2")?,
        index: inspect("multi")?,
        layer,
        layer_bytes,
    };
    Ok(Shared {
        storage,
        registry,
        images,
    })
}

fn read_blob(layout: &Path, digest: &Digest) -> Result<Vec<u8>> {
    Ok(std::fs::read(
        layout
            .join("blobs")
            .join(digest.algorithm())
            .join(digest.hex()),
    )?)
}

fn layout_digest(layout: &Path, tag: &str) -> Result<Digest> {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json"))?)?;
    let found = index["manifests"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .with_context(|| format!("tag {tag} not in layout"))?;
    Ok(found["digest"].as_str().context("no digest")?.parse()?)
}

/// Writes an OCI index over the manifests tagged `entries` (tag, architecture) and tags it.
fn write_index(layout: &Path, entries: &[(&str, &str)], tag: &str) -> Result<()> {
    let mut manifests = Vec::new();
    for (entry_tag, arch) in entries {
        let digest = layout_digest(layout, entry_tag)?;
        let size = read_blob(layout, &digest)?.len();
        manifests.push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest.to_string(),
            "size": size,
            "platform": {"architecture": arch, "os": "linux"},
        }));
    }
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    }))?;
    let digest = Digest::sha256_from_bytes(Sha256::digest(&index).into());
    std::fs::write(layout.join("blobs/sha256").join(digest.hex()), &index)?;
    let index_path = layout.join("index.json");
    let mut top: serde_json::Value = serde_json::from_slice(&std::fs::read(&index_path)?)?;
    top["manifests"]
        .as_array_mut()
        .context("bad index.json")?
        .push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": digest.to_string(),
            "size": index.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        }));
    std::fs::write(&index_path, serde_json::to_vec(&top)?)?;
    Ok(())
}

pub fn insecure_options() -> ClientOptions {
    ClientOptions {
        insecure: true,
        // An empty credentials path keeps the host's own logins out of the tests.
        docker_config: Some(PathBuf::from("/nonexistent/portcullis-test/config.json")),
        credential_helper_path: Some("".into()),
        timeout: Duration::from_secs(20),
        ..ClientOptions::default()
    }
}

pub fn insecure_client() -> Client {
    Client::new(insecure_options()).expect("client")
}

pub fn sha256(bytes: &[u8]) -> Digest {
    Digest::sha256_from_bytes(Sha256::digest(bytes).into())
}
