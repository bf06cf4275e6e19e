//! Listings: `GET /v2/<name>/tags/list` (with `n`/`last` pagination and a `Link` header) and
//! `GET /v2/<name>/referrers/<digest>` (an image index, with the `artifactType` filter).

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue, LINK};
use portcullis_types::RegistryAction;

use crate::error::{ApiError, ErrorCode};
use crate::manifest::{parse::OCI_INDEX, read_bytes};
use crate::route::{parse_digest, query_param};
use crate::{Registry, scope};

const FILTERS_APPLIED: HeaderName = HeaderName::from_static("oci-filters-applied");

fn json_response(body: &serde_json::Value, content_type: &'static str) -> Response {
    let mut response = (StatusCode::OK, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

pub(crate) async fn tags(
    registry: &Registry,
    parts: &http::request::Parts,
    name: &str,
) -> Result<Response, ApiError> {
    registry
        .authorize(parts, &[scope(name, &[RegistryAction::Pull])])
        .await?;
    let query = parts.uri.query();
    let max = registry.config.max_tags_page;
    let n = match query_param(query, "n") {
        Some(text) => text.parse::<u32>().map_err(|_| {
            ApiError::new(
                ErrorCode::Unsupported,
                format!("`n={text}` is not a page size; expected a non-negative integer"),
            )
            .with_status(StatusCode::BAD_REQUEST)
        })?,
        None => max,
    }
    .min(max);
    let last = query_param(query, "last");
    if !registry.store.repository_exists(name).await? {
        return Err(ApiError::new(
            ErrorCode::NameUnknown,
            format!("repository `{name}` does not exist"),
        )
        .with_detail(serde_json::json!({ "name": name })));
    }
    let page = registry
        .store
        .list_tags(name, Some(n), last.as_deref())
        .await?;
    let mut response = json_response(
        &serde_json::json!({ "name": name, "tags": page.names }),
        "application/json",
    );
    if let Some(next) = page.next {
        let link = format!("</v2/{name}/tags/list?n={n}&last={next}>; rel=\"next\"");
        if let Ok(value) = HeaderValue::from_str(&link) {
            response.headers_mut().insert(LINK, value);
        }
    }
    Ok(response)
}

pub(crate) async fn referrers(
    registry: &Registry,
    parts: &http::request::Parts,
    name: &str,
    digest: &str,
) -> Result<Response, ApiError> {
    registry
        .authorize(parts, &[scope(name, &[RegistryAction::Pull])])
        .await?;
    let subject = parse_digest(digest)?;
    let artifact_type = query_param(parts.uri.query(), "artifactType");
    let records = registry
        .store
        .referrers(name, &subject, artifact_type.as_deref())
        .await?;
    let mut manifests = Vec::with_capacity(records.len());
    for record in records {
        let mut descriptor = serde_json::json!({
            "mediaType": record.media_type,
            "digest": record.digest.to_string(),
            "size": record.size,
        });
        let annotations = serde_json::from_slice::<serde_json::Value>(
            &read_bytes(registry, &record.digest).await?,
        )
        .ok()
        .and_then(|m| m.get("annotations").cloned());
        if let Some(map) = descriptor.as_object_mut() {
            if let Some(artifact_type) = record.artifact_type {
                map.insert("artifactType".to_owned(), artifact_type.into());
            }
            if let Some(annotations) = annotations {
                map.insert("annotations".to_owned(), annotations);
            }
        }
        manifests.push(descriptor);
    }
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": manifests,
    });
    let mut response = json_response(&index, OCI_INDEX);
    if artifact_type.is_some() {
        response
            .headers_mut()
            .insert(FILTERS_APPLIED, HeaderValue::from_static("artifactType"));
    }
    Ok(response)
}
