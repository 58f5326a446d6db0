//! One HTTP request from the socket to a module and back: request id, route match, body
//! limit, invocation, status mapping.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, request::Parts};
use axum::response::Response;
use tracing::Instrument as _;

use super::errors::HttpError;
use super::public::{self, PublicFile};
use super::state::HttpState;
use crate::runtime::bindings::{GuestRequest, GuestResponse};
use crate::runtime::routes::RouteMatch;
use crate::runtime::{InvocationError, LoadedModule};

pub use super::checks::REQUEST_ID;
use super::checks::{checked_headers, checked_status, read_body};

/// The fallback handler: every request not for the admin API goes to a module.
pub async fn dispatch(State(state): State<Arc<HttpState>>, request: Request) -> Response {
    let request_id = request_id(request.headers());
    let (parts, body) = request.into_parts();
    let target = target(&state, &parts);
    // One span with every field at once: the log formatter renders a span's fields when
    // it is created and again on each later `record`.
    let span = match &target {
        Target::Socket(module) => tracing::info_span!("request", request_id = %request_id,
            module = "ws", tenant = module.context.tenant.as_str()),
        Target::Module(module, _) => tracing::info_span!("request", request_id = %request_id,
            module = module.name(), tenant = module.context.tenant.as_str()),
        Target::Nothing => tracing::info_span!("request", request_id = %request_id),
    };
    let served = serve(&state, target, parts, body, &request_id);
    let mut response = match served.instrument(span).await {
        Ok(response) => response,
        Err(error) => error.into_response(&request_id),
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

/// What a request is for, found before anything about it is logged.
enum Target {
    /// A WebSocket handshake on a namespace the module serves.
    Socket(Arc<LoadedModule>),
    /// The module mounted at the path, and the rest of the path below its prefix.
    Module(Arc<LoadedModule>, String),
    /// No module.
    Nothing,
}

fn target(state: &HttpState, parts: &Parts) -> Target {
    let table = state.registry.snapshot();
    let path = parts.uri.path();
    if is_websocket(&parts.headers)
        && let Some(module) = table.namespace(path)
    {
        return Target::Socket(module.clone());
    }
    match table.mount_for(path) {
        Some((module, rest)) => Target::Module(module.clone(), rest.to_string()),
        None => Target::Nothing,
    }
}

async fn serve(
    state: &HttpState,
    target: Target,
    parts: Parts,
    body: Body,
    request_id: &str,
) -> Result<Response, HttpError> {
    let path = parts.uri.path();
    let (module, rest) = match target {
        Target::Socket(module) => {
            let namespace = path.to_string();
            return Ok(super::websocket::accept(
                state.registry.clone(),
                state.runtime.clone(),
                module,
                parts,
                namespace,
                request_id,
            )
            .await);
        }
        Target::Module(module, rest) => (module, rest),
        Target::Nothing => {
            return Err(HttpError::new(
                StatusCode::NOT_FOUND,
                "no_route",
                format!("no module is mounted at {path}"),
            ));
        }
    };
    let method = parts.method.as_str();
    let rest = rest.as_str();
    if let Some(gate) = state.runtime.tenants().gate(&module.context.tenant) {
        gate.take_request()
            .map_err(|refusal| HttpError::from(&InvocationError::TenantQuota(refusal)))?;
    }
    if module.exports.wasi_http.is_some() {
        return super::standard::serve(state, &module, parts, body, request_id).await;
    }
    let routes = module
        .routes
        .as_ref()
        .expect("only modules with routes are mounted");
    let (method, pattern, params) = match routes.find(method, rest) {
        RouteMatch::Found {
            method,
            pattern,
            params,
        } => (method, pattern, params),
        RouteMatch::MethodNotAllowed(allowed) => {
            let message = format!(
                "{method} is not allowed on {path}; allowed: {}",
                allowed.join(", ")
            );
            let mut error = HttpError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                message,
            );
            error.allow = Some(allowed.join(", "));
            return Err(error);
        }
        RouteMatch::NoRoute => {
            let limit = state.runtime.config().limits.public_file_mib << 20;
            match public::serve(&module, &parts, rest, limit).await {
                PublicFile::Found(response) => return Ok(response),
                PublicFile::Missing => {}
                PublicFile::Refused(why) => {
                    module
                        .context
                        .metrics
                        .denied
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::warn!("public file refused: {why}");
                }
            }
            let message = format!("module '{}' declares no route for {path}", module.name());
            return Err(HttpError::new(StatusCode::NOT_FOUND, "no_route", message));
        }
    };
    let body = read_body(&parts, body, state.body_limit).await?;
    let guest_request = GuestRequest {
        method,
        path: path.to_string(),
        route: pattern,
        params,
        query: parts.uri.query().unwrap_or_default().to_string(),
        headers: guest_headers(&parts.headers),
        body: body.to_vec(),
        request_id: request_id.to_string(),
    };
    match module.handle_http(&state.runtime, &guest_request).await {
        Ok(Ok(response)) => {
            let response = into_response(response, &module)?;
            with_object(state, &module, &parts, response).await
        }
        Ok(Err(guest_error)) => Err(guest_error.into()),
        Err(error) => {
            match &error {
                InvocationError::Trap { .. } => tracing::error!("{error}"),
                _ => tracing::warn!("{error}"),
            }
            Err((&error).into())
        }
    }
}

/// A module's answer naming one of its stored objects (`x-plughost-object: KEY`) becomes
/// that object, streamed by the host with ranges and ETag; the module's other headers
/// (cache-control, content-disposition, …) are kept where the host sets none.
async fn with_object(
    state: &HttpState,
    module: &LoadedModule,
    parts: &Parts,
    mut response: Response,
) -> Result<Response, HttpError> {
    use crate::capabilities::storage::{Objects, signed};
    let Some(key) = response.headers_mut().remove(signed::OBJECT_HEADER) else {
        return Ok(response);
    };
    let Some(objects) = state.runtime.capability::<Objects>() else {
        return Err(HttpError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no_storage",
            "the module answered with a stored object, but this host runs no storage",
        ));
    };
    let key = key.to_str().unwrap_or_default().to_string();
    let head_only = parts.method == axum::http::Method::HEAD;
    let mut streamed =
        signed::module_object(objects, &module.context, &key, &parts.headers, head_only).await;
    for (name, value) in response.headers() {
        if !streamed.headers().contains_key(name) {
            streamed.headers_mut().insert(name.clone(), value.clone());
        }
    }
    Ok(streamed)
}

/// Whether the request asks to become a WebSocket.
fn is_websocket(headers: &HeaderMap) -> bool {
    headers
        .get("upgrade")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"))
}

/// The caller's id when it is a sane token, else a new UUID.
fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .filter(|v| {
            v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

fn guest_headers(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect()
}

/// Turns a module's answer into an HTTP response, validating everything it chose: the
/// status (200–599: no 1xx, no 101 upgrade), header names and values, their number and
/// size; framing and hop-by-hop headers are the host's and are dropped.
pub fn into_response(
    response: GuestResponse,
    module: &crate::runtime::LoadedModule,
) -> Result<Response, HttpError> {
    let name = module.name();
    let metrics = &module.context.metrics;
    let bad = |what: String| {
        metrics
            .bad_responses
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::error!("module '{name}' returned {what}");
        HttpError::new(
            StatusCode::BAD_GATEWAY,
            "bad_module_response",
            format!("module '{name}' returned {what}; the host refused the response"),
        )
    };
    let status = checked_status(response.status).map_err(bad)?;
    let headers = checked_headers(response.headers).map_err(bad)?;
    if headers.dropped > 0 {
        metrics
            .headers_dropped
            .fetch_add(headers.dropped, std::sync::atomic::Ordering::Relaxed);
        tracing::warn!(
            "module '{name}' set {} header(s) the host owns (framing, hop-by-hop); dropped",
            headers.dropped
        );
    }
    let mut out = Response::new(Body::from(response.body));
    *out.status_mut() = status;
    *out.headers_mut() = headers.map;
    Ok(out)
}
