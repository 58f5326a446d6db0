//! Chat over WebSockets at `ws://HOST/chat` (token as `?token=` or `Authorization: Bearer`).
//!
//! | client sends | what happens |
//! |---|---|
//! | `join {room}` | the sender gets `joined {room}`; everyone in the room gets `presence {room, users}` |
//! | `message {room, text}` | everyone in the room gets `message {room, text, user}` |
//! | `typing {room}` | everyone in the room gets `typing {room, user}` |
//! | `leave {room}` | the sender gets `left {room}`; the room gets `presence {room, users}` |
//! | `direct {to, text}` | every device of user `to` gets `direct {from, text}` |

use plughost_sdk::ws::{self, Connection, Message};
use plughost_sdk::{Error, Result};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
struct RoomRequest {
    room: String,
}

#[derive(Deserialize)]
struct Direct {
    to: String,
    text: String,
}

#[derive(Deserialize)]
struct ChatMessage {
    room: String,
    text: String,
}

const MAX_TEXT: usize = 2_000;

struct Chat;

impl plughost_sdk::Module for Chat {
    fn on_connect(connection: Connection) -> Result<()> {
        if connection.user_id.is_none() {
            return Err(Error::Denied(
                "chat needs a signed-in user (a token with `sub`)".into(),
            ));
        }
        Ok(())
    }

    fn on_message(connection: Connection, message: Message) -> Result<()> {
        let user = connection.user_id.clone().unwrap_or_default();
        match message.event.as_str() {
            "join" => {
                let RoomRequest { room } = message.data_as()?;
                check_room(&room)?;
                ws::join(&room)?;
                ws::reply("joined", &json!({ "room": room }))?;
                announce_presence(&room)
            }
            "leave" => {
                let RoomRequest { room } = message.data_as()?;
                ws::leave(&room)?;
                ws::reply("left", &json!({ "room": room }))?;
                announce_presence(&room)
            }
            "message" => {
                let ChatMessage { room, text } = message.data_as()?;
                if text.trim().is_empty() || text.chars().count() > MAX_TEXT {
                    return Err(Error::Invalid(format!(
                        "text must be 1 to {MAX_TEXT} characters"
                    )));
                }
                member_of(&room, &user)?;
                ws::to_room(
                    &room,
                    "message",
                    &json!({ "room": room, "text": text, "user": user }),
                )
            }
            "typing" => {
                let RoomRequest { room } = message.data_as()?;
                member_of(&room, &user)?;
                ws::to_room(&room, "typing", &json!({ "room": room, "user": user }))
            }
            "direct" => {
                let Direct { to, text } = message.data_as()?;
                ws::to_user(&to, "direct", &json!({ "from": user, "text": text }))
            }
            other => Err(Error::Invalid(format!(
                "unknown event '{other}'; send join, leave, message, typing or direct"
            ))),
        }
    }

    fn on_disconnect(connection: Connection) {
        // The host already took the socket out of its rooms; nothing else to clean.
        let _ = connection;
    }
}

fn check_room(room: &str) -> Result<()> {
    let ok = !room.is_empty()
        && room.len() <= 64
        && !room.starts_with("user:")
        && room
            .chars()
            .all(|c| c.is_alphanumeric() || "-_ ".contains(c));
    if !ok {
        return Err(Error::Invalid(format!(
            "'{room}' is not a room name (1-64 letters, digits, '-', '_', ' ')"
        )));
    }
    Ok(())
}

fn member_of(room: &str, user: &str) -> Result<()> {
    if !ws::presence(Some(room))?.iter().any(|u| u == user) {
        return Err(Error::Denied(format!("join '{room}' before writing to it")));
    }
    Ok(())
}

fn announce_presence(room: &str) -> Result<()> {
    let users = ws::presence(Some(room))?;
    ws::to_room(room, "presence", &json!({ "room": room, "users": users }))
}

plughost_sdk::export_module!(Chat);
