/* The C hello module: GET /hello-c/{name} answers "Hello, {name}! (c)".
 *
 * Build and run from the repository root (zig comes from scripts/setup, into .venv):
 *     host build examples/hello && host run --plugins examples/hello/plugins
 *     curl localhost:8080/hello-c/Ada
 */
#include "plughost.h"

static ph_response *greet(const ph_request *request) {
    return ph_response_text(ph_format("Hello, %s! (c)", ph_request_param(request, "name")));
}

PH_ROUTES(
    PH_GET("/{name}", greet)
)
