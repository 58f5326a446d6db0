//! Test fixture: `increment {name}` adds one to a counter in a transaction (retrying when
//! the database refuses a conflicting one) and replies `value {name, value}`; `get {name}`
//! replies the value.

use plughost_sdk::orm::{self, Query, Repository};
use plughost_sdk::ws::{self, Connection, Message};
use plughost_sdk::{Error, Result};
use serde_json::{Value, json};

struct Counter;

/// Attempts of one increment when concurrent ones conflict.
const ATTEMPTS: usize = 20;

impl plughost_sdk::Module for Counter {
    fn on_message(_: Connection, message: Message) -> Result<()> {
        let data: Value = message.data_as()?;
        let name = data["name"].as_str().unwrap_or("default").to_string();
        let value = match message.event.as_str() {
            "increment" => increment(&name)?,
            "get" => current(&name)?
                .map(|c| c["value"].as_i64().unwrap_or(0))
                .unwrap_or(0),
            other => return Err(Error::Invalid(format!("unknown event '{other}'"))),
        };
        ws::reply("value", &json!({ "name": name, "value": value }))
    }
}

fn counters() -> Repository<Value> {
    Repository::new("counter")
}

fn current(name: &str) -> Result<Option<Value>> {
    counters().find_one(&Query::new().filter("name", name))
}

fn increment(name: &str) -> Result<i64> {
    let mut last = None;
    for _ in 0..ATTEMPTS {
        let outcome = orm::transaction(|| {
            let row = match current(name)? {
                Some(row) => row,
                None => counters().create(&json!({ "name": name, "value": 0 }))?,
            };
            let next = row["value"].as_i64().unwrap_or(0) + 1;
            counters().update(row["id"].as_i64().unwrap_or(0), &json!({ "value": next }))?;
            Ok(next)
        });
        match outcome {
            Ok(value) => return Ok(value),
            Err(Error::Internal(e)) => last = Some(e),
            Err(other) => return Err(other),
        }
    }
    Err(Error::Internal(last.unwrap_or_default()))
}

plughost_sdk::export_module!(Counter);
