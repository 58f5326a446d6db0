// What `host build` gives componentize-js: the module's app.js (bundled in as
// `plughost-app`), with a default for each handler it does not export (see _defaults.js).

import * as app from 'plughost-app';

import { handlerOf } from './_defaults.js';

export const httpHandler = handlerOf(app, 'httpHandler');
export const eventHandler = handlerOf(app, 'eventHandler');
export const jobHandler = handlerOf(app, 'jobHandler');
export const wsHandler = handlerOf(app, 'wsHandler');
