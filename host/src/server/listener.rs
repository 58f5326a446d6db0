//! The listeners: the admin API plus the module dispatcher on one, the admin API alone on
//! the `[admin] listen` address.

use std::sync::Arc;

use axum::Router;
use tokio::net::TcpListener;

use super::state::HttpState;
use super::{admin, dispatch};

/// The public router: everything goes to modules, except the capabilities' own public
/// routes (`/_storage/*`) and `/_admin/*`, which is the admin
/// API when host.toml sets `[admin] token` (and then only with that bearer token) and is
/// otherwise not served here at all; `/_admin/health` stays open and says only `ok`.
pub fn router(state: Arc<HttpState>) -> Router {
    let admin = match state.runtime.config().admin.token.clone() {
        Some(token) => admin::router(&state, Some(token.into())),
        None => admin::health_only(),
    };
    let mut router = Router::new().nest_service("/_admin", admin);
    for (_, capability) in state.runtime.capabilities().iter() {
        if let Some((prefix, routes)) = capability.clone().public() {
            router = router.nest_service(prefix, routes);
        }
    }
    router.fallback(dispatch::dispatch).with_state(state)
}

/// The router of the `[admin] listen` address: the admin API alone (behind the token
/// when one is set).
pub fn admin_router(state: Arc<HttpState>) -> Router {
    let token = state.runtime.config().admin.token.clone().map(Into::into);
    Router::new().nest_service("/_admin", admin::router(&state, token))
}

/// Serves the admin API alone on `listener` until `shutdown` resolves.
pub async fn serve_admin(
    listener: TcpListener,
    state: Arc<HttpState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, admin_router(state))
        .with_graceful_shutdown(shutdown)
        .await
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
