//! The admin API: module states (version, grant, last error, counters), tenants, health,
//! and each capability's own routes (events, queues, ws). Every route but `/health`
//! requires the admin bearer token.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

use super::state::HttpState;
use crate::runtime::capability::admin_error;
use crate::runtime::registry::ModuleStatus;

/// Only `/_admin/health`: what the public listener serves when no admin token is set.
pub fn health_only() -> Router {
    Router::new()
        .route("/health", get(health))
        .fallback(not_served)
}

/// The admin API; with `token`, every route but `/health` answers 401 without
/// `Authorization: Bearer TOKEN`.
pub fn router(state: &Arc<HttpState>, token: Option<Arc<str>>) -> Router {
    let protected = protected_routes(state);
    let protected = match token {
        Some(token) => protected.layer(middleware::from_fn(move |request: Request, next: Next| {
            let token = token.clone();
            async move { authorize(&token, request, next).await }
        })),
        None => protected,
    };
    Router::new()
        .route("/health", get(health))
        .merge(protected)
        .fallback(unknown_route)
}

async fn unknown_route() -> AdminError {
    AdminError(StatusCode::NOT_FOUND, "no such admin route".into())
}

async fn not_served() -> AdminError {
    AdminError(
        StatusCode::NOT_FOUND,
        "the admin API is not served on this listener; set [admin] token (and send \
         `Authorization: Bearer TOKEN`) or [admin] listen in host.toml"
            .into(),
    )
}

/// Lets the request through when it carries the admin token; compares in constant time
/// (over digests, so the token's length does not leak either).
async fn authorize(token: &str, request: Request, next: Next) -> Response {
    let offered = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    let expected = Sha256::digest(token.as_bytes());
    let given = Sha256::digest(offered.as_bytes());
    if bool::from(expected.ct_eq(&given)) && !offered.is_empty() {
        return next.run(request).await;
    }
    tracing::warn!(path = %request.uri().path(), "admin API request refused: missing or wrong token");
    let mut response = AdminError(
        StatusCode::UNAUTHORIZED,
        "the admin API needs `Authorization: Bearer TOKEN` with the token of host.toml's [admin] section".into(),
    )
    .into_response();
    response.headers_mut().insert(
        "www-authenticate",
        axum::http::HeaderValue::from_static("Bearer"),
    );
    response
}

/// The host's own routes, and each capability's (events, queues, ws, …).
fn protected_routes(state: &Arc<HttpState>) -> Router {
    let mut routes = Router::new()
        .route("/modules", get(modules))
        .route("/tenants", get(tenants))
        .with_state(state.clone());
    for (_, capability) in state.runtime.capabilities().iter() {
        if let Some(admin) = capability.clone().admin() {
            routes = routes.merge(admin);
        }
    }
    routes
}

/// An admin API failure: status and message.
struct AdminError(StatusCode, String);

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        admin_error(self.0, self.1)
    }
}

/// Each tenant: its folders, invocations running, slots and counters.
async fn tenants(State(state): State<Arc<HttpState>>) -> Json<serde_json::Value> {
    let runtime = &state.runtime;
    Json(serde_json::json!(
        runtime.tenants().report(runtime.config())
    ))
}

async fn health() -> &'static str {
    "ok"
}

async fn modules(State(state): State<Arc<HttpState>>) -> Json<Vec<ModuleStatus>> {
    Json(state.registry.statuses())
}
