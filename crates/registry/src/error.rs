//! Errors: [`ApiError`], the OCI error body a client sees, and [`RegistryError`], what the
//! library's non-HTTP functions (promotion, upload cleanup) return.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use portcullis_store::StoreError;
use portcullis_store::blobs::BlobError;
use portcullis_types::Digest;

/// The error codes of the OCI distribution specification (and `UNKNOWN` for server faults).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    ManifestBlobUnknown,
    ManifestInvalid,
    ManifestUnknown,
    NameInvalid,
    NameUnknown,
    SizeInvalid,
    Unauthorized,
    Denied,
    Unsupported,
    TooManyRequests,
    Unknown,
}

impl ErrorCode {
    /// The code as the specification spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BlobUnknown => "BLOB_UNKNOWN",
            ErrorCode::BlobUploadInvalid => "BLOB_UPLOAD_INVALID",
            ErrorCode::BlobUploadUnknown => "BLOB_UPLOAD_UNKNOWN",
            ErrorCode::DigestInvalid => "DIGEST_INVALID",
            ErrorCode::ManifestBlobUnknown => "MANIFEST_BLOB_UNKNOWN",
            ErrorCode::ManifestInvalid => "MANIFEST_INVALID",
            ErrorCode::ManifestUnknown => "MANIFEST_UNKNOWN",
            ErrorCode::NameInvalid => "NAME_INVALID",
            ErrorCode::NameUnknown => "NAME_UNKNOWN",
            ErrorCode::SizeInvalid => "SIZE_INVALID",
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::Denied => "DENIED",
            ErrorCode::Unsupported => "UNSUPPORTED",
            ErrorCode::TooManyRequests => "TOOMANYREQUESTS",
            ErrorCode::Unknown => "UNKNOWN",
        }
    }

    /// The status the reference registry answers with for this code.
    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::BlobUnknown
            | ErrorCode::BlobUploadUnknown
            | ErrorCode::ManifestUnknown
            | ErrorCode::NameUnknown => StatusCode::NOT_FOUND,
            // A manifest naming an absent blob is a bad push, as the reference registry says.
            ErrorCode::BlobUploadInvalid
            | ErrorCode::ManifestBlobUnknown
            | ErrorCode::DigestInvalid
            | ErrorCode::ManifestInvalid
            | ErrorCode::NameInvalid
            | ErrorCode::SizeInvalid => StatusCode::BAD_REQUEST,
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::Denied => StatusCode::FORBIDDEN,
            ErrorCode::Unsupported => StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Unknown => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// An error answered to a registry client: a status, one OCI error and extra headers.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    pub detail: Option<serde_json::Value>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    /// An error with the code's usual status.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status: code.status(),
            code,
            message: message.into(),
            detail: None,
            headers: Vec::new(),
        }
    }

    /// The same error with another status (416 for out-of-order chunks, 413, 503).
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// The same error with a `detail` value.
    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail);
        self
    }

    /// The same error with one more response header (an invalid value is left out).
    pub fn with_header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.push((name, value));
        }
        self
    }

    pub(crate) fn digest_detail(code: ErrorCode, message: String, digest: &Digest) -> Self {
        Self::new(code, message).with_detail(serde_json::json!({ "digest": digest.to_string() }))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = serde_json::json!({ "code": self.code.as_str(), "message": self.message });
        if let (Some(detail), Some(map)) = (self.detail, error.as_object_mut()) {
            map.insert("detail".to_owned(), detail);
        }
        let body = serde_json::json!({ "errors": [error] }).to_string();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (name, value) in self.headers {
            headers.insert(name, value);
        }
        response
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> Self {
        let code = match &err {
            StoreError::InvalidRepository(_) => ErrorCode::NameInvalid,
            StoreError::InvalidTag(_) => ErrorCode::ManifestInvalid,
            StoreError::UnknownManifest { .. } => ErrorCode::ManifestUnknown,
            StoreError::UnknownUpload(_) => ErrorCode::BlobUploadUnknown,
            StoreError::UploadOffsetMismatch { .. } => {
                return ApiError::new(ErrorCode::BlobUploadInvalid, err.to_string())
                    .with_status(StatusCode::RANGE_NOT_SATISFIABLE);
            }
            _ => {
                tracing::error!(error = %error_chain(&err), "registry store failure");
                ErrorCode::Unknown
            }
        };
        ApiError::new(code, err.to_string())
    }
}

impl From<BlobError> for ApiError {
    fn from(err: BlobError) -> Self {
        let message = err.to_string();
        match &err {
            BlobError::DigestMismatch { expected, .. } => {
                ApiError::digest_detail(ErrorCode::DigestInvalid, message, expected)
            }
            BlobError::UnsupportedAlgorithm(digest) => {
                ApiError::digest_detail(ErrorCode::DigestInvalid, message, digest)
            }
            BlobError::InvalidUploadId(_) | BlobError::UnknownUpload(_) => {
                ApiError::new(ErrorCode::BlobUploadUnknown, message)
            }
            BlobError::OffsetMismatch { .. } => {
                ApiError::new(ErrorCode::BlobUploadInvalid, message)
                    .with_status(StatusCode::RANGE_NOT_SATISFIABLE)
            }
            BlobError::TooLarge { .. } => ApiError::new(ErrorCode::SizeInvalid, message)
                .with_status(StatusCode::PAYLOAD_TOO_LARGE),
            BlobError::Body { .. } => ApiError::new(ErrorCode::BlobUploadInvalid, message),
            _ => {
                tracing::error!(error = %error_chain(&err), "registry blob storage failure");
                ApiError::new(ErrorCode::Unknown, message)
            }
        }
    }
}

/// The error and its causes, `: `-separated, for logs.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Why promotion or upload cleanup failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error(
        "manifest `{digest}` is not in repository `{repository}`, so it cannot be promoted; push it there first"
    )]
    UnknownManifest { repository: String, digest: Digest },
    #[error(
        "manifest `{digest}` was not scanned and decided as a container image, so it cannot be promoted"
    )]
    NotJudged { digest: Digest },
}
