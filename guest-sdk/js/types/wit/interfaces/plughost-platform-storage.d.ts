/// <reference path="./plughost-platform-types.d.ts" />
declare module 'plughost:platform/storage@0.1.0' {
  /**
   * Writes `data` (at most 64 MiB; use `begin-upload` for more) at `key`, replacing any
   * object there. Over the module's or the tenant's quota, nothing is written.
   */
  export function put(key: string, data: Uint8Array, options: PutOptions): ObjectInfo;
  /**
   * Starts writing an object at `key` in pieces (see `upload`).
   */
  export function beginUpload(key: string, options: PutOptions): Upload;
  /**
   * The object's bytes, or those of `range` (at most 64 MiB at once: read a larger
   * object by ranges); `not-found` when there is none.
   */
  export function get(key: string, range: ByteRange | undefined): Uint8Array;
  /**
   * `get` and `head` in one call (one trip to the disk or the bucket): what a module
   * serving the object needs, its bytes and its content type and etag together.
   */
  export function read(key: string, range: ByteRange | undefined): Object;
  /**
   * What the host knows of the object; `not-found` when there is none.
   */
  export function head(key: string): ObjectInfo;
  /**
   * Whether an object is at `key`.
   */
  export function exists(key: string): boolean;
  /**
   * Removes the object; returns whether there was one.
   */
  export { _delete as delete };
  function _delete(key: string): boolean;
  /**
   * Up to `limit` (at most 1,000) objects whose key starts with `prefix`, after `cursor`.
   */
  export function list(prefix: string, cursor: string | undefined, limit: number): Listing;
  /**
   * Copies the object at `source` to `target` (both keys must be granted).
   */
  export function copy(source: string, target: string): ObjectInfo;
  /**
   * A URL path (`/_storage/…`) at which the host serves the object to anyone holding it
   * for `expires-in-seconds` (1 to 604,800), with its content type, ETag and byte ranges,
   * so large downloads never pass through the module. The URL serves the object as it is
   * when fetched; it stops working when it expires or the object is deleted.
   */
  export function publish(key: string, expiresInSeconds: number): string;
  export type Error = import('plughost:platform/types@0.1.0').Error;
  /**
   * What the host knows of an object.
   */
  export interface ObjectInfo {
    /**
     * Its key.
     */
    key: string,
    /**
     * Its size in bytes.
     */
    size: bigint,
    /**
     * Its content type (`application/octet-stream` when none was given).
     */
    contentType: string,
    /**
     * A strong validator of its bytes (changes whenever they do).
     */
    etag: string,
    /**
     * When it was last written, milliseconds since the Unix epoch.
     */
    modifiedMs: bigint,
    /**
     * The metadata it was written with.
     */
    metadata: Array<[string, string]>,
  }
  /**
   * How to write an object.
   */
  export interface PutOptions {
    /**
     * Content type; none means `application/octet-stream`.
     */
    contentType?: string,
    /**
     * Up to 32 entries, names of letters, digits and `-`, at most 8 KiB in all.
     */
    metadata: Array<[string, string]>,
  }
  /**
   * Bytes `start` up to, not including, `end` (none: to the end of the object).
   */
  export interface ByteRange {
    start: bigint,
    end?: bigint,
  }
  /**
   * An object's bytes (all, or a range) with what the host knows of it.
   */
  export interface Object {
    info: ObjectInfo,
    bytes: Uint8Array,
  }
  /**
   * One page of a listing.
   */
  export interface Listing {
    /**
     * Objects whose key starts with the prefix, in key order.
     */
    objects: Array<ObjectInfo>,
    /**
     * Pass it to `list` for the next page; none when this was the last.
     */
    nextCursor?: string,
  }
  
  export class Upload implements Disposable {
    /**
     * This type does not have a public constructor.
     */
    private constructor();
    /**
    * Adds `data` (at most 64 MiB per call) to the end of the object.
    */
    append(data: Uint8Array): void;
    /**
    * Bytes appended so far.
    */
    written(): bigint;
    /**
    * Makes the object visible at its key, replacing any object there at once.
    */
    commit(): ObjectInfo;
    [Symbol.dispose](): void;
  }
}
