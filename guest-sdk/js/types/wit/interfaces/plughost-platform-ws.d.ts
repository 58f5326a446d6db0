/// <reference path="./plughost-platform-types.d.ts" />
declare module 'plughost:platform/ws@0.1.0' {
  /**
   * Sends to the socket being handled (with the message's id, if it had one).
   */
  export function reply(event: string, data: string): void;
  /**
   * Sends an error frame to the socket being handled.
   */
  export function sendError(code: string, message: string): void;
  /**
   * Sends to one socket of the namespace.
   */
  export function toSocket(socketId: string, event: string, data: string): void;
  /**
   * Sends to every socket in a room.
   */
  export function toRoom(room: string, event: string, data: string): void;
  /**
   * Sends to every socket of a user (all their devices).
   */
  export function toUser(userId: string, event: string, data: string): void;
  /**
   * Sends to every socket of the namespace.
   */
  export function broadcast(event: string, data: string): void;
  /**
   * Puts the socket being handled in a room.
   */
  export function join(room: string): void;
  /**
   * Takes the socket being handled out of a room.
   */
  export function leave(room: string): void;
  /**
   * The users online in the namespace, or in `room`; sorted, each once.
   */
  export function presence(room: string | undefined): Array<string>;
  export type Error = import('plughost:platform/types@0.1.0').Error;
}
