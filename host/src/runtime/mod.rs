//! The component runtime: engine, limits, grants, loaded modules, the registry that
//! routes to them, hot swap, one invocation from start to end, and warm instances.

pub mod bindings;
pub mod budget;
pub mod capability;
pub mod compile_cache;
pub mod context;
pub mod engine;
pub mod extensions;
pub mod folder;
pub mod grants;
pub mod guest_output;
pub mod invocation;
pub mod limits;
pub mod loader;
pub mod module;
pub mod outbound;
pub mod rate;
pub mod registry;
pub mod routes;
pub mod state;
pub mod tenants;
pub mod warm;
pub mod wasi_http;
pub mod watcher;

pub use capability::{Capabilities, Capability, CapabilityDescriptor, Handler, StartContext};
pub use engine::Runtime;
pub use grants::{Denied, Grant};
pub use invocation::InvocationError;
pub use limits::InvocationLimits;
pub use module::{LoadedModule, ModuleContext};
pub use registry::ModuleRegistry;
pub use state::InvocationState;
