"""Dispatch jobs to queues within the module's `queue` grant.

    from plughost import queue
    job_id = queue.dispatch("send-confirmation", {"order": 7})
    queue.dispatch("reminders", {"user": 1}, delay_ms=60_000, max_attempts=5)

A job is enqueued only if the current request succeeds; inside an ORM transaction it
commits (or rolls back) with the data. Handling jobs needs the `service` world, which the
Rust SDK targets; Python modules dispatch only, for now.
"""

import json
from typing import Any, Optional

from wit_world.imports import queue as _queue


def dispatch(queue: str, payload: Any, delay_ms: int = 0, max_attempts: Optional[int] = None) -> str:
    """Enqueues payload (serialised as JSON) on queue; returns the job id."""
    options = _queue.DispatchOptions(delay_ms=delay_ms, max_attempts=max_attempts)
    return _queue.dispatch(queue, json.dumps(payload), options)
