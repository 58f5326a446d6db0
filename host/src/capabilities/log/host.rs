//! The `log` interface over the invoking module's identity.

use wasmtime::component::HasData;

use crate::runtime::ModuleContext;
use crate::runtime::bindings::plughost::platform::log::{Host, Level};
use crate::runtime::budget::InvocationBudget;

/// Marker tying the interface to its view.
pub struct LogCapability;

impl HasData for LogCapability {
    type Data<'a> = LogView<'a>;
}

/// What logging sees: who is logging (the request id comes from the current span).
pub struct LogView<'a> {
    pub module: &'a ModuleContext,
    pub budget: &'a InvocationBudget,
}

impl Host for LogView<'_> {
    fn write(&mut self, level: Level, message: String) {
        if !self.budget.log_line(message.len()) {
            return;
        }
        let module = self.module.name.as_str();
        match level {
            Level::Trace => tracing::trace!(target: "guest", module, "{message}"),
            Level::Debug => tracing::debug!(target: "guest", module, "{message}"),
            Level::Info => tracing::info!(target: "guest", module, "{message}"),
            Level::Warn => tracing::warn!(target: "guest", module, "{message}"),
            Level::Error => tracing::error!(target: "guest", module, "{message}"),
        }
    }
}
