declare module 'plughost:platform/job-types@0.1.0' {
  /**
   * One attempt at a job.
   */
  export interface Job {
    /**
     * Unique id.
     */
    id: string,
    /**
     * Its queue.
     */
    queue: string,
    /**
     * Its payload, JSON text.
     */
    payload: string,
    /**
     * This attempt, from 1.
     */
    attempt: number,
    /**
     * Attempts it may have.
     */
    maxAttempts: number,
    /**
     * Why the previous attempt failed, if one did.
     */
    lastError?: string,
  }
}
