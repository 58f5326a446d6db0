// Dispatch jobs to queues within the module's `queue` grant, and handle the queues of
// `[queue] handles` in plugin.toml.
//
//     import { queue } from 'plughost';
//     const id = queue.dispatch('send-confirmation', { order: 7 });
//     queue.dispatch('reminders', { user: 1 }, { delayMs: 60000, maxAttempts: 5 });
//
//     const jobs = new queue.Jobs();
//     jobs.handle('send-confirmation', (job) => { ... }); // throw to fail this attempt
//     export const jobHandler = jobs.handler();
//
// A job is enqueued only if the current invocation succeeds; inside an ORM transaction it
// commits (or rolls back) with the data.

import * as queue from 'plughost:platform/queue@0.1.0';

import { PlughostError, callHandler } from './http.js';

/** Enqueues payload (serialised as JSON) on queue; returns the job id. */
export function dispatch(name, payload, { delayMs = 0, maxAttempts = undefined } = {}) {
  const options = { delayMs: BigInt(delayMs), maxAttempts: maxAttempts ?? undefined };
  return queue.dispatch(name, JSON.stringify(payload ?? null), options);
}

/** One attempt of a job: id, queue, parsed payload, attempt (from 1), maxAttempts, and
 * lastError (why the previous attempt failed, or null). */
export class Job {
  constructor(raw) {
    this.id = raw.id;
    this.queue = raw.queue;
    this.payload = JSON.parse(raw.payload);
    this.attempt = raw.attempt;
    this.maxAttempts = raw.maxAttempts;
    this.lastError = raw.lastError ?? null;
  }
}

/** Binds queue names to handlers. */
export class Jobs {
  constructor() {
    this.handlers = new Map();
  }

  handle(name, handler) {
    this.handlers.set(name, handler);
    return this;
  }

  /** The module's `jobHandler` export. */
  handler() {
    return {
      handleJob: (job) => {
        const handler = this.handlers.get(job.queue);
        if (handler === undefined) {
          throw new PlughostError('invalid', `no handler for queue '${job.queue}'`);
        }
        callHandler(`the handler of queue '${job.queue}'`, () => handler(new Job(job)));
      },
    };
  }
}
