//! The `host` command: run, dev, new, build, test, check, inspect, openapi, db, queue.

mod build;
mod check;
mod database;
mod db;
mod dev;
mod inspect;
mod module_tests;
mod new;
mod openapi;
mod queue;
mod run;
mod sdk_files;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::logging::LogFormat;

/// Runs business modules as sandboxed WebAssembly components.
#[derive(Parser)]
// A repeated option takes its last value, so a wrapper script can put defaults first.
#[command(name = "host", version, about, long_about = None, args_override_self = true)]
struct Cli {
    /// Log output format.
    #[arg(
        long,
        global = true,
        value_enum,
        default_value_t,
        env = "PLUGHOST_LOG_FORMAT"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the modules of a plugins folder over HTTP, hot-swapping them as files change.
    Run(run::RunArgs),
    /// Build every module source under a folder, serve them, and rebuild and hot-swap each
    /// one whose sources change.
    Dev(dev::DevArgs),
    /// Create a new module from a template that builds and runs unchanged.
    New(new::NewArgs),
    /// Build every module source (Rust, Python) under a folder into its plugins folder.
    Build(build::BuildArgs),
    /// Validate the manifests of a plugins folder and each component's imports against its grant.
    Check(check::CheckArgs),
    /// Run the modules' own tests (tests/*.toml) against a real host with a throwaway database.
    Test(module_tests::TestArgs),
    /// Print an OpenAPI 3.1 document (JSON) of the routes the modules under a folder declare.
    Openapi(openapi::OpenapiArgs),
    /// Print the WIT world of a component.
    Inspect(inspect::InspectArgs),
    /// Apply, undo or list the modules' manual database migrations.
    #[command(subcommand)]
    Db(db::DbCommand),
    /// List and re-drive dead jobs.
    #[command(subcommand)]
    Queue(queue::QueueCommand),
}

/// Parses arguments, runs the command, and turns errors into a message and exit code 1.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::logging::init(cli.log_format);
    let result = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Dev(args) => dev::run(args),
        Command::New(args) => new::run(args),
        Command::Build(args) => build::run(args),
        Command::Check(args) => check::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Openapi(args) => openapi::run(args),
        Command::Test(args) => module_tests::run(args),
        Command::Db(command) => db::run(command),
        Command::Queue(command) => queue::run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
