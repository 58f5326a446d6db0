//! Errors the router answers with: a status and a JSON body carrying the request id.

use axum::http::header::{ALLOW, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::runtime::InvocationError;
use crate::runtime::bindings::GuestError;

/// An error response: status, short code and message.
#[derive(Debug)]
pub struct HttpError {
    /// The status.
    pub status: StatusCode,
    /// A stable short code (`no_route`, `deadline_exceeded`, ...).
    pub code: &'static str,
    /// What went wrong and what to do.
    pub message: String,
    /// Methods the path accepts, sent as `Allow` with a 405.
    pub allow: Option<String>,
    /// Seconds to wait before retrying, sent as `Retry-After` with a 429 or 503.
    pub retry_after: Option<u64>,
}

impl HttpError {
    /// An error with the given parts.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        HttpError {
            status,
            code,
            message: message.into(),
            allow: None,
            retry_after: None,
        }
    }

    /// Renders the JSON body `{"error": {"status", "code", "message", "request_id"}}`.
    pub fn into_response(self, request_id: &str) -> Response {
        let body = serde_json::json!({
            "error": {
                "status": self.status.as_u16(),
                "code": self.code,
                "message": self.message,
                "request_id": request_id,
            }
        });
        let mut response = (
            self.status,
            [("content-type", "application/json")],
            body.to_string(),
        )
            .into_response();
        if let Some(allow) = self.allow.and_then(|a| HeaderValue::from_str(&a).ok()) {
            response.headers_mut().insert(ALLOW, allow);
        }
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

impl From<GuestError> for HttpError {
    fn from(error: GuestError) -> Self {
        let status = match error {
            GuestError::Denied(_) => StatusCode::FORBIDDEN,
            GuestError::Invalid(_) => StatusCode::BAD_REQUEST,
            GuestError::NotFound(_) => StatusCode::NOT_FOUND,
            GuestError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        HttpError::new(status, error.code(), error.message())
    }
}

impl From<&InvocationError> for HttpError {
    fn from(error: &InvocationError) -> Self {
        let status = match error {
            InvocationError::Deadline { .. } => StatusCode::GATEWAY_TIMEOUT,
            InvocationError::AtCapacity => StatusCode::SERVICE_UNAVAILABLE,
            InvocationError::TenantQuota(_) => StatusCode::TOO_MANY_REQUESTS,
            InvocationError::MemoryCap { .. } | InvocationError::Trap { .. } => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let mut answer = HttpError::new(status, error.code(), error.message());
        answer.retry_after = error.retry_after_s();
        answer
    }
}
