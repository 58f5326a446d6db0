/// <reference path="./plughost-platform-http-types.d.ts" />
/// <reference path="./plughost-platform-types.d.ts" />
declare module 'plughost:platform/http-handler@0.1.0' {
  /**
   * Handles one request. An `error` becomes a status: denied 403, invalid 400,
   * not-found 404, internal 500.
   */
  export function handle(request: Request): Response;
  export type Error = import('plughost:platform/types@0.1.0').Error;
  export type Request = import('plughost:platform/http-types@0.1.0').Request;
  export type Response = import('plughost:platform/http-types@0.1.0').Response;
}
