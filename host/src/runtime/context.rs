//! What every instance of one module version sees of its module: identity, tenant,
//! grant, config, limits, the capabilities' parts and claims, and the module's counters.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use super::extensions::ModuleParts;
use super::grants::{Denied, Grant};
use super::limits::InvocationLimits;

/// What every instance of one module version may see of its module.
#[derive(Debug)]
pub struct ModuleContext {
    /// Module name.
    pub name: String,
    /// Module version from its manifest.
    pub version: String,
    /// Tenant name.
    pub tenant: String,
    /// The effective grant.
    pub grant: Grant,
    /// Config values: manifest `[config]` overridden by host.toml.
    pub config: BTreeMap<String, String>,
    /// Per-invocation limits.
    pub limits: InvocationLimits,
    /// Counters shared by every version of the module.
    pub metrics: Arc<ModuleMetrics>,
    /// Each capability's part of the module (ORM schema, subscriptions, namespaces…),
    /// set by its *configure*.
    pub parts: ModuleParts,
    /// Paths the module owns besides its HTTP prefix (WebSocket namespaces), set by
    /// capabilities at *configure*; no two modules may own the same one.
    pub claims: Vec<PathClaim>,
    /// Jobs the tenant's queue may hold (host.toml `tenants.NAME.max-queued-jobs`).
    pub max_queued_jobs: u64,
    /// Under `host dev` only: the module's source folder, mounted read-only at `/0` in
    /// its instances (guest-sdk/python/plughost_component_dev.py).
    pub dev_sources: Option<std::path::PathBuf>,
}

/// An exact path a module owns besides its HTTP prefix, e.g. a WebSocket namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathClaim {
    /// The path (`/chat`).
    pub path: String,
    /// What it is, for messages (`WebSocket namespace`).
    pub kind: &'static str,
}

impl ModuleContext {
    /// The part `T` a capability's *configure* set.
    pub fn part<T: std::any::Any>(&self) -> Option<&T> {
        self.parts.get::<T>()
    }

    /// Checks the grant, counting and logging a refusal.
    pub fn check(&self, capability: &str, resource: &str) -> Result<(), Denied> {
        self.grant
            .check(capability, resource)
            .inspect_err(|denied| {
                self.metrics.denied.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(module = %self.name, tenant = %self.tenant, "denied {denied}");
            })
    }
}

impl ModuleContext {
    /// The `items` (topic patterns, queues, namespaces…) the grant covers for `capability`;
    /// each refused one is logged and counted.
    pub fn granted(&self, capability: &str, items: &[String], what: &str) -> Vec<String> {
        items
            .iter()
            .filter(|item| match self.check(capability, item) {
                Ok(()) => true,
                Err(denied) => {
                    tracing::warn!(module = %self.name, tenant = %self.tenant, "{what}: {denied}");
                    false
                }
            })
            .cloned()
            .collect()
    }
}

/// Counters of one module, kept across its versions.
#[derive(Debug, Default, Serialize)]
pub struct ModuleMetrics {
    /// Invocations started.
    pub invocations: AtomicU64,
    /// Invocations that trapped.
    pub traps: AtomicU64,
    /// Invocations stopped at their deadline.
    pub timeouts: AtomicU64,
    /// Invocations stopped at their memory cap.
    pub memory_cap_hits: AtomicU64,
    /// Capability calls refused by the grant.
    pub denied: AtomicU64,
    /// Events the module failed to handle (error, trap or timeout).
    pub event_failures: AtomicU64,
    /// Job attempts that failed (error, trap or timeout).
    pub job_failures: AtomicU64,
    /// HTTP responses refused (bad status, bad or too many headers).
    pub bad_responses: AtomicU64,
    /// Framing and hop-by-hop headers dropped from responses.
    pub headers_dropped: AtomicU64,
    /// Log lines dropped beyond the per-invocation bounds.
    pub log_lines_dropped: AtomicU64,
    /// Calls refused for exceeding a per-invocation or per-tenant bound.
    pub over_limit: AtomicU64,
}
