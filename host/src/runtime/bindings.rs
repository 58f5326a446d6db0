//! Host bindings generated from `wit/`, the single source of the ABI.

#![allow(missing_docs)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "plughost:platform/service@0.1.0",
    imports: {
        "plughost:platform/orm": async,
        "plughost:platform/queue": async,
        "plughost:platform/storage": async,
        "plughost:platform/mail": async,
    },
    exports: { default: async },
    additional_derives: [PartialEq],
});

pub use plughost::platform::event_types::Event as GuestEvent;
pub use plughost::platform::http_types::{Request as GuestRequest, Response as GuestResponse};
pub use plughost::platform::job_types::Job as GuestJob;
pub use plughost::platform::types::Error as GuestError;
pub use plughost::platform::ws_types::{Connection as GuestConnection, Message as GuestMessage};

/// The exported interfaces the host may call, each optional: a component exports those
/// its world has (`module`: HTTP only; `service`: HTTP, events and jobs).
pub mod guest_exports {
    pub use super::exports::plughost::platform::event_handler::GuestIndices as EventHandler;
    pub use super::exports::plughost::platform::http_handler::GuestIndices as HttpHandler;
    pub use super::exports::plughost::platform::job_handler::GuestIndices as JobHandler;
    pub use super::exports::plughost::platform::ws_handler::GuestIndices as WsHandler;
}

/// The error vocabulary shared with [`InvocationError`](super::InvocationError): the same
/// `code()` reaches an HTTP body, a WebSocket error frame and a job's or event's failure.
impl GuestError {
    /// A stable short code: `denied`, `invalid`, `not_found` or `internal`.
    pub fn code(&self) -> &'static str {
        match self {
            GuestError::Denied(_) => "denied",
            GuestError::Invalid(_) => "invalid",
            GuestError::NotFound(_) => "not_found",
            GuestError::Internal(_) => "internal",
        }
    }

    /// What went wrong, as the module or the host said it.
    pub fn message(&self) -> &str {
        match self {
            GuestError::Denied(m)
            | GuestError::Invalid(m)
            | GuestError::NotFound(m)
            | GuestError::Internal(m) => m,
        }
    }

    /// Code and message on one line: `internal: failing attempt 2`.
    pub fn summary(&self) -> String {
        format!("{}: {}", self.code(), self.message())
    }
}
