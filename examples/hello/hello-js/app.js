// The JavaScript hello module: GET /hello-js/{name} answers "Hello, {name}! (js)".
//
// Build and run from the repository root:
//     host build examples/hello && host run --plugins examples/hello/plugins
//     curl localhost:8080/hello-js/Ada

import { Response, Router } from 'plughost';

const router = new Router();

router.get('/{name}', (request) => Response.text(`Hello, ${request.param('name')}! (js)`));

export const httpHandler = router.handler();
