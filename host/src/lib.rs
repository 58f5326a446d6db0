//! plughost: runs business modules as sandboxed WebAssembly components behind one HTTP
//! router, with capabilities granted per module and tenant, and hot swap.
//!
//! Layout: [`runtime`] (engine, limits, grants, modules, registry, swap),
//! [`capabilities`] (one folder each, same shape), [`server`] (the HTTP and WebSocket
//! front door), [`config`] (`plugin.toml`, `host.toml`), [`cli`] (the `host` command).

#![deny(missing_docs)]

pub mod backplane;
pub mod capabilities;
pub mod cli;
pub mod config;
pub mod logging;
pub mod runtime;
pub mod server;
