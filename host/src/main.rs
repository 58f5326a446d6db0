//! The `host` command.

fn main() -> std::process::ExitCode {
    plughost::cli::main()
}
