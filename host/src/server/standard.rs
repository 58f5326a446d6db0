//! A request for an unmodified `wasi:http` component: the whole path and query as the
//! client sent them, the body read within the host's limit, and the component's response
//! validated like any module's (status, header names, values, count and size; framing and
//! hop-by-hop headers dropped), its body streamed as the component writes it.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Body;
use axum::http::header::CONTENT_LENGTH;
use axum::http::{HeaderValue, StatusCode, request::Parts};
use axum::response::Response;
use http_body_util::Full;

use super::checks::{REQUEST_ID, checked_header_map, checked_status, read_body};
use super::errors::HttpError;
use super::state::HttpState;
use crate::runtime::LoadedModule;
use crate::runtime::wasi_http::{StandardHttpError, StandardResponse};

/// Serves one request with the component's `wasi:http` handler (WASI 0.2 or 0.3).
pub async fn serve(
    state: &HttpState,
    module: &Arc<LoadedModule>,
    mut parts: Parts,
    body: Body,
    request_id: &str,
) -> Result<Response, HttpError> {
    let bytes = read_body(&parts, body, state.body_limit).await?;
    // The component sees the id the host answers with, as modules do.
    if let Ok(value) = HeaderValue::from_str(request_id) {
        parts.headers.insert(REQUEST_ID, value);
    }
    // wasi:http reads the authority off the URI or the Host header; HTTP/1.0 may send neither.
    if parts.uri.authority().is_none() && !parts.headers.contains_key("host") {
        parts
            .headers
            .insert("host", HeaderValue::from_static("localhost"));
    }
    let request = hyper::Request::from_parts(parts, Full::new(bytes));
    match module.handle_wasi_http(&state.runtime, request).await {
        Ok(response) => into_response(response, module),
        Err(StandardHttpError::Invocation(error)) => Err((&error).into()),
        Err(error @ StandardHttpError::Code { .. }) => {
            tracing::warn!("{error}");
            Err(HttpError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                error.to_string(),
            ))
        }
        Err(error @ StandardHttpError::NoResponse { .. }) => {
            Err(bad_response(module, error.to_string()))
        }
    }
}

fn into_response(response: StandardResponse, module: &LoadedModule) -> Result<Response, HttpError> {
    let (head, body) = response.into_parts();
    let name = module.name();
    let refused = |what: String| {
        bad_response(
            module,
            format!("module '{name}' returned {what}; the host refused the response"),
        )
    };
    let status = checked_status(head.status.as_u16()).map_err(refused)?;
    let mut fields = head.headers;
    // wasi:http holds the body to its declared length (a short or long body ends the
    // stream with an error, never a second message), so the client may have it.
    let length = fields.remove(CONTENT_LENGTH);
    let mut headers = checked_header_map(fields).map_err(refused)?;
    if let Some(length) = length {
        headers.map.insert(CONTENT_LENGTH, length);
    }
    if headers.dropped > 0 {
        let metrics = &module.context.metrics;
        metrics
            .headers_dropped
            .fetch_add(headers.dropped, Ordering::Relaxed);
        tracing::warn!(
            "module '{name}' set {} header(s) the host owns (framing, hop-by-hop); dropped",
            headers.dropped
        );
    }
    let mut out = Response::new(Body::new(body));
    *out.status_mut() = status;
    *out.headers_mut() = headers.map;
    Ok(out)
}

/// A response the host will not send, counted and logged.
fn bad_response(module: &LoadedModule, message: String) -> HttpError {
    module
        .context
        .metrics
        .bad_responses
        .fetch_add(1, Ordering::Relaxed);
    tracing::error!("{message}");
    HttpError::new(StatusCode::BAD_GATEWAY, "bad_module_response", message)
}
