"""What `host dev` builds: the module's app.py with the defaults, as plughost_component, and
one thing more. When the host mounts the module's folder read-only where componentize-py
mounted it while building (only `host dev` does, setting PLUGHOST_DEV_SOURCES), an instance
imports the module's own files afresh from there on its first call, so an edit answers
before the rebuild that follows it is done. A file that fails to import leaves the version
last built serving, with one error line in the log."""

import importlib
import os
import sys

import app

from plughost import _defaults, log
from wit_world import exports

# Where componentize-py mounts the first folder it is given, the module's own.
_SOURCES = "/0"

_current = None


def _fresh_app():
    if os.environ.get("PLUGHOST_DEV_SOURCES") != _SOURCES:
        return app
    own = [
        name
        for name, module in sys.modules.items()
        if (getattr(module, "__file__", None) or "").startswith(_SOURCES + "/")
    ]
    saved = {name: sys.modules.pop(name) for name in own}
    try:
        # Only the module folder's finder forgets its listing: importlib.invalidate_caches
        # would import importlib.metadata, which the build did not bundle.
        finder = sys.path_importer_cache.get(_SOURCES)
        if finder is not None:
            finder.invalidate_caches()
        return importlib.import_module("app")
    except BaseException as error:  # a syntax error, an import that fails: keep serving
        sys.modules.update(saved)
        log.error(f"the edited sources do not import, the version last built serves: {_where(error)}")
        return app


def _where(error: BaseException) -> str:
    if isinstance(error, SyntaxError):
        name = (error.filename or "app.py").removeprefix(_SOURCES + "/")
        return f"{name}:{error.lineno}: {error.msg}"
    return f"{type(error).__name__}: {error}"


def _app():
    global _current
    if _current is None:
        _current = _fresh_app()
    return _current


class HttpHandler(exports.HttpHandler):
    def handle(self, request):
        return getattr(_app(), "HttpHandler", _defaults.HttpHandler)().handle(request)


class EventHandler(exports.EventHandler):
    def on_event(self, event):
        return getattr(_app(), "EventHandler", _defaults.EventHandler)().on_event(event)


class JobHandler(exports.JobHandler):
    def handle_job(self, job):
        return getattr(_app(), "JobHandler", _defaults.JobHandler)().handle_job(job)


class WsHandler(exports.WsHandler):
    def on_connect(self, connection):
        return getattr(_app(), "WsHandler", _defaults.WsHandler)().on_connect(connection)

    def on_message(self, connection, message):
        return getattr(_app(), "WsHandler", _defaults.WsHandler)().on_message(connection, message)

    def on_disconnect(self, connection):
        return getattr(_app(), "WsHandler", _defaults.WsHandler)().on_disconnect(connection)
