//! Write plughost modules in Rust.
//!
//! The bindings are generated from the platform's WIT (`wit/`, a link to the repository's
//! `wit/` folder); this crate adds a small router and helpers so a module is a few lines:
//!
//! ```ignore
//! use plughost_sdk::http::{Request, Response, Router};
//!
//! struct Hello;
//!
//! impl plughost_sdk::Module for Hello {
//!     fn routes(router: Router) -> Router {
//!         router.get("/{name}", |req: Request| {
//!             Ok(Response::text(format!("Hello, {}!", req.param("name").unwrap_or("world"))))
//!         })
//!     }
//! }
//!
//! plughost_sdk::export_module!(Hello);
//! ```

// The bindings name this crate by its path, as a user crate would.
extern crate self as plughost_sdk;

pub mod config;
pub mod events;
pub mod http;
pub mod log;
pub mod mail;
pub mod orm;
pub mod queue;
pub mod storage;
pub mod ws;

/// Generated bindings for the `plughost:platform/service@0.1.0` world (HTTP, events, jobs).
#[allow(unsafe_code, missing_docs, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        path: "wit",
        world: "plughost:platform/service@0.1.0",
        pub_export_macro: true,
        export_macro_name: "__export_module_bindings",
        default_bindings_module: "plughost_sdk::bindings",
        runtime_path: "plughost_sdk::__wit_bindgen::rt",
        generate_all,
    });
}

#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

/// The error a capability returns and a handler may return; the host maps it to a status.
pub use bindings::plughost::platform::types::Error;

/// Result with the platform's [`Error`].
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// A module: the routes it serves and the events it handles. The host matches requests
/// against the routes declared in `plugin.toml`; `routes` binds each declared route to a
/// handler. The host calls `on_event` with the events of the topics the manifest subscribes
/// to (`[events] subscribe`).
pub trait Module {
    /// Adds this module's handlers to `router`.
    fn routes(router: http::Router) -> http::Router {
        router
    }

    /// Handles one event of a subscribed topic. An error is logged and counted by the host.
    fn on_event(event: events::Event) -> Result<()> {
        Err(Error::NotFound(format!(
            "this module handles no events (got {} on '{}'); implement Module::on_event",
            event.id, event.topic
        )))
    }

    /// Handles one attempt at a job of a queue the manifest handles (`[queue] handles`).
    /// An error fails the attempt: the host retries it later, or makes it a dead letter.
    fn handle_job(job: queue::Job) -> Result<()> {
        Err(Error::NotFound(format!(
            "this module handles no jobs (got {} of queue '{}'); implement Module::handle_job",
            job.id, job.queue
        )))
    }

    /// A client connects to one of the module's namespaces (`[ws] namespaces`); an error
    /// refuses it. Accepts everyone by default (the host already checked the token).
    fn on_connect(_connection: ws::Connection) -> Result<()> {
        Ok(())
    }

    /// A client sent `{"event", "data", "id"?}`; an error goes back to it as an error frame.
    fn on_message(_connection: ws::Connection, message: ws::Message) -> Result<()> {
        Err(Error::NotFound(format!(
            "this module handles no WebSocket messages (got '{}'); implement Module::on_message",
            message.event
        )))
    }

    /// A client went away (its rooms are already left).
    fn on_disconnect(_connection: ws::Connection) {}
}

/// Exports a [`Module`] as the component's `http-handler`, `event-handler`, `job-handler`
/// and `ws-handler`.
#[macro_export]
macro_rules! export_module {
    ($module:ty) => {
        const _: () = {
            struct __PlughostExport;
            impl $crate::bindings::exports::plughost::platform::http_handler::Guest
                for __PlughostExport
            {
                fn handle(
                    request: $crate::http::Request,
                ) -> ::core::result::Result<$crate::http::Response, $crate::Error> {
                    $crate::http::dispatch::<$module>(request)
                }
            }
            impl $crate::bindings::exports::plughost::platform::event_handler::Guest
                for __PlughostExport
            {
                fn on_event(
                    event: $crate::events::Event,
                ) -> ::core::result::Result<(), $crate::Error> {
                    <$module as $crate::Module>::on_event(event)
                }
            }
            impl $crate::bindings::exports::plughost::platform::job_handler::Guest
                for __PlughostExport
            {
                fn handle_job(
                    job: $crate::queue::Job,
                ) -> ::core::result::Result<(), $crate::Error> {
                    <$module as $crate::Module>::handle_job(job)
                }
            }
            impl $crate::bindings::exports::plughost::platform::ws_handler::Guest
                for __PlughostExport
            {
                fn on_connect(
                    connection: $crate::ws::Connection,
                ) -> ::core::result::Result<(), $crate::Error> {
                    <$module as $crate::Module>::on_connect(connection)
                }
                fn on_message(
                    connection: $crate::ws::Connection,
                    message: $crate::ws::Message,
                ) -> ::core::result::Result<(), $crate::Error> {
                    <$module as $crate::Module>::on_message(connection, message)
                }
                fn on_disconnect(connection: $crate::ws::Connection) {
                    <$module as $crate::Module>::on_disconnect(connection)
                }
            }
            $crate::bindings::__export_module_bindings!(__PlughostExport with_types_in $crate::bindings);
        };
    };
}
