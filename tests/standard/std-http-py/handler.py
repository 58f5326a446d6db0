"""An unmodified wasi:http/proxy component written as componentize-py's HTTP example: it
knows nothing of plughost. GET PREFIX/hello/NAME answers "Hello, NAME! (python wasi:http)"."""

from wit_world import exports
from wit_world.imports.types import (
    Fields,
    IncomingRequest,
    OutgoingBody,
    OutgoingResponse,
    ResponseOutparam,
)
from componentize_py_types import Ok


class IncomingHandler(exports.IncomingHandler):
    def handle(self, request: IncomingRequest, response_out: ResponseOutparam) -> None:
        path = request.path_with_query() or "/"
        name = path.rsplit("/", 1)[-1]
        body = f"Hello, {name}! (python wasi:http)".encode()
        response = OutgoingResponse(
            Fields.from_list([("content-type", b"text/plain"), ("x-seen-path", path.encode())])
        )
        response.set_status_code(200)
        outgoing = response.body()
        ResponseOutparam.set(response_out, Ok(response))
        stream = outgoing.write()
        stream.blocking_write_and_flush(body)
        stream.__exit__(None, None, None)
        OutgoingBody.finish(outgoing, None)
