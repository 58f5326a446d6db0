//! What every request handler of the front door shares.

use std::sync::Arc;

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
