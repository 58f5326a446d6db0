//! Benchmark fixture: `echo` replies the data to the sender; `broadcast` sends it to every
//! socket of the namespace. `panic`, `spin` and `hog` fail the way a broken module does
//! (a trap, an endless loop, unbounded memory), for the error codes of WebSocket frames.

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
            "panic" => panic!("asked to panic"),
            "spin" => loop {
                std::hint::black_box(&data);
            },
            "hog" => {
                let mut held = Vec::new();
                loop {
                    held.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&held);
                }
            }
            other => Err(Error::Invalid(format!("unknown event '{other}'"))),
        }
    }
}

plughost_sdk::export_module!(Echo);
