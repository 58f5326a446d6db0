//! The events' life cycle: the bus started with the host and joined to the backplane, an
//! outbox per invocation published when it succeeds (without the events of rolled-back
//! transactions), subscriptions rebound after each swap, topics in the admin API.

use std::any::Any;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::routing::get;
use futures_util::future::BoxFuture;

use super::{EventBus, Outbox};
use crate::backplane::Backplane;
use crate::capabilities::orm::OrmSession;
use crate::runtime::bindings::GuestError;
use crate::runtime::capability::RuntimeHandle;
use crate::runtime::state::PREPARED;
use crate::runtime::{
    Capability, InvocationState, LoadedModule, ModuleContext, Runtime, StartContext,
};

/// *start*: the bus, with host.toml's `[events]` history bounds.
pub fn start(context: &StartContext<'_>) -> anyhow::Result<Arc<dyn Capability>> {
    let settings = context.host.section("events").map_err(anyhow::Error::msg)?;
    Ok(Arc::new(Events {
        bus: Arc::new(EventBus::new(settings)),
    }))
}

/// The events' phases over the bus (found by others as the `EventBus`).
struct Events {
    bus: Arc<EventBus>,
}

impl Capability for Events {
    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self.bus.clone()
    }

    fn bind(&self, runtime: &RuntimeHandle) {
        self.bus.bind(Runtime::from_handle(runtime));
    }

    fn attach<'a>(
        &'a self,
        backplane: &'a Arc<dyn Backplane>,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            self.bus
                .attach(backplane.clone())
                .await
                .map_err(anyhow::Error::msg)
        })
    }

    fn prepare(&self, _module: &Arc<ModuleContext>, state: &mut InvocationState) {
        state.capabilities.insert(Outbox::default());
    }

    fn finish<'a>(
        &'a self,
        state: &'a mut InvocationState,
        succeeded: bool,
    ) -> Option<BoxFuture<'a, Result<(), GuestError>>> {
        let (outbox, orm) = state.capabilities.pair_mut::<Outbox, OrmSession>();
        let outbox = outbox.expect(PREPARED);
        if succeeded && !outbox.is_empty() {
            let events = outbox.take(orm.expect(PREPARED).rolled_back());
            self.bus.publish(&state.module.tenant, events);
        }
        None
    }

    fn serving(&self, modules: &[Arc<LoadedModule>]) {
        self.bus.rebind(modules.iter());
    }

    fn admin(self: Arc<Self>) -> Option<axum::Router> {
        Some(
            axum::Router::new()
                .route("/events", get(report))
                .with_state(self.bus.clone()),
        )
    }
}

/// Topics with subscriber counts and recent events, bound subscriptions, bus counters.
async fn report(State(bus): State<Arc<EventBus>>) -> Json<serde_json::Value> {
    let subscriptions: Vec<serde_json::Value> = bus
        .subscriptions()
        .into_iter()
        .map(|(tenant, module, pattern)| {
            serde_json::json!({"tenant": tenant, "module": module, "pattern": pattern})
        })
        .collect();
    Json(serde_json::json!({
        "topics": bus.report(),
        "subscriptions": subscriptions,
        "metrics": bus.metrics(),
    }))
}
