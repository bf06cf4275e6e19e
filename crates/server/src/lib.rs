//! `portcullis server`: the gating registry.
//!
//! ```text
//! client ─▶ /v2/… (portcullis-registry) ─▶ push transaction ─▶ ServerHook ─▶ Workflow::on_push
//!        ─▶ /token (portcullis-auth, Docker token flow)
//!        ─▶ /api/v1/…, /reports/…, /healthz, /readyz, /metrics (api)
//! workers (Workflow::run_worker) ─▶ scan ─▶ decide ─▶ promote | hold | reject
//! delivery worker (portcullis-events) ─▶ webhooks
//! ```
//!
//! - [`ServerConfig`]: every setting, with embedded defaults (SQLite and blobs in one data
//!   directory, 127.0.0.1:5000).
//! - [`Server::start`]: opens the store, recovers interrupted uploads, bootstraps the
//!   first admin token, and starts the in-process workers; [`Server::router`] is the whole
//!   HTTP application; [`Server::shutdown`] stops the workers.
//! - [`workflow::Workflow`]: scan on push, decisions, promotion and approvals.
//! - [`api`]: the JSON API, report pages, health and metrics.

pub mod api;
pub mod config;
pub mod error;
pub mod metrics;
pub mod policies;
pub mod tls;
pub mod workflow;

use std::sync::Arc;

use axum::Router;
use portcullis_auth::{Auth, AuthConfig};
use portcullis_registry::{
    DeletedManifest, PushedManifest, Registry, RegistryConfig, RegistryHook,
};
use portcullis_store::audit::NewAuditEntry;
use portcullis_store::blobs::LocalBlobs;
use portcullis_store::{Store, StoreError, StoreTransaction};
use portcullis_types::BoxFuture;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{ConfigError, ServerConfig};

use crate::api::AppState;
use crate::metrics::Metrics;
use crate::workflow::Workflow;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the data directory `{path}`")]
    DataDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot open the database")]
    Store(#[from] StoreError),
    #[error("cannot open the blob storage")]
    Blobs(#[source] portcullis_store::blobs::BlobError),
    #[error("cannot set up authentication")]
    Auth(#[from] portcullis_auth::AuthError),
    #[error("cannot recover interrupted uploads")]
    Recover(#[from] portcullis_registry::RegistryError),
}

/// The hook the registry calls inside each push transaction.
#[derive(Debug)]
struct ServerHook {
    workflow: Arc<Workflow>,
}

impl RegistryHook for ServerHook {
    fn manifest_pushed<'a>(
        &'a self,
        tx: &'a mut StoreTransaction,
        pushed: &'a PushedManifest,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(self.workflow.on_push(tx, pushed))
    }

    fn manifest_deleted<'a>(
        &'a self,
        tx: &'a mut StoreTransaction,
        deleted: &'a DeletedManifest,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let subject = match &deleted.tag {
                Some(tag) => format!("{}:{tag}", deleted.repository),
                None => format!("{}@{}", deleted.repository, deleted.digest),
            };
            tx.append_audit(
                NewAuditEntry::new(&deleted.principal.name, "manifest.deleted", subject)
                    .with_detail("digest", deleted.digest.to_string()),
            )
            .await
            .map(|_| ())
        })
    }
}

/// A started server: its state, router and background tasks.
#[derive(Debug)]
pub struct Server {
    pub state: AppState,
    registry: Arc<Registry>,
    /// The admin token created on this first start, to print once.
    pub bootstrap_token: Option<String>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    /// Removes idle uploads; it loops forever, so it is aborted on shutdown.
    janitor: JoinHandle<()>,
}

impl Server {
    /// Opens everything under `config` and starts `config.workers` scan workers and the
    /// webhook delivery worker. `bootstrap_token` is `PORTCULLIS_BOOTSTRAP_TOKEN`.
    pub async fn start(
        config: ServerConfig,
        advisory_home: std::path::PathBuf,
        bootstrap_token: Option<&str>,
    ) -> Result<Server, StartError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|source| StartError::DataDir {
            path: config.data_dir.display().to_string(),
            source,
        })?;
        let config = Arc::new(config);
        let store = Store::open(&config.database_url())
            .await?
            .with_max_attempts(config.scan_attempts);
        let blobs = LocalBlobs::open(&config.data_dir)
            .await
            .map_err(StartError::Blobs)?
            .with_max_blob_size(config.max_blob_bytes);
        let external = config.external_url();
        let mut auth_config = AuthConfig::new(format!("{external}/token"), "portcullis");
        auth_config.token_lifetime = config.token_lifetime;
        auth_config.allow_anonymous_pull = config.allow_anonymous_pull;
        auth_config.login_attempts_per_minute = config.login_attempts_per_minute;
        auth_config.zones =
            portcullis_auth::Zones::new(&config.unscanned_prefix, &config.scanned_prefix);
        let auth = Arc::new(Auth::new(store.clone(), auth_config).await?);
        let bootstrap_token = auth.bootstrap(bootstrap_token).await?;
        let metrics = Arc::new(Metrics::default());
        let workflow = Arc::new(Workflow {
            store: store.clone(),
            config: config.clone(),
            metrics: metrics.clone(),
            advisory_home,
        });
        let registry = Arc::new(Registry::new(
            store.clone(),
            blobs,
            auth.clone(),
            Arc::new(ServerHook {
                workflow: workflow.clone(),
            }),
            RegistryConfig {
                unscanned_prefix: config.unscanned_prefix.clone(),
                scanned_prefix: config.scanned_prefix.clone(),
                delete_enabled: config.delete_enabled,
                max_manifest_bytes: usize::try_from(config.max_manifest_bytes)
                    .unwrap_or(usize::MAX),
                upload_idle_timeout: config.upload_idle_timeout,
                ..RegistryConfig::default()
            },
        ));
        registry.recover().await?;
        let (shutdown, receiver) = watch::channel(false);
        let mut tasks = Vec::new();
        for i in 0..config.workers {
            let name = format!("server-{}-{i}", std::process::id());
            tasks.push(tokio::spawn(
                workflow.clone().run_worker(name, receiver.clone()),
            ));
        }
        tasks.push(tokio::spawn(deliveries(
            store.clone(),
            config.clone(),
            receiver,
        )));
        // Idle upload sessions are removed as they lapse, not only at the next start.
        let period = (config.upload_idle_timeout / 4).max(std::time::Duration::from_secs(1));
        let janitor = tokio::spawn(registry.clone().expire_uploads_every(period));
        let state = AppState {
            store,
            auth,
            workflow,
            config,
            metrics,
        };
        Ok(Server {
            state,
            registry,
            bootstrap_token,
            shutdown,
            tasks,
            janitor,
        })
    }

    /// The whole HTTP application.
    pub fn router(&self) -> Router {
        let metrics = self.state.metrics.clone();
        self.registry
            .clone()
            .router()
            .merge(portcullis_auth::token_router(
                self.state.auth.as_ref().clone(),
            ))
            .merge(api::router(self.state.clone()))
            .layer(axum::middleware::from_fn(sign_in_limits))
            .layer(axum::middleware::from_fn(
                move |req, next: axum::middleware::Next| {
                    metrics.http_requests.inc();
                    async move { next.run(req).await }
                },
            ))
    }

    /// Stops the background tasks, letting a job in progress finish its step.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        self.janitor.abort();
        for task in self.tasks {
            let _ = task.await;
        }
        self.state.store.close().await;
    }
}

/// Gives every request's sign-ins its client address (the connection's peer;
/// `X-Forwarded-For` is not trusted), so that failed sign-ins are limited per source on the
/// registry, the API and the pages as on `/token`; a request refused by a limit is
/// answered 429 with `Retry-After`, in the registry's error shape under `/v2/` and the
/// API's elsewhere.
async fn sign_in_limits(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let source = portcullis_auth::source_of(request.extensions());
    let registry = request.uri().path().starts_with("/v2");
    let (response, limited) = portcullis_auth::with_source(source, next.run(request)).await;
    match limited {
        None => response,
        Some(wait) if registry => portcullis_auth::too_many_sign_ins(wait),
        Some(wait) => {
            let mut response = error::ApiError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "too-many-requests",
                portcullis_auth::too_many_sign_ins_message(wait),
            )
            .into_response();
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                portcullis_auth::retry_after_secs(wait).into(),
            );
            response
        }
    }
}

/// Runs only the scan workers (`portcullis worker`), until `shutdown` turns true.
pub async fn run_workers(
    config: ServerConfig,
    advisory_home: std::path::PathBuf,
    count: usize,
    shutdown: watch::Receiver<bool>,
) -> Result<(), StartError> {
    let config = Arc::new(config);
    let store = Store::open(&config.database_url())
        .await?
        .with_max_attempts(config.scan_attempts);
    let workflow = Arc::new(Workflow {
        store,
        config,
        metrics: Arc::new(Metrics::default()),
        advisory_home,
    });
    let mut tasks = Vec::new();
    for i in 0..count.max(1) {
        let name = format!("worker-{}-{i}", std::process::id());
        tasks.push(tokio::spawn(
            workflow.clone().run_worker(name, shutdown.clone()),
        ));
    }
    for task in tasks {
        let _ = task.await;
    }
    Ok(())
}

async fn deliveries(store: Store, config: Arc<ServerConfig>, shutdown: watch::Receiver<bool>) {
    let delivery = portcullis_events::DeliveryConfig {
        max_attempts: config.webhook_max_attempts,
        backoff: config
            .webhook_backoff
            .iter()
            .map(|s| std::time::Duration::from_secs(*s))
            .collect(),
        ..portcullis_events::DeliveryConfig::default()
    };
    let mut stop = shutdown;
    portcullis_events::run_deliveries(store, delivery, async move {
        let _ = stop.wait_for(|s| *s).await;
    })
    .await;
}
