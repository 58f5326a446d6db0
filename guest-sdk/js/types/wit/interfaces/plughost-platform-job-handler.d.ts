/// <reference path="./plughost-platform-job-types.d.ts" />
/// <reference path="./plughost-platform-types.d.ts" />
declare module 'plughost:platform/job-handler@0.1.0' {
  /**
   * Handles one attempt. An error (or a trap, or running past the deadline) fails the
   * attempt: the job is retried later, or becomes a dead letter after its last attempt.
   */
  export function handleJob(job: Job): void;
  export type Error = import('plughost:platform/types@0.1.0').Error;
  export type Job = import('plughost:platform/job-types@0.1.0').Job;
}
