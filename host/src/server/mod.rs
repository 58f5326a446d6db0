//! The HTTP router: one port for every module. Each module mounts at its manifest's
//! prefix and serves the routes it declares; the host matches routes, enforces the body
//! limit, tags every request with an id, and maps failures to statuses (never a crash).

pub mod admin;
pub mod dispatch;
pub mod errors;
pub mod public;
pub mod routes;
pub mod server;

pub use server::{HttpState, serve, serve_admin};
