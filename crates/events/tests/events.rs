//! Webhook delivery end to end: a real store (SQLite in a temporary directory), real
//! delivery workers, and HTTP receivers on 127.0.0.1 written here that verify every
//! signature with `verify_signature` before recording an event.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail, ensure};
use portcullis_events::{
    CloudEvent, DeliveryConfig, DeliveryWorker, Event, EventType, SignatureError, emit,
    event_source, verify_signature,
};
use portcullis_store::Store;
use portcullis_store::webhooks::{Delivery, DeliveryState, NewWebhook, WebhookId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

const SECRET: &str = "test-secret-0123456789";

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
struct Received {
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
    event: CloudEvent,
}

/// An HTTP receiver that answers `status` (changeable) and records every request whose
/// signature verifies; requests that fail verification are counted and answered 401.
#[derive(Clone)]
struct Receiver {
    url: String,
    status: watch::Sender<u16>,
    received: Arc<Mutex<Vec<Received>>>,
    rejected: Arc<Mutex<Vec<SignatureError>>>,
    requests: Arc<Mutex<u32>>,
}

impl Receiver {
    async fn start(status: u16) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/hook", listener.local_addr()?);
        let (status, _) = watch::channel(status);
        let receiver = Self {
            url,
            status,
            received: Arc::default(),
            rejected: Arc::default(),
            requests: Arc::default(),
        };
        let serving = receiver.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let serving = serving.clone();
                tokio::spawn(async move {
                    let _ = serving.serve(stream).await;
                });
            }
        });
        Ok(receiver)
    }

    async fn serve(&self, mut stream: TcpStream) -> anyhow::Result<()> {
        let mut buffer = Vec::new();
        let head_end = loop {
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                bail!("connection closed before the headers ended");
            }
            buffer.extend_from_slice(&chunk[..n]);
            if let Some(i) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let head = String::from_utf8(buffer[..head_end].to_vec())?;
        let headers: BTreeMap<String, String> = head
            .lines()
            .skip(1)
            .filter_map(|line| line.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let length: usize = headers
            .get("content-length")
            .context("content-length")?
            .parse()?;
        while buffer.len() < head_end + length {
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                bail!("connection closed in the body");
            }
            buffer.extend_from_slice(&chunk[..n]);
        }
        let body = buffer[head_end..head_end + length].to_vec();
        *self.requests.lock().expect("lock") += 1;
        let mut status = *self.status.borrow();
        if status == 200 {
            let header = headers
                .get("x-portcullis-signature")
                .cloned()
                .unwrap_or_default();
            match verify_signature(
                SECRET.as_bytes(),
                &header,
                &body,
                SystemTime::now(),
                Duration::from_secs(300),
            ) {
                Ok(()) => {
                    let event: CloudEvent = serde_json::from_slice(&body)?;
                    self.received.lock().expect("lock").push(Received {
                        headers,
                        body,
                        event,
                    });
                }
                Err(error) => {
                    self.rejected.lock().expect("lock").push(error);
                    status = 401;
                }
            }
        }
        let extra = if status == 302 {
            format!("Location: {}\r\n", self.url)
        } else {
            String::new()
        };
        let response =
            format!("HTTP/1.1 {status} X\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n");
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await?;
        Ok(())
    }

    fn set_status(&self, status: u16) {
        self.status.send_replace(status);
    }

    fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    fn subjects(&self) -> Vec<String> {
        self.received()
            .into_iter()
            .map(|r| r.event.subject)
            .collect()
    }

    fn requests(&self) -> u32 {
        *self.requests.lock().expect("lock")
    }
}

struct Fixture {
    store: Store,
    _dir: tempfile::TempDir,
}

async fn fixture() -> anyhow::Result<Fixture> {
    let dir = tempfile::tempdir()?;
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("store.db").display()
    );
    Ok(Fixture {
        store: Store::open(&url).await?,
        _dir: dir,
    })
}

fn fast_config(worker: &str, max_attempts: u32) -> DeliveryConfig {
    DeliveryConfig {
        worker: worker.to_owned(),
        timeout: Duration::from_secs(5),
        max_attempts,
        backoff: vec![Duration::from_millis(50), Duration::from_millis(100)],
        jitter_percent: 20,
        poll_interval: Duration::from_millis(20),
        ..DeliveryConfig::default()
    }
}

async fn subscribe(
    store: &Store,
    name: &str,
    url: &str,
    types: &[EventType],
    team: Option<&str>,
) -> anyhow::Result<WebhookId> {
    Ok(store
        .create_webhook(&NewWebhook {
            name: name.to_owned(),
            url: url.to_owned(),
            secret: SECRET.to_owned(),
            event_types: types.iter().map(|t| t.as_str().to_owned()).collect(),
            team: team.map(str::to_owned),
        })
        .await?)
}

fn pushed(n: u32, team: &str) -> Event {
    Event {
        event_type: EventType::ImagePushed,
        source: event_source("http://portcullis.example.invalid/", "/v2/unscanned/a/app"),
        subject: format!("unscanned/{team}/app:v{n}"),
        data: serde_json::json!({ "tag": format!("v{n}"), "n": n }),
        team: Some(team.to_owned()),
    }
}

async fn emit_committed(store: &Store, event: Event) -> anyhow::Result<String> {
    let mut tx = store.begin().await?;
    let id = emit(&mut tx, event).await?;
    tx.commit().await?;
    Ok(id.0)
}

/// Runs workers until `done` holds of the store's deliveries, or fails after 20 s.
async fn run_until(
    store: &Store,
    workers: Vec<DeliveryConfig>,
    done: impl Fn(&[Delivery]) -> bool,
) -> anyhow::Result<Vec<Delivery>> {
    let (stop, stopped) = watch::channel(false);
    let mut handles = Vec::new();
    for config in workers {
        let worker = DeliveryWorker::new(store.clone(), config);
        let mut stopped = stopped.clone();
        handles.push(tokio::spawn(async move {
            worker
                .run(async move {
                    let _ = stopped.wait_for(|s| *s).await;
                })
                .await;
        }));
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let result = loop {
        let deliveries = store.deliveries(None, 1000).await?;
        if done(&deliveries) {
            break Ok(deliveries);
        }
        if tokio::time::Instant::now() > deadline {
            break Err(anyhow::anyhow!(
                "deliveries did not settle: {deliveries:#?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    stop.send_replace(true);
    for handle in handles {
        handle.await?;
    }
    result
}

fn all_in(state: DeliveryState) -> impl Fn(&[Delivery]) -> bool {
    move |deliveries| !deliveries.is_empty() && deliveries.iter().all(|d| d.state == state)
}

#[path = "events/delivery.rs"]
mod delivery;
