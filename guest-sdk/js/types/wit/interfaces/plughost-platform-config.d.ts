/// <reference path="./plughost-platform-types.d.ts" />
declare module 'plughost:platform/config@0.1.0' {
  /**
   * The value of `key`, or none when the key is granted but unset.
   * Fails with `denied` when the key is outside the module's grant.
   */
  export function get(key: string): string | undefined;
  export type Error = import('plughost:platform/types@0.1.0').Error;
}
