//! One HTTP request from the socket to a module and back: request id, route match, body
//! limit, invocation, status mapping.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, request::Parts};
use axum::response::Response;
use tracing::Instrument as _;
use tracing::field::Empty;

use super::errors::HttpError;
use super::routes::RouteMatch;
use super::server::HttpState;
use crate::runtime::bindings::{GuestRequest, GuestResponse};

/// Header carrying the request id, in and out.
pub const REQUEST_ID: &str = "x-request-id";

/// The fallback handler: every request not for the admin API goes to a module.
pub async fn dispatch(State(state): State<Arc<HttpState>>, request: Request) -> Response {
    let request_id = request_id(request.headers());
    let span =
        tracing::info_span!("request", request_id = %request_id, module = Empty, tenant = Empty);
    let mut response = match serve(&state, request, &request_id).instrument(span).await {
        Ok(response) => response,
        Err(error) => error.into_response(&request_id),
    };
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    response
}

async fn serve(
    state: &HttpState,
    request: Request,
    request_id: &str,
) -> Result<Response, HttpError> {
    let (parts, body) = request.into_parts();
    if is_websocket(&parts.headers)
        && state
            .registry
            .snapshot()
            .namespace(parts.uri.path())
            .is_some()
    {
        let namespace = parts.uri.path().to_string();
        let span = tracing::Span::current();
        span.record("module", "ws");
        return Ok(crate::capabilities::ws::server::accept(
            state.registry.clone(),
            state.runtime.clone(),
            parts,
            namespace,
            request_id,
        )
        .await);
    }
    let path = parts.uri.path();
    let method = parts.method.as_str();
    let (module, rest) = {
        let table = state.registry.snapshot();
        let Some((module, rest)) = table.mount_for(path) else {
            return Err(HttpError::new(
                StatusCode::NOT_FOUND,
                "no_route",
                format!("no module is mounted at {path}"),
            ));
        };
        (module.clone(), rest)
    };
    let span = tracing::Span::current();
    span.record("module", module.name());
    span.record("tenant", module.context.tenant.as_str());
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
            if let Some(response) = public_file(&module, &parts, rest).await {
                return Ok(response);
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
        Ok(Ok(response)) => into_response(response, module.name()),
        Ok(Err(guest_error)) => Err(guest_error.into()),
        Err(error) => {
            match &error {
                crate::runtime::InvocationError::Trap { .. } => tracing::error!("{error}"),
                _ => tracing::warn!("{error}"),
            }
            Err((&error).into())
        }
    }
}

/// A file of the module's `http.public` folder for a GET or HEAD no route matched;
/// tower-http's `ServeDir` keeps the path inside the folder.
async fn public_file(
    module: &crate::runtime::LoadedModule,
    parts: &Parts,
    rest: &str,
) -> Option<Response> {
    use tower::ServiceExt as _;
    let folder = module.routes.as_ref()?.public()?;
    if !matches!(parts.method.as_str(), "GET" | "HEAD") {
        return None;
    }
    let dir = module.source.dir.join(folder);
    let mut request = axum::http::Request::new(Body::empty());
    *request.method_mut() = parts.method.clone();
    *request.uri_mut() = rest.parse().ok()?;
    let response = tower_http::services::ServeDir::new(dir)
        .append_index_html_on_directories(true)
        .oneshot(request)
        .await
        .ok()?;
    if response.status() == StatusCode::NOT_FOUND {
        return None;
    }
    Some(response.map(Body::new))
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

async fn read_body(parts: &Parts, body: Body, limit: usize) -> Result<Bytes, HttpError> {
    let too_large = || {
        HttpError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body exceeds the host's limit of {limit} bytes"),
        )
    };
    let declared = parts
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        if std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
        {
            too_large()
        } else {
            HttpError::new(
                StatusCode::BAD_REQUEST,
                "bad_body",
                format!("cannot read the request body: {e}"),
            )
        }
    })
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

fn into_response(response: GuestResponse, module: &str) -> Result<Response, HttpError> {
    let bad = |what: String| {
        tracing::error!("module '{module}' returned {what}");
        HttpError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "bad_module_response",
            format!("module '{module}' returned {what}"),
        )
    };
    let status = StatusCode::from_u16(response.status)
        .map_err(|_| bad(format!("invalid status {}", response.status)))?;
    let mut out = Response::new(Body::from(response.body));
    *out.status_mut() = status;
    for (name, value) in response.headers {
        let header_name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| bad(format!("invalid header name {name:?}")))?;
        let header_value = HeaderValue::from_str(&value)
            .map_err(|_| bad(format!("invalid value for header {name}")))?;
        out.headers_mut().append(header_name, header_value);
    }
    Ok(out)
}
