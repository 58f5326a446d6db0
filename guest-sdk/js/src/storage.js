// Objects under keys in the module's own storage root, within its `storage` grant (key
// patterns, e.g. `storage = ["uploads/*"]`).
//
//     import { storage } from 'plughost';
//     const info = storage.put('uploads/a.txt', 'hello', { contentType: 'text/plain' });
//     const bytes = storage.get('uploads/a.txt');                 // Uint8Array
//     const first = storage.get('uploads/a.txt', { start: 0, end: 2 });
//     const { info, bytes } = storage.read('uploads/a.txt');      // bytes and info at once
//     const page = storage.list('uploads/', { limit: 100 });      // {objects, nextCursor}
//     const upload = storage.beginUpload('big.bin'); upload.append(piece); upload.commit();
//     const url = storage.publish('uploads/a.txt', 3600);         // "/_storage/...", served by the host
//
// A call outside the grant throws the host's `denied`; a missing object `not-found`.
// Sizes and times are numbers; metadata is an object of strings.

import * as storage from 'plughost:platform/storage@0.1.0';

import { toBytes } from './http.js';

function info(raw) {
  return {
    key: raw.key,
    size: Number(raw.size),
    contentType: raw.contentType,
    etag: raw.etag,
    modifiedMs: Number(raw.modifiedMs),
    metadata: Object.fromEntries(raw.metadata),
  };
}

function putOptions({ contentType = undefined, metadata = {} } = {}) {
  const entries = Object.entries(metadata).map(([k, v]) => [k, String(v)]);
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return { contentType: contentType ?? undefined, metadata: entries };
}

function range({ start = undefined, end = undefined } = {}) {
  if (start === undefined || start === null) return undefined;
  return { start: BigInt(start), end: end === undefined || end === null ? undefined : BigInt(end) };
}

/** Writes data (a string or bytes) at key, replacing any object there; at once or not at all. */
export function put(key, data, options = {}) {
  return info(storage.put(key, toBytes(data), putOptions(options)));
}

/** The object's bytes, or those from `start` up to (not including) `end`. */
export function get(key, byteRange = {}) {
  return storage.get(key, range(byteRange));
}

/** The object's bytes (or a range) with what the host knows of it, in one call: {info, bytes}. */
export function read(key, byteRange = {}) {
  const object = storage.read(key, range(byteRange));
  return { info: info(object.info), bytes: object.bytes };
}

/** What the host knows of the object: key, size, contentType, etag, modifiedMs, metadata. */
export function head(key) {
  return info(storage.head(key));
}

/** Whether an object is at key. */
export function exists(key) {
  return storage.exists(key);
}

/** Removes the object; whether there was one. */
function remove(key) {
  return storage.delete(key);
}
export { remove as delete };

/** Up to `limit` (at most 1,000) objects whose key starts with prefix, after `cursor`:
 * {objects, nextCursor} (null on the last page). */
export function list(prefix = '', { cursor = undefined, limit = 100 } = {}) {
  const page = storage.list(prefix, cursor ?? undefined, limit);
  return { objects: page.objects.map(info), nextCursor: page.nextCursor ?? null };
}

/** Copies the object at source to target. */
export function copy(source, target) {
  return info(storage.copy(source, target));
}

/** The keys of a listing's page. */
export function keys(page) {
  return page.objects.map((o) => o.key);
}

/** An object being written in pieces: append(data) (at most 64 MiB each), written(), commit(). */
export class Upload {
  constructor(raw) {
    this.raw = raw;
  }

  append(data) {
    this.raw.append(toBytes(data));
  }

  written() {
    return Number(this.raw.written());
  }

  commit() {
    return info(this.raw.commit());
  }
}

/** Starts writing an object in pieces, for objects too large to hold in memory. An upload
 * never committed leaves nothing at the key. */
export function beginUpload(key, options = {}) {
  return new Upload(storage.beginUpload(key, putOptions(options)));
}

/** A URL path ("/_storage/...") at which the host serves the object to anyone holding it,
 * with byte ranges and its ETag, for expiresInSeconds (at most 7 days). */
export function publish(key, expiresInSeconds) {
  return storage.publish(key, expiresInSeconds);
}
