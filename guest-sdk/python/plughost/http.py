"""HTTP helpers and the router that binds the routes declared in plugin.toml to handlers."""

import os
import traceback
from typing import Callable, Dict, List, Optional, Tuple, TypeVar
from urllib.parse import parse_qsl

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import http_types, types


T = TypeVar("T")


class HttpError(Exception):
    """Raise from a handler to end the request with a platform error.

    kind is one of "denied" (403), "invalid" (400), "not-found" (404), "internal" (500).
    """

    _KINDS = {
        "denied": types.Error_Denied,
        "invalid": types.Error_Invalid,
        "not-found": types.Error_NotFound,
        "internal": types.Error_Internal,
    }

    def __init__(self, kind: str, message: str):
        if kind not in self._KINDS:
            raise ValueError(f"unknown error kind {kind!r}; use one of {sorted(self._KINDS)}")
        super().__init__(message)
        self.kind = kind
        self.message = message

    def to_wit(self) -> Err:
        return Err(self._KINDS[self.kind](self.message))


def call_handler(call: Callable[[], T], name: str = "the handler") -> T:
    """Runs a module's handler; a raised HttpError becomes the WIT error the host expects, and
    any other exception an `internal` error with one compact log line (instead of a trap and a
    page of traceback)."""
    try:
        return call()
    except HttpError as error:
        raise error.to_wit()
    except Err:
        raise
    except Exception as error:  # noqa: BLE001 - every handler failure becomes one error
        what = f"{type(error).__name__}: {error}"
        where = _last_frames(error)
        _log_error(f"{name} raised {what}" + (f" at {where}" if where else ""))
        raise Err(types.Error_Internal(f"{name} raised {what}"))


def _last_frames(error: BaseException, count: int = 3) -> str:
    """The module's own frames where the exception came from, innermost first:
    `app.py:12 in greet <- app.py:30 in helper`."""
    here = os.path.dirname(os.path.abspath(__file__))
    frames = [
        f for f in traceback.extract_tb(error.__traceback__)
        if not os.path.abspath(f.filename).startswith(here)
    ]
    return " <- ".join(
        f"{os.path.basename(f.filename)}:{f.lineno} in {f.name}" for f in reversed(frames[-count:])
    )


def _log_error(message: str) -> None:
    from .log import error

    error(message)


def _response(handler: Callable, request: "Request") -> http_types.Response:
    response = handler(request)
    if not isinstance(response, Response):
        name = getattr(handler, "__name__", "the handler")
        raise HttpError(
            "internal",
            f"handler {name} returned {type(response).__name__}; return a plughost.Response "
            "(Response.text(...), Response.json(...) or Response(status, headers, body))",
        )
    return response.to_wit()


class Request:
    """A request the host has matched to one of the module's declared routes."""

    def __init__(self, raw: http_types.Request):
        self.raw = raw
        self.method: str = raw.method
        self.path: str = raw.path
        self.route: str = raw.route
        self.params: Dict[str, str] = dict(raw.params)
        self.query: Dict[str, str] = dict(parse_qsl(raw.query, keep_blank_values=True))
        self.headers: Dict[str, str] = dict(raw.headers)
        self.body: bytes = bytes(raw.body)
        self.request_id: str = raw.request_id

    def param(self, name: str) -> Optional[str]:
        return self.params.get(name)

    def header(self, name: str) -> Optional[str]:
        return self.headers.get(name.lower())

    def text(self) -> str:
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError:
            raise HttpError("invalid", "the request body is not valid UTF-8")


class Response:
    """A response; build it with the class methods."""

    def __init__(self, status: int = 200, headers: Optional[List[Tuple[str, str]]] = None, body: bytes = b""):
        self.status = status
        self.headers = headers or []
        self.body = body

    @classmethod
    def text(cls, body: str, status: int = 200) -> "Response":
        return cls(status, [("content-type", "text/plain; charset=utf-8")], body.encode("utf-8"))

    @classmethod
    def json(cls, body: str, status: int = 200) -> "Response":
        return cls(status, [("content-type", "application/json")], body.encode("utf-8"))

    @classmethod
    def object(cls, key: str) -> "Response":
        """The module's stored object at key, streamed by the host (content type, ETag,
        ranges): its bytes never pass through the module."""
        return cls(200, [("x-plughost-object", key)])

    def to_wit(self) -> http_types.Response:
        return http_types.Response(status=self.status, headers=self.headers, body=self.body)


Handler = Callable[[Request], Response]


class Router:
    """Binds (method, route pattern as declared in plugin.toml) to handlers."""

    def __init__(self):
        self._routes: List[Tuple[str, str, Handler]] = []

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        def bind(handler: Handler) -> Handler:
            self._routes.append((method.upper(), pattern, handler))
            return handler

        return bind

    def get(self, pattern: str):
        return self.route("GET", pattern)

    def post(self, pattern: str):
        return self.route("POST", pattern)

    def put(self, pattern: str):
        return self.route("PUT", pattern)

    def patch(self, pattern: str):
        return self.route("PATCH", pattern)

    def delete(self, pattern: str):
        return self.route("DELETE", pattern)

    def any(self, pattern: str):
        return self.route("ANY", pattern)

    def dispatch(self, raw: http_types.Request) -> http_types.Response:
        for method, pattern, handler in self._routes:
            if pattern == raw.route and method in (raw.method, "ANY"):
                name = f"handler {getattr(handler, '__name__', pattern)}"
                return call_handler(lambda: _response(handler, Request(raw)), name)
        raise HttpError(
            "not-found", f"the module has no handler for {raw.method} {raw.route}; bind it with @router"
        ).to_wit()

    def handler(self):
        """The class componentize-py exports as the module's `http-handler`."""
        router = self

        class HttpHandler(exports.HttpHandler):
            def handle(self, request: http_types.Request) -> http_types.Response:
                return router.dispatch(request)

        return HttpHandler
