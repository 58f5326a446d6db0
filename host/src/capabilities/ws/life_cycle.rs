//! The WebSockets' life cycle: the hub of this host's sockets started with the host and
//! joined to the backplane, the socket being handled put into each invocation, clients
//! told to go when the host stops (then a bounded wait for their close), counters in the
//! admin API.

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::routing::get;
use futures_util::future::BoxFuture;

use super::{Hub, WsInvocation};
use crate::backplane::Backplane;
use crate::runtime::{Capability, InvocationState, ModuleContext, StartContext};

/// How long a stopping host waits for its WebSocket clients to answer the close.
const SOCKETS_DRAIN: Duration = Duration::from_secs(5);

/// *start*: an empty hub with host.toml's `[ws]` settings.
pub fn start(context: &StartContext<'_>) -> anyhow::Result<Arc<dyn Capability>> {
    let settings = context.host.section("ws").map_err(anyhow::Error::msg)?;
    Ok(Arc::new(WebSockets {
        hub: Arc::new(Hub::new(settings)),
    }))
}

/// The WebSockets' phases over the hub (found by others as the `Hub`).
struct WebSockets {
    hub: Arc<Hub>,
}

impl Capability for WebSockets {
    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self.hub.clone()
    }

    fn attach<'a>(
        &'a self,
        backplane: &'a Arc<dyn Backplane>,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            self.hub
                .attach(backplane.clone())
                .await
                .map_err(anyhow::Error::msg)
        })
    }

    fn prepare(&self, _module: &Arc<ModuleContext>, state: &mut InvocationState) {
        state.capabilities.insert(WsInvocation {
            hub: self.hub.clone(),
            current: None,
        });
    }

    /// Upgraded sockets are not HTTP requests the server waits for: tell their clients the
    /// server is going away, so they reconnect elsewhere rather than see a reset.
    fn stopping(&self) {
        self.hub.close_all(1001, "the server is shutting down");
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.hub.drained(SOCKETS_DRAIN))
    }

    fn admin(self: Arc<Self>) -> Option<axum::Router> {
        Some(
            axum::Router::new()
                .route("/ws", get(counters))
                .with_state(self.hub.clone()),
        )
    }
}

/// WebSocket counters: connections, messages in and out, drops, rejections.
async fn counters(State(hub): State<Arc<Hub>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "metrics": hub.metrics() }))
}
