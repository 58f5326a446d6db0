//! Storage's life cycle: the backend opened at start; each invocation gets a handle on it.

use std::any::Any;
use std::sync::Arc;

use super::{LocalStorage, StorageConfig};
use crate::runtime::{Capability, InvocationState, ModuleContext, StartContext};

/// *start*: the local backend under host.toml's `[storage] root`, or `storage` in the
/// host's data folder.
pub fn start(context: &StartContext<'_>) -> anyhow::Result<Arc<dyn Capability>> {
    let settings: StorageConfig = context
        .host
        .section("storage")
        .map_err(anyhow::Error::msg)?;
    let root = settings
        .root
        .unwrap_or_else(|| context.host.data_dir().join("storage"));
    Ok(Arc::new(Storage {
        backend: Arc::new(LocalStorage::new(root)),
    }))
}

/// Storage's phases over its backend (found by others as the `LocalStorage`).
struct Storage {
    backend: Arc<LocalStorage>,
}

/// The backend, in each invocation's store.
pub struct StorageInvocation(pub Arc<LocalStorage>);

impl Capability for Storage {
    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self.backend.clone()
    }

    fn prepare(&self, _module: &Arc<ModuleContext>, state: &mut InvocationState) {
        state
            .capabilities
            .insert(StorageInvocation(self.backend.clone()));
    }
}
