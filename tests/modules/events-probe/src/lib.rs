//! Test fixture: emits events on request and records every event it receives.
//!
//! `POST /emit` with `{"events": [{"topic", "payload"}], "then": "ok"|"error"|"trap",
//! "tx": "none"|"commit"|"rollback"}` emits each event (inside an ORM transaction when `tx`
//! says so) and ends as `then` says; it answers the event ids. `GET /received` lists what
//! `on_event` recorded. An event whose payload has `"fail": true` makes `on_event` return an
//! error, `"trap": true` makes it trap.

use plughost_sdk::events::{self, Event};
use plughost_sdk::http::{Request, Response, Router};
use plughost_sdk::orm::{Query, Repository};
use plughost_sdk::{Error, Result};
use serde_json::{Value, json};

struct EventsProbe;

impl plughost_sdk::Module for EventsProbe {
    fn routes(router: Router) -> Router {
        router.post("/emit", emit).get("/received", received)
    }

    fn on_event(event: Event) -> Result<()> {
        let payload: Value = event.payload_as()?;
        if payload["trap"] == true {
            panic!("asked to trap on event {}", event.id);
        }
        if payload["fail"] == true {
            return Err(Error::Internal(format!(
                "asked to fail on event {}",
                event.id
            )));
        }
        Repository::<Value>::new("received").create(&json!({
            "event_id": event.id,
            "topic": event.topic,
            "payload": event.payload,
            "source": event.source,
            "time": event.time,
        }))?;
        Ok(())
    }
}

fn emit(request: Request) -> Result<Response> {
    let spec: Value = request.json()?;
    let tx = spec["tx"].as_str().unwrap_or("none");
    if tx != "none" {
        plughost_sdk::orm::begin()?;
    }
    let mut ids = Vec::new();
    for event in spec["events"].as_array().cloned().unwrap_or_default() {
        let topic = event["topic"].as_str().unwrap_or_default();
        let id = match event.get("raw").and_then(Value::as_str) {
            // Payload text as given, to prove the host checks it.
            Some(raw) => plughost_sdk::bindings::plughost::platform::events::emit(topic, raw)?,
            None => events::emit(topic, &event["payload"])?,
        };
        ids.push(id);
    }
    match tx {
        "commit" => plughost_sdk::bindings::plughost::platform::orm::commit()?,
        "rollback" => plughost_sdk::bindings::plughost::platform::orm::rollback()?,
        _ => {}
    }
    match spec["then"].as_str().unwrap_or("ok") {
        "error" => Err(Error::Invalid("asked to fail after emitting".into())),
        "trap" => panic!("asked to trap after emitting"),
        _ => Ok(Response::json_value(&json!({ "ids": ids }))),
    }
}

fn received(_: Request) -> Result<Response> {
    let rows = Repository::<Value>::new("received").find_many(&Query::new().order_by("id"))?;
    Ok(Response::json_value(&rows))
}

plughost_sdk::export_module!(EventsProbe);
