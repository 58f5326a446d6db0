//! The admin API: module states (version, grant, last error, counters), events, health.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

use super::server::HttpState;
use crate::runtime::registry::ModuleStatus;

/// `/_admin/health` and `/_admin/modules`.
pub fn router() -> Router<Arc<HttpState>> {
    Router::new()
        .route("/health", get(health))
        .route("/modules", get(modules))
        .route("/events", get(events))
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
