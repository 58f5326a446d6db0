//! `queue`: durable jobs. A module dispatches jobs to named queues; the module whose
//! manifest handles a queue (`[queue] handles = ["send-confirmation"]`) gets each attempt
//! through its `job-handler` export. Failed attempts are retried with exponential backoff;
//! after the last one a job is a dead letter (`host queue dead`, `host queue retry ID`,
//! `/_admin/queues`). Jobs live in the host's database (SQLite or PostgreSQL), so they
//! survive restarts and crashes; PostgreSQL hosts share a queue through
//! `FOR UPDATE SKIP LOCKED`.
//!
//! The grant's scopes are queue names, covering both dispatching to and handling a queue.

mod host;
mod life_cycle;
pub mod settings;
pub mod store;
pub mod worker;

use serde::{Deserialize, Serialize};

use crate::capabilities::orm::OrmSession;

pub use life_cycle::PendingJobs;
pub use settings::QueueConfig;
pub use worker::QueueWorkers;

use crate::runtime::bindings::plughost::platform::queue;
use crate::runtime::state::PREPARED;
use crate::runtime::{CapabilityDescriptor, Handler, ModuleContext};

/// The queue capability.
pub const CAPABILITY: CapabilityDescriptor = CapabilityDescriptor {
    name: "queue",
    interface: "plughost:platform/queue",
    standard_interfaces: &[],
    always_granted: false,
    link: |linker| {
        queue::add_to_linker::<_, host::QueueCapability>(linker, |state| {
            let (orm, pending) = state.capabilities.pair_mut::<OrmSession, PendingJobs>();
            host::QueueView {
                module: &state.module,
                orm: orm.expect(PREPARED),
                pending: &mut pending.expect(PREPARED).0,
                budget: &state.budget,
            }
        })
    },
    start: Some(life_cycle::start),
    manifest_section: Some("queue"),
    host_section: Some("queue"),
    configure: Some(|manifest, context| {
        let spec: QueueSpec = manifest.section("queue")?;
        spec.validate()?;
        context.parts.insert(HandledQueues(spec.granted(context)));
        Ok(())
    }),
    handler: Some(Handler {
        export: "job-handler",
        declared_by: "[queue] handles",
        declared: |manifest| {
            manifest
                .section::<QueueSpec>("queue")
                .is_ok_and(|spec| !spec.handles.is_empty())
        },
    }),
};

/// The queues whose jobs a module handles (those its grant covers).
#[derive(Debug, Default)]
pub struct HandledQueues(pub Vec<String>);

/// Largest payload, in bytes.
pub const MAX_PAYLOAD: usize = 64 * 1024;

/// `[queue]` in plugin.toml.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct QueueSpec {
    /// Queues whose jobs this module handles.
    #[serde(default)]
    pub handles: Vec<String>,
}

impl QueueSpec {
    /// Checks every queue name.
    pub fn validate(&self) -> Result<(), String> {
        for name in &self.handles {
            check_queue_name(name).map_err(|e| format!("queue.handles: {e}"))?;
        }
        Ok(())
    }

    /// The queues the grant lets the module handle; the others are refused (logged, counted).
    pub fn granted(&self, module: &ModuleContext) -> Vec<String> {
        module.granted("queue", &self.handles, "queue not handled")
    }
}

/// Jobs of `tenant` waiting in the queue (mail included), counted in the invocation's
/// session: the quota `max-queued-jobs` is checked against it.
pub async fn waiting_jobs(
    orm: &mut OrmSession,
    tenant: &str,
) -> Result<u64, crate::runtime::bindings::GuestError> {
    let waiting = orm
        .run(async |target| store::waiting(target, tenant).await)
        .await?;
    Ok(waiting)
}

/// A queue name: 1 to 100 of `a-z`, `0-9`, `-`, `_` and `.`.
pub fn check_queue_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c));
    if !ok {
        return Err(format!(
            "queue name '{name}' must be 1 to 100 characters of a-z, 0-9, '-', '_' and '.'"
        ));
    }
    Ok(())
}

/// A job waiting for its invocation to succeed before it is enqueued.
#[derive(Debug, Clone, PartialEq)]
pub struct NewJob {
    /// Its id (already returned to the module).
    pub id: String,
    /// Tenant.
    pub tenant: String,
    /// Queue.
    pub queue: String,
    /// JSON text.
    pub payload: String,
    /// Delay before the first attempt.
    pub delay_ms: u64,
    /// Attempts it may have.
    pub max_attempts: u32,
    /// The dispatching module.
    pub source: String,
}
