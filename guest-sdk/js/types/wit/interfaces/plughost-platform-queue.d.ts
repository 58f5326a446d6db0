/// <reference path="./plughost-platform-types.d.ts" />
declare module 'plughost:platform/queue@0.1.0' {
  /**
   * Enqueues `payload` (JSON text, at most 64 KiB) on `queue`; returns the job id.
   */
  export function dispatch(queue: string, payload: string, options: DispatchOptions): string;
  export type Error = import('plughost:platform/types@0.1.0').Error;
  /**
   * How to dispatch.
   */
  export interface DispatchOptions {
    /**
     * Run no sooner than this many milliseconds from now.
     */
    delayMs: bigint,
    /**
     * Attempts before the job becomes a dead letter; none means the host's default (3).
     */
    maxAttempts?: number,
  }
}
