//! The `ws` interface: actions on the namespace of the socket being handled.

use std::sync::Arc;

use wasmtime::component::HasData;

use super::hub::{Hub, Target, error_frame, frame};
use crate::runtime::ModuleContext;
use crate::runtime::bindings::GuestError;
use crate::runtime::bindings::plughost::platform::ws::Host;

/// The socket an invocation handles: its namespace, id, and the message's id.
#[derive(Debug, Clone, Default)]
pub struct CurrentSocket {
    /// The namespace.
    pub namespace: String,
    /// The socket.
    pub socket_id: String,
    /// The id of the message being handled, echoed by replies.
    pub message_id: Option<String>,
}

/// The WebSocket part of one invocation.
pub struct WsInvocation {
    /// The host's sockets.
    pub hub: Arc<Hub>,
    /// Set when the invocation handles a connection or message.
    pub current: Option<CurrentSocket>,
}

/// Marker tying the interface to its view.
pub struct WsCapability;

impl HasData for WsCapability {
    type Data<'a> = WsView<'a>;
}

/// What the actions see: the module and the invocation's socket.
pub struct WsView<'a> {
    pub module: &'a ModuleContext,
    pub ws: &'a WsInvocation,
}

type Result<T> = std::result::Result<T, GuestError>;

impl WsView<'_> {
    fn current(&self) -> Result<&CurrentSocket> {
        let current = self.ws.current.as_ref().ok_or_else(|| {
            GuestError::Invalid(
                "ws actions work while handling a WebSocket connection or message".into(),
            )
        })?;
        self.module
            .check("ws", &current.namespace)
            .map_err(|denied| GuestError::Denied(denied.to_string()))?;
        Ok(current)
    }

    fn send(&self, target: Target<'_>, event: &str, data: &str, id: Option<&str>) -> Result<()> {
        let current = self.current()?;
        let data: &serde_json::value::RawValue = serde_json::from_str(data)
            .map_err(|e| GuestError::Invalid(format!("the data for '{event}' is not JSON: {e}")))?;
        self.ws
            .hub
            .publish(&current.namespace, target, frame(event, data, id));
        Ok(())
    }
}

impl Host for WsView<'_> {
    fn reply(&mut self, event: String, data: String) -> Result<()> {
        let current = self.current()?.clone();
        self.send(
            Target::Socket(&current.socket_id),
            &event,
            &data,
            current.message_id.as_deref(),
        )
    }

    fn send_error(&mut self, code: String, message: String) -> Result<()> {
        let current = self.current()?;
        let frame = error_frame(&code, &message, current.message_id.as_deref());
        self.ws.hub.send(
            &current.namespace,
            Target::Socket(&current.socket_id),
            frame,
        );
        Ok(())
    }

    fn to_socket(&mut self, socket_id: String, event: String, data: String) -> Result<()> {
        self.send(Target::Socket(&socket_id), &event, &data, None)
    }

    fn to_room(&mut self, room: String, event: String, data: String) -> Result<()> {
        self.send(Target::Room(&room), &event, &data, None)
    }

    fn to_user(&mut self, user_id: String, event: String, data: String) -> Result<()> {
        self.send(
            Target::Room(&format!("user:{user_id}")),
            &event,
            &data,
            None,
        )
    }

    fn broadcast(&mut self, event: String, data: String) -> Result<()> {
        self.send(Target::All, &event, &data, None)
    }

    fn join(&mut self, room: String) -> Result<()> {
        if room.starts_with("user:") {
            return Err(GuestError::Invalid(
                "rooms named user:… belong to the host (one per authenticated user)".into(),
            ));
        }
        let current = self.current()?;
        self.ws
            .hub
            .join(&current.namespace, &current.socket_id, &room);
        Ok(())
    }

    fn leave(&mut self, room: String) -> Result<()> {
        let current = self.current()?;
        self.ws
            .hub
            .leave(&current.namespace, &current.socket_id, &room);
        Ok(())
    }

    fn presence(&mut self, room: Option<String>) -> Result<Vec<String>> {
        let current = self.current()?;
        Ok(self.ws.hub.presence(&current.namespace, room.as_deref()))
    }
}
