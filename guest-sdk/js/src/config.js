// Per-module configuration values, readable within the module's `config` grant.

import * as config from 'plughost:platform/config@0.1.0';

/** The value of key, or null when granted but unset; throws the host's `denied` outside the grant. */
export function get(key) {
  return config.get(key) ?? null;
}
