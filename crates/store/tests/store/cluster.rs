//! A real PostgreSQL cluster for the tests: `initdb` in a temporary directory, started with
//! `pg_ctl` listening on 127.0.0.1 and a free port, trust authentication (loopback only).
//! One cluster serves the whole test binary (each test gets its own database); it is
//! stopped, and its directory removed, when the test process exits, however it exits: a
//! guardian shell waits for its stdin (a pipe from this process) to close, then runs
//! `pg_ctl stop`. Dropping a [`Cluster`] does the same at once.
//!
//! If PostgreSQL is missing or will not start, the tests fail with the command to run.

use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

use anyhow::{Context, bail};

const INSTALL: &str = "apt-get install -y postgresql";

#[derive(Debug)]
pub struct Cluster {
    pub port: u16,
    guardian: Mutex<Option<Child>>,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Ok(mut guardian) = self.guardian.lock()
            && let Some(mut child) = guardian.take()
        {
            drop(child.stdin.take());
            let _ = child.wait();
        }
    }
}

static CLUSTER: OnceLock<Cluster> = OnceLock::new();
static NEXT_DATABASE: AtomicU32 = AtomicU32::new(0);

/// The shared cluster, started on first use.
pub fn shared() -> anyhow::Result<&'static Cluster> {
    if let Some(cluster) = CLUSTER.get() {
        return Ok(cluster);
    }
    static STARTING: Mutex<()> = Mutex::new(());
    let _guard = STARTING.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(cluster) = CLUSTER.get() {
        return Ok(cluster);
    }
    let cluster = start().with_context(|| {
        format!("PostgreSQL is needed for these tests and could not be started; install it with `{INSTALL}` (Debian), then rerun")
    })?;
    Ok(CLUSTER.get_or_init(|| cluster))
}

/// A fresh, empty database in the shared cluster; returns its URL.
pub async fn fresh_database() -> anyhow::Result<String> {
    let cluster = tokio::task::spawn_blocking(shared).await??;
    let name = format!(
        "store_test_{}_{}",
        std::process::id(),
        NEXT_DATABASE.fetch_add(1, Ordering::Relaxed)
    );
    let admin = format!("postgres://postgres@127.0.0.1:{}/postgres", cluster.port);
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
        .await
        .context("connecting to the test cluster")?;
    sqlx::Executor::execute(
        &mut conn,
        sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")),
    )
    .await?;
    Ok(format!(
        "postgres://postgres@127.0.0.1:{}/{name}",
        cluster.port
    ))
}

fn bin_dir() -> anyhow::Result<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .with_context(|| format!("no /usr/lib/postgresql; run `{INSTALL}`"))?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, bin)| bin)
        .with_context(|| format!("no /usr/lib/postgresql/*/bin/initdb; run `{INSTALL}`"))
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// `program args…`, as the `postgres` user when we are root (initdb refuses root).
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(mut command: Command, what: &str) -> anyhow::Result<()> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not run {what}: {command:?}"))?;
    if !output.status.success() {
        bail!(
            "{what} failed ({}): {command:?}\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn start() -> anyhow::Result<Cluster> {
    let bin = bin_dir()?;
    let root = tempfile::Builder::new()
        .prefix("portcullis-store-pg-")
        .tempdir()?
        .keep();
    if is_root() {
        let mut chown = Command::new("chown");
        chown.args(["-R", "postgres:postgres"]).arg(&root);
        run(chown, "chown of the cluster directory")?;
    }
    let data = root.join("data");
    let mut initdb = as_postgres(&bin.join("initdb"));
    initdb.arg("-D").arg(&data).args([
        "-U",
        "postgres",
        "--auth=trust",
        "--encoding=UTF8",
        "--no-sync",
    ]);
    run(initdb, "initdb")?;

    let port = free_port()?;
    let options = format!(
        "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off -c max_connections=200",
        root.display()
    );
    let mut pg_ctl = as_postgres(&bin.join("pg_ctl"));
    pg_ctl
        .arg("-D")
        .arg(&data)
        .arg("-l")
        .arg(root.join("postgres.log"))
        .args(["-w", "-t", "60", "-o", &options, "start"]);
    if let Err(e) = run(pg_ctl, "pg_ctl start") {
        let log = std::fs::read_to_string(root.join("postgres.log")).unwrap_or_default();
        bail!("{e:#}\nserver log:\n{log}");
    }

    // The guardian stops the cluster and removes its directory once our end of its stdin
    // closes: on drop, or when this process exits or is killed.
    let stop = if is_root() {
        "runuser -u postgres -- \"$1\" -D \"$2\" -m immediate stop"
    } else {
        "\"$1\" -D \"$2\" -m immediate stop"
    };
    let script = format!("cat >/dev/null; {stop} >/dev/null 2>&1; rm -rf \"$3\"");
    let mut guardian = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg("sh")
        .arg(bin.join("pg_ctl"))
        .arg(&data)
        .arg(&root)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting the cluster's guardian shell")?;
    if let Some(stdin) = guardian.stdin.as_mut() {
        stdin.flush()?;
    }
    Ok(Cluster {
        port,
        guardian: Mutex::new(Some(guardian)),
    })
}
