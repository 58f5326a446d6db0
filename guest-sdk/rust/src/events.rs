//! Events: emit on a topic (within the module's `events` grant), receive the subscribed
//! ones through [`crate::Module::on_event`].
//!
//! ```ignore
//! plughost_sdk::events::emit("order.created.v1", &serde_json::json!({"id": 7}))?;
//! ```

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Error, Result};

/// An event delivered to a subscriber: id, topic, JSON payload, source module, time.
pub use crate::bindings::plughost::platform::event_types::Event;

/// Emits `payload` as JSON on `topic`; returns the event id. It is delivered only if the
/// current invocation succeeds (and not if it was emitted inside an ORM transaction that
/// was rolled back).
pub fn emit(topic: &str, payload: &impl Serialize) -> Result<String> {
    let json = serde_json::to_string(payload)
        .map_err(|e| Error::Invalid(format!("the payload does not serialise: {e}")))?;
    crate::bindings::plughost::platform::events::emit(topic, &json)
}

impl Event {
    /// The payload parsed into `T`; `invalid` naming the topic when it does not fit.
    pub fn payload_as<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_str(&self.payload).map_err(|e| {
            Error::Invalid(format!(
                "the payload of event {} on '{}' does not fit: {e}",
                self.id, self.topic
            ))
        })
    }
}
