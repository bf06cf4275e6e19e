//! `portcullis server` as a process on a loopback port, driven by real skopeo and buildah
//! and by its JSON API; shared by the server tests.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use serde_json::Value;

use crate::harness::{portcullis, require, run_ok};

/// The bootstrap admin token every test server starts with.
pub const ADMIN: &str = "pct_e2e-admin-token-0123456789abcdef";

/// An advisory index built once per test run from `../shared/vulndata`.
pub fn advisory_home() -> anyhow::Result<PathBuf> {
    static HOME: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    HOME.get_or_init(|| {
        // One place, rebuilt by every run (the update replaces the index atomically), so that
        // runs do not each leave an index behind.
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("server-tests-home");
        let mut cmd = portcullis();
        cmd.env("PORTCULLIS_HOME", &dir)
            .args(["db", "update", "-q"]);
        for name in [
            "pypa",
            "go-vulndb",
            "rustsec",
            "rubysec",
            "nodejs-wg",
            "cisa-kev",
            "debian-dsa-dla",
        ] {
            cmd.arg("--source").arg(
                PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                    .join("../../../shared/vulndata")
                    .join(format!("{name}.tar.gz")),
            );
        }
        run_ok(&mut cmd).map(|_| dir).map_err(|e| format!("{e:#}"))
    })
    .clone()
    .map_err(|e| anyhow::anyhow!("building the advisory index failed: {e}"))
}

pub fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A running `portcullis server`, killed when dropped.
pub struct ServerProcess {
    pub addr: String,
    pub data: PathBuf,
    config: PathBuf,
    home: PathBuf,
    child: Option<Child>,
    log: PathBuf,
    /// `https` when the settings name a certificate.
    scheme: &'static str,
}

impl ServerProcess {
    /// Starts a server with its data in `dir` and `extra` TOML settings.
    pub fn start(dir: &Path, extra: &str) -> anyhow::Result<Self> {
        Self::start_with_home(dir, extra, advisory_home()?)
    }

    /// [`Self::start`] with another advisory database home.
    pub fn start_with_home(dir: &Path, extra: &str, home: PathBuf) -> anyhow::Result<Self> {
        let port = free_port()?;
        let addr = format!("127.0.0.1:{port}");
        let data = dir.join("data");
        let config = dir.join("server.toml");
        std::fs::write(
            &config,
            format!(
                "listen = \"{addr}\"\ndata-dir = \"{}\"\n{extra}\n",
                data.display()
            ),
        )?;
        let mut server = Self {
            addr,
            data,
            config,
            home,
            child: None,
            log: dir.join("server.log"),
            scheme: if extra.contains("tls-cert") {
                "https"
            } else {
                "http"
            },
        };
        server.spawn()?;
        Ok(server)
    }

    fn spawn(&mut self) -> anyhow::Result<()> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)?;
        let child = portcullis()
            .args(["server", "--config"])
            .arg(&self.config)
            .env("PORTCULLIS_HOME", &self.home)
            .env("PORTCULLIS_BOOTSTRAP_TOKEN", ADMIN)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("failed to start portcullis server")?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok((200, _)) = self.get_raw("/readyz", None) {
                return Ok(());
            }
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                bail!("the server exited with {status}:\n{}", self.log_text());
            }
            ensure!(
                Instant::now() < deadline,
                "the server did not become ready:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    /// The server process's id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL: no shutdown, no flush.
    pub fn kill9(&mut self) -> anyhow::Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }

    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.kill9()?;
        self.spawn()
    }

    fn agent() -> ureq::Agent {
        // Test servers with TLS have self-signed certificates.
        portcullis_registry_client::http_agent("portcullis-tests", Duration::from_secs(60), true)
    }

    fn get_raw(&self, path: &str, authorization: Option<&str>) -> anyhow::Result<(u16, String)> {
        let mut req = Self::agent().get(format!("{}{path}", self.url()));
        if let Some(a) = authorization {
            req = req.header("Authorization", a);
        }
        let res = req.call()?;
        let status = res.status().as_u16();
        Ok((status, res.into_body().read_to_string()?))
    }

    /// `GET path` as `token`: the status and the JSON body.
    pub fn get(&self, path: &str, token: &str) -> anyhow::Result<(u16, Value)> {
        self.get_basic(path, &format!("Bearer {token}"))
    }

    /// `GET path` with a whole `Authorization` value.
    pub fn get_basic(&self, path: &str, authorization: &str) -> anyhow::Result<(u16, Value)> {
        let (status, text) = self.get_raw(path, Some(authorization))?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    /// `POST`/`PUT path` with a JSON (or, for `PUT`, text) body as `token`.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: &str,
    ) -> anyhow::Result<(u16, Value)> {
        self.send_basic(method, path, &format!("Bearer {token}"), body)
    }

    /// [`Self::send`] with a whole `Authorization` value.
    pub fn send_basic(
        &self,
        method: &str,
        path: &str,
        auth: &str,
        body: &str,
    ) -> anyhow::Result<(u16, Value)> {
        let url = format!("{}{path}", self.url());
        let res = match method {
            "PUT" => Self::agent()
                .put(&url)
                .header("Authorization", auth)
                .header("Content-Type", "application/yaml")
                .send(body.as_bytes())?,
            _ => Self::agent()
                .post(&url)
                .header("Authorization", auth)
                .header("Content-Type", "application/json")
                .send(body.as_bytes())?,
        };
        let status = res.status().as_u16();
        let text = res.into_body().read_to_string()?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    /// Creates a team, or a user with `password` (`role`, `teams`).
    pub fn create_user(
        &self,
        name: &str,
        password: &str,
        role: &str,
        teams: &[&str],
    ) -> anyhow::Result<()> {
        let body =
            serde_json::json!({ "name": name, "password": password, "role": role, "teams": teams });
        let (status, v) = self.send("POST", "/api/v1/users", ADMIN, &body.to_string())?;
        ensure!(status == 201, "creating user {name}: {status} {v}");
        Ok(())
    }

    pub fn create_team(&self, name: &str) -> anyhow::Result<()> {
        let (status, v) = self.send(
            "POST",
            "/api/v1/teams",
            ADMIN,
            &format!("{{\"name\":\"{name}\"}}"),
        )?;
        ensure!(status == 201, "creating team {name}: {status} {v}");
        Ok(())
    }

    /// The image a push created (`repository`, tag), once its state is one of `states`.
    pub fn wait_for(
        &self,
        repository: &str,
        tag: &str,
        states: &[&str],
        within: Duration,
    ) -> anyhow::Result<Value> {
        let deadline = Instant::now() + within;
        let path = format!("/api/v1/images/lookup?repository={repository}&reference={tag}");
        loop {
            let (status, v) = self.get(&path, ADMIN)?;
            if status == 200 && states.iter().any(|s| v["state"] == *s) {
                return Ok(v);
            }
            // A decision other than the expected one will not change by waiting.
            let settled = ["promoted", "rejected", "awaiting_approval", "failed"];
            ensure!(
                !(status == 200 && settled.iter().any(|s| v["state"] == *s)),
                "{repository}:{tag} is {} instead of {states:?}: {v}",
                v["state"]
            );
            ensure!(
                Instant::now() < deadline,
                "{repository}:{tag} did not reach {states:?} in {within:?}: {status} {v}\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.kill9();
    }
}

/// `skopeo ARGS…` with TLS verification off for loopback; the whole output.
pub fn skopeo(args: &[&str]) -> anyhow::Result<Output> {
    require("skopeo", "apt-get install -y skopeo")?;
    let mut cmd = Command::new("skopeo");
    cmd.args(args);
    cmd.output()
        .with_context(|| format!("failed to run skopeo {args:?}"))
}

/// Pushes `from` (a skopeo transport reference) to `repo:tag` on the server as `creds`.
pub fn push(
    server: &ServerProcess,
    from: &str,
    to: &str,
    creds: &str,
    extra: &[&str],
) -> anyhow::Result<Output> {
    let dest = format!("docker://{}/{to}", server.addr);
    let mut args = vec![
        "copy",
        "-q",
        "--retry-times",
        "0",
        "--dest-tls-verify=false",
        "--dest-creds",
        creds,
    ];
    args.extend_from_slice(extra);
    args.push(from);
    args.push(&dest);
    skopeo(&args)
}

/// The sha256 digest of bytes, as `sha256:…`.
pub fn digest_of(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// The test image's OCI layout reference for `tag`.
pub fn layout(tag: &str) -> anyhow::Result<String> {
    Ok(format!(
        "oci:{}:{tag}",
        crate::harness::test_images()?.join("oci").display()
    ))
}
