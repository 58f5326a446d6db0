//! The {{name}} module: a WebSocket namespace that echoes and broadcasts.

use plughost_sdk::ws::{self, Connection, Message};
use plughost_sdk::{Error, Result};
use serde_json::Value;

struct Module;

impl plughost_sdk::Module for Module {
    fn on_message(_: Connection, message: Message) -> Result<()> {
        let data: Value = message.data_as()?;
        match message.event.as_str() {
            "echo" => ws::reply("echo", &data),
            "broadcast" => ws::broadcast("broadcast", &data),
            other => Err(Error::Invalid(format!("unknown event '{other}'"))),
        }
    }
}

plughost_sdk::export_module!(Module);
