//! Crash safety: twenty concurrent skopeo pushes against the registry running in a child
//! process, which is killed with SIGKILL mid-way. After a restart on the same data
//! directory no partial blob is visible, every recorded manifest has all its blobs, upload
//! leftovers are gone, and the same pushes succeed.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use portcullis_registry::RegistryConfig;
use portcullis_store::Store;
use portcullis_store::registry::ReferenceKind;
use serde_json::json;

use crate::harness::{TestServer, serve, sha256_of, skopeo_ok};

pub const ROOT_VAR: &str = "PORTCULLIS_REGISTRY_CRASH_ROOT";
pub const READY_VAR: &str = "PORTCULLIS_REGISTRY_CRASH_READY";
const IMAGES: usize = 20;

/// The child half: serves the data directory until killed. Alone it has nothing to do.
#[test]
#[ignore = "run in a child process by sigkill_during_twenty_pushes_leaves_a_consistent_registry"]
fn crash_child_server() -> anyhow::Result<()> {
    let (Some(root), Some(ready)) = (std::env::var_os(ROOT_VAR), std::env::var_os(READY_VAR))
    else {
        return Ok(());
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let (addr, _store) = serve(Path::new(&root), RegistryConfig::default()).await?;
        std::fs::write(PathBuf::from(&ready), addr)?;
        std::future::pending::<()>().await;
        anyhow::Ok(())
    })
}

/// Writes an OCI layout with one config and two layers of `layer_bytes` pseudo-random
/// bytes each (distinct per `seed`), tagged `v1`.
fn write_layout(dir: &Path, seed: u64, layer_bytes: usize) -> anyhow::Result<()> {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs)?;
    let put = |bytes: &[u8]| -> anyhow::Result<String> {
        let digest = sha256_of(bytes);
        std::fs::write(blobs.join(&digest["sha256:".len()..]), bytes)?;
        Ok(digest)
    };
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut layers = Vec::new();
    for _ in 0..2 {
        let mut bytes = Vec::with_capacity(layer_bytes);
        while bytes.len() < layer_bytes {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            bytes.extend_from_slice(&state.to_le_bytes());
        }
        layers.push(json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": put(&bytes)?, "size": bytes.len()}));
    }
    let config = serde_json::to_vec(
        &json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}, "seed": seed}),
    )?;
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(&config)?, "size": config.len()},
        "layers": layers,
    }))?;
    let index = json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": put(&manifest)?, "size": manifest.len(),
        "annotations": {"org.opencontainers.image.ref.name": "v1"},
    }]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index)?)?;
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;
    Ok(())
}

fn push(layout: &Path, addr: &str, i: usize) -> anyhow::Result<Child> {
    Command::new("skopeo")
        .args([
            "copy",
            "-q",
            "--dest-tls-verify=false",
            "--dest-creds",
            "dev:pw",
        ])
        .arg(format!("oci:{}:v1", layout.display()))
        .arg(format!("docker://{addr}/unscanned/a/app{i}:v1"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("run skopeo")
}

/// Every committed blob hashes to its name; every recorded manifest has its bytes and
/// all its references present and linked. Returns the number of manifests checked.
fn check_consistent(root: &Path, runtime: &tokio::runtime::Runtime) -> anyhow::Result<usize> {
    let blob_dir = root.join("data/blobs/sha256");
    for entry in std::fs::read_dir(&blob_dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        ensure!(
            sha256_of(&std::fs::read(entry.path())?) == format!("sha256:{name}"),
            "blob {name} is partial or corrupt"
        );
    }
    runtime.block_on(async {
        let store = Store::open(&format!(
            "sqlite://{}?mode=rwc",
            root.join("registry.db").display()
        ))
        .await?;
        let mut manifests = 0;
        for repository in store.list_repositories(None, None).await?.names {
            for manifest in store.manifests_of(&repository).await? {
                manifests += 1;
                ensure!(
                    blob_dir.join(manifest.digest.hex()).is_file(),
                    "manifest {} has no bytes",
                    manifest.digest
                );
                for reference in store
                    .manifest_references(&repository, &manifest.digest)
                    .await?
                {
                    ensure!(reference.kind == ReferenceKind::Blob);
                    ensure!(
                        blob_dir.join(reference.digest.hex()).is_file(),
                        "{} lacks blob {}",
                        manifest.digest,
                        reference.digest
                    );
                    ensure!(
                        store.blob_linked(&repository, &reference.digest).await?,
                        "{} is not linked",
                        reference.digest
                    );
                }
            }
        }
        store.close().await;
        anyhow::Ok(manifests)
    })
}

#[test]
fn sigkill_during_twenty_pushes_leaves_a_consistent_registry() -> anyhow::Result<()> {
    let work = tempfile::tempdir()?;
    let root = work.path().join("registry");
    std::fs::create_dir_all(&root)?;
    let layouts: Vec<PathBuf> = (0..IMAGES)
        .map(|i| work.path().join(format!("layout{i}")))
        .collect();
    for (i, layout) in layouts.iter().enumerate() {
        write_layout(layout, i as u64 + 1, 3 << 20)?;
    }
    let ready = work.path().join("ready");
    let mut child = Command::new(std::env::current_exe()?)
        .args([
            "--ignored",
            "--exact",
            "crash::crash_child_server",
            "--nocapture",
        ])
        .env(ROOT_VAR, &root)
        .env(READY_VAR, &ready)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let addr = loop {
        if let Ok(addr) = std::fs::read_to_string(&ready)
            && !addr.is_empty()
        {
            break addr;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            bail!("the child registry did not start");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut pushes = layouts
        .iter()
        .enumerate()
        .map(|(i, l)| push(l, &addr, i))
        .collect::<anyhow::Result<Vec<_>>>()?;
    // Kill once uploads are under way, so that partial files and open sessions exist.
    let uploads = root.join("data/uploads");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read_dir(&uploads).map(|d| d.count()).unwrap_or(0) == 0
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(150));
    child.kill()?; // SIGKILL
    child.wait()?;
    for push in &mut pushes {
        let _ = push.wait();
    }
    let checker = tokio::runtime::Runtime::new()?;
    let recorded = check_consistent(&root, &checker)?;
    assert!(
        recorded < IMAGES,
        "the kill came after every push had finished; nothing was tested"
    );

    // Restart on the same directory; an idle timeout of zero closes every stale session.
    let server = TestServer::start_at(
        &root,
        RegistryConfig {
            upload_idle_timeout: Duration::ZERO,
            ..RegistryConfig::default()
        },
    )?;
    let leftovers: Vec<_> = std::fs::read_dir(&uploads)?.collect();
    assert!(
        leftovers.is_empty(),
        "upload leftovers after recovery: {leftovers:?}"
    );
    assert!(
        server
            .runtime
            .block_on(server.store.upload_ids())?
            .is_empty()
    );
    for (i, layout) in layouts.iter().enumerate() {
        skopeo_ok(&[
            "copy",
            "-q",
            "--dest-tls-verify=false",
            "--dest-creds",
            "dev:pw",
            &format!("oci:{}:v1", layout.display()),
            &format!("docker://{}/unscanned/a/app{i}:v1", server.addr),
        ])?;
    }
    drop(server);
    assert_eq!(
        check_consistent(&root, &checker)?,
        IMAGES,
        "every retried push is recorded whole"
    );
    Ok(())
}
