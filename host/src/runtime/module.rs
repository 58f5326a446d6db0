//! A loaded module version: its context (what every instance sees), its pre-linked
//! component, the handlers it exports and its compiled routes.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use wasmtime::component::InstancePre;

pub use super::context::{ModuleContext, ModuleMetrics, PathClaim};

use super::bindings::guest_exports;
use super::routes::ModuleRoutes;
use super::state::InvocationState;
use super::warm::WarmPool;

/// The export an unmodified `wasi:http` component serves requests with.
pub const INCOMING_HANDLER: &str = "wasi:http/incoming-handler";

/// How an unmodified `wasi:http` component serves requests: the WASI 0.2 export
/// (`wasi:http/incoming-handler@0.2.x`) or the WASI 0.3 one (`wasi:http/handler@0.3.0`).
#[derive(Clone)]
pub enum StandardHttp {
    /// `wasi:http/incoming-handler@0.2.x`.
    P2(wasmtime_wasi_http::p2::bindings::ProxyIndices),
    /// `wasi:http/handler@0.3.0`.
    P3(wasmtime_wasi_http::p3::bindings::ServiceIndices),
}

/// One loaded version of a module, ready to instantiate.
pub struct LoadedModule {
    /// What instances see.
    pub context: Arc<ModuleContext>,
    /// The pre-linked component.
    pub pre: InstancePre<InvocationState>,
    /// Which handlers it exports.
    pub exports: ModuleExports,
    /// The module's HTTP mount and routes, when it serves HTTP.
    pub routes: Option<ModuleRoutes>,
    /// Where it was loaded from.
    pub source: ModuleSource,
    /// Its idle instances, when its manifest opts in to reuse.
    pub warm: Option<Arc<WarmPool>>,
}

/// The handlers a component exports, looked up once when it loads.
pub struct ModuleExports {
    /// `http-handler`.
    pub http: Option<guest_exports::HttpHandler>,
    /// `event-handler`.
    pub events: Option<guest_exports::EventHandler>,
    /// `job-handler`.
    pub jobs: Option<guest_exports::JobHandler>,
    /// `ws-handler`.
    pub ws: Option<guest_exports::WsHandler>,
    /// `wasi:http/incoming-handler@0.2.x` or `wasi:http/handler@0.3.0`: an unmodified
    /// standard component.
    pub wasi_http: Option<StandardHttp>,
}

impl ModuleExports {
    /// Whether the component exports `plughost:platform/{export}` (e.g. `event-handler`),
    /// or, for `wasi:http/incoming-handler`, a standard `wasi:http` export (0.2 or 0.3).
    pub fn has(&self, export: &str) -> bool {
        match export {
            "http-handler" => self.http.is_some(),
            "event-handler" => self.events.is_some(),
            "job-handler" => self.jobs.is_some(),
            "ws-handler" => self.ws.is_some(),
            INCOMING_HANDLER => self.wasi_http.is_some(),
            _ => false,
        }
    }
}

/// Files a module version was loaded from.
#[derive(Debug, Clone, Serialize)]
pub struct ModuleSource {
    /// The module's folder.
    pub dir: PathBuf,
    /// The component file.
    pub component: PathBuf,
    /// SHA-256 of manifest and component, to skip reloading unchanged files.
    pub fingerprint: String,
}

impl LoadedModule {
    /// The module's name.
    pub fn name(&self) -> &str {
        &self.context.name
    }
}
