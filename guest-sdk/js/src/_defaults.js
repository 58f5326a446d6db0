// Handlers for the exports a module leaves out. JS modules are built for the `service`
// world (HTTP, events, jobs, WebSockets); the host calls only the handlers a manifest
// declares, so these run only if a manifest declares something the module forgot to export.

import { PlughostError } from './http.js';

function missing(name, how) {
  return new PlughostError('internal', `the module exports no ${name}; ${how} in app.js`);
}

const defaults = {
  httpHandler: {
    handle() {
      throw missing('httpHandler', 'add `export const httpHandler = router.handler()`');
    },
  },
  eventHandler: {
    onEvent() {
      throw missing('eventHandler', 'add `export const eventHandler = subscriptions.handler()`');
    },
  },
  jobHandler: {
    handleJob() {
      throw missing('jobHandler', 'add `export const jobHandler = jobs.handler()`');
    },
  },
  wsHandler: {
    onConnect() {
      throw missing('wsHandler', 'add `export const wsHandler = sockets.handler()`');
    },
    onMessage() {
      throw missing('wsHandler', 'add `export const wsHandler = sockets.handler()`');
    },
    onDisconnect() {},
  },
};

/** The module's handler for `name`, or the default one. */
export function handlerOf(app, name) {
  const handler = app[name];
  if (handler === undefined) return defaults[name];
  for (const method of Object.keys(defaults[name])) {
    if (typeof handler[method] !== 'function') {
      throw new TypeError(`app.js exports ${name} without a ${method} function; build it with the plughost SDK (e.g. ${name} = router.handler())`);
    }
  }
  return handler;
}
