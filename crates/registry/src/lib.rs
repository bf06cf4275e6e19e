//! The gating registry: the OCI Distribution API (v1.1, referrers included) as an axum
//! `Router`, with the unscanned/scanned zones.
//!
//! # Principal types
//!
//! - [`Registry`]: built by [`Registry::new`] from a [`portcullis_store::Store`] (metadata),
//!   [`LocalBlobs`] (bytes), an [`Authorizer`] (asked on every request), a [`RegistryHook`]
//!   (told of every manifest push and delete, inside its transaction) and a
//!   [`RegistryConfig`]. [`Registry::router`] serves `/v2/` and everything under it.
//! - [`RegistryConfig`]: the zone prefixes, whether deletes are enabled, and every limit.
//! - [`promote`]: makes a manifest of `unscanned/…` (with its children, blob links and tag)
//!   appear in `scanned/…`, inside the caller's transaction; no blob is copied.
//! - [`ApiError`] / [`ErrorCode`]: the specification's JSON errors; [`RegistryError`]: what
//!   the non-HTTP functions return.
//!
//! # Data flow
//!
//! ```text
//! request ─▶ route::parse(/v2/{*rest}) ─▶ zone check (writes only under unscanned/)
//!         ─▶ Authorizer::authorize(Authorization, scopes) ─▶ handler
//! blob upload  ─▶ LocalBlobs (stream to uploads/<id>, hash, verify, rename into blobs/) ─▶ link
//! manifest put ─▶ parse + check referenced blobs ─▶ bytes as a blob
//!              ─▶ one transaction: manifest, references, tag, RegistryHook::manifest_pushed
//! ```
//!
//! Writes under the scanned prefix are refused before authentication (the zone rule is not
//! a secret); only [`promote`] writes there. Nothing is ever printed; faults are logged
//! through `tracing` without secrets.

mod blob;
mod error;
mod hook;
mod listing;
mod manifest;
mod promote;
mod route;
mod upload;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use http::header::{AUTHORIZATION, HeaderName, HeaderValue, WWW_AUTHENTICATE};
use http::{Method, StatusCode};
use portcullis_store::Store;
use portcullis_store::blobs::{ByteStream, LocalBlobs};
use portcullis_types::{AccessError, Authorizer, Principal, RegistryAction, RepositoryScope};

pub use error::{ApiError, ErrorCode, RegistryError};
pub use hook::{DeletedManifest, NoopHook, PushedManifest, RegistryHook};
pub use promote::promote;

use route::Route;

/// Zones, switches and limits of the registry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistryConfig {
    /// Where clients push (default `unscanned/`).
    pub unscanned_prefix: String,
    /// Where promotion writes and clients only read (default `scanned/`).
    pub scanned_prefix: String,
    /// Whether manifest, tag and blob deletes are allowed (default false: 405 `UNSUPPORTED`).
    pub delete_enabled: bool,
    /// The largest manifest accepted, in bytes (default 4 MiB).
    pub max_manifest_bytes: usize,
    /// The most tags one listing page returns (default 10 000; `n` may ask for fewer).
    pub max_tags_page: u32,
    /// Upload sessions idle for longer are removed by [`Registry::expire_idle_uploads`]
    /// (default 1 hour).
    pub upload_idle_timeout: Duration,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        Self {
            unscanned_prefix: "unscanned/".to_owned(),
            scanned_prefix: "scanned/".to_owned(),
            delete_enabled: false,
            max_manifest_bytes: 4 << 20,
            max_tags_page: 10_000,
            upload_idle_timeout: Duration::from_secs(3600),
        }
    }
}

/// The registry: shared state of every request.
#[derive(Debug)]
pub struct Registry {
    store: Store,
    blobs: LocalBlobs,
    authorizer: Arc<dyn Authorizer>,
    hook: Arc<dyn RegistryHook>,
    config: RegistryConfig,
}

pub(crate) const API_VERSION: HeaderName =
    HeaderName::from_static("docker-distribution-api-version");
pub(crate) const CONTENT_DIGEST: HeaderName = HeaderName::from_static("docker-content-digest");
pub(crate) const UPLOAD_UUID: HeaderName = HeaderName::from_static("docker-upload-uuid");

impl Registry {
    /// A registry over `store` and `blobs`. Call [`Registry::recover`] before serving.
    pub fn new(
        store: Store,
        blobs: LocalBlobs,
        authorizer: Arc<dyn Authorizer>,
        hook: Arc<dyn RegistryHook>,
        config: RegistryConfig,
    ) -> Self {
        Self {
            store,
            blobs,
            authorizer,
            hook,
            config,
        }
    }

    /// The router serving `/v2/` and everything under it; merge it with other routes.
    /// Bodies are streamed, so axum's body limit is lifted here and each handler enforces
    /// its own (manifests: [`RegistryConfig::max_manifest_bytes`]; blobs: the
    /// [`LocalBlobs`] size limit).
    pub fn router(self: Arc<Self>) -> Router {
        Router::new()
            .route("/v2", axum::routing::any(dispatch))
            .route("/v2/", axum::routing::any(dispatch))
            .route("/v2/{*rest}", axum::routing::any(dispatch))
            .layer(DefaultBodyLimit::disable())
            .with_state(self)
    }

    /// Start-up cleanup after a crash: closes upload sessions idle past the timeout or
    /// whose partial file is gone, and removes partial files that belong to no open
    /// session (interrupted monolithic uploads). Returns the removed upload names, sorted.
    pub async fn recover(&self) -> Result<Vec<String>, RegistryError> {
        let mut removed = self.expire_idle_uploads().await?;
        let mut open = BTreeSet::new();
        for id in self.store.upload_ids().await? {
            if self.blobs.upload_len(&id).await.is_ok() {
                open.insert(id);
            } else {
                self.store.finish_upload(&id).await?;
                removed.push(id);
            }
        }
        removed.extend(self.blobs.remove_uploads_except(&open).await?);
        removed.sort();
        removed.dedup();
        Ok(removed)
    }

    /// Removes upload sessions idle for longer than the configured timeout, with their
    /// partial files; returns their ids, sorted. Run it periodically.
    pub async fn expire_idle_uploads(&self) -> Result<Vec<String>, RegistryError> {
        let expired = self
            .store
            .expire_uploads(self.config.upload_idle_timeout)
            .await?;
        let mut ids = Vec::with_capacity(expired.len());
        for session in expired {
            self.blobs.abort(&session.id).await?;
            ids.push(session.id);
        }
        Ok(ids)
    }

    /// Runs [`Registry::expire_idle_uploads`] every `period`, forever; spawn it beside the
    /// server. A failed round is logged and tried again at the next tick.
    pub async fn expire_uploads_every(self: Arc<Self>, period: Duration) {
        let mut ticks = tokio::time::interval(period);
        loop {
            ticks.tick().await;
            if let Err(err) = self.expire_idle_uploads().await {
                tracing::warn!(error = %err, "expiring idle uploads failed; retrying later");
            }
        }
    }

    /// The configuration.
    pub fn config(&self) -> &RegistryConfig {
        &self.config
    }

    /// Refuses a write outside the unscanned zone, before any authentication: the rule is
    /// public and the answer says where to push instead.
    fn check_write_zone(&self, name: &str) -> Result<(), ApiError> {
        let unscanned = &self.config.unscanned_prefix;
        let scanned = &self.config.scanned_prefix;
        if let Some(rest) = name.strip_prefix(scanned.as_str()) {
            return Err(ApiError::new(
                ErrorCode::Denied,
                format!(
                    "`{name}` is read-only: `{scanned}` is written only by promotion after a scan; push to `{unscanned}{rest}` instead"
                ),
            ));
        }
        if !name.starts_with(unscanned.as_str()) {
            return Err(ApiError::new(
                ErrorCode::Denied,
                format!(
                    "pushes are accepted only under `{unscanned}` (e.g. `{unscanned}<team>/<app>`); `{name}` is outside it"
                ),
            ));
        }
        Ok(())
    }

    /// A delete's preconditions, in the order the reference registry checks them: deletion
    /// enabled, a writable zone, then the caller's `delete` right on `name`.
    async fn authorize_delete(
        &self,
        request: &http::request::Parts,
        name: &str,
    ) -> Result<Principal, ApiError> {
        if !self.config.delete_enabled {
            return Err(ApiError::new(
                ErrorCode::Unsupported,
                "deleting is disabled on this registry; an administrator can enable it",
            ));
        }
        self.check_write_zone(name)?;
        self.authorize(request, &[scope(name, &[RegistryAction::Delete])])
            .await
    }

    /// Asks the authorizer whether the request's credentials grant every scope.
    async fn authorize(
        &self,
        request: &http::request::Parts,
        scopes: &[RepositoryScope],
    ) -> Result<Principal, ApiError> {
        let header = request
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        self.authorizer
            .authorize(header, scopes)
            .await
            .map_err(access_error)
    }
}

/// The scope of `actions` on `repository`.
pub(crate) fn scope(repository: &str, actions: &[RegistryAction]) -> RepositoryScope {
    RepositoryScope {
        repository: repository.to_owned(),
        actions: actions.iter().copied().collect(),
    }
}

fn access_error(err: AccessError) -> ApiError {
    match err {
        AccessError::Unauthenticated { challenge } => {
            ApiError::new(ErrorCode::Unauthorized, "authentication required")
                .with_header(WWW_AUTHENTICATE, &challenge)
        }
        AccessError::Denied { message } => ApiError::new(ErrorCode::Denied, message),
        AccessError::Unavailable { message } => ApiError::new(
            ErrorCode::Unknown,
            format!("cannot check access now, retry later: {message}"),
        )
        .with_status(StatusCode::SERVICE_UNAVAILABLE),
    }
}

/// The request body as a stream of chunks for blob storage.
pub(crate) fn body_stream(body: Body) -> ByteStream {
    body.into_data_stream()
        .map(|chunk| chunk.map_err(std::io::Error::other))
        .boxed()
}

/// A response with `status`, the given headers and an empty body.
pub(crate) fn empty(status: StatusCode, headers: &[(HeaderName, String)]) -> Response {
    let mut response = (status, Body::empty()).into_response();
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            response.headers_mut().insert(name.clone(), value);
        }
    }
    response
}

async fn dispatch(State(registry): State<Arc<Registry>>, request: Request) -> Response {
    let mut response = match route_request(&registry, request).await {
        Ok(response) => response,
        Err(err) => err.into_response(),
    };
    response
        .headers_mut()
        .insert(API_VERSION, HeaderValue::from_static("registry/2.0"));
    response
}

async fn route_request(registry: &Registry, request: Request) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let Some(route) = route::parse(parts.uri.path())? else {
        return Err(ApiError::new(
            ErrorCode::Unsupported,
            format!("no registry endpoint at `{}`", parts.uri.path()),
        )
        .with_status(StatusCode::NOT_FOUND));
    };
    let method = parts.method.clone();
    match (route, method) {
        (Route::Base, Method::GET | Method::HEAD) => {
            registry.authorize(&parts, &[]).await?;
            let mut response = (StatusCode::OK, "{}").into_response();
            response.headers_mut().insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            Ok(response)
        }
        (Route::Manifest { name, reference }, Method::GET | Method::HEAD) => {
            manifest::get(registry, &parts, &name, &reference).await
        }
        (Route::Manifest { name, reference }, Method::PUT) => {
            manifest::put(registry, &parts, body, &name, &reference).await
        }
        (Route::Manifest { name, reference }, Method::DELETE) => {
            manifest::delete(registry, &parts, &name, &reference).await
        }
        (Route::Blob { name, digest }, Method::GET | Method::HEAD) => {
            blob::get(registry, &parts, &name, &digest).await
        }
        (Route::Blob { name, digest }, Method::DELETE) => {
            blob::delete(registry, &parts, &name, &digest).await
        }
        (Route::UploadStart { name }, Method::POST) => {
            upload::start(registry, &parts, body, &name).await
        }
        (Route::Upload { name, id }, Method::GET) => {
            upload::status(registry, &parts, &name, &id).await
        }
        (Route::Upload { name, id }, Method::PATCH) => {
            upload::patch(registry, &parts, body, &name, &id).await
        }
        (Route::Upload { name, id }, Method::PUT) => {
            upload::finish(registry, &parts, body, &name, &id).await
        }
        (Route::Upload { name, id }, Method::DELETE) => {
            upload::cancel(registry, &parts, &name, &id).await
        }
        (Route::Tags { name }, Method::GET) => listing::tags(registry, &parts, &name).await,
        (Route::Referrers { name, digest }, Method::GET) => {
            listing::referrers(registry, &parts, &name, &digest).await
        }
        (_, method) => Err(ApiError::new(
            ErrorCode::Unsupported,
            format!("method {method} is not supported on `{}`", parts.uri.path()),
        )),
    }
}
