//! Notifications: each `order.created.v1` dispatches a `send-confirmation` job; the job
//! records a notification (later: sends mail). `GET /notifications` lists them with the
//! order id and the attempt that succeeded. Orders for `fail-twice@example.com` fail their
//! first two attempts, so the retries show.

use plughost_sdk::events::Event;
use plughost_sdk::http::{Request, Response, Router};
use plughost_sdk::orm::{Query, Repository};
use plughost_sdk::queue::{self, Dispatch, Job};
use plughost_sdk::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
struct Notification {
    id: i64,
    order_id: i64,
    email: String,
    attempt: i64,
    created_at: String,
}

#[derive(Serialize, Deserialize)]
struct Confirmation {
    order_id: i64,
    email: String,
}

/// The part of `order.created.v1` notifications need.
#[derive(Deserialize)]
struct OrderCreated {
    id: i64,
    email: String,
}

struct Notifications;

impl plughost_sdk::Module for Notifications {
    fn routes(router: Router) -> Router {
        router.get("/", list)
    }

    fn on_event(event: Event) -> Result<()> {
        let order: OrderCreated = event.payload_as()?;
        let job = Confirmation {
            order_id: order.id,
            email: order.email,
        };
        queue::dispatch("send-confirmation", &job, Dispatch::default())?;
        Ok(())
    }

    fn handle_job(job: Job) -> Result<()> {
        let confirmation: Confirmation = job.payload_as()?;
        if confirmation.email == "fail-twice@example.com" && job.attempt <= 2 {
            return Err(Error::Internal(format!(
                "the mail server refused {} (attempt {})",
                confirmation.email, job.attempt
            )));
        }
        Repository::<Notification>::new("notification").create(&serde_json::json!({
            "order_id": confirmation.order_id,
            "email": confirmation.email,
            "attempt": job.attempt,
        }))?;
        Ok(())
    }
}

fn list(_: Request) -> Result<Response> {
    let all =
        Repository::<Notification>::new("notification").find_many(&Query::new().order_by("id"))?;
    Ok(Response::json_value(&all))
}

plughost_sdk::export_module!(Notifications);
