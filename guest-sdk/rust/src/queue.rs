//! Jobs: dispatch to a queue (within the module's `queue` grant), handle the queues the
//! manifest names through [`crate::Module::handle_job`].
//!
//! ```ignore
//! use plughost_sdk::queue::{self, Dispatch};
//! queue::dispatch("send-confirmation", &serde_json::json!({"order": 7}), Dispatch::default())?;
//! queue::dispatch("reminders", &payload, Dispatch::default().delay_ms(60_000).max_attempts(5))?;
//! ```

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::bindings::plughost::platform::queue::DispatchOptions;
use crate::{Error, Result};

/// One attempt at a job: id, queue, JSON payload, attempt (from 1), max attempts, last error.
pub use crate::bindings::plughost::platform::job_types::Job;

/// How to dispatch: a delay and a number of attempts (default 3).
#[derive(Debug, Clone, Copy, Default)]
pub struct Dispatch {
    delay_ms: u64,
    max_attempts: Option<u32>,
}

impl Dispatch {
    /// Runs no sooner than `ms` milliseconds from now.
    pub fn delay_ms(mut self, ms: u64) -> Dispatch {
        self.delay_ms = ms;
        self
    }

    /// Attempts before the job becomes a dead letter.
    pub fn max_attempts(mut self, n: u32) -> Dispatch {
        self.max_attempts = Some(n);
        self
    }
}

/// Enqueues `payload` as JSON on `queue`; returns the job id. It is enqueued only if the
/// current invocation succeeds; inside an ORM transaction it commits with the data.
pub fn dispatch(queue: &str, payload: &impl Serialize, options: Dispatch) -> Result<String> {
    let json = serde_json::to_string(payload)
        .map_err(|e| Error::Invalid(format!("the payload does not serialise: {e}")))?;
    let options = DispatchOptions {
        delay_ms: options.delay_ms,
        max_attempts: options.max_attempts,
    };
    crate::bindings::plughost::platform::queue::dispatch(queue, &json, options)
}

impl Job {
    /// The payload parsed into `T`; `invalid` naming the job when it does not fit.
    pub fn payload_as<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_str(&self.payload).map_err(|e| {
            Error::Invalid(format!(
                "the payload of job {} ({}) does not fit: {e}",
                self.id, self.queue
            ))
        })
    }
}
