//! `log`: structured log lines from modules into the host's tracing. Always granted.

mod host;
mod wasi;

use crate::runtime::CapabilityDescriptor;
use crate::runtime::bindings::plughost::platform::log;

/// The log capability.
pub const CAPABILITY: CapabilityDescriptor = CapabilityDescriptor {
    name: "log",
    interface: "plughost:platform/log",
    standard_interfaces: &["wasi:logging/logging"],
    always_granted: true,
    link: |linker| {
        log::add_to_linker::<_, host::LogCapability>(linker, |state| host::LogView {
            module: &state.module,
            budget: &state.budget,
        })?;
        wasi::logging::add_to_linker::<_, host::LogCapability>(linker, |state| host::LogView {
            module: &state.module,
            budget: &state.budget,
        })
    },
    start: None,
    manifest_section: None,
    host_section: None,
    configure: None,
    handler: None,
};
