/// <reference path="./plughost-platform-types.d.ts" />
/// <reference path="./plughost-platform-ws-types.d.ts" />
declare module 'plughost:platform/ws-handler@0.1.0' {
  /**
   * A client connects (after the host checked its token); an error refuses it.
   */
  export function onConnect(connection: Connection): void;
  /**
   * A client sent a message; an error is sent back to it as an error frame.
   */
  export function onMessage(connection: Connection, message: Message): void;
  /**
   * A client went away; its rooms are already left.
   */
  export function onDisconnect(connection: Connection): void;
  export type Error = import('plughost:platform/types@0.1.0').Error;
  export type Connection = import('plughost:platform/ws-types@0.1.0').Connection;
  export type Message = import('plughost:platform/ws-types@0.1.0').Message;
}
