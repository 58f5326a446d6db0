//! Log output: `tracing` as pretty text or JSON lines. Every line inside a request carries
//! the request span's module, tenant and request id.

use std::io::IsTerminal as _;

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum LogFormat {
    /// Human-readable, coloured when writing to a terminal.
    #[default]
    Pretty,
    /// One JSON object per line, with the current span's fields.
    Json,
}

/// What is logged unless `RUST_LOG` says otherwise. PostgreSQL's NOTICEs (sqlx logs them at
/// info: "relation … already exists, skipping") are the database talking, not the host's
/// news; its WARNINGs still show.
const DEFAULT_FILTER: &str =
    "info,wasmtime=warn,cranelift=warn,wasmtime_wasi=warn,sqlx::postgres::notice=warn";

/// Installs the global subscriber; `RUST_LOG` overrides the default filter.
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    // Colours only for a terminal: escape codes in a redirected file or a pipe are noise
    // (and formatting them costs time on every request's span).
    let colours = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colours)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Pretty => builder.with_target(false).try_init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .flatten_event(true)
            .try_init(),
    };
    // A second init (tests, embedding) keeps the first subscriber.
    drop(result);
}
