"""Dispatch jobs to queues within the module's `queue` grant.

    from plughost import queue
    job_id = queue.dispatch("send-confirmation", {"order": 7})
    queue.dispatch("reminders", {"user": 1}, delay_ms=60_000, max_attempts=5)

A job is enqueued only if the current request succeeds; inside an ORM transaction it
commits (or rolls back) with the data.

Handle the queues of `[queue] handles` in plugin.toml:

    jobs = queue.Jobs()

    @jobs.handle("send-confirmation")
    def send_confirmation(job):
        ...  # raise to fail this attempt: it is retried, then dead-lettered

    JobHandler = jobs.handler()
"""

import json
from typing import Any, Callable, Dict, Optional

from wit_world import exports
from wit_world.imports import job_types
from wit_world.imports import queue as _queue

from .http import HttpError, call_handler


def dispatch(queue: str, payload: Any, delay_ms: int = 0, max_attempts: Optional[int] = None) -> str:
    """Enqueues payload (serialised as JSON) on queue; returns the job id."""
    options = _queue.DispatchOptions(delay_ms=delay_ms, max_attempts=max_attempts)
    return _queue.dispatch(queue, json.dumps(payload), options)


class Job:
    """One attempt of a job: id, queue, parsed payload, attempt (from 1), max attempts, and
    why the previous attempt failed."""

    def __init__(self, raw: job_types.Job):
        self.id: str = raw.id
        self.queue: str = raw.queue
        self.payload: Any = json.loads(raw.payload)
        self.attempt: int = raw.attempt
        self.max_attempts: int = raw.max_attempts
        self.last_error: Optional[str] = raw.last_error


class Jobs:
    """Binds queue names to handlers."""

    def __init__(self) -> None:
        self._handlers: Dict[str, Callable[[Job], None]] = {}

    def handle(self, queue: str) -> Callable[[Callable[[Job], None]], Callable[[Job], None]]:
        def register(handler: Callable[[Job], None]) -> Callable[[Job], None]:
            self._handlers[queue] = handler
            return handler

        return register

    def handler(self) -> type:
        """The class componentize-py exports as the module's `job-handler`."""
        jobs = self

        class JobHandler(exports.JobHandler):
            def handle_job(self, job: job_types.Job) -> None:
                handler = jobs._handlers.get(job.queue)
                if handler is None:
                    raise HttpError("invalid", f"no handler for queue '{job.queue}'").to_wit()
                call_handler(lambda: handler(Job(job)))

        return JobHandler
