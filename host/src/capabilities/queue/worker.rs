//! Queue workers: one loop per (tenant, queue) that some module handles. Each loop claims
//! due jobs up to its concurrency, runs each attempt in its own task through the module
//! serving now (so a swap takes effect at the next attempt), and records the outcome:
//! done, retry after a backoff, or dead letter. A slow queue never holds up another.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::{Notify, Semaphore};

use super::settings::QueueConfig;
use super::store::{self, ClaimedJob};
use crate::capabilities::orm::OrmStore;
use crate::runtime::bindings::{GuestError, GuestJob};
use crate::runtime::{InvocationError, LoadedModule, Runtime};

type QueueKey = (String, String);

/// The workers of one host.
pub struct QueueWorkers {
    runtime: OnceLock<Weak<Runtime>>,
    store: Arc<OrmStore>,
    config: QueueConfig,
    handlers: ArcSwap<HashMap<QueueKey, Arc<LoadedModule>>>,
    loops: Mutex<HashMap<QueueKey, Arc<Notify>>>,
}

impl QueueWorkers {
    /// Workers whose jobs live in `store`'s database, with the host's queue settings;
    /// they run once bound to the runtime.
    pub fn new(store: Arc<OrmStore>, config: QueueConfig) -> QueueWorkers {
        QueueWorkers {
            runtime: OnceLock::new(),
            store,
            config,
            handlers: ArcSwap::default(),
            loops: Mutex::default(),
        }
    }

    /// Points each queue at the module serving it now, and starts a loop for a queue seen
    /// for the first time. Loops of queues nobody handles any more idle.
    pub fn rebind<'a>(self: &Arc<Self>, modules: impl Iterator<Item = &'a Arc<LoadedModule>>) {
        let mut handlers = HashMap::new();
        for module in modules {
            let queues = module.context.part::<super::HandledQueues>();
            for queue in queues.into_iter().flat_map(|q| &q.0) {
                handlers.insert(
                    (module.context.tenant.clone(), queue.clone()),
                    module.clone(),
                );
            }
        }
        let keys: Vec<QueueKey> = handlers.keys().cloned().collect();
        self.handlers.store(Arc::new(handlers));
        let mut loops = self.loops.lock().unwrap();
        for key in keys {
            if loops.contains_key(&key) {
                continue;
            }
            let wake = Arc::new(Notify::new());
            loops.insert(key.clone(), wake.clone());
            if let Some(runtime) = self.runtime.get().and_then(Weak::upgrade) {
                tokio::spawn(run_queue(runtime, self.clone(), key, wake));
            }
        }
        for wake in loops.values() {
            wake.notify_one();
        }
    }

    /// Tells the loop of a queue that a job may be due.
    pub fn wake(&self, tenant: &str, queue: &str) {
        let loops = self.loops.lock().unwrap();
        if let Some(wake) = loops.get(&(tenant.to_string(), queue.to_string())) {
            wake.notify_one();
        }
    }

    fn handler(&self, key: &QueueKey) -> Option<Arc<LoadedModule>> {
        self.handlers.load().get(key).cloned()
    }

    /// The host's queue settings.
    pub fn config(&self) -> &QueueConfig {
        &self.config
    }

    /// The database the jobs live in.
    pub fn store(&self) -> &Arc<OrmStore> {
        &self.store
    }

    /// Runs modules' job handlers through `runtime` from now on.
    pub fn bind(&self, runtime: Weak<Runtime>) {
        let _ = self.runtime.set(runtime);
    }
}

/// The loop of one queue; runs as long as the host.
async fn run_queue(
    runtime: Arc<Runtime>,
    workers: Arc<QueueWorkers>,
    key: QueueKey,
    wake: Arc<Notify>,
) {
    let config = workers.config().clone();
    let concurrency = config.concurrency_of(&key.1);
    let slots = Arc::new(Semaphore::new(concurrency));
    let poll = Duration::from_millis(config.poll_ms);
    loop {
        let Ok(first) = slots.clone().acquire_owned().await else {
            return;
        };
        let claimed = match workers.handler(&key) {
            Some(module) => claim(&workers, &key, &module, slots.available_permits() + 1).await,
            None => Vec::new(),
        };
        if claimed.is_empty() {
            drop(first);
            let _ = tokio::time::timeout(poll, wake.notified()).await;
            continue;
        }
        let mut permits = vec![first];
        for (job, module) in claimed {
            let permit = match permits.pop() {
                Some(p) => p,
                None => match slots.clone().acquire_owned().await {
                    Ok(p) => p,
                    Err(_) => return,
                },
            };
            let runtime = runtime.clone();
            let workers = workers.clone();
            tokio::spawn(async move {
                attempt(&runtime, &workers, &module, job).await;
                drop(permit);
            });
        }
    }
}

async fn claim(
    workers: &QueueWorkers,
    key: &QueueKey,
    module: &Arc<LoadedModule>,
    limit: usize,
) -> Vec<(ClaimedJob, Arc<LoadedModule>)> {
    let Ok(pool) = workers.store.pool().await else {
        return Vec::new();
    };
    // A job whose host dies mid-attempt is claimed again once its lease ends.
    let lease = module.context.limits.deadline.as_millis() as i64 + 2_000;
    match store::claim(pool, &key.0, &key.1, limit, lease).await {
        Ok(jobs) => jobs.into_iter().map(|j| (j, module.clone())).collect(),
        Err(e) => {
            tracing::warn!(tenant = %key.0, queue = %key.1, "cannot claim jobs: {e}");
            Vec::new()
        }
    }
}

/// Instantiates `module` afresh and calls its `handle-job` for one attempt; an attempt
/// that ran and failed is counted.
async fn call(
    module: &LoadedModule,
    runtime: &Runtime,
    job: &GuestJob,
) -> Result<Result<(), GuestError>, InvocationError> {
    let Some(indices) = &module.exports.jobs else {
        return Err(module.missing_export("job-handler"));
    };
    let outcome = module
        .invoke(
            runtime,
            |_| {},
            async |store, instance| {
                let handler = indices.load(&mut *store, &instance)?;
                handler.call_handle_job(&mut *store, job).await
            },
        )
        .await;
    if !matches!(outcome, Ok(Ok(())) | Err(InvocationError::TenantQuota(_))) {
        let failures = &module.context.metrics.job_failures;
        failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    outcome
}

/// Runs one attempt and records how it ended.
async fn attempt(
    runtime: &Runtime,
    workers: &QueueWorkers,
    module: &LoadedModule,
    job: ClaimedJob,
) {
    let guest = GuestJob {
        id: job.id.clone(),
        queue: job.queue.clone(),
        payload: job.payload.clone(),
        attempt: job.attempt,
        max_attempts: job.max_attempts,
        last_error: job.last_error.clone(),
    };
    let failure = match call(module, runtime, &guest).await {
        Err(InvocationError::TenantQuota(refusal)) => {
            // The tenant is at its share: the attempt did not run and is not counted.
            tracing::debug!(job_id = %job.id, "job postponed: {refusal}");
            if let Ok(pool) = workers.store.pool().await
                && let Err(e) = store::release(pool, &job.id, store::now_ms() + 250).await
            {
                tracing::error!(job_id = %job.id, "cannot postpone the job (it will run again): {e}");
            }
            return;
        }
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(error.summary()),
        Err(error) => Some(error.to_string()),
    };
    let Ok(pool) = workers.store.pool().await else {
        return;
    };
    let config = workers.config();
    let recorded = match &failure {
        None => store::complete(pool, &job.id).await,
        Some(error) => {
            let retry_at = (job.attempt < job.max_attempts)
                .then(|| store::now_ms() + config.backoff_ms(job.attempt) as i64);
            let outcome = if retry_at.is_some() {
                "will retry"
            } else {
                "dead letter"
            };
            tracing::warn!(
                module = %module.name(), tenant = %module.context.tenant, queue = %job.queue,
                job_id = %job.id, attempt = job.attempt, max_attempts = job.max_attempts,
                "job attempt failed ({outcome}): {error}"
            );
            store::fail(pool, &job.id, error, retry_at).await
        }
    };
    if let Err(e) = recorded {
        tracing::error!(job_id = %job.id, "cannot record the job's outcome (it will run again): {e}");
    }
}
