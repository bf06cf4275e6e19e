//! Blob reads (`GET`/`HEAD`, with `Range`) and deletes.

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::header::{
    ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, HeaderValue, RANGE,
};
use http::{Method, StatusCode};
use portcullis_types::{Digest, RegistryAction};
use tokio_util::io::ReaderStream;

use crate::error::{ApiError, ErrorCode};
use crate::route::parse_digest;
use crate::{CONTENT_DIGEST, Registry, empty, scope};

/// Read buffer for streaming blobs to clients.
const READ_BUFFER: usize = 256 << 10;

/// A byte range `[start, end)` of a blob, from a `Range: bytes=…` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ByteRange {
    start: u64,
    end: u64,
}

/// Parses one `bytes=a-b`, `bytes=a-` or `bytes=-n` range against `size`; `Err` when it
/// cannot be satisfied (416), `Ok(None)` when the header is not a single byte range.
fn parse_range(header: &str, size: u64) -> Result<Option<ByteRange>, ()> {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None); // multipart ranges: answer the whole blob, as RFC 9110 allows
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Err(());
    };
    let (first, last) = (first.trim(), last.trim());
    let range = if first.is_empty() {
        let suffix: u64 = last.parse().map_err(|_| ())?;
        if suffix == 0 || size == 0 {
            return Err(());
        }
        ByteRange {
            start: size.saturating_sub(suffix),
            end: size,
        }
    } else {
        let start: u64 = first.parse().map_err(|_| ())?;
        let end = if last.is_empty() {
            size
        } else {
            let last: u64 = last.parse().map_err(|_| ())?;
            if last < start {
                return Err(());
            }
            last.saturating_add(1).min(size)
        };
        if start >= size {
            return Err(());
        }
        ByteRange { start, end }
    };
    Ok(Some(range))
}

pub(crate) async fn get(
    registry: &Registry,
    parts: &http::request::Parts,
    name: &str,
    digest: &str,
) -> Result<Response, ApiError> {
    registry
        .authorize(parts, &[scope(name, &[RegistryAction::Pull])])
        .await?;
    let digest = parse_digest(digest)?;
    let unknown = || {
        ApiError::digest_detail(
            ErrorCode::BlobUnknown,
            format!("blob `{digest}` is not in repository `{name}`"),
            &digest,
        )
    };
    if !registry.store.blob_linked(name, &digest).await? {
        return Err(unknown());
    }
    let Some(size) = registry.blobs.stat(&digest).await? else {
        return Err(unknown());
    };
    let range = match parts.headers.get(RANGE).and_then(|v| v.to_str().ok()) {
        Some(header) => parse_range(header, size).map_err(|()| {
            ApiError::new(
                ErrorCode::BlobUnknown,
                format!("range `{header}` is outside blob `{digest}` of {size} bytes"),
            )
            .with_status(StatusCode::RANGE_NOT_SATISFIABLE)
            .with_header(CONTENT_RANGE, &format!("bytes */{size}"))
        })?,
        None => None,
    };
    let (start, end) = range.map_or((0, size), |r| (r.start, r.end));
    let status = if range.is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let body = if parts.method == Method::HEAD {
        Body::empty()
    } else {
        let Some(reader) = registry.blobs.open_read(&digest, start, Some(end)).await? else {
            return Err(unknown());
        };
        use tokio::io::AsyncReadExt as _;
        Body::from_stream(ReaderStream::with_capacity(
            reader.file.take(reader.len),
            READ_BUFFER,
        ))
    };
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    let header = |v: String| HeaderValue::from_str(&v).unwrap_or(HeaderValue::from_static("0"));
    headers.insert(CONTENT_LENGTH, header((end - start).to_string()));
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    headers.insert(CONTENT_DIGEST, header(digest.to_string()));
    if range.is_some() {
        headers.insert(
            CONTENT_RANGE,
            header(format!("bytes {start}-{}/{size}", end - 1)),
        );
    }
    Ok(response)
}

pub(crate) async fn delete(
    registry: &Registry,
    parts: &http::request::Parts,
    name: &str,
    digest: &str,
) -> Result<Response, ApiError> {
    registry.authorize_delete(parts, name).await?;
    let digest: Digest = parse_digest(digest)?;
    // Only the link goes: the bytes may serve other repositories (garbage collection
    // removes blobs no repository links).
    if !registry.store.unlink_blob(name, &digest).await? {
        return Err(ApiError::digest_detail(
            ErrorCode::BlobUnknown,
            format!("blob `{digest}` is not in repository `{name}`"),
            &digest,
        ));
    }
    Ok(empty(
        StatusCode::ACCEPTED,
        &[(CONTENT_DIGEST, digest.to_string())],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_follow_rfc_9110() {
        let r = |h: &str, size| parse_range(h, size);
        assert_eq!(
            r("bytes=0-9", 100),
            Ok(Some(ByteRange { start: 0, end: 10 }))
        );
        assert_eq!(
            r("bytes=90-", 100),
            Ok(Some(ByteRange {
                start: 90,
                end: 100
            }))
        );
        assert_eq!(
            r("bytes=-10", 100),
            Ok(Some(ByteRange {
                start: 90,
                end: 100
            }))
        );
        assert_eq!(
            r("bytes=95-200", 100),
            Ok(Some(ByteRange {
                start: 95,
                end: 100
            }))
        );
        assert_eq!(r("bytes=100-", 100), Err(()));
        assert_eq!(r("bytes=5-1", 100), Err(()));
        assert_eq!(r("bytes=x-1", 100), Err(()));
        assert_eq!(r("items=0-1", 100), Ok(None));
        assert_eq!(r("bytes=0-1,5-6", 100), Ok(None));
    }
}
