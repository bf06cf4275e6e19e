//! Shared helpers: the binary, the real test image, and a reference registry on loopback.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};

pub fn portcullis() -> Command {
    Command::new(env!("CARGO_BIN_EXE_portcullis"))
}

/// Where `scripts/test.sh` (through ../shared/tools/make-images.sh) built the real image.
pub fn test_images() -> anyhow::Result<PathBuf> {
    let dir = std::env::var_os("PORTCULLIS_TEST_IMAGES")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join("pcdata/img")))
        .context("set PORTCULLIS_TEST_IMAGES")?;
    ensure!(
        dir.join("expected/dpkg.tsv").is_file() && dir.join("oci/index.json").is_file(),
        "the real test image is missing from `{}`; run ./scripts/test.sh, which builds it with ../shared/tools/make-images.sh",
        dir.display()
    );
    Ok(dir)
}

/// Requires a tool on PATH, failing with the command that installs it.
pub fn require(tool: &str, install: &str) -> anyhow::Result<()> {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ensure!(
        found,
        "`{tool}` is not installed; run `{install}` (scripts/test.sh does)"
    );
    Ok(())
}

pub fn run_ok(cmd: &mut Command) -> anyhow::Result<Vec<u8>> {
    let out = cmd
        .output()
        .with_context(|| format!("failed to run {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed with {}:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(out.stdout)
}

/// The CNCF distribution registry (Debian's `docker-registry`) on a free loopback port,
/// stopped when dropped.
pub struct Registry {
    pub addr: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Registry {
    pub fn start() -> anyhow::Result<Self> {
        Self::start_with_delete(false)
    }

    /// The reference registry, with deletion enabled or not.
    pub fn start_with_delete(delete: bool) -> anyhow::Result<Self> {
        require("docker-registry", "apt-get install -y docker-registry")?;
        let dir = tempfile::tempdir()?;
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let addr = format!("127.0.0.1:{port}");
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog: {{ level: error }}\nstorage:\n  filesystem: {{ rootdirectory: {} }}\n  delete: {{ enabled: {delete} }}\nhttp:\n  addr: {addr}\n",
                dir.path().join("storage").display()
            ),
        )?;
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("failed to start docker-registry")?;
        let registry = Self {
            addr,
            child,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(&registry.addr).is_err() {
            ensure!(
                Instant::now() < deadline,
                "docker-registry did not start on {}",
                registry.addr
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(registry)
    }

    /// Pushes an image with real skopeo.
    pub fn push(&self, from: &str, to: &str, extra: &[&str]) -> anyhow::Result<()> {
        require("skopeo", "apt-get install -y skopeo")?;
        let mut cmd = Command::new("skopeo");
        cmd.args(["copy", "-q", "--dest-tls-verify=false"])
            .args(extra)
            .arg(from)
            .arg(format!("docker://{}/{to}", self.addr));
        run_ok(&mut cmd)?;
        Ok(())
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn path_str(p: &Path) -> String {
    p.display().to_string()
}
