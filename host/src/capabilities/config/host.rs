//! The `config` interface over the invoking module's grant and values.

use wasmtime::component::HasData;

use crate::runtime::ModuleContext;
use crate::runtime::bindings::GuestError;
use crate::runtime::bindings::plughost::platform::config::Host;

/// Marker tying the interface to its view.
pub struct ConfigCapability;

impl HasData for ConfigCapability {
    type Data<'a> = ConfigView<'a>;
}

/// What config sees: the module's grant and values, nothing else of the store.
pub struct ConfigView<'a> {
    pub module: &'a ModuleContext,
}

impl Host for ConfigView<'_> {
    fn get(&mut self, key: String) -> Result<Option<String>, GuestError> {
        self.module
            .check("config", &key)
            .map_err(|denied| GuestError::Denied(denied.to_string()))?;
        Ok(self.module.config.get(&key).cloned())
    }
}
