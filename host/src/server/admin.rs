//! The admin API: module states (version, grant, last error, counters), tenants, events,
//! queues, health. Every route but `/health` requires the admin bearer token.

use std::sync::Arc;

use axum::extract::{Path, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;

use super::state::HttpState;
use crate::capabilities::queue::store;
use crate::runtime::registry::ModuleStatus;

/// Only `/_admin/health`: what the public listener serves when no admin token is set.
pub fn health_only() -> Router<Arc<HttpState>> {
    Router::new()
        .route("/health", get(health))
        .fallback(not_served)
}

/// The admin API; with `token`, every route but `/health` answers 401 without
/// `Authorization: Bearer TOKEN`.
pub fn router(token: Option<Arc<str>>) -> Router<Arc<HttpState>> {
    let protected = protected_routes();
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

fn protected_routes() -> Router<Arc<HttpState>> {
    Router::new()
        .route("/modules", get(modules))
        .route("/tenants", get(tenants))
        .route("/events", get(events))
        .route("/queues", get(queues))
        .route("/ws", get(ws))
        .route("/queues/dead/{id}/retry", post(retry_dead))
}

/// WebSocket counters: connections, messages in and out, drops, rejections.
async fn ws(State(state): State<Arc<HttpState>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "metrics": state.runtime.ws_hub().metrics() }))
}

/// Jobs per queue and state, and the dead letters.
async fn queues(
    State(state): State<Arc<HttpState>>,
) -> Result<Json<serde_json::Value>, AdminError> {
    let pool = state
        .runtime
        .orm()
        .pool()
        .await
        .map_err(AdminError::unavailable)?;
    if store::ensure_table(pool).await.is_err() {
        return Ok(Json(serde_json::json!({"depths": [], "dead": []})));
    }
    let depths = store::depths(pool).await.map_err(AdminError::unavailable)?;
    let dead = store::dead(pool).await.map_err(AdminError::unavailable)?;
    Ok(Json(serde_json::json!({"depths": depths, "dead": dead})))
}

/// Re-drives one dead letter.
async fn retry_dead(
    State(state): State<Arc<HttpState>>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, AdminError> {
    let pool = state
        .runtime
        .orm()
        .pool()
        .await
        .map_err(AdminError::unavailable)?;
    if !store::retry(pool, &id)
        .await
        .map_err(AdminError::unavailable)?
    {
        return Err(AdminError(
            StatusCode::NOT_FOUND,
            format!("no dead job {id}"),
        ));
    }
    Ok(Json(serde_json::json!({"retried": id})))
}

/// An admin API failure: status and message.
struct AdminError(StatusCode, String);

impl AdminError {
    fn unavailable(e: impl std::fmt::Display) -> AdminError {
        AdminError(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the database is unavailable: {e}"),
        )
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        (
            self.0,
            Json(serde_json::json!({"error": {"status": self.0.as_u16(), "message": self.1}})),
        )
            .into_response()
    }
}

/// Topics with subscriber counts and recent events, bound subscriptions, bus counters.
async fn events(State(state): State<Arc<HttpState>>) -> Json<serde_json::Value> {
    let bus = state.runtime.events();
    let subscriptions: Vec<serde_json::Value> = bus
        .subscriptions()
        .into_iter()
        .map(|(tenant, module, pattern)| {
            serde_json::json!({"tenant": tenant, "module": module, "pattern": pattern})
        })
        .collect();
    Json(serde_json::json!({
        "topics": bus.report(),
        "subscriptions": subscriptions,
        "metrics": bus.metrics(),
    }))
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
