//! WebSockets: the module's namespaces (`[ws] namespaces`) call
//! [`crate::Module::on_connect`], [`crate::Module::on_message`] and
//! [`crate::Module::on_disconnect`]; these functions act on the namespace meanwhile.
//!
//! ```ignore
//! fn on_message(conn: ws::Connection, msg: ws::Message) -> Result<()> {
//!     let room: String = msg.data_as::<serde_json::Value>()?["room"].as_str().unwrap_or("lobby").into();
//!     ws::join(&room)?;
//!     ws::to_room(&room, "joined", &serde_json::json!({"room": room, "user": conn.user_id}))
//! }
//! ```

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::bindings::plughost::platform::ws as wit;
use crate::{Error, Result};

/// A connected client: socket id, namespace, user id (the token's `sub`), claims (JSON).
pub use crate::bindings::plughost::platform::ws_types::Connection;
/// A client's message: event, data (JSON), id.
pub use crate::bindings::plughost::platform::ws_types::Message;

fn json(data: &impl Serialize) -> Result<String> {
    serde_json::to_string(data)
        .map_err(|e| Error::Invalid(format!("the data does not serialise: {e}")))
}

/// Sends to the socket being handled, echoing the message's id.
pub fn reply(event: &str, data: &impl Serialize) -> Result<()> {
    wit::reply(event, &json(data)?)
}

/// Sends an error frame `{"event": "error", "data": {"code", "message"}}` to the socket being handled.
pub fn send_error(code: &str, message: &str) -> Result<()> {
    wit::send_error(code, message)
}

/// Sends to one socket.
pub fn to_socket(socket_id: &str, event: &str, data: &impl Serialize) -> Result<()> {
    wit::to_socket(socket_id, event, &json(data)?)
}

/// Sends to everyone in a room.
pub fn to_room(room: &str, event: &str, data: &impl Serialize) -> Result<()> {
    wit::to_room(room, event, &json(data)?)
}

/// Sends to every socket of a user.
pub fn to_user(user_id: &str, event: &str, data: &impl Serialize) -> Result<()> {
    wit::to_user(user_id, event, &json(data)?)
}

/// Sends to every socket of the namespace.
pub fn broadcast(event: &str, data: &impl Serialize) -> Result<()> {
    wit::broadcast(event, &json(data)?)
}

/// Puts the socket being handled in a room.
pub fn join(room: &str) -> Result<()> {
    wit::join(room)
}

/// Takes the socket being handled out of a room.
pub fn leave(room: &str) -> Result<()> {
    wit::leave(room)
}

/// Users online in the namespace (`None`) or in a room.
pub fn presence(room: Option<&str>) -> Result<Vec<String>> {
    wit::presence(room)
}

impl Message {
    /// The data parsed into `T`; `invalid` naming the event when it does not fit.
    pub fn data_as<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_str(&self.data)
            .map_err(|e| Error::Invalid(format!("the data of '{}' does not fit: {e}", self.event)))
    }
}

impl Connection {
    /// The token's claims parsed into `T`.
    pub fn claims_as<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_str(&self.claims).map_err(|e| Error::Invalid(format!("claims: {e}")))
    }
}
