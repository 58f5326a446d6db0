//! Log lines into the host's tracing; the host adds module, tenant and request id.

use crate::bindings::plughost::platform::log::{Level, write};

/// Logs at trace level.
pub fn trace(message: &str) {
    write(Level::Trace, message);
}

/// Logs at debug level.
pub fn debug(message: &str) {
    write(Level::Debug, message);
}

/// Logs at info level.
pub fn info(message: &str) {
    write(Level::Info, message);
}

/// Logs at warn level.
pub fn warn(message: &str) {
    write(Level::Warn, message);
}

/// Logs at error level.
pub fn error(message: &str) {
    write(Level::Error, message);
}
