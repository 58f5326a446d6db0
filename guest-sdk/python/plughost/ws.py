"""Serve WebSocket namespaces (`[ws] namespaces` in plugin.toml) from Python.

    from plughost import ws

    sockets = ws.Sockets()

    @sockets.on("join")
    def join(connection, message):
        ws.join(message.data["room"])
        ws.reply("joined", {"room": message.data["room"]})

    WsHandler = sockets.handler()

Frames are JSON `{"event", "data", "id"?}`; `message.data` is the parsed payload. Raise
`plughost.Error(kind, message)` from a handler to answer the client with an error frame (or,
from `on_connect`, to refuse it); kinds are "denied", "invalid", "not-found", "internal".
The actions below work while a connection or message is handled.
"""

import json
from typing import Any, Callable, Dict, List, Optional

from wit_world import exports
from wit_world.imports import ws as _ws
from wit_world.imports import ws_types

from .http import HttpError, call_handler


class Connection:
    """The client being handled: its socket id, namespace, user (the token's `sub`) and claims."""

    def __init__(self, raw: ws_types.Connection):
        self.socket_id: str = raw.socket_id
        self.namespace: str = raw.namespace
        self.user_id: Optional[str] = raw.user_id
        self.claims: Dict[str, Any] = json.loads(raw.claims or "{}")


class Message:
    """One client frame: its event name, parsed data, and id (echoed by `reply`)."""

    def __init__(self, raw: ws_types.Message):
        self.event: str = raw.event
        self.data: Any = json.loads(raw.data) if raw.data else None
        self.id: Optional[str] = raw.id


Handler = Callable[[Connection, Message], None]


class Sockets:
    """Binds event names to handlers; `handler()` is the module's `WsHandler`."""

    def __init__(self) -> None:
        self._events: Dict[str, Handler] = {}
        self._connect: Optional[Callable[[Connection], None]] = None
        self._disconnect: Optional[Callable[[Connection], None]] = None

    def on(self, event: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self._events[event] = handler
            return handler

        return register

    def on_connect(self, handler: Callable[[Connection], None]) -> Callable[[Connection], None]:
        self._connect = handler
        return handler

    def on_disconnect(self, handler: Callable[[Connection], None]) -> Callable[[Connection], None]:
        self._disconnect = handler
        return handler

    def handler(self) -> type:
        """The class componentize-py exports as the module's `ws-handler`."""
        sockets = self

        class WsHandler(exports.WsHandler):
            def on_connect(self, connection: ws_types.Connection) -> None:
                if sockets._connect is not None:
                    _guarded(lambda: sockets._connect(Connection(connection)))

            def on_message(self, connection: ws_types.Connection, message: ws_types.Message) -> None:
                handler = sockets._events.get(message.event)
                if handler is None:
                    raise HttpError("invalid", f"unknown event '{message.event}'").to_wit()
                _guarded(lambda: handler(Connection(connection), Message(message)))

            def on_disconnect(self, connection: ws_types.Connection) -> None:
                if sockets._disconnect is not None:
                    sockets._disconnect(Connection(connection))

        return WsHandler


def _guarded(call: Callable[[], None]) -> None:
    try:
        call_handler(call)
    except ValueError as error:
        raise HttpError("invalid", str(error)).to_wit()


def reply(event: str, data: Any) -> None:
    """Sends to the socket being handled (with the message's id)."""
    _ws.reply(event, json.dumps(data))


def send_error(code: str, message: str) -> None:
    """Sends an error frame to the socket being handled."""
    _ws.send_error(code, message)


def to_socket(socket_id: str, event: str, data: Any) -> None:
    _ws.to_socket(socket_id, event, json.dumps(data))


def to_room(room: str, event: str, data: Any) -> None:
    _ws.to_room(room, event, json.dumps(data))


def to_user(user_id: str, event: str, data: Any) -> None:
    """Sends to every socket (device) of a user, on any host."""
    _ws.to_user(user_id, event, json.dumps(data))


def broadcast(event: str, data: Any) -> None:
    _ws.broadcast(event, json.dumps(data))


def join(room: str) -> None:
    _ws.join(room)


def leave(room: str) -> None:
    _ws.leave(room)


def presence(room: Optional[str] = None) -> List[str]:
    """Users online in the namespace, or in a room, on every host."""
    return list(_ws.presence(room))
