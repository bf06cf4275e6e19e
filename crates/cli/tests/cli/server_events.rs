//! Webhooks end to end: a receiver on loopback that verifies every signature, down when
//! the image is pushed and up later; it then receives every event of the push.

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anyhow::ensure;
use serde_json::Value;

use crate::server_harness::{ADMIN, ServerProcess, free_port, layout, push};

const SECRET: &str = "webhook-secret-for-e2e-tests";

/// One received request: its CloudEvent, and whether its signature verified.
#[derive(Debug, Clone)]
struct Received {
    event: Value,
    signed: bool,
    wrong_secret_rejected: bool,
}

/// Serves `listener` on a thread: each request is read whole, checked, recorded, answered 200.
fn receiver(listener: TcpListener, log: Arc<Mutex<Vec<Received>>>) {
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream);
            let mut length = 0usize;
            let mut signature = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if lower.starts_with("x-portcullis-signature:") {
                    signature = line["x-portcullis-signature:".len()..].trim().to_owned();
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_err() {
                continue;
            }
            let tolerance = Duration::from_secs(300);
            let signed = portcullis_events::verify_signature(
                SECRET.as_bytes(),
                &signature,
                &body,
                SystemTime::now(),
                tolerance,
            )
            .is_ok();
            let wrong_secret_rejected = portcullis_events::verify_signature(
                b"another-secret-of-16+",
                &signature,
                &body,
                SystemTime::now(),
                tolerance,
            )
            .is_err();
            let event = serde_json::from_slice(&body).unwrap_or(Value::Null);
            if let Ok(mut log) = log.lock() {
                log.push(Received {
                    event,
                    signed,
                    wrong_secret_rejected,
                });
            }
            let mut stream = reader.into_inner();
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
}

#[test]
fn webhooks_reach_a_receiver_that_was_down_with_valid_signatures() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let server = ServerProcess::start(
        dir.path(),
        "webhook-backoff = [1]\nwebhook-max-attempts = 30\n",
    )?;
    server.create_team("a")?;
    let pass = "apiVersion: portcullis.dev/v1\nkind: Policy\nmetadata: { name: open }\nspec:\n  stages: [{ name: prod }]\n";
    let (status, v) = server.send("PUT", "/api/v1/policies/organisation", ADMIN, pass)?;
    ensure!(status == 200, "{status} {v}");
    let port = free_port()?;
    let body = serde_json::json!({
        "name": "ci", "url": format!("http://127.0.0.1:{port}/hook"), "secret": SECRET,
    });
    let (status, v) = server.send("POST", "/api/v1/webhooks", ADMIN, &body.to_string())?;
    ensure!(status == 201, "{status} {v}");
    let (status, v) = server.send(
        "POST",
        "/api/v1/webhooks",
        ADMIN,
        &serde_json::json!({"name": "x", "url": "ftp://h/", "secret": SECRET}).to_string(),
    )?;
    ensure!(status == 400, "a non-HTTP url: {status} {v}");

    // The receiver is down: the push goes on, deliveries wait and retry.
    let out = push(
        &server,
        &layout("bookworm-vuln-deleted")?,
        "unscanned/a/clean:v1",
        &format!("admin:{ADMIN}"),
        &[],
    )?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.wait_for(
        "unscanned/a/clean",
        "v1",
        &["promoted"],
        Duration::from_secs(120),
    )?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, v) = server.get("/api/v1/deliveries", ADMIN)?;
        let failing = v["deliveries"].as_array().is_some_and(|d| {
            d.iter()
                .any(|d| d["attempts"].as_u64() >= Some(1) && d["lastError"].is_string())
        });
        if failing {
            break;
        }
        ensure!(
            Instant::now() < deadline,
            "no failed attempt recorded while the receiver was down: {v}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // The receiver comes back: every event arrives, signed.
    let log = Arc::new(Mutex::new(Vec::new()));
    receiver(TcpListener::bind(("127.0.0.1", port))?, log.clone());
    let wanted: BTreeSet<&str> = [
        "dev.portcullis.image.pushed",
        "dev.portcullis.scan.started",
        "dev.portcullis.scan.completed",
        "dev.portcullis.image.promoted",
    ]
    .into();
    let deadline = Instant::now() + Duration::from_secs(60);
    let received = loop {
        let received = log.lock().map(|l| l.clone()).unwrap_or_default();
        let types: BTreeSet<&str> = received
            .iter()
            .filter_map(|r| r.event["type"].as_str())
            .collect();
        if wanted.is_subset(&types) {
            break received;
        }
        ensure!(Instant::now() < deadline, "events received: {types:?}");
        std::thread::sleep(Duration::from_millis(100));
    };
    for r in &received {
        ensure!(
            r.signed && r.wrong_secret_rejected,
            "signature check failed for {}",
            r.event
        );
        ensure!(
            r.event["specversion"] == "1.0"
                && r.event["id"].is_string()
                && r.event["source"].is_string(),
            "{}",
            r.event
        );
    }
    let promoted = received
        .iter()
        .find(|r| r.event["type"] == "dev.portcullis.image.promoted")
        .map(|r| r.event.clone())
        .unwrap_or_default();
    ensure!(
        promoted["data"]["repository"] == "scanned/a/clean",
        "{promoted}"
    );
    ensure!(
        promoted["data"]["links"]["report"]
            .as_str()
            .is_some_and(|l| l.starts_with(&server.url())),
        "{promoted}"
    );
    let (_, v) = server.get("/api/v1/deliveries?state=failed", ADMIN)?;
    ensure!(
        v["deliveries"].as_array().is_some_and(Vec::is_empty),
        "failed deliveries: {v}"
    );
    Ok(())
}
