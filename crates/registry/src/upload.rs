//! Blob uploads: monolithic (`POST ?digest=`), cross-repository mounts (`POST ?mount=&from=`),
//! and sessions (`POST`, then `PATCH` chunks, then `PUT ?digest=`; `GET` status, `DELETE`).

use axum::body::Body;
use axum::response::Response;
use http::header::{CONTENT_RANGE, LOCATION, RANGE};
use http::{HeaderName, StatusCode};
use portcullis_store::UploadSession;
use portcullis_types::{Digest, RegistryAction};

use crate::error::{ApiError, ErrorCode};
use crate::route::{parse_digest, query_param};
use crate::{CONTENT_DIGEST, Registry, UPLOAD_UUID, body_stream, empty, scope};

const PUSH: &[RegistryAction] = &[RegistryAction::Pull, RegistryAction::Push];

/// A fresh unguessable session id: 32 hex digits.
fn new_session_id() -> Result<String, ApiError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| {
        ApiError::new(
            ErrorCode::Unknown,
            format!("cannot draw a random upload id: {e}"),
        )
    })?;
    Ok(hex::encode(bytes))
}

/// The `Range` value for `len` received bytes (`0-0` for none, as the reference registry).
fn range_value(len: u64) -> String {
    format!("0-{}", len.saturating_sub(1))
}

fn session_headers(name: &str, id: &str, len: u64) -> Vec<(HeaderName, String)> {
    vec![
        (LOCATION, format!("/v2/{name}/blobs/uploads/{id}")),
        (RANGE, range_value(len)),
        (UPLOAD_UUID, id.to_owned()),
    ]
}

fn created(name: &str, digest: &Digest) -> Response {
    empty(
        StatusCode::CREATED,
        &[
            (LOCATION, format!("/v2/{name}/blobs/{digest}")),
            (CONTENT_DIGEST, digest.to_string()),
        ],
    )
}

/// The digest a request must name (`?digest=`), or `DIGEST_INVALID`.
fn required_digest(parts: &http::request::Parts) -> Result<Digest, ApiError> {
    match query_param(parts.uri.query(), "digest") {
        Some(text) => parse_digest(&text),
        None => Err(ApiError::new(
            ErrorCode::DigestInvalid,
            "the upload must be finished with `?digest=sha256:<hex>` naming its content",
        )),
    }
}

pub(crate) async fn start(
    registry: &Registry,
    parts: &http::request::Parts,
    body: Body,
    name: &str,
) -> Result<Response, ApiError> {
    registry.check_write_zone(name)?;
    registry.authorize(parts, &[scope(name, PUSH)]).await?;
    let query = parts.uri.query();
    if let Some(mount) = query_param(query, "mount") {
        let digest = parse_digest(&mount)?;
        if let Some(from) = query_param(query, "from")
            && mountable(registry, parts, &from, &digest).await?
        {
            registry.store.link_blob(name, &digest).await?;
            return Ok(created(name, &digest));
        }
        // Not mountable: the specification says to fall back to an upload session.
    } else if let Some(digest) = query_param(query, "digest") {
        let digest = parse_digest(&digest)?;
        let id = registry.blobs.internal_upload_id();
        registry.blobs.begin_upload(&id).await?;
        let committed = async {
            registry.blobs.append(&id, 0, body_stream(body)).await?;
            registry.blobs.commit(&id, &digest).await
        }
        .await;
        if let Err(err) = committed {
            registry.blobs.abort(&id).await?;
            return Err(err.into());
        }
        registry.store.link_blob(name, &digest).await?;
        return Ok(created(name, &digest));
    }
    let id = new_session_id()?;
    registry.store.create_upload(name, &id).await?;
    registry.blobs.begin_upload(&id).await?;
    Ok(empty(StatusCode::ACCEPTED, &session_headers(name, &id, 0)))
}

/// Whether blob `digest` can be mounted from repository `from`: the caller may pull
/// there, `from` links it, and its bytes exist. A refusal is not an error (fall back).
async fn mountable(
    registry: &Registry,
    parts: &http::request::Parts,
    from: &str,
    digest: &Digest,
) -> Result<bool, ApiError> {
    if portcullis_store::registry::validate_repository(from).is_err() {
        return Ok(false);
    }
    if registry
        .authorize(parts, &[scope(from, &[RegistryAction::Pull])])
        .await
        .is_err()
    {
        return Ok(false);
    }
    Ok(registry.store.blob_linked(from, digest).await?
        && registry.blobs.stat(digest).await?.is_some())
}

/// The open session `id` of repository `name`, or `BLOB_UPLOAD_UNKNOWN`.
async fn session(registry: &Registry, name: &str, id: &str) -> Result<UploadSession, ApiError> {
    match registry.store.upload(id).await? {
        Some(session) if session.repository == name => Ok(session),
        _ => Err(ApiError::new(
            ErrorCode::BlobUploadUnknown,
            format!(
                "upload `{id}` of repository `{name}` is not open (finished, cancelled, expired or never started); start a new one"
            ),
        )),
    }
}

/// Checks a `Content-Range: <from>-<to>` header against the bytes received so far;
/// a chunk that does not start there is answered 416 with the current range.
fn check_content_range(
    parts: &http::request::Parts,
    name: &str,
    session: &UploadSession,
) -> Result<(), ApiError> {
    let Some(header) = parts.headers.get(CONTENT_RANGE) else {
        return Ok(());
    };
    let text = header.to_str().unwrap_or("");
    let spec = text
        .trim()
        .trim_start_matches("bytes")
        .trim_start_matches(['=', ' ']);
    let start = spec
        .split_once('-')
        .and_then(|(from, _)| from.trim().parse::<u64>().ok());
    if start == Some(session.bytes_received) {
        return Ok(());
    }
    let mut err = ApiError::new(
        ErrorCode::BlobUploadInvalid,
        format!(
            "chunk `{text}` does not start at byte {} of upload `{}`; send the chunks in order",
            session.bytes_received, session.id
        ),
    )
    .with_status(StatusCode::RANGE_NOT_SATISFIABLE);
    for (header, value) in session_headers(name, &session.id, session.bytes_received) {
        err = err.with_header(header, &value);
    }
    Err(err)
}

/// Appends the body to the session and records the new length.
async fn append(registry: &Registry, session: &UploadSession, body: Body) -> Result<u64, ApiError> {
    let from = session.bytes_received;
    let to = registry
        .blobs
        .append(&session.id, from, body_stream(body))
        .await?;
    if to != from {
        registry.store.advance_upload(&session.id, from, to).await?;
    }
    Ok(to)
}

pub(crate) async fn patch(
    registry: &Registry,
    parts: &http::request::Parts,
    body: Body,
    name: &str,
    id: &str,
) -> Result<Response, ApiError> {
    registry.check_write_zone(name)?;
    registry.authorize(parts, &[scope(name, PUSH)]).await?;
    let session = session(registry, name, id).await?;
    check_content_range(parts, name, &session)?;
    let len = append(registry, &session, body).await?;
    Ok(empty(StatusCode::ACCEPTED, &session_headers(name, id, len)))
}

pub(crate) async fn finish(
    registry: &Registry,
    parts: &http::request::Parts,
    body: Body,
    name: &str,
    id: &str,
) -> Result<Response, ApiError> {
    registry.check_write_zone(name)?;
    registry.authorize(parts, &[scope(name, PUSH)]).await?;
    let session = session(registry, name, id).await?;
    let digest = required_digest(parts)?;
    check_content_range(parts, name, &session)?;
    append(registry, &session, body).await?;
    let committed = registry.blobs.commit(id, &digest).await;
    if let Err(err) = committed {
        // A digest mismatch discards the bytes; the session ends with them.
        if matches!(
            err,
            portcullis_store::blobs::BlobError::DigestMismatch { .. }
        ) {
            registry.store.finish_upload(id).await?;
        }
        return Err(err.into());
    }
    registry.store.finish_upload(id).await?;
    registry.store.link_blob(name, &digest).await?;
    Ok(created(name, &digest))
}

pub(crate) async fn status(
    registry: &Registry,
    parts: &http::request::Parts,
    name: &str,
    id: &str,
) -> Result<Response, ApiError> {
    registry.authorize(parts, &[scope(name, PUSH)]).await?;
    let session = session(registry, name, id).await?;
    Ok(empty(
        StatusCode::NO_CONTENT,
        &session_headers(name, id, session.bytes_received),
    ))
}

pub(crate) async fn cancel(
    registry: &Registry,
    parts: &http::request::Parts,
    name: &str,
    id: &str,
) -> Result<Response, ApiError> {
    registry.check_write_zone(name)?;
    registry.authorize(parts, &[scope(name, PUSH)]).await?;
    session(registry, name, id).await?;
    registry.blobs.abort(id).await?;
    registry.store.finish_upload(id).await?;
    Ok(empty(StatusCode::NO_CONTENT, &[]))
}
