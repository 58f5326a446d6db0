//! `wasi:logging/logging`, the standard interface third-party components import, over
//! the same view and budget as `log`; the context goes along as a field, and `critical`,
//! which `log` does not have, logs as `error`.

use super::host::LogView;
use crate::runtime::bindings::plughost::platform::log::{Host as _, Level};

mod generated {
    wasmtime::component::bindgen!({
        path: "wit-standard/logging",
        world: "wasi:logging/imports",
    });
}

pub use generated::wasi::logging::logging;

impl logging::Host for LogView<'_> {
    fn log(&mut self, level: logging::Level, context: String, message: String) {
        let level = match level {
            logging::Level::Trace => Level::Trace,
            logging::Level::Debug => Level::Debug,
            logging::Level::Info => Level::Info,
            logging::Level::Warn => Level::Warn,
            logging::Level::Error | logging::Level::Critical => Level::Error,
        };
        let message = if context.is_empty() {
            message
        } else {
            format!("[{context}] {message}")
        };
        self.write(level, message);
    }
}
