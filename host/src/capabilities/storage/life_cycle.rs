//! Storage's life cycle: the backend, quotas and URL signer made at start; each invocation
//! gets a part holding them and its open uploads; the published URLs served under
//! `/_storage`.

use std::any::Any;
use std::sync::Arc;

use super::backend::Backend;
use super::host::StorageInvocation;
use super::s3::S3Storage;
use super::signed::{self, Signer};
use super::{LocalStorage, Objects, StorageConfig};
use crate::runtime::{Capability, InvocationState, ModuleContext, StartContext};

/// *start*: the bucket of host.toml's `[storage.s3]`, else the local backend under
/// `[storage] root`, or `storage` in the host's data folder.
pub fn start(context: &StartContext<'_>) -> anyhow::Result<Arc<dyn Capability>> {
    let settings: StorageConfig = context
        .host
        .section("storage")
        .map_err(anyhow::Error::msg)?;
    settings.validate().map_err(anyhow::Error::msg)?;
    let signer = Signer::new(settings.signing_key.as_deref());
    let backend = match &settings.s3 {
        Some(s3) => Backend::S3(S3Storage::new(s3).map_err(anyhow::Error::msg)?),
        None => Backend::Local(LocalStorage::new(
            settings
                .root
                .clone()
                .unwrap_or_else(|| context.host.data_dir().join("storage")),
        )),
    };
    Ok(Arc::new(Storage {
        objects: Arc::new(Objects::new(backend, settings)),
        signer: Arc::new(signer),
    }))
}

/// Storage's phases over its objects (found by others as [`Objects`]).
struct Storage {
    objects: Arc<Objects>,
    signer: Arc<Signer>,
}

impl Capability for Storage {
    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self.objects.clone()
    }

    fn prepare(&self, _module: &Arc<ModuleContext>, state: &mut InvocationState) {
        state.capabilities.insert(StorageInvocation::new(
            self.objects.clone(),
            self.signer.clone(),
        ));
    }

    fn public(self: Arc<Self>) -> Option<(&'static str, axum::Router)> {
        Some((
            signed::PREFIX,
            signed::router(self.objects.clone(), self.signer.clone()),
        ))
    }
}
