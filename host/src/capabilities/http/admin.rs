//! The admin API: module states (version, grant, last error, counters), events, health.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};

use super::server::HttpState;
use crate::capabilities::queue::store;
use crate::runtime::registry::ModuleStatus;

/// `/_admin/health` and `/_admin/modules`.
pub fn router() -> Router<Arc<HttpState>> {
    Router::new()
        .route("/health", get(health))
        .route("/modules", get(modules))
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

async fn health() -> &'static str {
    "ok"
}

async fn modules(State(state): State<Arc<HttpState>>) -> Json<Vec<ModuleStatus>> {
    Json(state.registry.statuses())
}
