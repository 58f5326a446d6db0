"""Emit events on topics within the module's `events` grant.

    from plughost import events
    event_id = events.emit("order.created.v1", {"id": 7})

An event is delivered only if the current request succeeds (and not if it was emitted inside
an ORM transaction that was rolled back).

Receive the topics of `[events] subscribe` in plugin.toml:

    subscriptions = events.Subscriptions()

    @subscriptions.on("order.*")
    def on_order(event):
        log.info(f"{event.topic}: {event.payload}")

    EventHandler = subscriptions.handler()

Raise `plughost.Error` (or any exception) to fail the delivery; it is logged and counted.
"""

import json
from fnmatch import fnmatchcase
from typing import Any, Callable, List, Tuple

from wit_world import exports
from wit_world.imports import event_types
from wit_world.imports import events as _events

from .http import HttpError, call_handler


def emit(topic: str, payload: Any) -> str:
    """Publishes payload (serialised as JSON) on topic; returns the event id."""
    return _events.emit(topic, json.dumps(payload))


class Event:
    """A delivered event: id, topic, parsed payload, emitting module and RFC 3339 time."""

    def __init__(self, raw: event_types.Event):
        self.id: str = raw.id
        self.topic: str = raw.topic
        self.payload: Any = json.loads(raw.payload)
        self.source: str = raw.source
        self.time: str = raw.time


class Subscriptions:
    """Binds topic patterns (`*` is any run of characters) to handlers, first match wins."""

    def __init__(self) -> None:
        self._handlers: List[Tuple[str, Callable[[Event], None]]] = []

    def on(self, pattern: str) -> Callable[[Callable[[Event], None]], Callable[[Event], None]]:
        def register(handler: Callable[[Event], None]) -> Callable[[Event], None]:
            self._handlers.append((pattern, handler))
            return handler

        return register

    def handler(self) -> type:
        """The class componentize-py exports as the module's `event-handler`."""
        subscriptions = self

        class EventHandler(exports.EventHandler):
            def on_event(self, event: event_types.Event) -> None:
                for pattern, handler in subscriptions._handlers:
                    if fnmatchcase(event.topic, pattern):
                        return call_handler(lambda: handler(Event(event)))
                raise HttpError("invalid", f"no handler for topic '{event.topic}'").to_wit()

        return EventHandler
