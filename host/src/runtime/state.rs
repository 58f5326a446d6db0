//! The per-invocation store data, and the views that give each capability only its part.

use std::sync::Arc;
use std::time::Instant;

use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::budget::InvocationBudget;
use super::guest_output::GuestOutput;
use super::limits::MemoryLimiter;
use super::module::ModuleContext;
use crate::capabilities::events::Outbox;
use crate::capabilities::orm::{OrmSession, OrmStore};
use crate::capabilities::queue::NewJob;
use crate::capabilities::ws::{Hub, WsInvocation};
use crate::config::host_config::LimitsConfig;

/// Everything one instance may reach: WASI (granting nothing), its module's context
/// (grant, config, identity) and its memory limiter.
pub struct InvocationState {
    /// The module this instance belongs to.
    pub module: Arc<ModuleContext>,
    /// Enforces the memory cap.
    pub limiter: MemoryLimiter,
    /// The invocation's database use (its open transaction).
    pub orm: OrmSession,
    /// Events emitted, published when the invocation succeeds.
    pub outbox: Outbox,
    /// Jobs dispatched outside an ORM transaction, enqueued when the invocation succeeds.
    pub jobs: Vec<NewJob>,
    /// The WebSocket being handled, if any, and the host's sockets.
    pub ws: WsInvocation,
    /// What the invocation may still emit, dispatch and log.
    pub budget: Arc<InvocationBudget>,
    wasi: WasiCtx,
    table: ResourceTable,
}

impl InvocationState {
    /// Fresh state for one invocation of `module`.
    pub fn new(
        module: Arc<ModuleContext>,
        orm: Arc<OrmStore>,
        hub: Arc<Hub>,
        deadline: Instant,
        limits: &LimitsConfig,
    ) -> Self {
        let budget = InvocationBudget::new(module.clone(), limits);
        // No args, env, preopens or network: WasiCtxBuilder grants none of them by default.
        let wasi = WasiCtxBuilder::new()
            .stdout(GuestOutput::stdout(module.clone(), budget.clone()))
            .stderr(GuestOutput::stderr(module.clone(), budget.clone()))
            .build();
        InvocationState {
            budget,
            orm: OrmSession::new(orm, deadline),
            outbox: Outbox::default(),
            jobs: Vec::new(),
            ws: WsInvocation { hub, current: None },
            limiter: MemoryLimiter::new(module.limits.memory_bytes),
            module,
            wasi,
            table: ResourceTable::new(),
        }
    }
}

impl WasiView for InvocationState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}
