// Emit events on topics within the module's `events` grant, and receive the topics of
// `[events] subscribe` in plugin.toml.
//
//     import { events, log } from 'plughost';
//     const id = events.emit('order.created.v1', { id: 7 });
//
//     const subscriptions = new events.Subscriptions();
//     subscriptions.on('order.*', (event) => log.info(`${event.topic}: ${event.payload.id}`));
//     export const eventHandler = subscriptions.handler();
//
// An event is delivered only if the current invocation succeeds (and not if it was emitted
// inside an ORM transaction that was rolled back). Throw to fail a delivery; it is logged
// and counted.

import * as events from 'plughost:platform/events@0.1.0';

import { PlughostError, callHandler } from './http.js';

/** Publishes payload (serialised as JSON) on topic; returns the event id. */
export function emit(topic, payload) {
  return events.emit(topic, JSON.stringify(payload ?? null));
}

/** A delivered event: id, topic, parsed payload, emitting module and RFC 3339 time. */
export class Event {
  constructor(raw) {
    this.id = raw.id;
    this.topic = raw.topic;
    this.payload = JSON.parse(raw.payload);
    this.source = raw.source;
    this.time = raw.time;
  }
}

/** Whether `text` matches `pattern`, where `*` is any run of characters and `?` one. */
export function matches(pattern, text) {
  const source = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 's').test(text);
}

/** Binds topic patterns to handlers, first match wins. */
export class Subscriptions {
  constructor() {
    this.handlers = [];
  }

  on(pattern, handler) {
    this.handlers.push([pattern, handler]);
    return this;
  }

  /** The module's `eventHandler` export. */
  handler() {
    return {
      onEvent: (event) => {
        for (const [pattern, handler] of this.handlers) {
          if (matches(pattern, event.topic)) {
            callHandler(`the handler of '${pattern}'`, () => handler(new Event(event)));
            return;
          }
        }
        throw new PlughostError('invalid', `no handler for topic '${event.topic}'`);
      },
    };
  }
}
