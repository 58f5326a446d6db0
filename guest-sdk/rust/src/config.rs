//! Per-module configuration values, readable within the module's `config` grant.

use crate::Result;

/// The value of `key`; `Ok(None)` when the key is granted but unset,
/// `Err(Error::Denied)` when the key is outside the module's grant.
pub fn get(key: &str) -> Result<Option<String>> {
    crate::bindings::plughost::platform::config::get(key)
}
