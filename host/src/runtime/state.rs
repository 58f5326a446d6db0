//! The per-invocation store data, and the views that give each capability only its part.

use std::sync::Arc;
use std::time::Instant;

use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView};

use super::budget::InvocationBudget;
use super::context::ModuleContext;
use super::extensions::Extensions;
use super::guest_output::GuestOutput;
use super::limits::MemoryLimiter;
use super::outbound::{DenyOutbound, OutboundHooks};
use crate::config::host_config::LimitsConfig;

/// Everything one instance may reach: WASI (granting nothing), its module's context
/// (grant, config, identity), its memory limiter, its budget, and each capability's
/// part of the invocation (put there by the capability's *prepare*).
pub struct InvocationState {
    /// The module this instance belongs to.
    pub module: Arc<ModuleContext>,
    /// Enforces the memory cap.
    pub limiter: MemoryLimiter,
    /// What the invocation may still emit, dispatch and log.
    pub budget: Arc<InvocationBudget>,
    /// When the invocation ends, host calls included.
    pub deadline: Instant,
    /// Each capability's per-invocation state, by type.
    pub capabilities: Extensions,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    deny_outbound: DenyOutbound,
    table: ResourceTable,
}

impl InvocationState {
    /// Fresh state for one invocation of `module` ending at `deadline`, before any
    /// capability prepared its part.
    pub fn new(
        module: Arc<ModuleContext>,
        deadline: Instant,
        limits: &LimitsConfig,
        capabilities: usize,
    ) -> Self {
        let budget = InvocationBudget::new(module.clone(), limits);
        // No args, env, preopens or network: WasiCtxBuilder grants none of them by default.
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdout(GuestOutput::stdout(module.clone(), budget.clone()))
            .stderr(GuestOutput::stderr(module.clone(), budget.clone()));
        if let Some(sources) = &module.dev_sources {
            mount_dev_sources(&mut wasi, sources);
        }
        let wasi = wasi.build();
        InvocationState {
            budget,
            limiter: MemoryLimiter::new(module.limits.memory_bytes),
            deadline,
            capabilities: Extensions::with_capacity(capabilities),
            module,
            wasi,
            http: WasiHttpCtx::new(),
            deny_outbound: DenyOutbound,
            table: ResourceTable::new(),
        }
    }

    /// Makes the per-invocation state afresh for the next invocation of a warm instance:
    /// a new deadline, a full budget, no capability parts (each capability prepares its
    /// part again). The WASI context and the resource table stay with the instance.
    pub fn renew(&mut self, deadline: Instant, capabilities: usize) {
        self.deadline = deadline;
        self.budget.renew();
        self.capabilities = Extensions::with_capacity(capabilities);
    }

    /// The part of capability state `T`; prepared for every invocation by its capability,
    /// so a missing one is a bug of the host, not of the module.
    pub fn part<T: std::any::Any>(&mut self) -> &mut T {
        self.capabilities.get_mut::<T>().expect(PREPARED)
    }
}

/// `host dev` only (the host sets `dev_sources` itself; no file can): the module's own
/// source folder, read-only, where componentize-py mounted it while building.
fn mount_dev_sources(wasi: &mut WasiCtxBuilder, sources: &std::path::Path) {
    match wasi.preopened_dir(sources, "/0", wasmtime_wasi::FsPerms::ReadOnly) {
        Ok(_) => {
            wasi.env("PLUGHOST_DEV_SOURCES", "/0");
        }
        Err(e) => {
            tracing::warn!(dir = %sources.display(), "cannot mount the module's sources: {e}")
        }
    }
}

/// Why a capability's part can be taken for granted in its host functions.
pub const PREPARED: &str = "every capability prepares its part of each invocation";

impl WasiView for InvocationState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// `wasi:http` over the same resource table as WASI. Outgoing requests go through the
/// hooks a capability prepared for this invocation, or are all refused.
impl WasiHttpView for InvocationState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        let hooks: &mut dyn WasiHttpHooks = match self.capabilities.get_mut::<OutboundHooks>() {
            Some(granted) => granted.0.as_mut(),
            None => &mut self.deny_outbound,
        };
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks,
        }
    }
}
