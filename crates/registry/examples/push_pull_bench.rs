//! Push and pull the real test image with skopeo against this registry and against the
//! reference registry (`/usr/bin/docker-registry`) on the same machine, several rounds
//! interleaved, each round on fresh data directories; prints the times and the ratio.
//!
//! `cargo run --release -p portcullis-registry --example push_pull_bench [ROUNDS]`

#![allow(clippy::print_stdout, reason = "a benchmark prints its figures")]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use portcullis_registry::{NoopHook, Registry, RegistryConfig};
use portcullis_store::Store;
use portcullis_store::blobs::LocalBlobs;
use portcullis_types::{
    AccessError, Authorizer, BoxFuture, Principal, PrincipalKind, RepositoryScope, Role,
};

/// Lets everyone in as a developer: the benchmark measures transfer, not authentication.
#[derive(Debug)]
struct AllowAll;

impl Authorizer for AllowAll {
    fn authorize<'a>(
        &'a self,
        _authorization: Option<&'a str>,
        _scopes: &'a [RepositoryScope],
    ) -> BoxFuture<'a, Result<Principal, AccessError>> {
        Box::pin(async {
            Ok(Principal {
                name: "bench".to_owned(),
                kind: PrincipalKind::User,
                role: Role::Developer,
                teams: Default::default(),
            })
        })
    }
}

fn skopeo(args: &[&str]) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let status = Command::new("skopeo")
        .args(args)
        .stdout(Stdio::null())
        .status()?;
    anyhow::ensure!(status.success(), "skopeo {} failed", args.join(" "));
    Ok(start.elapsed())
}

fn push_pull(addr: &str, layout: &Path, work: &Path) -> anyhow::Result<(Duration, Duration)> {
    let image = format!("docker://{addr}/unscanned/bench/app:v1");
    let source = format!("oci:{}:bookworm-vuln", layout.display());
    let push = skopeo(&["copy", "-q", "--dest-tls-verify=false", &source, &image])?;
    let target = format!("dir:{}", work.join("pulled").display());
    let pull = skopeo(&["copy", "-q", "--src-tls-verify=false", &image, &target])?;
    Ok((push, pull))
}

async fn start_ours(root: &Path) -> anyhow::Result<String> {
    std::fs::create_dir_all(root)?;
    let url = format!("sqlite://{}?mode=rwc", root.join("registry.db").display());
    let registry = Arc::new(Registry::new(
        Store::open(&url).await?,
        LocalBlobs::open(root.join("data")).await?,
        Arc::new(AllowAll),
        Arc::new(NoopHook),
        RegistryConfig::default(),
    ));
    registry.recover().await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?.to_string();
    tokio::spawn(async move { axum::serve(listener, registry.router()).await });
    Ok(addr)
}

fn start_reference(root: &Path) -> anyhow::Result<(String, std::process::Child)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr = format!("127.0.0.1:{port}");
    let config = root.join("config.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {addr}\n",
            root.join("storage").display()
        ),
    )?;
    let child = Command::new("/usr/bin/docker-registry")
        .arg("serve")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    while std::net::TcpStream::connect(&addr).is_err() {
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((addr, child))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3);
    let images = std::env::var_os("PORTCULLIS_TEST_IMAGES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join("pcdata/img")
        });
    let layout = images.join("oci");
    anyhow::ensure!(
        layout.join("index.json").is_file(),
        "no test image under {}; run scripts/test.sh",
        images.display()
    );
    let runtime = tokio::runtime::Runtime::new()?;
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 1..=rounds {
        let dir = tempfile::tempdir()?;
        let addr = runtime.block_on(start_ours(&dir.path().join("ours")))?;
        let (push, pull) = push_pull(&addr, &layout, &dir.path().join("ours"))?;
        println!(
            "round {round} portcullis:       push {:>7.2?}  pull {:>7.2?}",
            push, pull
        );
        ours.push((push, pull));
        std::fs::create_dir_all(dir.path().join("ref"))?;
        let (addr, mut child) = start_reference(&dir.path().join("ref"))?;
        let result = push_pull(&addr, &layout, &dir.path().join("ref"));
        let _ = child.kill();
        let _ = child.wait();
        let (push, pull) = result?;
        println!(
            "round {round} docker-registry: push {:>7.2?}  pull {:>7.2?}",
            push, pull
        );
        theirs.push((push, pull));
    }
    let ours_push = median(ours.iter().map(|r| r.0).collect());
    let ours_pull = median(ours.iter().map(|r| r.1).collect());
    let ref_push = median(theirs.iter().map(|r| r.0).collect());
    let ref_pull = median(theirs.iter().map(|r| r.1).collect());
    println!(
        "median push: portcullis {ours_push:.2?}, docker-registry {ref_push:.2?}, ratio {:.2}",
        ours_push.as_secs_f64() / ref_push.as_secs_f64()
    );
    println!(
        "median pull: portcullis {ours_pull:.2?}, docker-registry {ref_pull:.2?}, ratio {:.2}",
        ours_pull.as_secs_f64() / ref_pull.as_secs_f64()
    );
    Ok(())
}
