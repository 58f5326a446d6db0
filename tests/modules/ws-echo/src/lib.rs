//! Benchmark fixture: `echo` replies the data to the sender; `broadcast` sends it to every
//! socket of the namespace.

use plughost_sdk::ws::{self, Connection, Message};
use plughost_sdk::{Error, Result};
use serde_json::Value;

struct Echo;

impl plughost_sdk::Module for Echo {
    fn on_message(_: Connection, message: Message) -> Result<()> {
        let data: Value = message.data_as()?;
        match message.event.as_str() {
            "echo" => ws::reply("echo", &data),
            "broadcast" => ws::broadcast("broadcast", &data),
            other => Err(Error::Invalid(format!("unknown event '{other}'"))),
        }
    }
}

plughost_sdk::export_module!(Echo);
