//! The Docker token flow over real HTTP: the token router and a tiny protected route on
//! 127.0.0.1, a real SQLite store, ureq as the client, and skopeo as a real registry client.

use std::net::SocketAddr;

use anyhow::{Context, ensure};
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use portcullis_auth::{Auth, AuthConfig, NewTokenRequest, NewUserRequest, token_router};
use portcullis_store::Store;
use portcullis_types::{AccessError, Authorizer, RegistryAction, RepositoryScope, Role};
use serde_json::Value;

const PASSWORD: &str = "correct horse battery staple";

/// A running token endpoint and protected routes over one store.
struct Server {
    base: String,
    auth: Auth,
    _dir: tempfile::TempDir,
}

struct Reply {
    status: u16,
    challenge: Option<String>,
    retry_after: Option<String>,
    body: String,
}

impl Reply {
    fn json(&self) -> anyhow::Result<Value> {
        serde_json::from_str(&self.body).with_context(|| format!("not JSON: {}", self.body))
    }
}

fn access_response(result: Result<portcullis_types::Principal, AccessError>) -> Response {
    match result {
        Ok(principal) => (StatusCode::OK, principal.name).into_response(),
        Err(AccessError::Unauthenticated { challenge }) => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, challenge)],
            "authentication required",
        )
            .into_response(),
        Err(AccessError::Denied { message }) => (StatusCode::FORBIDDEN, message).into_response(),
        Err(AccessError::Unavailable { message }) => {
            (StatusCode::SERVICE_UNAVAILABLE, message).into_response()
        }
    }
}

fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

/// `GET /v2/`: a valid identity, no scope (what `skopeo login` checks).
async fn v2_base(State(auth): State<Auth>, headers: HeaderMap) -> Response {
    let mut response = access_response(auth.authorize(authorization(&headers), &[]).await);
    response.headers_mut().insert(
        "docker-distribution-api-version",
        header::HeaderValue::from_static("registry/2.0"),
    );
    response
}

/// `GET /api/whoami`: the JSON API's view of the caller.
async fn whoami(State(auth): State<Auth>, headers: HeaderMap) -> Response {
    match auth.authenticate(authorization(&headers)).await {
        Ok(principal) => (StatusCode::OK, principal.name).into_response(),
        Err(error) => access_response(Err(error)),
    }
}

/// What the server does around every request: the client address for the sign-in limits,
/// and 429 for a request one of them refused.
async fn sign_in_limits(request: Request, next: Next) -> Response {
    let source = portcullis_auth::source_of(request.extensions());
    let (response, limited) = portcullis_auth::with_source(source, next.run(request)).await;
    match limited {
        Some(wait) => portcullis_auth::too_many_sign_ins(wait),
        None => response,
    }
}

/// `GET /protected/{actions}/{*repository}`: needs `actions` (comma-separated) on it.
async fn protected(
    State(auth): State<Auth>,
    Path((actions, repository)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let actions = actions
        .split(',')
        .filter_map(|a| match a {
            "pull" => Some(RegistryAction::Pull),
            "push" => Some(RegistryAction::Push),
            "delete" => Some(RegistryAction::Delete),
            _ => None,
        })
        .collect();
    let scopes = [RepositoryScope {
        repository,
        actions,
    }];
    access_response(auth.authorize(authorization(&headers), &scopes).await)
}

async fn start(configure: impl FnOnce(&mut AuthConfig)) -> anyhow::Result<Server> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("auth.db").display());
    let store = Store::open(&url).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let mut config = AuthConfig::new(format!("{base}/token"), "portcullis");
    configure(&mut config);
    let auth = Auth::new(store, config).await?;
    let app = token_router(auth.clone())
        .merge(
            Router::new()
                .route("/v2/", get(v2_base))
                .route("/protected/{actions}/{*repository}", get(protected))
                .route("/api/whoami", get(whoami))
                .with_state(auth.clone()),
        )
        .layer(axum::middleware::from_fn(sign_in_limits));
    tokio::spawn(async move {
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        let _ = axum::serve(listener, service).await;
    });
    Ok(Server {
        base,
        auth,
        _dir: dir,
    })
}

impl Server {
    async fn team(&self, name: &str) -> anyhow::Result<()> {
        let mut tx = self.auth.store().begin().await?;
        self.auth.create_team(&mut tx, name).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn user(&self, name: &str, role: Role, teams: &[&str]) -> anyhow::Result<()> {
        let mut tx = self.auth.store().begin().await?;
        let request = NewUserRequest {
            name: name.to_owned(),
            password: PASSWORD.to_owned(),
            role,
            teams: teams.iter().map(|t| (*t).to_owned()).collect(),
        };
        self.auth.create_user(&mut tx, &request).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn api_token(&self, name: &str, role: Role, teams: &[&str]) -> anyhow::Result<String> {
        let mut tx = self.auth.store().begin().await?;
        let request = NewTokenRequest {
            name: name.to_owned(),
            role,
            teams: teams.iter().map(|t| (*t).to_owned()).collect(),
            expires_in: None,
        };
        let created = self.auth.create_token(&mut tx, &request, "admin").await?;
        tx.commit().await?;
        Ok(created.secret)
    }

    /// `GET path` with an optional `Authorization` header.
    async fn get(&self, path: &str, authorization: Option<String>) -> anyhow::Result<Reply> {
        let url = format!("{}{path}", self.base);
        tokio::task::spawn_blocking(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into();
            let mut request = agent.get(&url);
            if let Some(value) = authorization {
                request = request.header("Authorization", value);
            }
            reply(request.call()?)
        })
        .await?
    }

    async fn post_form(
        &self,
        path: &str,
        form: Vec<(&'static str, String)>,
    ) -> anyhow::Result<Reply> {
        let url = format!("{}{path}", self.base);
        tokio::task::spawn_blocking(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into();
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            reply(agent.post(&url).send_form(pairs)?)
        })
        .await?
    }

    /// A registry token for `user` (password [`PASSWORD`]) and `scopes`.
    async fn token(&self, user: &str, scopes: &[&str]) -> anyhow::Result<String> {
        let reply = self
            .get(&token_path(scopes), Some(basic(user, PASSWORD)))
            .await?;
        ensure!(
            reply.status == 200,
            "token: {} {}",
            reply.status,
            reply.body
        );
        Ok(reply.json()?["token"].as_str().context("token")?.to_owned())
    }
}

fn reply(mut response: http::Response<ureq::Body>) -> anyhow::Result<Reply> {
    let header = |name: header::HeaderName| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let challenge = header(header::WWW_AUTHENTICATE);
    let retry_after = header(header::RETRY_AFTER);
    Ok(Reply {
        status: response.status().as_u16(),
        challenge,
        retry_after,
        body: response.body_mut().read_to_string()?,
    })
}

fn basic(user: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{user}:{secret}")))
}

fn token_path(scopes: &[&str]) -> String {
    let mut path = "/token?service=portcullis&account=ignored".to_owned();
    for scope in scopes {
        path.push_str("&scope=");
        path.push_str(scope);
    }
    path
}

/// The `access` claim of a JWT, as `name → actions`.
fn granted(token: &str) -> anyhow::Result<Vec<(String, Vec<String>)>> {
    let payload = token.split('.').nth(1).context("not a JWT")?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload)?)?;
    let mut out = Vec::new();
    for entry in claims["access"].as_array().context("access")? {
        let actions = entry["actions"]
            .as_array()
            .context("actions")?
            .iter()
            .filter_map(|a| a.as_str().map(str::to_owned))
            .collect();
        out.push((entry["name"].as_str().context("name")?.to_owned(), actions));
    }
    Ok(out)
}

fn grants(pairs: &[(&str, &[&str])]) -> Vec<(String, Vec<String>)> {
    pairs
        .iter()
        .map(|(name, actions)| {
            (
                (*name).to_owned(),
                actions.iter().map(|a| (*a).to_owned()).collect(),
            )
        })
        .collect()
}

#[path = "auth/flow.rs"]
mod flow;
#[path = "auth/guards.rs"]
mod guards;
#[path = "auth/limits.rs"]
mod limits;
#[path = "auth/registry_tokens.rs"]
mod registry_tokens;
