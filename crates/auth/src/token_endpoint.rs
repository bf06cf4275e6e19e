//! The token endpoint of the Docker registry token flow.
//!
//! `GET /token?service=…&scope=…&scope=…` with HTTP Basic credentials (a user's password,
//! or an API token as the password) or none (anonymous, if allowed) answers
//! `{"token", "access_token", "expires_in", "issued_at"}`; `POST /token` with the form
//! `grant_type=password&username=…&password=…&scope=…` (as containerd and BuildKit send)
//! answers the same. The token grants what was asked and is allowed, possibly nothing:
//! the specification says to grant what is allowed rather than fail. Wrong credentials are
//! a 401 that never says whether the user exists; too many failures are a 429.
//!
//! Serve the router with `into_make_service_with_connect_info::<SocketAddr>()` so that
//! failed sign-ins are also limited per source address. The token records what it was
//! issued from (an API token, or the user's credential stamp), so that it stops working as
//! soon as that is revoked or changed (see `revocation.rs`).

use std::collections::BTreeMap;
use std::collections::BTreeSet;
use std::net::IpAddr;

use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use portcullis_types::RegistryAction;
use serde::Deserialize;
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::Auth;
use crate::authenticate::{
    ANONYMOUS, Credentials, LoginError, SignedIn, grantable, now_secs, parse_authorization,
};
use crate::jwt::{Access, Claims};
use crate::secret::random_bytes;
use crate::source::{source_of, too_many_sign_ins};

/// The token endpoint, at `/token` (point [`crate::AuthConfig::realm`] at it).
pub fn token_router(auth: Auth) -> Router {
    Router::new()
        .route("/token", get(get_token).post(post_token))
        .with_state(auth)
}

/// The client's address, when the server records it.
struct Source(Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Source {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Source(source_of(&parts.extensions)))
    }
}

/// A refusal in the registry's error format, with the status and headers it needs.
fn refusal(status: StatusCode, code: &str, message: &str) -> Response {
    let body = Json(json!({ "errors": [{ "code": code, "message": message, "detail": null }] }));
    let mut response = (status, body).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"portcullis\""),
        );
    }
    response
}

fn login_refusal(error: LoginError) -> Response {
    match error {
        LoginError::Invalid => refusal(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "invalid user name, password or token",
        ),
        LoginError::Limited(wait) => too_many_sign_ins(wait),
        LoginError::Unavailable(error) => refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "UNAVAILABLE",
            &error.to_string(),
        ),
    }
}

/// Parses `repository:NAME:pull,push` scopes (several per parameter, space-separated);
/// other resource types and unknown actions grant nothing and are skipped.
fn requested(scopes: &[&str]) -> BTreeMap<String, BTreeSet<RegistryAction>> {
    let mut wanted: BTreeMap<String, BTreeSet<RegistryAction>> = BTreeMap::new();
    for scope in scopes.iter().flat_map(|s| s.split(' ')) {
        // The name may hold a `:` (a registry host with a port), so split at both ends.
        let Some((kind, rest)) = scope.split_once(':') else {
            continue;
        };
        let Some((name, actions)) = rest.rsplit_once(':') else {
            continue;
        };
        if kind != "repository" || name.is_empty() {
            continue;
        }
        let entry = wanted.entry(name.to_owned()).or_default();
        for action in actions.split(',') {
            match action {
                "pull" => entry.insert(RegistryAction::Pull),
                "push" => entry.insert(RegistryAction::Push),
                "delete" => entry.insert(RegistryAction::Delete),
                "*" => {
                    entry.extend([
                        RegistryAction::Pull,
                        RegistryAction::Push,
                        RegistryAction::Delete,
                    ]);
                    true
                }
                _ => false,
            };
        }
    }
    wanted
}

/// Signs a token for `principal` (anonymous if `None`) granting the allowed part of
/// `scopes`, and builds the response body.
fn issue(auth: &Auth, signed_in: Option<&SignedIn>, scopes: &[&str]) -> Response {
    let principal = signed_in.map(|s| &s.principal);
    let access: Vec<Access> = requested(scopes)
        .into_iter()
        .filter_map(|(name, wanted)| {
            let allowed = grantable(auth, principal, &name);
            let actions: BTreeSet<RegistryAction> =
                wanted.intersection(&allowed).copied().collect();
            (!actions.is_empty()).then(|| Access {
                kind: "repository".to_owned(),
                name,
                actions,
            })
        })
        .collect();
    let Ok(jti) = random_bytes::<16>() else {
        return refusal(
            StatusCode::SERVICE_UNAVAILABLE,
            "UNAVAILABLE",
            "the random number generator failed",
        );
    };
    let config = auth.config();
    let now = now_secs();
    let lifetime = config.token_lifetime.as_secs().max(1);
    let scope: Vec<String> = access
        .iter()
        .map(|a| {
            let actions: Vec<&str> = a.actions.iter().map(|x| x.as_str()).collect();
            format!("repository:{}:{}", a.name, actions.join(","))
        })
        .collect();
    let claims = Claims {
        iss: config.realm.clone(),
        sub: principal.map_or_else(|| ANONYMOUS.to_owned(), |p| p.name.clone()),
        aud: config.service.clone(),
        exp: now.saturating_add(lifetime),
        nbf: now,
        iat: now,
        jti: hex::encode(jti),
        access,
        kind: principal.map(|p| p.kind),
        role: principal.map(|p| p.role),
        teams: principal.map(|p| p.teams.clone()).unwrap_or_default(),
        issued_from: signed_in.map(|s| s.issued_from.clone()),
    };
    let token = auth.inner.signer.sign(&claims);
    let issued_at = OffsetDateTime::from_unix_timestamp(i64::try_from(now).unwrap_or(0))
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default();
    Json(json!({
        "token": token,
        "access_token": token,
        "expires_in": lifetime,
        "issued_at": issued_at,
        "scope": scope.join(" "),
    }))
    .into_response()
}

/// Checks the configured service against the one the client asked for, if any.
fn wrong_service(auth: &Auth, service: Option<&str>) -> Option<Response> {
    let expected = &auth.config().service;
    service.filter(|s| *s != expected).map(|asked| {
        refusal(
            StatusCode::BAD_REQUEST,
            "UNSUPPORTED",
            &format!("unknown service `{asked}`; this token endpoint serves `{expected}`"),
        )
    })
}

async fn get_token(
    State(auth): State<Auth>,
    Source(source): Source,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    let service = params
        .iter()
        .find(|(k, _)| k == "service")
        .map(|(_, v)| v.as_str());
    if let Some(refused) = wrong_service(&auth, service) {
        return refused;
    }
    let scopes: Vec<&str> = params
        .iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v.as_str())
        .collect();
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match authorization.map(parse_authorization) {
        None if auth.config().allow_anonymous_pull => issue(&auth, None, &scopes),
        None => refusal(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "sign in with a user name and password, or an API token as the password",
        ),
        Some(Some(Credentials::Basic { user, secret })) => {
            match auth.sign_in(Some(&user), &secret, source).await {
                Ok(signed_in) => issue(&auth, Some(&signed_in), &scopes),
                Err(error) => login_refusal(error),
            }
        }
        Some(_) => refusal(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "the token endpoint takes HTTP Basic credentials",
        ),
    }
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    service: Option<String>,
    scope: Option<String>,
    username: Option<String>,
    password: Option<String>,
}

async fn post_token(
    State(auth): State<Auth>,
    Source(source): Source,
    Form(form): Form<TokenForm>,
) -> Response {
    if let Some(refused) = wrong_service(&auth, form.service.as_deref()) {
        return refused;
    }
    if form.grant_type != "password" {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({
                "error": "unsupported_grant_type",
                "error_description": "only grant_type=password is supported; send the user name and password, or an API token as the password",
            })),
        )
            .into_response();
    }
    let (Some(user), Some(password)) = (form.username.as_deref(), form.password.as_deref()) else {
        return refusal(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "grant_type=password needs username and password",
        );
    };
    let scopes: Vec<&str> = form.scope.as_deref().into_iter().collect();
    match auth.sign_in(Some(user), password, source).await {
        Ok(signed_in) => issue(&auth, Some(&signed_in), &scopes),
        Err(error) => login_refusal(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_names_with_colons_and_merge_actions() {
        let wanted = requested(&[
            "repository:unscanned/a/app:pull,push",
            "repository:host:5000/x:pull repository:unscanned/a/app:delete",
            "registry:catalog:*",
            "repository:y:frobnicate",
        ]);
        let names: Vec<&str> = wanted.keys().map(String::as_str).collect();
        assert_eq!(names, ["host:5000/x", "unscanned/a/app", "y"]);
        assert_eq!(wanted["unscanned/a/app"].len(), 3);
        assert!(wanted["y"].is_empty());
    }
}
