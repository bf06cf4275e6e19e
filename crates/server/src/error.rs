//! The one error type of the JSON API: a status, a stable code and a message that says
//! what to do, rendered as `{"error": {"code": …, "message": …}}`.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use portcullis_types::AccessError;
use serde_json::json;

/// An API failure.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// For 401: the `WWW-Authenticate` challenge.
    pub challenge: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            challenge: None,
        }
    }
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", what)
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }
    /// A failure of the server's own storage: the cause is kept out of the response
    /// (it may name internals) but said to be on the server's side.
    pub fn internal(e: impl std::error::Error) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("the server failed: {}", crate::workflow::chain(&e)),
        )
    }
}

impl From<AccessError> for ApiError {
    fn from(e: AccessError) -> Self {
        match e {
            AccessError::Unauthenticated { .. } => Self {
                challenge: Some("Basic realm=\"portcullis\"".to_owned()),
                ..Self::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    "authentication required: send an API token as `Authorization: Bearer TOKEN` or user and password as Basic",
                )
            },
            AccessError::Denied { message } => Self::forbidden(message),
            AccessError::Unavailable { message } => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                format!("cannot check access now: {message}"),
            ),
        }
    }
}

/// A request axum could not take apart (a body that is not the JSON asked for, a path or
/// query parameter of the wrong type): the same JSON error shape as every other failure,
/// with axum's text, which names the field and position.
macro_rules! from_rejection {
    ($($rejection:ty),*) => {$(
        impl From<$rejection> for ApiError {
            fn from(rejection: $rejection) -> Self {
                let status = rejection.status();
                let code = if status == StatusCode::UNSUPPORTED_MEDIA_TYPE {
                    "unsupported-media-type"
                } else {
                    "bad-request"
                };
                Self::new(status, code, rejection.body_text())
            }
        }
    )*};
}

from_rejection!(
    axum::extract::rejection::JsonRejection,
    axum::extract::rejection::PathRejection,
    axum::extract::rejection::QueryRejection
);

impl From<portcullis_store::StoreError> for ApiError {
    fn from(e: portcullis_store::StoreError) -> Self {
        Self::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(json!({ "error": { "code": self.code, "message": self.message } })),
        )
            .into_response();
        if let Some(challenge) = self.challenge
            && let Ok(value) = HeaderValue::from_str(&challenge)
        {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, value);
        }
        response
    }
}
