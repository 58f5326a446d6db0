"""The Python hello module: GET /hello-py/{name} answers "Hello, {name}! (python)".

Build and run from the repository root:
    host build examples/hello && host run --plugins examples/hello/plugins
    curl localhost:8080/hello-py/Ada
"""

from plughost import Request, Response, Router

router = Router()


@router.get("/{name}")
def greet(request: Request) -> Response:
    return Response.text(f"Hello, {request.param('name')}! (python)")


HttpHandler = router.handler()
