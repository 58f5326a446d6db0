//! Host bindings generated from `wit/`, the single source of the ABI.

#![allow(missing_docs)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "plughost:platform/module@0.1.0",
    imports: { "plughost:platform/orm": async },
    exports: { default: async },
    additional_derives: [PartialEq],
});

pub use plughost::platform::http_types::{Request as GuestRequest, Response as GuestResponse};
pub use plughost::platform::types::Error as GuestError;
