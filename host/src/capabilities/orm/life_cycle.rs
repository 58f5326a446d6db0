//! The ORM's life cycle: the database opened at start (connected at first use), each
//! module's models migrated at load, a session per invocation, its open transaction
//! committed or rolled back when the invocation finishes.

use std::any::Any;
use std::path::Path;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::backend::Pool;
use super::{OrmSession, OrmStore, manual, migrate};
use crate::runtime::bindings::GuestError;
use crate::runtime::state::PREPARED;
use crate::runtime::{Capability, InvocationState, LoadedModule, ModuleContext, StartContext};

/// *start*: the database of host.toml's `[database] url` (the SQLite file beside the
/// plugins folder when it names none).
pub fn start(context: &StartContext<'_>) -> anyhow::Result<Arc<dyn Capability>> {
    let host = context.host;
    let url = host
        .database
        .url
        .clone()
        .unwrap_or_else(|| host.database_url(Path::new("plugins")));
    Ok(Arc::new(Orm {
        store: Arc::new(OrmStore::new(url)),
    }))
}

/// The ORM's phases over its store (found by others as the `OrmStore`).
struct Orm {
    store: Arc<OrmStore>,
}

impl Capability for Orm {
    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self.store.clone()
    }

    fn load<'a>(&'a self, module: &'a LoadedModule) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(migrate_models(&self.store, module))
    }

    fn prepare(&self, _module: &Arc<ModuleContext>, state: &mut InvocationState) {
        let session = OrmSession::new(self.store.clone(), state.deadline);
        state.capabilities.insert(session);
    }

    fn finish<'a>(
        &'a self,
        state: &'a mut InvocationState,
        succeeded: bool,
    ) -> Option<BoxFuture<'a, Result<(), GuestError>>> {
        let session = state.capabilities.get_mut::<OrmSession>().expect(PREPARED);
        session.current_transaction()?;
        Some(Box::pin(async move {
            session.finish(succeeded).await.map_err(|e| {
                GuestError::Internal(format!(
                    "the invocation's transaction could not be committed: {e}"
                ))
            })
        }))
    }
}

/// *load*: auto-migrates the models whose tables the grant covers; warns about the
/// others, and about manual migrations still pending.
async fn migrate_models(store: &OrmStore, module: &LoadedModule) -> Result<(), String> {
    let context = &module.context;
    let (schema, refused) = super::granted_schema(context);
    for refusal in refused {
        tracing::warn!(module = %context.name, tenant = %context.tenant, "{refusal}");
    }
    if schema.models.is_empty() {
        return Ok(());
    }
    let pool = store.pool().await.map_err(|e| format!("models: {e}"))?;
    migrate::auto_migrate(pool, &context.name, &schema)
        .await
        .map_err(|e| format!("models: {e}"))?;
    warn_about_pending_migrations(pool, &module.source.dir, context).await;
    Ok(())
}

/// Manual migrations run only through `host db migrate`; say so when some are pending.
async fn warn_about_pending_migrations(pool: &Pool, dir: &Path, context: &ModuleContext) {
    let Ok(migrations) = manual::discover(dir) else {
        return;
    };
    if migrations.is_empty() {
        return;
    }
    let Ok(status) = manual::status(pool, context, &migrations).await else {
        return;
    };
    let pending = status.iter().filter(|s| s.applied_at.is_none()).count();
    if pending > 0 {
        tracing::warn!(
            module = %context.name, tenant = %context.tenant,
            "{pending} manual migration(s) pending; apply them with `host db migrate`"
        );
    }
}
