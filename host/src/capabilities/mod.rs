//! Host capabilities. Each lives in its own folder with the same shape: `mod.rs` (its
//! descriptor: name, WIT interface, grant rule, linker wiring) and `host.rs` (the WIT
//! impl over a view of the store that holds only what it needs). Adding a capability is
//! one folder plus one line in [`ALL`].

pub mod config;
pub mod events;
pub mod log;
pub mod orm;
pub mod queue;
pub mod ws;

use wasmtime::component::Linker;

use crate::runtime::InvocationState;

/// How the host knows a capability.
pub struct CapabilityDescriptor {
    /// Name used in `plugin.toml` `[capabilities]`, `host.toml` tenant allowances and denials.
    pub name: &'static str,
    /// The WIT interface it provides, without version (`plughost:platform/config`).
    pub interface: &'static str,
    /// Granted to every module without a request (e.g. logging).
    pub always_granted: bool,
    /// Adds the interface's host functions to the shared linker.
    pub link: fn(&mut Linker<InvocationState>) -> wasmtime::Result<()>,
}

/// Every capability a module may import.
pub const ALL: &[CapabilityDescriptor] = &[
    log::CAPABILITY,
    config::CAPABILITY,
    orm::CAPABILITY,
    events::CAPABILITY,
    queue::CAPABILITY,
    ws::CAPABILITY,
];

/// The capability called `name`.
pub fn find(name: &str) -> Option<&'static CapabilityDescriptor> {
    ALL.iter().find(|c| c.name == name)
}

/// The capability that provides WIT interface `interface` (with or without `@version`).
pub fn for_interface(interface: &str) -> Option<&'static CapabilityDescriptor> {
    let bare = interface.split('@').next().unwrap_or(interface);
    ALL.iter().find(|c| c.interface == bare)
}

/// The message for a capability name the host does not know.
pub fn unknown(name: &str) -> String {
    let known: Vec<&str> = ALL.iter().map(|c| c.name).collect();
    format!(
        "unknown capability '{name}'; this host provides: {}",
        known.join(", ")
    )
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
