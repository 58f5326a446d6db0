declare module 'plughost:platform/ws-types@0.1.0' {
  /**
   * A connected client.
   */
  export interface Connection {
    /**
     * Unique id of the socket.
     */
    socketId: string,
    /**
     * The namespace it connected to, e.g. `/chat`.
     */
    namespace: string,
    /**
     * The authenticated user (the token's `sub` claim), if the client sent a token.
     */
    userId?: string,
    /**
     * All claims of the token, JSON text (`{}` without a token).
     */
    claims: string,
  }
  /**
   * One message from a client.
   */
  export interface Message {
    /**
     * Its event name.
     */
    event: string,
    /**
     * Its payload, JSON text.
     */
    data: string,
    /**
     * The client's id for the message, echoed by `reply`.
     */
    id?: string,
  }
}
