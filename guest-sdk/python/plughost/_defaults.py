"""Handlers for the exports a module leaves out. Python modules are built for the `service`
world (HTTP, events, jobs, WebSockets); the host calls only the handlers a manifest declares,
so these run only if a manifest declares something the module forgot to define."""

from wit_world import exports

from .http import HttpError


def _missing(name: str, how: str) -> Exception:
    return HttpError("internal", f"the module defines no {name}; {how}").to_wit()


class HttpHandler(exports.HttpHandler):
    def handle(self, request):
        raise _missing("HttpHandler", "set HttpHandler = router.handler() in app.py")


class EventHandler(exports.EventHandler):
    def on_event(self, event):
        raise _missing("EventHandler", "set EventHandler = subscriptions.handler() in app.py")


class JobHandler(exports.JobHandler):
    def handle_job(self, job):
        raise _missing("JobHandler", "set JobHandler = jobs.handler() in app.py")


class WsHandler(exports.WsHandler):
    def on_connect(self, connection):
        raise _missing("WsHandler", "set WsHandler = sockets.handler() in app.py")

    def on_message(self, connection, message):
        raise _missing("WsHandler", "set WsHandler = sockets.handler() in app.py")

    def on_disconnect(self, connection):
        pass
