// Log lines into the host's tracing; the host adds module, tenant and request id.

import { write } from 'plughost:platform/log@0.1.0';

export function trace(message) { write('trace', String(message)); }
export function debug(message) { write('debug', String(message)); }
export function info(message) { write('info', String(message)); }
export function warn(message) { write('warn', String(message)); }
export function error(message) { write('error', String(message)); }
