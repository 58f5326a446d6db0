//! `storage`: objects under keys in each module's own root, through the WIT `storage`
//! interface. The grant's scopes are key patterns (`storage = ["uploads/*"]`). The local
//! backend keeps each module's objects in `data/storage/TENANT/MODULE/` beside the plugins
//! folder (host.toml `[storage] root` moves it), opened with `cap-std` so no key reaches a
//! file outside.

mod host;
pub mod key;
mod life_cycle;
pub mod local;
pub mod settings;

pub use local::LocalStorage;
pub use settings::StorageConfig;

use crate::runtime::CapabilityDescriptor;
use crate::runtime::bindings::plughost::platform::storage;
use crate::runtime::state::PREPARED;

/// The storage capability.
pub const CAPABILITY: CapabilityDescriptor = CapabilityDescriptor {
    name: "storage",
    interface: "plughost:platform/storage",
    always_granted: false,
    link: |linker| {
        storage::add_to_linker::<_, host::StorageCapability>(linker, |state| {
            let part: &life_cycle::StorageInvocation = state.capabilities.get().expect(PREPARED);
            host::StorageView {
                module: &state.module,
                storage: &part.0,
            }
        })
    },
    start: Some(life_cycle::start),
    manifest_section: None,
    host_section: Some("storage"),
    configure: None,
    handler: None,
};
