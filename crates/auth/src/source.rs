//! The client address of the request being handled, for the sign-in limits of every path.
//!
//! The registry asks [`Authorizer::authorize`](portcullis_types::Authorizer) with the
//! `Authorization` header alone, and the API asks [`Auth::authenticate`](crate::Auth) the
//! same way, so the address travels beside the request rather than through those calls:
//! the server runs each request inside [`with_source`], which makes the address visible to
//! every sign-in checked while the request is handled and reports afterwards whether one
//! was refused by the limits, so that the server answers 429 in the right error shape
//! ([`too_many_sign_ins`] for the registry).
//!
//! The address is the connection's peer (axum's `ConnectInfo<SocketAddr>`, which the
//! server inserts for plain and TLS connections). `X-Forwarded-For` is never read: behind a
//! reverse proxy every client has the proxy's address, so the per-source limit then counts
//! the proxy as one source (valid API tokens are never limited; see [`crate::Auth`]).

use std::cell::Cell;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::Json;
use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// What one request's handling carries beside it.
struct RequestSource {
    address: Option<IpAddr>,
    /// Set when a sign-in was refused by the limits: how long to wait.
    limited: Cell<Option<Duration>>,
}

tokio::task_local! {
    static REQUEST: RequestSource;
}

/// The peer address of the connection a request came on, if the server records it.
pub fn source_of(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())
}

/// Runs `request` (a request's handling) with `address` as the client's address for the
/// sign-in limits; answers its output and, if a sign-in was refused by the limits while it
/// ran, how long the client should wait.
pub async fn with_source<F: Future>(
    address: Option<IpAddr>,
    request: F,
) -> (F::Output, Option<Duration>) {
    let source = RequestSource {
        address,
        limited: Cell::new(None),
    };
    REQUEST
        .scope(source, async {
            let output = request.await;
            let limited = REQUEST.with(|source| source.limited.get());
            (output, limited)
        })
        .await
}

/// The address of the request being handled (`None` outside [`with_source`]).
pub(crate) fn current() -> Option<IpAddr> {
    REQUEST.try_with(|source| source.address).ok().flatten()
}

/// Records that the request being handled was refused by the limits.
pub(crate) fn mark_limited(wait: Duration) {
    let _ = REQUEST.try_with(|source| {
        let longest = source.limited.get().map_or(wait, |w| w.max(wait));
        source.limited.set(Some(longest));
    });
}

/// Whole seconds to wait, at least one (the `Retry-After` value).
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs().max(1)
}

/// The message of a refusal by the limits.
pub fn too_many_sign_ins_message(wait: Duration) -> String {
    format!(
        "too many failed sign-ins for this user name or from this address; retry in {} seconds, or use an API token",
        retry_after_secs(wait)
    )
}

/// A refusal by the limits in the registry's (distribution) error shape: 429,
/// `TOOMANYREQUESTS`, with `Retry-After`.
pub fn too_many_sign_ins(wait: Duration) -> Response {
    let body = json!({ "errors": [{
        "code": "TOOMANYREQUESTS",
        "message": too_many_sign_ins_message(wait),
        "detail": null,
    }] });
    let mut response = (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(retry_after_secs(wait)),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_address_is_seen_inside_and_the_longest_wait_reported() {
        let address: IpAddr = [10, 0, 0, 1].into();
        assert_eq!(current(), None);
        mark_limited(Duration::from_secs(9)); // outside: ignored
        let (seen, limited) = with_source(Some(address), async {
            let seen = current();
            mark_limited(Duration::from_secs(3));
            mark_limited(Duration::from_secs(7));
            mark_limited(Duration::from_secs(5));
            seen
        })
        .await;
        assert_eq!(seen, Some(address));
        assert_eq!(limited, Some(Duration::from_secs(7)));
        let ((), limited) = with_source(Some(address), async {}).await;
        assert_eq!(limited, None);
    }
}
