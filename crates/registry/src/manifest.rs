//! Manifests: `GET`/`HEAD` by tag or digest, `PUT` (checked, stored as a blob, recorded in
//! one transaction with the hook), `DELETE`.

pub(crate) mod parse;

use axum::body::{Body, Bytes};
use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderName, HeaderValue, LOCATION};
use http::{Method, StatusCode};
use portcullis_store::{ManifestRecord, NewManifest};
use portcullis_types::{Digest, RegistryAction};
use sha2::{Digest as _, Sha256};

use crate::error::{ApiError, ErrorCode};
use crate::hook::{DeletedManifest, PushedManifest};
use crate::route::Reference;
use crate::{CONTENT_DIGEST, Registry, empty, scope};

const OCI_SUBJECT: HeaderName = HeaderName::from_static("oci-subject");

fn unknown(name: &str, reference: &Reference) -> ApiError {
    let (text, detail) = match reference {
        Reference::Tag(tag) => (format!("tag `{tag}`"), serde_json::json!({ "tag": tag })),
        Reference::Digest(d) => (
            format!("manifest `{d}`"),
            serde_json::json!({ "digest": d.to_string() }),
        ),
    };
    ApiError::new(
        ErrorCode::ManifestUnknown,
        format!("{text} is not in repository `{name}`"),
    )
    .with_detail(detail)
}

async fn lookup(
    registry: &Registry,
    name: &str,
    reference: &Reference,
) -> Result<Option<ManifestRecord>, ApiError> {
    Ok(match reference {
        Reference::Tag(tag) => registry.store.manifest_by_tag(name, tag).await?,
        Reference::Digest(digest) => registry.store.manifest(name, digest).await?,
    })
}

/// Reads the stored bytes of a manifest (kept as a blob, like the reference registry).
pub(crate) async fn read_bytes(registry: &Registry, digest: &Digest) -> Result<Vec<u8>, ApiError> {
    let path = registry.blobs.blob_path(digest);
    tokio::fs::read(&path).await.map_err(|e| {
        tracing::error!(%digest, error = %e, "a recorded manifest has no bytes");
        ApiError::new(
            ErrorCode::Unknown,
            format!("the bytes of manifest `{digest}` cannot be read"),
        )
    })
}

pub(crate) async fn get(
    registry: &Registry,
    parts: &http::request::Parts,
    name: &str,
    reference: &Reference,
) -> Result<Response, ApiError> {
    registry
        .authorize(parts, &[scope(name, &[RegistryAction::Pull])])
        .await?;
    let Some(record) = lookup(registry, name, reference).await? else {
        return Err(unknown(name, reference));
    };
    let body = if parts.method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(read_bytes(registry, &record.digest).await?)
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    for (header, value) in [
        (CONTENT_TYPE, record.media_type.clone()),
        (CONTENT_LENGTH, record.size.to_string()),
        (CONTENT_DIGEST, record.digest.to_string()),
        (http::header::ETAG, format!("\"{}\"", record.digest)),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(header, value);
        }
    }
    Ok(response)
}

pub(crate) async fn put(
    registry: &Registry,
    parts: &http::request::Parts,
    body: Body,
    name: &str,
    reference: &Reference,
) -> Result<Response, ApiError> {
    registry.check_write_zone(name)?;
    let principal = registry
        .authorize(
            parts,
            &[scope(name, &[RegistryAction::Pull, RegistryAction::Push])],
        )
        .await?;
    let limit = registry.config.max_manifest_bytes;
    let bytes: Bytes = axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(
            ErrorCode::SizeInvalid,
            format!("the manifest is larger than this registry's limit of {limit} bytes, or its body failed"),
        )
        .with_status(StatusCode::PAYLOAD_TOO_LARGE)
    })?;
    let digest = Digest::sha256_from_bytes(Sha256::digest(&bytes).into());
    if let Reference::Digest(claimed) = reference
        && *claimed != digest
    {
        return Err(ApiError::digest_detail(
            ErrorCode::DigestInvalid,
            format!("the manifest bytes have digest `{digest}`, not `{claimed}` as pushed"),
            claimed,
        ));
    }
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let parsed = parse::parse(content_type, &bytes)?;
    for blob in &parsed.required_blobs {
        let present = registry.store.blob_linked(name, blob).await?
            && registry.blobs.stat(blob).await?.is_some();
        if !present {
            return Err(ApiError::digest_detail(
                ErrorCode::ManifestBlobUnknown,
                format!(
                    "blob `{blob}` referenced by the manifest is not in repository `{name}`; push it first"
                ),
                blob,
            ));
        }
    }
    for child in parsed.children() {
        if registry.store.manifest(name, &child).await?.is_none() {
            return Err(ApiError::digest_detail(
                ErrorCode::ManifestBlobUnknown,
                format!(
                    "manifest `{child}` listed by the index is not in repository `{name}`; push it first"
                ),
                &child,
            ));
        }
    }
    // The bytes are durable before the metadata commits: a crash in between leaves an
    // unreferenced blob, never a manifest without bytes.
    registry.blobs.put_bytes(&digest, bytes.clone()).await?;
    let tag = match reference {
        Reference::Tag(tag) => Some(tag.clone()),
        Reference::Digest(_) => None,
    };
    let pushed = PushedManifest {
        repository: name.to_owned(),
        digest: digest.clone(),
        media_type: parsed.media_type.clone(),
        size: bytes.len() as u64,
        tag: tag.clone(),
        children: parsed.children(),
        subject: parsed.subject.clone(),
        artifact_type: parsed.artifact_type.clone(),
        principal,
    };
    let mut tx = registry.store.begin().await?;
    tx.put_manifest(
        name,
        &NewManifest {
            digest: digest.clone(),
            media_type: parsed.media_type.clone(),
            size: pushed.size,
            subject: parsed.subject.clone(),
            artifact_type: parsed.artifact_type.clone(),
        },
    )
    .await?;
    tx.put_manifest_references(name, &digest, &parsed.references)
        .await?;
    tx.link_blob(name, &digest).await?;
    if let Some(tag) = &tag {
        tx.set_tag(name, tag, &digest).await?;
    }
    registry.hook.manifest_pushed(&mut tx, &pushed).await?;
    tx.commit().await?;
    let mut headers = vec![
        (LOCATION, format!("/v2/{name}/manifests/{digest}")),
        (CONTENT_DIGEST, digest.to_string()),
    ];
    if let Some(subject) = &parsed.subject {
        headers.push((OCI_SUBJECT, subject.to_string()));
    }
    Ok(empty(StatusCode::CREATED, &headers))
}

pub(crate) async fn delete(
    registry: &Registry,
    parts: &http::request::Parts,
    name: &str,
    reference: &Reference,
) -> Result<Response, ApiError> {
    let principal = registry.authorize_delete(parts, name).await?;
    let Some(record) = lookup(registry, name, reference).await? else {
        return Err(unknown(name, reference));
    };
    let deleted = DeletedManifest {
        repository: name.to_owned(),
        digest: record.digest.clone(),
        tag: match reference {
            Reference::Tag(tag) => Some(tag.clone()),
            Reference::Digest(_) => None,
        },
        principal,
    };
    let mut tx = registry.store.begin().await?;
    let existed = match &deleted.tag {
        Some(tag) => tx.delete_tag(name, tag).await?,
        None => tx.delete_manifest(name, &record.digest).await?,
    };
    if !existed {
        return Err(unknown(name, reference));
    }
    registry.hook.manifest_deleted(&mut tx, &deleted).await?;
    tx.commit().await?;
    Ok(empty(StatusCode::ACCEPTED, &[]))
}
