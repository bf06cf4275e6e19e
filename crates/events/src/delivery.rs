//! The delivery worker: claims due deliveries from the outbox, POSTs them, records the
//! outcome, and backs off between attempts.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use portcullis_store::webhooks::{ClaimedDelivery, DeliveryOutcome, DeliveryState};
use portcullis_store::{Store, StoreError};

use crate::{CONTENT_TYPE, CloudEvent, DELIVERY_HEADER, SIGNATURE_HEADER, sign};

/// How deliveries are sent and retried; every limit has a default.
#[derive(Clone, Debug, PartialEq)]
pub struct DeliveryConfig {
    /// This worker's name in leases (unique per process).
    pub worker: String,
    /// The whole request, connect to response headers (default 10 s).
    pub timeout: Duration,
    /// Attempts before a delivery is `failed` (default 8, at least 1).
    pub max_attempts: u32,
    /// The wait after the 1st, 2nd… failed attempt; the last repeats (default 5 s, 30 s,
    /// 2 min, 10 min, 1 h).
    pub backoff: Vec<Duration>,
    /// Each wait is scaled by a random factor in `1 ± jitter_percent / 100` (default 20),
    /// so that receivers coming back are not hit by every retry at once.
    pub jitter_percent: u8,
    /// How long an idle worker waits before looking again (default 1 s).
    pub poll_interval: Duration,
    /// Sent as `User-Agent` (default `portcullis/<version>`).
    pub user_agent: String,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            worker: format!("deliveries-{}", std::process::id()),
            timeout: Duration::from_secs(10),
            max_attempts: 8,
            backoff: [5, 30, 120, 600, 3600]
                .into_iter()
                .map(Duration::from_secs)
                .collect(),
            jitter_percent: 20,
            poll_interval: Duration::from_secs(1),
            user_agent: format!("portcullis/{}", env!("CARGO_PKG_VERSION")),
        }
    }
}

impl DeliveryConfig {
    /// The wait after failed attempt number `attempt` (from 1), before jitter.
    pub fn backoff_after(&self, attempt: u32) -> Duration {
        let index = usize::try_from(attempt.saturating_sub(1)).unwrap_or(usize::MAX);
        self.backoff
            .get(index)
            .or(self.backoff.last())
            .copied()
            .unwrap_or(Duration::from_secs(5))
    }

    fn jittered(&self, base: Duration) -> Duration {
        let spread = f64::from(self.jitter_percent.min(100)) / 100.0;
        // 53 random bits from a v4 UUID: uniform in [0, 1).
        let random = (uuid::Uuid::new_v4().as_u128() >> 75) as f64 / (1u64 << 53) as f64;
        base.mul_f64(1.0 + spread * (2.0 * random - 1.0))
    }

    /// A send may take the whole timeout; the lease outlasts it with room to record the
    /// outcome, or another worker would send the delivery again.
    fn lease(&self) -> Duration {
        self.timeout.saturating_mul(2) + Duration::from_secs(30)
    }
}

/// Sends due deliveries of one [`Store`], one at a time; run one per process (several
/// processes may share the database: each delivery goes to one of them).
#[derive(Debug)]
pub struct DeliveryWorker {
    store: Store,
    config: Arc<DeliveryConfig>,
    agent: ureq::Agent,
}

/// What one attempt produced.
enum Attempt {
    Status(u16),
    Error(String),
}

impl DeliveryWorker {
    pub fn new(store: Store, config: DeliveryConfig) -> Self {
        let agent = http_agent(&config);
        Self {
            store,
            config: Arc::new(config),
            agent,
        }
    }

    /// Sends at most one due delivery; returns its new state (`None` if nothing was due,
    /// or if its claim was lost meanwhile).
    pub async fn run_once(&self) -> Result<Option<DeliveryState>, StoreError> {
        let Some(claimed) = self
            .store
            .claim_delivery(&self.config.worker, self.config.lease())
            .await?
        else {
            return Ok(None);
        };
        let attempt = self.send(&claimed).await;
        let outcome = self.outcome(&claimed, attempt);
        let state = self.store.finish_delivery(&claimed, &outcome).await?;
        if state.is_none() {
            tracing::warn!(delivery = %claimed.id, "delivery lease expired before the attempt was recorded");
        }
        Ok(state)
    }

    /// Sends deliveries until `shutdown` completes; an attempt under way is finished
    /// first (cancelling it would leave it leased, and sent again later). Store errors are
    /// logged and retried after the poll interval.
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let busy = match self.run_once().await {
                Ok(handled) => handled.is_some(),
                Err(error) => {
                    tracing::warn!(%error, "webhook delivery worker could not reach the store");
                    false
                }
            };
            let pause = if busy {
                Duration::ZERO
            } else {
                self.config.poll_interval
            };
            tokio::select! {
                biased;
                () = &mut shutdown => return,
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    async fn send(&self, claimed: &ClaimedDelivery) -> Attempt {
        let body = CloudEvent::from_stored(&claimed.event).to_json();
        let signature = sign(claimed.secret.as_bytes(), SystemTime::now(), &body);
        let agent = self.agent.clone();
        let url = claimed.url.clone();
        let delivery = claimed.id.to_string();
        let sent = tokio::task::spawn_blocking(move || {
            agent
                .post(&url)
                .header("Content-Type", CONTENT_TYPE)
                .header(SIGNATURE_HEADER, &signature)
                .header(DELIVERY_HEADER, &delivery)
                .send(&body[..])
                .map(|response| response.status().as_u16())
        })
        .await;
        match sent {
            Ok(Ok(status)) => Attempt::Status(status),
            // ureq's messages name the failure (refused, timed out, TLS); they carry
            // neither headers nor the secret.
            Ok(Err(error)) => Attempt::Error(format!("request failed: {error}")),
            Err(_) => Attempt::Error("request failed: the sending task stopped".to_owned()),
        }
    }

    fn outcome(&self, claimed: &ClaimedDelivery, attempt: Attempt) -> DeliveryOutcome {
        let (status, error) = match attempt {
            Attempt::Status(status) if (200..300).contains(&status) => {
                return DeliveryOutcome::Delivered { status };
            }
            Attempt::Status(status) if (300..400).contains(&status) => (
                Some(status),
                format!("HTTP {status}: redirects are not followed; configure the final url"),
            ),
            Attempt::Status(status) => (Some(status), format!("HTTP {status}")),
            Attempt::Error(error) => (None, error),
        };
        if claimed.attempt >= self.config.max_attempts.max(1) {
            DeliveryOutcome::Failed { status, error }
        } else {
            DeliveryOutcome::Retry {
                status,
                error,
                retry_after: self
                    .config
                    .jittered(self.config.backoff_after(claimed.attempt)),
            }
        }
    }
}

/// Runs a [`DeliveryWorker`] until `shutdown` completes.
pub async fn run_deliveries(
    store: Store,
    config: DeliveryConfig,
    shutdown: impl Future<Output = ()>,
) {
    DeliveryWorker::new(store, config).run(shutdown).await;
}

/// rustls with the aws-lc-rs provider and the Mozilla roots; statuses are returned, not
/// errors; redirects are not followed (a receiver must not bounce signed events elsewhere).
fn http_agent(config: &DeliveryConfig) -> ureq::Agent {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = ureq::tls::TlsConfig::builder()
        .provider(ureq::tls::TlsProvider::Rustls)
        .unversioned_rustls_crypto_provider(provider)
        .build();
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .tls_config(tls)
        .user_agent(&config.user_agent)
        .timeout_global(Some(config.timeout))
        .max_redirects(0)
        .build()
        .new_agent()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_follows_the_schedule_and_repeats_the_last_step() {
        let config = DeliveryConfig::default();
        let secs = |n| config.backoff_after(n).as_secs();
        assert_eq!(
            (1..=7).map(secs).collect::<Vec<_>>(),
            [5, 30, 120, 600, 3600, 3600, 3600]
        );
        for _ in 0..100 {
            let waited = config.jittered(Duration::from_secs(100));
            assert!(
                (Duration::from_secs(80)..=Duration::from_secs(120)).contains(&waited),
                "{waited:?}"
            );
        }
    }
}
