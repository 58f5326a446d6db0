declare module 'plughost:platform/event-types@0.1.0' {
  /**
   * One event.
   */
  export interface Event {
    /**
     * Unique id.
     */
    id: string,
    /**
     * The topic it was emitted on.
     */
    topic: string,
    /**
     * Its payload, JSON text.
     */
    payload: string,
    /**
     * The module that emitted it.
     */
    source: string,
    /**
     * When it was emitted, RFC 3339 UTC.
     */
    time: string,
  }
}
