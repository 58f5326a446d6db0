//! `host dev`: build, serve, watch the sources, rebuild and swap; run from a folder outside
//! the repository holding nothing but the module sources `host new` wrote.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{HOST, Host, HostOptions, repo};

fn path_with_venv() -> String {
    let venv = repo().join(".venv/bin");
    format!(
        "{}:{}",
        venv.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// `host new demo --lang LANG` in a fresh folder outside the repository.
fn new_module(lang: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(HOST)
        .args(["new", "demo", "--lang", lang, "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    dir
}

/// `host dev DIR` on a free port, from DIR itself.
fn dev(dir: &Path) -> Host {
    let mut cmd = Command::new(HOST);
    cmd.args([
        "dev",
        ".",
        "--listen",
        "127.0.0.1:0",
        "--log-format",
        "json",
    ])
    .arg("--cache-dir")
    .arg(&HostOptions::default().cache_dir)
    .current_dir(dir)
    // Rust modules share the test run's cargo folder: dependencies compile once.
    .env("CARGO_TARGET_DIR", repo().join("target/scaffold"))
    .env("PATH", path_with_venv())
    .env_remove("RUST_LOG")
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    Host::attach(cmd, &dir.join("plugins"))
}

fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).unwrap();
    assert!(text.contains(from), "{} lacks {from:?}", file.display());
    std::fs::write(file, text.replace(from, to)).unwrap();
}

/// Waits until `/demo/Ada` answers `body`; how long it took.
fn answers(host: &Host, body: &str) -> Duration {
    let started = Instant::now();
    host.eventually(
        &format!("/demo/Ada answers {body:?}"),
        Duration::from_secs(120),
        || host.get("/demo/Ada").body == body,
    );
    started.elapsed()
}

#[test]
fn dev_swaps_in_an_edited_rust_module_and_a_broken_edit_leaves_the_old_one_serving() {
    let dir = new_module("rust");
    let host = dev(dir.path());
    answers(&host, "Hello, Ada! (demo)");
    let lib = dir.path().join("demo/src/lib.rs");

    edit(&lib, "Response::text(", "Response::txt(");
    host.eventually("the build error", Duration::from_secs(120), || {
        host.log_text().contains("failed to build")
    });
    let log = host.log_text();
    assert!(
        log.contains("src/lib.rs:"),
        "a short error naming the file: {log}"
    );
    assert!(
        !log.contains("Compiling"),
        "cargo's progress is not shown: {log}"
    );
    assert_eq!(host.get("/demo/Ada").body, "Hello, Ada! (demo)");

    edit(&lib, "Response::txt(", "Response::text(");
    edit(&lib, "! (demo)", "! (edited)");
    let took = answers(&host, "Hello, Ada! (edited)");
    eprintln!("a Rust edit answered after {took:?}");
}

#[test]
fn dev_swaps_in_an_edited_python_module_and_names_a_syntax_errors_line() {
    let dir = new_module("python");
    let host = dev(dir.path());
    answers(&host, "Hello, Ada! (python)");
    let app = dir.path().join("demo/app.py");

    edit(
        &app,
        "def greet(request: Request) -> Response:",
        "def greet(request: Request) -> Response",
    );
    host.eventually("the build error", Duration::from_secs(120), || {
        host.log_text().contains("failed to build")
    });
    let log = host.log_text();
    assert!(log.contains("app.py:9: expected ':'"), "{log}");
    assert!(
        !log.contains("Traceback"),
        "one line, not a traceback: {log}"
    );
    assert_eq!(host.get("/demo/Ada").body, "Hello, Ada! (python)");

    edit(
        &app,
        "def greet(request: Request) -> Response",
        "def greet(request: Request) -> Response:",
    );
    edit(&app, "! (python)", "! (edited)");
    let took = answers(&host, "Hello, Ada! (edited)");
    eprintln!("a Python edit answered after {took:?}");
}

/// Copies `examples/hello/NAME` (sources only) into `dir/NAME`.
fn copy_example(name: &str, dir: &Path) {
    let from = repo().join("examples/hello").join(name);
    let to = dir.join(name);
    for entry in walk(&from) {
        let rest = entry.strip_prefix(&from).unwrap();
        let first = rest.components().next().unwrap().as_os_str();
        if first == "target" || first == "Cargo.lock" {
            continue;
        }
        std::fs::create_dir_all(to.join(rest).parent().unwrap()).unwrap();
        std::fs::copy(&entry, to.join(rest)).unwrap();
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
        match entry.file_type().unwrap().is_dir() {
            true => files.extend(walk(&entry.path())),
            false => files.push(entry.path()),
        }
    }
    files
}

#[test]
fn the_hello_examples_copied_out_of_the_repository_build_and_answer() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["hello-rust", "hello-py"] {
        copy_example(name, dir.path());
    }
    let out = Command::new(HOST)
        .arg("build")
        .arg(dir.path())
        .env("CARGO_TARGET_DIR", repo().join("target/scaffold"))
        .env("PATH", path_with_venv())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let plugins = dir.path().join("plugins");
    let host = Host::start(&plugins, None, &HostOptions::default().cache_dir);
    assert_eq!(host.get("/hello-rust/Ada").body, "Hello, Ada! (rust)");
    assert_eq!(host.get("/hello-py/Ada").body, "Hello, Ada! (python)");
}
