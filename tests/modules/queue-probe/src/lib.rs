//! Test fixture: dispatches jobs on request and records every attempt it handles.
//!
//! `POST /dispatch` with `{"jobs": [{"queue", "payload", "delay_ms", "max_attempts"}],
//! "tx": "none"|"commit"|"rollback"|"open", "then": "ok"|"error"}` dispatches each job (in
//! an ORM transaction that also writes a note, when `tx` says so). A job's payload steers
//! its handling: `"fail_times": N` fails its first N runs, `"spin_ms": N` keeps the CPU
//! busy that long, `"trap": true` traps. `GET /runs` lists the recorded attempts.

use std::time::{Duration, Instant};

use plughost_sdk::http::{Request, Response, Router};
use plughost_sdk::orm::{Query, Repository};
use plughost_sdk::queue::{self, Dispatch, Job};
use plughost_sdk::{Error, Result};
use serde_json::{Value, json};

struct QueueProbe;

impl plughost_sdk::Module for QueueProbe {
    fn routes(router: Router) -> Router {
        router
            .post("/dispatch", dispatch)
            .get("/runs", |_| list("run"))
            .get("/notes", |_| list("note"))
    }

    fn handle_job(job: Job) -> Result<()> {
        let payload: Value = job.payload_as()?;
        let runs = Repository::<Value>::new("run");
        let earlier = runs.count(&Query::new().filter("job_id", &job.id))?;
        let record = |outcome: &str| {
            runs.create(&json!({
                "job_id": job.id, "queue": job.queue, "attempt": job.attempt,
                "max_attempts": job.max_attempts, "last_error": job.last_error, "outcome": outcome,
            }))
        };
        if let Some(ms) = payload["spin_ms"].as_u64() {
            record("started")?;
            let until = Instant::now() + Duration::from_millis(ms);
            while Instant::now() < until {
                std::hint::spin_loop();
            }
        }
        if payload["trap"] == true {
            record("trap")?;
            panic!("asked to trap on job {}", job.id);
        }
        if earlier < payload["fail_times"].as_u64().unwrap_or(0) {
            record("fail")?;
            return Err(Error::Internal(format!("failing attempt {}", job.attempt)));
        }
        record("ok")?;
        Ok(())
    }
}

fn dispatch(request: Request) -> Result<Response> {
    let spec: Value = request.json()?;
    let tx = spec["tx"].as_str().unwrap_or("none");
    if tx != "none" {
        plughost_sdk::orm::begin()?;
        Repository::<Value>::new("note").create(&json!({"text": "written with the jobs"}))?;
    }
    let mut ids = Vec::new();
    for job in spec["jobs"].as_array().cloned().unwrap_or_default() {
        let mut options = Dispatch::default().delay_ms(job["delay_ms"].as_u64().unwrap_or(0));
        if let Some(n) = job["max_attempts"].as_u64() {
            options = options.max_attempts(n as u32);
        }
        let queue_name = job["queue"].as_str().unwrap_or("work");
        let id = match job.get("raw").and_then(Value::as_str) {
            Some(raw) => plughost_sdk::bindings::plughost::platform::queue::dispatch(
                queue_name,
                raw,
                plughost_sdk::bindings::plughost::platform::queue::DispatchOptions {
                    delay_ms: 0,
                    max_attempts: None,
                },
            )?,
            None => queue::dispatch(queue_name, &job["payload"], options)?,
        };
        ids.push(id);
    }
    match tx {
        "commit" => plughost_sdk::bindings::plughost::platform::orm::commit()?,
        "rollback" => plughost_sdk::bindings::plughost::platform::orm::rollback()?,
        _ => {}
    }
    if spec["then"] == "error" {
        return Err(Error::Invalid("asked to fail after dispatching".into()));
    }
    Ok(Response::json_value(&json!({ "ids": ids })))
}

fn list(model: &str) -> Result<Response> {
    let rows = Repository::<Value>::new(model).find_many(&Query::new().order_by("id"))?;
    Ok(Response::json_value(&rows))
}

plughost_sdk::export_module!(QueueProbe);
