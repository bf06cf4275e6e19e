//! The JSON API (`/api/v1/…`), the report pages, health, readiness and metrics.
//!
//! Every route authenticates with the `Authorization` header (an API token as `Bearer`, or
//! user and password, or a token as password, as `Basic`) and checks the caller's role:
//! developers see their teams' images, security and admins approve and manage policies,
//! admins manage teams, users, tokens and webhooks, readers read. The routes are described
//! by the OpenAPI document at `/api/openapi.json` (a test checks that every route is in it).

mod admin;
mod approval_page;
mod images;

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use portcullis_auth::Auth;
use portcullis_store::Store;
use portcullis_types::Principal;

use crate::config::ServerConfig;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::workflow::Workflow;

/// What every handler can reach.
#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Store,
    pub auth: Arc<Auth>,
    pub workflow: Arc<Workflow>,
    pub config: Arc<ServerConfig>,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    /// The caller, from the request's `Authorization` header: an API token or a user's
    /// password, never a registry token (which grants only its registry scopes). Failed
    /// sign-ins are limited per user name and source (see `sign_in_limits` in `lib.rs`).
    pub async fn principal(&self, headers: &HeaderMap) -> Result<Principal, ApiError> {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        self.auth.authenticate(authorization).await.map_err(|e| {
            let mut error = ApiError::from(e);
            if error.status == StatusCode::UNAUTHORIZED
                && portcullis_auth::is_registry_token(authorization)
            {
                portcullis_auth::REGISTRY_TOKEN_REFUSED.clone_into(&mut error.message);
            }
            error
        })
    }
}

/// A JSON body; a malformed one is answered in the API's error shape.
#[derive(Debug, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// Path parameters; a malformed one is answered in the API's error shape.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// Query parameters; a malformed one is answered in the API's error shape.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// The OpenAPI document describing this API.
pub const OPENAPI: &str = include_str!("openapi.json");

/// Every route of the API, health and metrics.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/openapi.json", get(openapi))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/api/v1/images", get(images::list))
        .route("/api/v1/images/lookup", get(images::lookup))
        .route("/api/v1/images/{id}", get(images::show))
        .route("/api/v1/images/{id}/report", get(images::report))
        .route(
            "/api/v1/images/{id}/approvals",
            get(images::approvals).post(images::approve),
        )
        .route("/api/v1/images/{id}/decision", get(images::decision))
        .route("/reports/{id}", get(images::report_page))
        .route(
            "/approve/{id}",
            get(approval_page::page).post(approval_page::submit),
        )
        .route("/api/v1/policies", get(admin::policies))
        .route(
            "/api/v1/policies/{name}",
            get(admin::policy).put(admin::put_policy),
        )
        .route("/api/v1/teams", get(admin::teams).post(admin::create_team))
        .route("/api/v1/users", get(admin::users).post(admin::create_user))
        .route(
            "/api/v1/tokens",
            get(admin::tokens).post(admin::create_token),
        )
        .route("/api/v1/tokens/{name}", delete(admin::revoke_token))
        .route(
            "/api/v1/webhooks",
            get(admin::webhooks).post(admin::create_webhook),
        )
        .route("/api/v1/webhooks/{id}", delete(admin::delete_webhook))
        .route("/api/v1/deliveries", get(admin::deliveries))
        .route("/api/v1/deliveries/{id}/redeliver", post(admin::redeliver))
        .route("/api/v1/audit", get(admin::audit))
        .route("/api/v1/audit/verify", get(admin::audit_verify))
        .with_state(state)
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready when the database answers.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.job_counts().await {
        Ok(_) => (StatusCode::OK, "ready\n").into_response(),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}\n", crate::workflow::chain(&e)),
        )
            .into_response(),
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    let jobs = state
        .store
        .job_counts()
        .await
        .map(|m| {
            m.into_iter()
                .map(|(s, n)| (format!("{{state=\"{s}\"}}"), n))
                .collect()
        })
        .unwrap_or_default();
    let text = state
        .metrics
        .render(&[("portcullis_jobs", "Jobs in the queue by state.", jobs)]);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

#[cfg(test)]
mod tests {
    /// Every path this router serves is described in the OpenAPI document, and every
    /// described path of this router is served.
    #[test]
    fn every_route_is_in_the_openapi_document() {
        let document: serde_json::Value = serde_json::from_str(super::OPENAPI).unwrap();
        let described = document["paths"].as_object().unwrap();
        let source = include_str!("api.rs");
        let source = &source[..source.find("#[cfg(test)]").unwrap()];
        let routes: Vec<&str> = source
            .split(".route(")
            .skip(1)
            .filter_map(|rest| rest.split('"').nth(1))
            .collect();
        assert!(routes.len() > 20, "{routes:?}");
        for route in &routes {
            assert!(
                described.contains_key(*route),
                "`{route}` is not in openapi.json"
            );
        }
        for path in described.keys() {
            // `/token` is the registry's token endpoint, served by portcullis-auth.
            assert!(
                path == "/token" || routes.contains(&path.as_str()),
                "openapi.json describes `{path}`, which is not routed"
            );
        }
    }
}
