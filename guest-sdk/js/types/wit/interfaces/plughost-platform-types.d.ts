declare module 'plughost:platform/types@0.1.0' {
  /**
   * An error a capability returns to a module, or a module returns from a handler.
   * The host maps each case to an HTTP status when it ends a request.
   */
  export type Error = ErrorDenied | ErrorInvalid | ErrorNotFound | ErrorInternal;
  /**
   * The module's grant does not cover the call; the text names the capability and resource (403).
   */
  export interface ErrorDenied {
    tag: 'denied',
    val: string,
  }
  /**
   * The input was not acceptable; the text says what to change (400).
   */
  export interface ErrorInvalid {
    tag: 'invalid',
    val: string,
  }
  /**
   * The thing asked for does not exist (404).
   */
  export interface ErrorNotFound {
    tag: 'not-found',
    val: string,
  }
  /**
   * Anything else; the text says what went wrong (500).
   */
  export interface ErrorInternal {
    tag: 'internal',
    val: string,
  }
}
