//! Host capabilities. Each lives in its own folder with the same shape: `mod.rs` (its
//! descriptor: name, WIT interface, grant rule, linker wiring, start), `host.rs` (the WIT
//! impl over a view of the store that holds only what it needs) and, when it keeps state,
//! `life_cycle.rs` (its phases: [`crate::runtime::Capability`]). Adding a capability is
//! one folder plus one line in [`ALL`]; the runtime names none of them.

pub mod config;
pub mod events;
pub mod log;
pub mod mail;
pub mod orm;
pub mod outbound_http;
pub mod queue;
pub mod storage;
pub mod ws;

use crate::runtime::CapabilityDescriptor;

/// Every capability a module may import, in the order the runtime drives their phases.
/// The order is the contract of *finish*: the ORM commits the invocation's transaction,
/// then the queue writes the jobs dispatched outside it, then the events go out, and
/// mail queued outside it is written last; an invocation whose transaction failed to
/// commit sends none of them.
pub const ALL: &[CapabilityDescriptor] = &[
    log::CAPABILITY,
    config::CAPABILITY,
    orm::CAPABILITY,
    queue::CAPABILITY,
    events::CAPABILITY,
    ws::CAPABILITY,
    storage::CAPABILITY,
    mail::CAPABILITY,
    outbound_http::CAPABILITY,
];

/// The capability called `name`.
pub fn find(name: &str) -> Option<&'static CapabilityDescriptor> {
    ALL.iter().find(|c| c.name == name)
}

/// The capability that provides WIT interface `interface` (with or without `@version`).
pub fn for_interface(interface: &str) -> Option<&'static CapabilityDescriptor> {
    let bare = interface.split('@').next().unwrap_or(interface);
    ALL.iter()
        .find(|c| c.interface == bare || c.standard_interfaces.contains(&bare))
}

/// The message for a capability name the host does not know.
pub fn unknown(name: &str) -> String {
    crate::runtime::capability::unknown(ALL, name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_are_found_by_name_and_by_versioned_interface() {
        assert_eq!(
            find("config").unwrap().interface,
            "plughost:platform/config"
        );
        assert_eq!(
            for_interface("plughost:platform/config@0.1.0")
                .unwrap()
                .name,
            "config"
        );
        assert!(for_interface("wasi:cli/environment@0.2.0").is_none());
        assert!(unknown("teleport").contains("config"));
    }
}
