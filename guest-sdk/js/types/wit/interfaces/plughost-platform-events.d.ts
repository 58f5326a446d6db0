/// <reference path="./plughost-platform-types.d.ts" />
declare module 'plughost:platform/events@0.1.0' {
  /**
   * Publishes `payload` (JSON text, at most 64 KiB) on `topic`; returns the event's id.
   */
  export function emit(topic: string, payload: string): string;
  export type Error = import('plughost:platform/types@0.1.0').Error;
}
