// HTTP helpers and the router that binds the routes declared in plugin.toml to handlers.

const KINDS = ['denied', 'invalid', 'not-found', 'internal'];

/**
 * Throw from any handler (HTTP, WebSocket, events, jobs) to end it with a platform error.
 * `kind` is one of "denied" (403), "invalid" (400), "not-found" (404), "internal" (500).
 * The host's own errors (a call outside the grant, bad input to the ORM, ...) are thrown by
 * the capability calls with the same shape and end the request the same way unless caught.
 */
export class PlughostError extends Error {
  constructor(kind, message) {
    if (!KINDS.includes(kind)) {
      throw new TypeError(`unknown error kind '${kind}'; use one of ${KINDS.join(', ')}`);
    }
    super(message);
    this.name = 'PlughostError';
    this.kind = kind;
    // What componentize-js's bindings return to the host as the WIT `error`.
    this.payload = { tag: kind, val: message };
  }
}

/** The WIT error a platform call threw ({tag, val}), or undefined for any other exception. */
export function platformError(error) {
  const payload = error && Object.prototype.hasOwnProperty.call(error, 'payload') ? error.payload : undefined;
  return payload && KINDS.includes(payload.tag) ? payload : undefined;
}

const encoder = new TextEncoder();

/** Bytes of a string (UTF-8) or of a typed array. */
export function toBytes(data) {
  if (typeof data === 'string') return encoder.encode(data);
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError(`expected a string or bytes (Uint8Array), got ${describe(data)}`);
}

/** Header pairs from an array of pairs or an object. */
export function toPairs(headers) {
  if (headers == null) return [];
  const pairs = Array.isArray(headers) ? headers : Object.entries(headers);
  return pairs.map(([name, value]) => [String(name), String(value)]);
}

export function describe(value) {
  if (value === null) return 'null';
  if (typeof value === 'object') return value.constructor ? `a ${value.constructor.name}` : 'an object';
  return `${typeof value} ${String(value)}`;
}

/** Runs a module's handler; it must finish before returning (no Promise). */
export function callHandler(what, call) {
  const result = call();
  if (result && typeof result.then === 'function') {
    throw new TypeError(`${what} returned a Promise; handlers are synchronous in plughost modules (drop async/await)`);
  }
  return result;
}

/** A request the host has matched to one of the module's declared routes. */
export class Request {
  constructor(raw) {
    this.raw = raw;
    this.method = raw.method;
    this.path = raw.path;
    this.route = raw.route;
    this.params = Object.fromEntries(raw.params);
    this.query = Object.fromEntries(new URLSearchParams(raw.query));
    this.headers = Object.fromEntries(raw.headers);
    this.body = raw.body;
    this.requestId = raw.requestId;
  }

  /** A route `{param}`, or undefined. */
  param(name) {
    return this.params[name];
  }

  /** A header (any case), or undefined. */
  header(name) {
    return this.headers[name.toLowerCase()];
  }

  /** The body as text; a body that is not UTF-8 ends the request with 400. */
  text() {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(this.body);
    } catch {
      throw new PlughostError('invalid', 'the request body is not valid UTF-8');
    }
  }

  /** The body parsed as JSON; a body that is not JSON ends the request with 400. */
  json() {
    const text = this.text();
    try {
      return JSON.parse(text);
    } catch (error) {
      throw new PlughostError('invalid', `the request body is not valid JSON: ${error.message}`);
    }
  }
}

/** A response; build it with the static methods. */
export class Response {
  constructor(status = 200, headers = [], body = new Uint8Array()) {
    this.status = status;
    this.headers = toPairs(headers);
    this.body = toBytes(body);
  }

  static text(body, status = 200) {
    return new Response(status, [['content-type', 'text/plain; charset=utf-8']], String(body));
  }

  /** JSON text as it is, or any other value serialised with JSON.stringify. */
  static json(body, status = 200) {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    if (text === undefined) throw new TypeError(`Response.json cannot serialise ${describe(body)}`);
    return new Response(status, [['content-type', 'application/json']], text);
  }

  /** The module's stored object at key, streamed by the host (content type, ETag, ranges):
   * its bytes never pass through the module. */
  static object(key) {
    return new Response(200, [['x-plughost-object', key]]);
  }

  toWit() {
    return { status: this.status, headers: this.headers, body: this.body };
  }
}

/** Binds (method, route pattern as declared in plugin.toml) to handlers. */
export class Router {
  constructor() {
    this.routes = [];
  }

  route(method, pattern, handler) {
    if (typeof handler !== 'function') {
      throw new TypeError(`the handler for ${method} ${pattern} is ${describe(handler)}, not a function`);
    }
    this.routes.push([method.toUpperCase(), pattern, handler]);
    return this;
  }

  get(pattern, handler) { return this.route('GET', pattern, handler); }
  post(pattern, handler) { return this.route('POST', pattern, handler); }
  put(pattern, handler) { return this.route('PUT', pattern, handler); }
  patch(pattern, handler) { return this.route('PATCH', pattern, handler); }
  delete(pattern, handler) { return this.route('DELETE', pattern, handler); }
  any(pattern, handler) { return this.route('ANY', pattern, handler); }

  dispatch(raw) {
    for (const [method, pattern, handler] of this.routes) {
      if (pattern === raw.route && (method === raw.method || method === 'ANY')) {
        const what = `the handler for ${raw.method} ${raw.route}`;
        const response = callHandler(what, () => handler(new Request(raw)));
        if (!(response instanceof Response)) {
          throw new TypeError(`${what} returned ${describe(response)}; return a Response (Response.text, Response.json, ...)`);
        }
        return response.toWit();
      }
    }
    throw new PlughostError('not-found', `the module has no handler for ${raw.method} ${raw.route}; bind it with router.${raw.method.toLowerCase()}(...)`);
  }

  /** The module's `httpHandler` export: `export const httpHandler = router.handler();` */
  handler() {
    return { handle: (request) => this.dispatch(request) };
  }
}
