//! The {{name}} module: queues jobs and runs them.

use plughost_sdk::Result;
use plughost_sdk::http::{Request, Response, Router};
use plughost_sdk::queue::{self, Dispatch, Job};
use serde_json::{Value, json};

struct Module;

impl plughost_sdk::Module for Module {
    fn routes(router: Router) -> Router {
        router.post("/jobs", enqueue)
    }

    /// An error (or a trap) makes the host retry the job later, up to its attempts.
    fn handle_job(job: Job) -> Result<()> {
        let payload: Value = job.payload_as()?;
        plughost_sdk::log::info(&format!(
            "job {} (attempt {}) done: {payload}",
            job.id, job.attempt
        ));
        Ok(())
    }
}

fn enqueue(request: Request) -> Result<Response> {
    let payload: Value = request.json()?;
    let id = queue::dispatch("{{name}}-work", &payload, Dispatch::default().max_attempts(5))?;
    Ok(Response::json_value(&json!({ "job": id })).with_status(202))
}

plughost_sdk::export_module!(Module);
