//! Crash safety: the server is SIGKILLed during 20 concurrent pushes; after a restart no
//! partial blob is visible, the queue resumes, every accepted manifest is scanned exactly
//! once, and the audit chain verifies.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::time::Duration;

use anyhow::ensure;
use serde_json::Value;

use crate::server_harness::{ADMIN, ServerProcess, layout, push};

const PUSHES: usize = 20;

/// Every file under `blobs/` has the digest its name says.
fn blobs_are_whole(data: &std::path::Path) -> anyhow::Result<usize> {
    use sha2::Digest as _;
    let dir = data.join("blobs/sha256");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir)? {
        let path = entry?.path();
        let mut file = std::fs::File::open(&path)?;
        let mut hasher = sha2::Sha256::new();
        let mut buf = vec![0; 1 << 20];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        ensure!(
            hex::encode(hasher.finalize()) == name,
            "blob {} is partial or corrupt",
            path.display()
        );
        count += 1;
    }
    Ok(count)
}

#[test]
fn a_server_killed_during_twenty_concurrent_pushes_recovers_and_scans_each_digest_once()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    // A short lease: a scan interrupted by the kill is taken over soon after the restart.
    let mut server = ServerProcess::start(dir.path(), "job-lease = 3\n")?;
    server.create_team("a")?;
    let images = [layout("bookworm-vuln")?, layout("bookworm-vuln-deleted")?];
    let creds = format!("admin:{ADMIN}");
    let run_pushes = |server: &ServerProcess| -> Vec<bool> {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..PUSHES)
                .map(|i| {
                    let from = images[i % 2].clone();
                    let creds = creds.clone();
                    scope.spawn(move || {
                        push(
                            server,
                            &from,
                            &format!("unscanned/a/app-{i}:v1"),
                            &creds,
                            &[],
                        )
                        .is_ok_and(|o| o.status.success())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(false))
                .collect()
        })
    };
    // Kill while the pushes are in flight.
    let pid = server.pid().unwrap_or_default();
    let accepted = std::thread::scope(|scope| {
        let pushes = scope.spawn(|| run_pushes(&server));
        std::thread::sleep(Duration::from_millis(2500));
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
        pushes.join().unwrap_or_default()
    });
    server.kill9()?;
    let n_accepted = accepted.iter().filter(|a| **a).count();
    ensure!(
        n_accepted < PUSHES,
        "every push finished before the kill; the test proves nothing"
    );
    let blobs = blobs_are_whole(&server.data)?;

    server.restart()?;
    // Every accepted push is an image the server knows and decides.
    for (i, ok) in accepted.iter().enumerate() {
        if *ok {
            server.wait_for(
                &format!("unscanned/a/app-{i}"),
                "v1",
                &["promoted", "rejected", "awaiting_approval"],
                Duration::from_secs(120),
            )?;
        }
    }
    // The interrupted ones succeed when pushed again.
    let again = run_pushes(&server);
    ensure!(
        again.iter().all(|a| *a),
        "pushes after the restart failed: {again:?}\n{}",
        server.log_text()
    );
    for i in 0..PUSHES {
        let image = server.wait_for(
            &format!("unscanned/a/app-{i}"),
            "v1",
            &["promoted", "rejected", "awaiting_approval", "failed"],
            Duration::from_secs(120),
        )?;
        ensure!(image["state"] != "failed", "{image}");
    }
    ensure!(blobs_are_whole(&server.data)? >= blobs);

    // Exactly one recorded scan per digest, whatever the kill interrupted.
    let (status, audit) = server.get("/api/v1/audit?limit=1000", ADMIN)?;
    ensure!(status == 200, "{audit}");
    let mut scans: BTreeMap<String, usize> = BTreeMap::new();
    for entry in audit["entries"].as_array().into_iter().flatten() {
        if entry["action"] == "scan.completed" {
            *scans
                .entry(entry["subject"].as_str().unwrap_or_default().to_owned())
                .or_default() += 1;
        }
    }
    ensure!(
        scans.len() == 2 && scans.values().all(|n| *n == 1),
        "scans per digest: {scans:?}"
    );
    let (_, v) = server.get("/api/v1/audit/verify", ADMIN)?;
    ensure!(v["intact"] == Value::Bool(true), "{v}");
    let out = crate::harness::portcullis()
        .args(["audit", "verify", "--data-dir"])
        .arg(&server.data)
        .output()?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}
