//! The `queue` interface: checks queue, grant and payload; inside an open ORM transaction
//! the job row is written in that transaction, otherwise it waits for the invocation to
//! succeed.

use wasmtime::component::HasData;

use super::{MAX_PAYLOAD, NewJob, check_queue_name, store};
use crate::capabilities::orm::OrmSession;
use crate::runtime::ModuleContext;
use crate::runtime::bindings::GuestError;
use crate::runtime::bindings::plughost::platform::queue::{DispatchOptions, Host};
use crate::runtime::budget::InvocationBudget;

/// Marker tying the interface to its view.
pub struct QueueCapability;

impl HasData for QueueCapability {
    type Data<'a> = QueueView<'a>;
}

/// What dispatching sees: the module, the invocation's ORM session, its pending jobs.
pub struct QueueView<'a> {
    pub module: &'a ModuleContext,
    pub orm: &'a mut OrmSession,
    pub pending: &'a mut Vec<NewJob>,
    pub budget: &'a InvocationBudget,
}

/// Attempts a job gets when the dispatcher does not say.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// Most attempts a dispatcher may ask for.
const MAX_ATTEMPTS: u32 = 100;
/// Longest delay: 30 days.
const MAX_DELAY_MS: u64 = 30 * 24 * 3600 * 1000;

impl Host for QueueView<'_> {
    async fn dispatch(
        &mut self,
        queue: String,
        payload: String,
        options: DispatchOptions,
    ) -> Result<String, GuestError> {
        check_queue_name(&queue).map_err(GuestError::Invalid)?;
        self.module
            .check("queue", &queue)
            .map_err(|denied| GuestError::Denied(denied.to_string()))?;
        check_payload(&queue, &payload)?;
        self.count_headroom().await?;
        self.budget
            .job(payload.len() + queue.len())
            .map_err(GuestError::Invalid)?;
        let max_attempts = options.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS);
        if max_attempts == 0 || max_attempts > MAX_ATTEMPTS || options.delay_ms > MAX_DELAY_MS {
            return Err(GuestError::Invalid(format!(
                "max-attempts must be 1 to {MAX_ATTEMPTS} and delay-ms at most {MAX_DELAY_MS} (30 days)"
            )));
        }
        let job = NewJob {
            id: uuid::Uuid::new_v4().to_string(),
            tenant: self.module.tenant.clone(),
            queue,
            payload,
            delay_ms: options.delay_ms,
            max_attempts,
            source: self.module.name.clone(),
        };
        let id = job.id.clone();
        if self.orm.current_transaction().is_some() {
            // Same database: the job commits or rolls back with the module's data.
            self.orm
                .run(async |target| store::insert(target, &job).await)
                .await
                .map_err(GuestError::from)?;
        } else {
            self.pending.push(job);
        }
        Ok(id)
    }
}

impl QueueView<'_> {
    /// At the invocation's first dispatch, how many more jobs the tenant's queue may hold.
    async fn count_headroom(&mut self) -> Result<(), GuestError> {
        if self.budget.job_headroom().is_some() {
            return Ok(());
        }
        let tenant = self.module.tenant.clone();
        let waiting = crate::capabilities::queue::waiting_jobs(self.orm, &tenant).await?;
        let headroom = self.module.max_queued_jobs.saturating_sub(waiting);
        self.budget.set_job_headroom(headroom);
        Ok(())
    }
}

fn check_payload(queue: &str, payload: &str) -> Result<(), GuestError> {
    if payload.len() > MAX_PAYLOAD {
        return Err(GuestError::Invalid(format!(
            "the payload for queue '{queue}' is {} bytes; jobs carry at most {MAX_PAYLOAD} bytes",
            payload.len()
        )));
    }
    serde_json::from_str::<serde::de::IgnoredAny>(payload).map_err(|e| {
        GuestError::Invalid(format!("the payload for queue '{queue}' is not JSON: {e}"))
    })?;
    Ok(())
}
