declare module 'plughost:platform/http-types@0.1.0' {
  /**
   * One request, fully read (the host enforces the body limit before the module runs).
   */
  export interface Request {
    /**
     * Upper-case method, e.g. `GET`.
     */
    method: string,
    /**
     * The full request path, including the module's prefix.
     */
    path: string,
    /**
     * The matched route pattern as declared in the manifest, e.g. `/{name}`.
     */
    route: string,
    /**
     * Values of the route's `{param}` segments.
     */
    params: Array<[string, string]>,
    /**
     * The raw query string without `?`; empty when absent.
     */
    query: string,
    /**
     * Request headers; names are lower-case.
     */
    headers: Array<[string, string]>,
    /**
     * The request body.
     */
    body: Uint8Array,
    /**
     * The id the host gave this request (also sent back as `x-request-id`).
     */
    requestId: string,
  }
  /**
   * The module's answer.
   */
  export interface Response {
    status: number,
    headers: Array<[string, string]>,
    body: Uint8Array,
  }
}
