"""Write plughost modules in Python.

The bindings (`wit_world`) are generated from the platform's WIT by componentize-py when
`host build` builds the module; this package adds a router and helpers:

    from plughost import Router, Response

    router = Router()

    @router.get("/{name}")
    def greet(request):
        return Response.text(f"Hello, {request.param('name')}!")

    HttpHandler = router.handler()

WebSocket namespaces: `plughost.ws` (`WsHandler = sockets.handler()`). Objects:
`plughost.storage`; mail: `plughost.mail`.
"""

from .http import Request, Response, Router, HttpError
from . import config, events, log, mail, orm, queue, storage, ws

# The platform's error, for any handler (HTTP, WebSocket, events, jobs).
Error = HttpError

__all__ = ["Request", "Response", "Router", "Error", "HttpError", "config", "events", "log", "orm", "queue", "ws", "storage", "mail"]
