//! `storage`: objects under keys in each module's own root, through the WIT `storage`
//! interface. The grant's scopes are key patterns (`storage = ["uploads/*"]`). The local
//! backend keeps each module's objects in `data/storage/TENANT/MODULE/` beside the plugins
//! folder (host.toml `[storage] root` moves it), opened with `cap-std` so no key reaches a
//! file outside.
//!
//! The code: `key.rs` checks keys, `object.rs` is what every backend answers,
//! `backend.rs` is where objects live (`local.rs`, the folder backend, and `s3.rs`),
//! `quota.rs` the ledgers, `objects.rs` the backend with the quotas around it, `host.rs`
//! the interface, `signed.rs` the published URLs the host serves, `settings.rs` host.toml's
//! `[storage]` (quotas, the S3 bucket, the signing key).

pub mod backend;
mod host;
pub mod key;
mod life_cycle;
pub mod local;
pub mod object;
pub mod objects;
pub mod quota;
pub mod s3;
pub mod settings;
pub mod signed;

pub use local::LocalStorage;
pub use objects::Objects;
pub use settings::StorageConfig;

use crate::runtime::CapabilityDescriptor;
use crate::runtime::bindings::plughost::platform::storage;
use crate::runtime::state::PREPARED;

/// The storage capability.
pub const CAPABILITY: CapabilityDescriptor = CapabilityDescriptor {
    name: "storage",
    interface: "plughost:platform/storage",
    standard_interfaces: &[],
    always_granted: false,
    link: |linker| {
        storage::add_to_linker::<_, host::StorageCapability>(linker, |state| host::StorageView {
            module: &state.module,
            part: state.capabilities.get_mut().expect(PREPARED),
        })
    },
    start: Some(life_cycle::start),
    manifest_section: None,
    host_section: Some("storage"),
    configure: None,
    handler: None,
};

/// Bytes one `get` returns at most: a larger object is read by ranges, so neither the
/// host nor the module holds it whole.
pub const MAX_READ_BYTES: u64 = 64 << 20;

/// Refuses a read of `start..end` of `key` larger than [`MAX_READ_BYTES`].
pub fn check_read(key: &key::Key, start: u64, end: u64) -> Result<(), object::StorageError> {
    if end.saturating_sub(start) > MAX_READ_BYTES {
        return Err(object::StorageError::Invalid(format!(
            "reading {} bytes of '{}' at once; get returns at most {MAX_READ_BYTES} bytes, \
             read a larger object by ranges",
            end - start,
            key.as_str()
        )));
    }
    Ok(())
}
