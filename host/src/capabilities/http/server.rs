//! The HTTP server: the admin API plus the module dispatcher on one listener.

use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

use super::{admin, dispatch};
use crate::runtime::{ModuleRegistry, Runtime};

/// What request handling needs.
pub struct HttpState {
    /// The modules.
    pub registry: Arc<ModuleRegistry>,
    /// The runtime (engine, linker).
    pub runtime: Arc<Runtime>,
    /// Largest accepted body.
    pub body_limit: usize,
}

/// The router: `/_admin/*` for the host, everything else to modules.
pub fn router(state: Arc<HttpState>) -> Router {
    Router::new()
        .nest("/_admin", admin::router())
        .fallback(dispatch::dispatch)
        .with_state(state)
}

/// Serves until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    state: Arc<HttpState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt as _;
    // Small frames (WebSocket messages, short answers) go out at once instead of waiting
    // for the peer's delayed ACK.
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {error}");
        }
    });
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
