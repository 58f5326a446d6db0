//! The life cycle every capability implements, and the list of started capabilities the
//! runtime drives. The runtime names no capability: it calls these phases, in the order
//! of the list the host was built with (`capabilities::ALL`), and nothing else.
//!
//! | phase | what a capability does |
//! | --- | --- |
//! | *link* | adds its WIT interface's host functions to the shared linker |
//! | *start* | parses and checks its `host.toml` section, opens its backends |
//! | *bind* / *attach* | keeps a handle on the runtime; joins the backplane |
//! | *load* | its work when a module loads: migrations, tables |
//! | *prepare* | puts its per-invocation state into the store |
//! | *finish* | ends its part of an invocation, in list order: ORM commit, then jobs, then events |
//! | *serving* | learns the modules serving after every swap and unload |
//! | *stopping* / *shutdown* | tells its clients the host goes away; drains, bounded in time |
//! | *admin* / *counters* | its routes under `/_admin`, its counters |

use std::any::Any;
use std::sync::{Arc, Weak};

use futures_util::future::BoxFuture;
use wasmtime::component::Linker;

use super::bindings::GuestError;
use super::module::{LoadedModule, ModuleContext};
use super::state::InvocationState;
use crate::backplane::Backplane;
use crate::config::{HostConfig, Manifest};

/// How the host knows a capability: its names, its linking, and how it starts.
pub struct CapabilityDescriptor {
    /// Name used in `plugin.toml` `[capabilities]`, `host.toml` tenant allowances and denials.
    pub name: &'static str,
    /// The WIT interface it provides, without version (`plughost:platform/config`).
    pub interface: &'static str,
    /// Standard interfaces it also provides to third-party components, without version
    /// (`wasi:config/store`).
    pub standard_interfaces: &'static [&'static str],
    /// Granted to every module without a request (e.g. logging).
    pub always_granted: bool,
    /// Adds the interface's host functions to the shared linker.
    pub link: fn(&mut Linker<InvocationState>) -> wasmtime::Result<()>,
    /// Starts what the capability keeps for the host's life; `None` for one that keeps
    /// nothing (its host functions need only the module's context).
    pub start: Option<StartFn>,
    /// Its section of `plugin.toml` (`[models]`, `[events]`, …), if it has one.
    pub manifest_section: Option<&'static str>,
    /// Its section of `host.toml` (`[events]`, `[queue]`, …), if it has one; read by its
    /// *start* with [`HostConfig::section`].
    pub host_section: Option<&'static str>,
    /// *configure*: reads its section of a loading module's manifest into the module's
    /// context (validated; what the grant does not cover is refused, logged and
    /// counted), before any instance sees it. `None` for one without a section.
    pub configure: Option<ConfigureFn>,
    /// The guest export a module must have when its manifest relies on this capability
    /// calling it (subscriptions need `event-handler`), checked at load and by `host check`.
    pub handler: Option<Handler>,
}

/// A guest export a capability calls, and when a manifest relies on it.
pub struct Handler {
    /// The export's interface name in `plughost:platform`, e.g. `event-handler`.
    pub export: &'static str,
    /// What in the manifest relies on it, for the message, e.g. `[events] subscriptions`.
    pub declared_by: &'static str,
    /// Whether a manifest declares it.
    pub declared: fn(&Manifest) -> bool,
}

/// Reads a capability's section of a manifest into a module's context.
pub type ConfigureFn = fn(&Manifest, &mut ModuleContext) -> Result<(), String>;

/// The message for a capability name that none of `list` has.
pub fn unknown(list: &[CapabilityDescriptor], name: &str) -> String {
    let known: Vec<&str> = list.iter().map(|c| c.name).collect();
    format!(
        "unknown capability '{name}'; this host provides: {}",
        known.join(", ")
    )
}

/// Runs every capability's *configure* of `list` on a module's context, after refusing
/// a manifest key that neither the host nor any capability of `list` reads.
pub fn configure(
    list: &[CapabilityDescriptor],
    manifest: &Manifest,
    context: &mut ModuleContext,
) -> Result<(), String> {
    let sections: Vec<&str> = list.iter().filter_map(|c| c.manifest_section).collect();
    manifest.unknown_sections(&sections)?;
    for configure in list.iter().filter_map(|c| c.configure) {
        configure(manifest, context)?;
    }
    Ok(())
}

/// Starts a capability: its phases, ready for the runtime to drive.
pub type StartFn = fn(&StartContext<'_>) -> anyhow::Result<Arc<dyn Capability>>;

/// What a starting capability sees: the host's configuration and the capabilities
/// started before it (earlier in the list), e.g. the ORM's database for the queue.
pub struct StartContext<'a> {
    /// The host configuration.
    pub host: &'a HostConfig,
    /// The capabilities started so far.
    pub started: &'a Capabilities,
}

/// The phases of a started capability; each has a default that does nothing.
pub trait Capability: Send + Sync + 'static {
    /// The capability as `Any`, for [`Capabilities::get`].
    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;

    /// Keeps a handle on the runtime, once it exists (see [`RuntimeHandle`]).
    fn bind(&self, _runtime: &RuntimeHandle) {}

    /// Joins the backplane the host's instances share.
    fn attach<'a>(
        &'a self,
        _backplane: &'a Arc<dyn Backplane>,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async { Ok(()) })
    }

    /// Its work when a module version loads, after the component validated and before it
    /// serves (a failure refuses the version: the message names what to fix).
    fn load<'a>(&'a self, _module: &'a LoadedModule) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async { Ok(()) })
    }

    /// Puts its per-invocation state into a fresh store.
    fn prepare(&self, _module: &Arc<ModuleContext>, _state: &mut InvocationState) {}

    /// Ends its part of an invocation whose guest call returned (`succeeded`: without
    /// error): what it can do at once it does here, and it returns the work left to
    /// await, if any (most invocations leave none, so no future is built for them). An
    /// error stops the capabilities after it and becomes the invocation's.
    fn finish<'a>(
        &'a self,
        _state: &'a mut InvocationState,
        _succeeded: bool,
    ) -> Option<BoxFuture<'a, Result<(), GuestError>>> {
        None
    }

    /// The modules serving now, after a swap, a load or an unload.
    fn serving(&self, _modules: &[Arc<LoadedModule>]) {}

    /// The host is stopping: tell clients that are not HTTP requests (sockets) to go.
    fn stopping(&self) {}

    /// Waits, bounded in time, for what it must drain before the process ends.
    fn shutdown(&self) -> BoxFuture<'_, ()> {
        Box::pin(async {})
    }

    /// Routes it serves to anyone on the public listener, nested under the prefix it
    /// names (`/_storage`; module prefixes never start with `/_`).
    fn public(self: Arc<Self>) -> Option<(&'static str, axum::Router)> {
        None
    }

    /// Its admin routes, nested under `/_admin` behind the admin token.
    fn admin(self: Arc<Self>) -> Option<axum::Router> {
        None
    }
}

/// The runtime as a capability's *bind* receives it: weak, since the runtime owns its
/// capabilities, and as `Any`, since the runtime holds this file's types and so this file
/// cannot name it; `Runtime::from_handle` turns it back into the runtime.
pub type RuntimeHandle = Weak<dyn Any + Send + Sync>;

/// One started capability.
struct Started {
    name: &'static str,
    phases: Arc<dyn Capability>,
    any: Arc<dyn Any + Send + Sync>,
}

/// The started capabilities, in list order.
#[derive(Default)]
pub struct Capabilities {
    started: Vec<Started>,
}

impl Capabilities {
    /// Starts each capability of `list` that keeps state, in order.
    /// Refuses a host.toml key or tenant allowance that no capability of `list` reads.
    pub fn start(host: &HostConfig, list: &[CapabilityDescriptor]) -> anyhow::Result<Self> {
        let sections: Vec<&str> = list.iter().filter_map(|c| c.host_section).collect();
        let names: Vec<&str> = list.iter().map(|c| c.name).collect();
        host.unknown_names(&sections, &names, |name| unknown(list, name))
            .map_err(anyhow::Error::msg)?;
        let mut capabilities = Capabilities::default();
        for descriptor in list {
            let Some(start) = descriptor.start else {
                continue;
            };
            let context = StartContext {
                host,
                started: &capabilities,
            };
            let phases = start(&context).map_err(|e| {
                e.context(format!("cannot start the {} capability", descriptor.name))
            })?;
            capabilities.started.push(Started {
                name: descriptor.name,
                any: phases.clone().as_any(),
                phases,
            });
        }
        Ok(capabilities)
    }

    /// The started capability of type `T` (its own crate-level type, e.g. the event bus).
    pub fn get<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.started
            .iter()
            .find_map(|s| s.any.clone().downcast::<T>().ok())
    }

    /// How many capabilities started.
    pub fn len(&self) -> usize {
        self.started.len()
    }

    /// Whether none started.
    pub fn is_empty(&self) -> bool {
        self.started.is_empty()
    }

    /// Every started capability with its name, in list order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &Arc<dyn Capability>)> {
        self.started.iter().map(|s| (s.name, &s.phases))
    }
}

/// An admin API failure as every admin route answers it: the status and
/// `{"error": {"status", "message"}}`.
pub fn admin_error(
    status: axum::http::StatusCode,
    message: impl Into<String>,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let body = serde_json::json!({"error": {"status": status.as_u16(), "message": message.into()}});
    (status, axum::Json(body)).into_response()
}
