"""Write plughost modules in Python.

The bindings (`wit_world`) are generated from the platform's WIT by componentize-py when
`host build` builds the module; this package adds a router and helpers:

    from plughost import Router, Response

    router = Router()

    @router.get("/{name}")
    def greet(request):
        return Response.text(f"Hello, {request.param('name')}!")

    HttpHandler = router.handler()
"""

from .http import Request, Response, Router, HttpError
from . import config, events, log, orm, queue

__all__ = ["Request", "Response", "Router", "HttpError", "config", "events", "log", "orm", "queue"]
