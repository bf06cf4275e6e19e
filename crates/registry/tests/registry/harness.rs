//! The test harness: a registry served on 127.0.0.1 (SQLite store and blobs in a temporary
//! directory) with a Basic-auth test authorizer, the reference registry for comparison,
//! raw HTTP helpers and skopeo helpers.

use std::collections::BTreeSet;
use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine as _;
use portcullis_registry::{NoopHook, Registry, RegistryConfig};
use portcullis_store::Store;
use portcullis_store::blobs::LocalBlobs;
use portcullis_types::{
    AccessError, Authorizer, BoxFuture, Principal, PrincipalKind, RepositoryScope, Role,
};

/// The challenge anonymous requests get: Basic, so `skopeo --creds` needs no token server.
pub const CHALLENGE: &str = "Basic realm=\"portcullis-test\"";

/// Basic `dev:pw` is a developer of team `a`, `devb:pw` of team `b`; a developer may do
/// anything on repositories whose second path component is one of its teams.
#[derive(Debug, Default)]
pub struct TestAuthorizer;

pub fn basic(user: &str, password: &str) -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {token}")
}

impl Authorizer for TestAuthorizer {
    fn authorize<'a>(
        &'a self,
        authorization: Option<&'a str>,
        scopes: &'a [RepositoryScope],
    ) -> BoxFuture<'a, Result<Principal, AccessError>> {
        Box::pin(async move {
            let team = match authorization {
                Some(h) if h == basic("dev", "pw") => "a",
                Some(h) if h == basic("devb", "pw") => "b",
                _ => {
                    return Err(AccessError::Unauthenticated {
                        challenge: CHALLENGE.to_owned(),
                    });
                }
            };
            for scope in scopes {
                if scope.repository.split('/').nth(1) != Some(team) {
                    return Err(AccessError::Denied {
                        message: format!("team `{team}` may not access `{}`", scope.repository),
                    });
                }
            }
            Ok(Principal {
                name: if team == "a" { "dev" } else { "devb" }.to_owned(),
                kind: PrincipalKind::User,
                role: Role::Developer,
                teams: BTreeSet::from([team.to_owned()]),
            })
        })
    }
}

/// A registry served on loopback by a runtime of its own; dropping it stops the server.
#[derive(Debug)]
pub struct TestServer {
    pub addr: String,
    pub root: PathBuf,
    pub store: Store,
    pub runtime: tokio::runtime::Runtime,
    _dir: Option<tempfile::TempDir>,
}

impl TestServer {
    pub fn start(config: RegistryConfig) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let root = dir.path().to_owned();
        let mut server = Self::start_at(&root, config)?;
        server._dir = Some(dir);
        Ok(server)
    }

    /// Serves the data directory `root` (kept by the caller), recovering it first.
    pub fn start_at(root: &Path, config: RegistryConfig) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let root = root.to_owned();
        let (addr, store) = runtime.block_on(serve(&root, config))?;
        Ok(Self {
            addr,
            root,
            store,
            runtime,
            _dir: None,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// Opens the store and blobs under `root`, recovers, and serves on a fresh port.
pub async fn serve(root: &Path, config: RegistryConfig) -> anyhow::Result<(String, Store)> {
    let url = format!("sqlite://{}?mode=rwc", root.join("registry.db").display());
    let store = Store::open(&url).await?;
    let blobs = LocalBlobs::open(root.join("data")).await?;
    let registry = Arc::new(Registry::new(
        store.clone(),
        blobs,
        Arc::new(TestAuthorizer),
        Arc::new(NoopHook),
        config,
    ));
    registry.recover().await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?.to_string();
    tokio::spawn(async move {
        let _ = axum::serve(listener, registry.router()).await;
    });
    Ok((addr, store))
}

pub fn config_with_delete(delete_enabled: bool) -> RegistryConfig {
    RegistryConfig {
        delete_enabled,
        ..RegistryConfig::default()
    }
}

/// The reference registry (`/usr/bin/docker-registry`) on loopback, without auth.
#[derive(Debug)]
pub struct ReferenceRegistry {
    pub addr: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl ReferenceRegistry {
    pub fn start(delete_enabled: bool) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir()?;
        let port = free_port()?;
        let addr = format!("127.0.0.1:{port}");
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: {delete_enabled}\nhttp:\n  addr: {addr}\n",
                dir.path().join("storage").display()
            ),
        )?;
        let child = Command::new("/usr/bin/docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("start /usr/bin/docker-registry (install the docker-registry package; scripts/test.sh does)")?;
        let registry = Self {
            addr,
            child,
            _dir: dir,
        };
        wait_for_port(&registry.addr)?;
        Ok(registry)
    }
}

impl Drop for ReferenceRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(StdListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub fn wait_for_port(addr: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(addr).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    bail!("nothing listens on {addr} after 20 s")
}

/// The directory of the real test image; a missing image is a failure that says how to
/// build it, never a silent skip.
pub fn test_images() -> PathBuf {
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

/// An HTTP agent that returns error statuses as responses and never follows redirects.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

/// Runs skopeo with `args`; the output whatever the exit status.
pub fn skopeo(args: &[&str]) -> anyhow::Result<Output> {
    Command::new("skopeo")
        .args(args)
        .output()
        .context("run skopeo (install the skopeo package; scripts/test.sh does)")
}

/// Runs skopeo and fails with its stderr unless it succeeds; returns stdout.
pub fn skopeo_ok(args: &[&str]) -> anyhow::Result<String> {
    let out = skopeo(args)?;
    if !out.status.success() {
        bail!(
            "skopeo {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// sha256 of a file or bytes, as `sha256:<hex>`.
pub fn sha256_of(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}
