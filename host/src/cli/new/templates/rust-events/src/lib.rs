//! The {{name}} module: emits an event per greeting and handles the events it subscribes to.

use plughost_sdk::Result;
use plughost_sdk::events::{self, Event};
use plughost_sdk::http::{Request, Response, Router};
use serde_json::{Value, json};

struct Module;

impl plughost_sdk::Module for Module {
    fn routes(router: Router) -> Router {
        router.post("/greet/{who}", greet)
    }

    fn on_event(event: Event) -> Result<()> {
        let payload: Value = event.payload_as()?;
        let who = payload["who"].as_str().unwrap_or("someone");
        plughost_sdk::log::info(&format!("{who} was greeted ({})", event.topic));
        Ok(())
    }
}

fn greet(request: Request) -> Result<Response> {
    let who = request.param("who").unwrap_or("world");
    let id = events::emit("{{name}}.greeted.v1", &json!({ "who": who }))?;
    Ok(Response::json_value(&json!({ "event": id })).with_status(202))
}

plughost_sdk::export_module!(Module);
