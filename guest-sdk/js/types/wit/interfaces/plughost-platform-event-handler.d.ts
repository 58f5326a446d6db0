/// <reference path="./plughost-platform-event-types.d.ts" />
/// <reference path="./plughost-platform-types.d.ts" />
declare module 'plughost:platform/event-handler@0.1.0' {
  /**
   * Handles one event. An error (or a trap) is logged and counted; other subscribers
   * still receive the event.
   */
  export function onEvent(event: Event): void;
  export type Error = import('plughost:platform/types@0.1.0').Error;
  export type Event = import('plughost:platform/event-types@0.1.0').Event;
}
