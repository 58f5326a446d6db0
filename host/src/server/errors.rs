//! Errors the router answers with: a status and a JSON body carrying the request id.

use axum::http::header::{ALLOW, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::runtime::InvocationError;
use crate::runtime::bindings::GuestError;
use crate::runtime::tenants::TenantRefusal;

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

    /// The answer to a refusal by the tenant's quota: 429 with `Retry-After`.
    pub fn tenant_quota(refusal: &TenantRefusal) -> Self {
        let mut error = HttpError::new(
            StatusCode::TOO_MANY_REQUESTS,
            match refusal {
                TenantRefusal::Busy { .. } => "tenant_busy",
                TenantRefusal::RateLimited { .. } => "rate_limited",
            },
            refusal.to_string(),
        );
        error.retry_after = Some(refusal.retry_after_s());
        error
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
        match error {
            GuestError::Denied(m) => HttpError::new(StatusCode::FORBIDDEN, "denied", m),
            GuestError::Invalid(m) => HttpError::new(StatusCode::BAD_REQUEST, "invalid", m),
            GuestError::NotFound(m) => HttpError::new(StatusCode::NOT_FOUND, "not_found", m),
            GuestError::Internal(m) => {
                HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", m)
            }
        }
    }
}

impl From<&InvocationError> for HttpError {
    fn from(error: &InvocationError) -> Self {
        match error {
            InvocationError::Deadline { .. } => HttpError::new(
                StatusCode::GATEWAY_TIMEOUT,
                "deadline_exceeded",
                error.to_string(),
            ),
            InvocationError::MemoryCap { .. } => HttpError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "memory_cap_exceeded",
                error.to_string(),
            ),
            InvocationError::AtCapacity => {
                let mut e = HttpError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "at_capacity",
                    error.to_string(),
                );
                e.retry_after = Some(1);
                e
            }
            InvocationError::TenantQuota(refusal) => HttpError::tenant_quota(refusal),
            // The trap's details (backtrace) go to the log, not to the client.
            InvocationError::Trap { module, .. } => HttpError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "module_trapped",
                format!(
                    "module '{module}' failed while handling the request; the host log has the details under this request id"
                ),
            ),
        }
    }
}
