//! `events`: modules emit events on topics and receive those they subscribe to.
//!
//! Subscriptions are declared in `plugin.toml` (`[events] subscribe = ["order.*"]`); the
//! grant's scopes are topic patterns, covering both what a module emits and what it may
//! subscribe to. Events stay within their tenant. The embedded bus delivers in process,
//! each subscriber in its own task, after the emitting invocation succeeded.

pub mod bus;
mod host;
mod life_cycle;
pub mod outbox;
pub mod settings;
pub mod topic;

use serde::{Deserialize, Serialize};

pub use bus::EventBus;
pub use outbox::Outbox;
pub use settings::EventsConfig;

use crate::capabilities::orm::OrmSession;
use crate::runtime::bindings::plughost::platform::events;
use crate::runtime::state::PREPARED;
use crate::runtime::{CapabilityDescriptor, Handler, ModuleContext};

/// The events capability.
pub const CAPABILITY: CapabilityDescriptor = CapabilityDescriptor {
    name: "events",
    interface: "plughost:platform/events",
    standard_interfaces: &[],
    always_granted: false,
    link: |linker| {
        events::add_to_linker::<_, host::EventsCapability>(linker, |state| {
            let (outbox, orm) = state.capabilities.pair_mut::<Outbox, OrmSession>();
            host::EventsView {
                module: &state.module,
                outbox: outbox.expect(PREPARED),
                orm: orm.expect(PREPARED),
                budget: &state.budget,
            }
        })
    },
    start: Some(life_cycle::start),
    manifest_section: Some("events"),
    host_section: Some("events"),
    configure: Some(|manifest, context| {
        let spec: EventsSpec = manifest.section("events")?;
        spec.validate()?;
        context.parts.insert(Subscriptions(spec.granted(context)));
        Ok(())
    }),
    handler: Some(Handler {
        export: "event-handler",
        declared_by: "[events] subscriptions",
        declared: |manifest| {
            manifest
                .section::<EventsSpec>("events")
                .is_ok_and(|spec| !spec.subscribe.is_empty())
        },
    }),
};

/// The topic patterns a module receives (those its grant covers).
#[derive(Debug, Default)]
pub struct Subscriptions(pub Vec<String>);

/// Largest payload, in bytes.
pub const MAX_PAYLOAD: usize = 64 * 1024;

/// `[events]` in plugin.toml.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EventsSpec {
    /// Topics and patterns the module receives through its `on-event` export.
    #[serde(default)]
    pub subscribe: Vec<String>,
}

impl EventsSpec {
    /// Checks every pattern's shape.
    pub fn validate(&self) -> Result<(), String> {
        for pattern in &self.subscribe {
            topic::check_pattern(pattern).map_err(|e| format!("events.subscribe: {e}"))?;
        }
        Ok(())
    }

    /// The subscriptions the grant allows; the others are refused (logged and counted).
    pub fn granted(&self, module: &ModuleContext) -> Vec<String> {
        module.granted("events", &self.subscribe, "subscription not bound")
    }
}

impl Event {
    /// The event as a subscriber's `on-event` receives it.
    pub fn to_guest(&self) -> crate::runtime::bindings::GuestEvent {
        crate::runtime::bindings::GuestEvent {
            id: self.id.clone(),
            topic: self.topic.clone(),
            payload: self.payload.clone(),
            source: self.source.clone(),
            time: self.time.clone(),
        }
    }
}

/// One event, as subscribers, the admin API and other hosts see it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Event {
    /// Unique id.
    pub id: String,
    /// The topic.
    pub topic: String,
    /// JSON text.
    pub payload: String,
    /// The emitting module.
    pub source: String,
    /// RFC 3339, UTC.
    pub time: String,
}
