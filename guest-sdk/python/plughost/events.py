"""Emit events on topics within the module's `events` grant.

    from plughost import events
    event_id = events.emit("order.created.v1", {"id": 7})

An event is delivered only if the current request succeeds (and not if it was emitted inside
an ORM transaction that was rolled back). Receiving events needs the `service` world, which
the Rust SDK targets; Python modules emit only, for now.
"""

import json
from typing import Any

from wit_world.imports import events as _events


def emit(topic: str, payload: Any) -> str:
    """Publishes payload (serialised as JSON) on topic; returns the event id."""
    return _events.emit(topic, json.dumps(payload))
