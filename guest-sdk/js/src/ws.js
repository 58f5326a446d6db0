// Serve WebSocket namespaces (`[ws] namespaces` in plugin.toml).
//
//     import { ws } from 'plughost';
//     const sockets = new ws.Sockets();
//     sockets.on('join', (connection, message) => {
//       ws.join(message.data.room);
//       ws.reply('joined', { room: message.data.room });
//     });
//     export const wsHandler = sockets.handler();
//
// Frames are JSON `{"event", "data", "id"?}`; `message.data` is the parsed payload. Throw
// `new PlughostError(kind, message)` from a handler to answer the client with an error frame
// (or, from onConnect, to refuse it). The actions below work while a connection or message
// is handled.

import * as ws from 'plughost:platform/ws@0.1.0';

import { PlughostError, callHandler } from './http.js';

/** The client being handled: socketId, namespace, userId (the token's `sub`, or null), claims. */
export class Connection {
  constructor(raw) {
    this.socketId = raw.socketId;
    this.namespace = raw.namespace;
    this.userId = raw.userId ?? null;
    this.claims = JSON.parse(raw.claims || '{}');
  }
}

/** One client frame: its event name, parsed data, and id (echoed by `reply`), or null. */
export class Message {
  constructor(raw) {
    this.event = raw.event;
    try {
      this.data = raw.data ? JSON.parse(raw.data) : null;
    } catch (error) {
      throw new PlughostError('invalid', `the data of '${raw.event}' is not JSON: ${error.message}`);
    }
    this.id = raw.id ?? null;
  }
}

/** Binds event names to handlers; `handler()` is the module's `wsHandler`. */
export class Sockets {
  constructor() {
    this.events = new Map();
    this.connect = undefined;
    this.disconnect = undefined;
  }

  on(event, handler) {
    this.events.set(event, handler);
    return this;
  }

  onConnect(handler) {
    this.connect = handler;
    return this;
  }

  onDisconnect(handler) {
    this.disconnect = handler;
    return this;
  }

  handler() {
    return {
      onConnect: (connection) => {
        if (this.connect) callHandler('onConnect', () => this.connect(new Connection(connection)));
      },
      onMessage: (connection, message) => {
        const handler = this.events.get(message.event);
        if (handler === undefined) {
          throw new PlughostError('invalid', `unknown event '${message.event}'`);
        }
        const parsed = new Message(message);
        callHandler(`the handler of '${message.event}'`, () => handler(new Connection(connection), parsed));
      },
      onDisconnect: (connection) => {
        if (this.disconnect) callHandler('onDisconnect', () => this.disconnect(new Connection(connection)));
      },
    };
  }
}

const json = (data) => JSON.stringify(data ?? null);

/** Sends to the socket being handled (with the message's id). */
export function reply(event, data) { ws.reply(event, json(data)); }
/** Sends an error frame to the socket being handled. */
export function sendError(code, message) { ws.sendError(code, message); }
export function toSocket(socketId, event, data) { ws.toSocket(socketId, event, json(data)); }
export function toRoom(room, event, data) { ws.toRoom(room, event, json(data)); }
/** Sends to every socket (device) of a user, on any host. */
export function toUser(userId, event, data) { ws.toUser(userId, event, json(data)); }
export function broadcast(event, data) { ws.broadcast(event, json(data)); }
export function join(room) { ws.join(room); }
export function leave(room) { ws.leave(room); }
/** Users online in the namespace, or in a room, on every host. */
export function presence(room = undefined) { return ws.presence(room ?? undefined); }
