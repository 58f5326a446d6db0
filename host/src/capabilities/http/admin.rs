//! The admin API: module states (version, grant, last error, counters) and health.

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
}

async fn health() -> &'static str {
    "ok"
}

async fn modules(State(state): State<Arc<HttpState>>) -> Json<Vec<ModuleStatus>> {
    Json(state.registry.statuses())
}
