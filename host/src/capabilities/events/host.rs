//! The `events` interface: checks topic, grant and payload, then holds the event in the
//! invocation's outbox until the invocation ends.

use wasmtime::component::HasData;

use super::outbox::Outbox;
use super::{Event, MAX_PAYLOAD, topic};
use crate::capabilities::orm::OrmSession;
use crate::capabilities::orm::value::{format_datetime, now};
use crate::runtime::ModuleContext;
use crate::runtime::bindings::GuestError;
use crate::runtime::bindings::plughost::platform::events::Host;
use crate::runtime::budget::InvocationBudget;

/// Marker tying the interface to its view.
pub struct EventsCapability;

impl HasData for EventsCapability {
    type Data<'a> = EventsView<'a>;
}

/// What emitting sees: the module, its outbox, and which ORM transaction is open.
pub struct EventsView<'a> {
    pub module: &'a ModuleContext,
    pub outbox: &'a mut Outbox,
    pub orm: &'a OrmSession,
    pub budget: &'a InvocationBudget,
}

impl Host for EventsView<'_> {
    fn emit(&mut self, topic: String, payload: String) -> Result<String, GuestError> {
        topic::check_topic(&topic).map_err(GuestError::Invalid)?;
        self.module
            .check("events", &topic)
            .map_err(|denied| GuestError::Denied(denied.to_string()))?;
        if payload.len() > MAX_PAYLOAD {
            return Err(GuestError::Invalid(format!(
                "the payload on '{topic}' is {} bytes; events carry at most {MAX_PAYLOAD} bytes \
                 (store large data and send its id)",
                payload.len()
            )));
        }
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&payload) {
            return Err(GuestError::Invalid(format!(
                "the payload on '{topic}' is not JSON: {e}"
            )));
        }
        self.budget
            .event(payload.len() + topic.len())
            .map_err(GuestError::Invalid)?;
        let id = uuid::Uuid::new_v4().to_string();
        let event = Event {
            id: id.clone(),
            topic,
            payload,
            source: self.module.name.clone(),
            time: format_datetime(now()),
        };
        self.outbox.push(self.orm.current_transaction(), event);
        Ok(id)
    }
}
