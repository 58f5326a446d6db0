//! The front door: one port for every module. Each module mounts at its manifest's
//! prefix and serves the routes it declares; the host matches routes, enforces the body
//! limit, tags every request with an id, serves `public/` files, answers WebSocket
//! handshakes on the namespaces modules own, and maps failures to statuses (never a
//! crash). It is ingress, not a capability: modules import nothing from it; it calls
//! their exports through the runtime.
//!
//! Files import one way: `listener` (the routers) uses `admin` and `dispatch`, which use
//! `state`, `errors`, `public` and `websocket`.

pub mod admin;
pub mod checks;
pub mod dispatch;
pub mod errors;
pub mod listener;
pub mod public;
pub mod standard;
pub mod state;
pub mod websocket;

pub use listener::{serve, serve_admin};
pub use state::HttpState;
