//! The queue's life cycle: workers over the ORM's database started with the host, the
//! jobs table made when a module that may use it loads, jobs dispatched outside a
//! transaction written when the invocation finishes, workers pointed at the modules
//! serving after each swap, and the dead letters in the admin API.

use std::any::Any;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use futures_util::future::BoxFuture;

use super::{NewJob, QueueWorkers, store};
use crate::capabilities::orm::OrmStore;
use crate::capabilities::orm::backend::Target;
use crate::runtime::bindings::GuestError;
use crate::runtime::capability::RuntimeHandle;
use crate::runtime::capability::admin_error;
use crate::runtime::state::PREPARED;
use crate::runtime::{
    Capability, InvocationState, LoadedModule, ModuleContext, Runtime, StartContext,
};

/// Jobs an invocation dispatched outside an ORM transaction, written when it succeeds.
#[derive(Default)]
pub struct PendingJobs(pub Vec<NewJob>);

/// *start*: workers over the ORM's database (the ORM starts first), with host.toml's
/// `[queue]` backoff, polling and concurrency.
pub fn start(context: &StartContext<'_>) -> anyhow::Result<Arc<dyn Capability>> {
    let store = context.started.get::<OrmStore>().ok_or_else(|| {
        anyhow::anyhow!("the queue keeps its jobs in the ORM's database; list orm before queue")
    })?;
    let settings = context.host.section("queue").map_err(anyhow::Error::msg)?;
    Ok(Arc::new(Queue {
        workers: Arc::new(QueueWorkers::new(store, settings)),
    }))
}

/// The queue's phases over its workers (found by others as `QueueWorkers`).
struct Queue {
    workers: Arc<QueueWorkers>,
}

impl Capability for Queue {
    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self.workers.clone()
    }

    fn bind(&self, runtime: &RuntimeHandle) {
        self.workers.bind(Runtime::from_handle(runtime));
    }

    fn load<'a>(&'a self, module: &'a LoadedModule) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            if !module.context.grant.has("queue") {
                return Ok(());
            }
            let pool = self
                .workers
                .store()
                .pool()
                .await
                .map_err(|e| format!("queue: {e}"))?;
            store::ensure_table(pool)
                .await
                .map_err(|e| format!("queue: {e}"))
        })
    }

    fn prepare(&self, _module: &Arc<ModuleContext>, state: &mut InvocationState) {
        state.capabilities.insert(PendingJobs::default());
    }

    fn finish<'a>(
        &'a self,
        state: &'a mut InvocationState,
        succeeded: bool,
    ) -> Option<BoxFuture<'a, Result<(), GuestError>>> {
        let pending = state.capabilities.get_mut::<PendingJobs>().expect(PREPARED);
        if !succeeded || pending.0.is_empty() {
            return None;
        }
        let jobs = std::mem::take(&mut pending.0);
        Some(Box::pin(async move {
            self.enqueue(&jobs).await.map_err(|e| {
                GuestError::Internal(format!(
                    "the invocation succeeded but its jobs could not be enqueued: {e}"
                ))
            })
        }))
    }

    fn serving(&self, modules: &[Arc<LoadedModule>]) {
        self.workers.rebind(modules.iter());
    }

    fn admin(self: Arc<Self>) -> Option<axum::Router> {
        let routes = axum::Router::new()
            .route("/queues", get(queues))
            .route("/queues/dead/{id}/retry", post(retry_dead))
            .with_state(self.workers.store().clone());
        Some(routes)
    }
}

impl Queue {
    /// Writes the jobs an invocation dispatched outside a transaction, then wakes their queues.
    async fn enqueue(&self, jobs: &[NewJob]) -> Result<(), crate::capabilities::orm::OrmError> {
        let pool = self.workers.store().pool().await?;
        let mut tx = pool.begin_bookkeeping().await?;
        for job in jobs {
            store::insert(Target::Transaction(&mut tx), job).await?;
        }
        tx.commit().await?;
        for job in jobs {
            self.workers.wake(&job.tenant, &job.queue);
        }
        Ok(())
    }
}

fn unavailable(e: impl std::fmt::Display) -> Response {
    admin_error(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("the database is unavailable: {e}"),
    )
}

/// Jobs per queue and state, and the dead letters.
async fn queues(State(orm): State<Arc<OrmStore>>) -> Result<Json<serde_json::Value>, Response> {
    let pool = orm.pool().await.map_err(unavailable)?;
    if store::ensure_table(pool).await.is_err() {
        return Ok(Json(serde_json::json!({"depths": [], "dead": []})));
    }
    let depths = store::depths(pool).await.map_err(unavailable)?;
    let dead = store::dead(pool).await.map_err(unavailable)?;
    Ok(Json(serde_json::json!({"depths": depths, "dead": dead})))
}

/// Re-drives one dead letter.
async fn retry_dead(
    State(orm): State<Arc<OrmStore>>,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, Response> {
    let pool = orm.pool().await.map_err(unavailable)?;
    if !store::retry(pool, &id).await.map_err(unavailable)? {
        return Err(admin_error(
            StatusCode::NOT_FOUND,
            format!("no dead job {id}"),
        ));
    }
    Ok(Json(serde_json::json!({"retried": id})))
}
