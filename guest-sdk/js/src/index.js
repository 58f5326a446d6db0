// Write plughost modules in JavaScript (or TypeScript).
//
// componentize-js gives a module the platform's WIT imports (`plughost:platform/log@0.1.0`,
// ...) and takes its handlers from the module's exports; this package adds a router and
// helpers over them:
//
//     import { Router, Response } from 'plughost';
//
//     const router = new Router();
//     router.get('/{name}', (request) => Response.text(`Hello, ${request.param('name')}!`));
//
//     export const httpHandler = router.handler();
//
// Other handlers: `export const wsHandler = sockets.handler()` (ws.Sockets),
// `eventHandler` (events.Subscriptions), `jobHandler` (queue.Jobs). `host build` builds
// app.js (or app.ts) with this package for the `service` world; handlers a module does not
// export get defaults that answer with an error.

export { PlughostError, Request, Response, Router } from './http.js';
export { PlughostError as HttpError } from './http.js';
export * as config from './config.js';
export * as events from './events.js';
export * as log from './log.js';
export * as mail from './mail.js';
export * as orm from './orm.js';
export * as queue from './queue.js';
export * as storage from './storage.js';
export * as ws from './ws.js';
