//! The `host` CLI: help, inspect, check, new + build + run.

use std::process::{Command, Output};

use crate::harness::{HOST, Host, HostOptions, fixture, install, repo, wasm_in, write_atomic};

fn host(args: &[&str]) -> Output {
    Command::new(HOST).args(args).output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn every_command_has_help() {
    for command in [
        &["--help"][..],
        &["run", "--help"],
        &["new", "--help"],
        &["build", "--help"],
        &["check", "--help"],
        &["inspect", "--help"],
    ] {
        let out = host(command);
        assert!(out.status.success(), "{command:?}: {}", text(&out));
        assert!(
            text(&out).contains("Usage: host"),
            "{command:?}: {}",
            text(&out)
        );
    }
    let out = host(&["run", "--help"]);
    for flag in ["--plugins", "--config", "--listen"] {
        assert!(text(&out).contains(flag));
    }
}

#[test]
fn inspect_prints_the_world_of_a_component() {
    let out = host(&["inspect", wasm_in(&fixture("probe")).to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let world = String::from_utf8_lossy(&out.stdout);
    assert!(
        world.contains("export plughost:platform/http-handler@0.1.0;"),
        "{world}"
    );
    assert!(
        world.contains("import plughost:platform/config@0.1.0;"),
        "{world}"
    );
    assert!(world.contains("interface http-handler"), "{world}");
    let out = host(&["inspect", "/no/such.wasm"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("/no/such.wasm"));
}

#[test]
fn check_accepts_good_modules_and_reports_each_problem_by_file() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    install(&plugins, "hello-rust", "hello-rust");
    install(&plugins, "probe", "probe");
    let out = host(&["check", plugins.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let out = text(&out);
    assert!(out.contains("ok: ") && !out.contains("error"), "{out}");
    // The probe opens files and a socket on purpose (to show they are refused): that, and
    // nothing else, is worth a warning.
    let warnings: Vec<&str> = out.lines().filter(|l| l.starts_with("warning")).collect();
    assert_eq!(warnings.len(), 1, "{out}");
    assert!(
        warnings[0].contains("/probe: imports wasi:filesystem and wasi:sockets"),
        "{out}"
    );

    // A tenant without `config`: the probe imports it, so calls would be denied.
    std::fs::write(
        dir.path().join("host.toml"),
        "[tenants.default]\nmodules = [\"*\"]\n",
    )
    .unwrap();
    let out = host(&["check", plugins.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("warning:") && text(&out).contains("plughost:platform/config"),
        "{}",
        text(&out)
    );
    std::fs::remove_file(dir.path().join("host.toml")).unwrap();

    let broken = install(&plugins, "probe", "broken");
    write_atomic(&wasm_in(&broken), b"not wasm");
    let unknown = install(&plugins, "hello-rust", "unknown");
    std::fs::write(
        unknown.join("plugin.toml"),
        "name = \"unknown\"\n[capabilities]\nteleport = true\n",
    )
    .unwrap();
    let out = host(&["check", plugins.to_str().unwrap()]);
    assert!(!out.status.success());
    let report = text(&out);
    assert!(
        report.contains("broken/probe.wasm is not a valid component"),
        "{report}"
    );
    assert!(report.contains("unknown capability 'teleport'"), "{report}");
    assert!(report.contains("2 module(s) have errors"), "{report}");
}

#[test]
fn check_warns_about_a_model_outside_the_orm_grant() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    install(&plugins, "orm-probe", "orm-probe");
    let out = host(&["check", plugins.to_str().unwrap()]);
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    assert!(
        report.contains("model 'secret' will not be migrated") && report.contains("secrets"),
        "{report}"
    );
    assert!(!report.contains("model 'item'"), "{report}");
}

#[test]
fn check_reports_a_component_without_the_http_handler_export() {
    let dir = tempfile::tempdir().unwrap();
    let module = install(dir.path(), "hello-rust", "empty");
    write_atomic(
        &wasm_in(&module),
        &[0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00],
    );
    let out = host(&["check", module.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("does not export plughost:platform/http-handler"),
        "{}",
        text(&out)
    );
}

fn scaffold_builds_and_runs(lang: &str, body: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = host(&[
        "new",
        "demo",
        "--lang",
        lang,
        "--dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("host build"),
        "new says what to do next: {}",
        text(&out)
    );
    let out = Command::new(HOST)
        .args(["build", dir.path().to_str().unwrap()])
        .env("CARGO_TARGET_DIR", repo().join("target/scaffold"))
        .env("PATH", path_with_venv())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let plugins = dir.path().join("plugins");
    assert!(plugins.join("demo/plugin.toml").is_file());
    let check = host(&["check", plugins.to_str().unwrap()]);
    assert!(check.status.success(), "{}", text(&check));
    let server = Host::start(&plugins, None, &HostOptions::default().cache_dir);
    let reply = server.get("/demo/Ada");
    assert_eq!((reply.status, reply.body.as_str()), (200, body));
}

fn path_with_venv() -> String {
    let venv = repo().join(".venv/bin");
    format!(
        "{}:{}",
        venv.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn a_new_rust_module_builds_and_runs_unchanged() {
    scaffold_builds_and_runs("rust", "Hello, Ada! (demo)");
}

#[test]
fn a_new_python_module_builds_and_runs_unchanged() {
    scaffold_builds_and_runs("python", "Hello, Ada! (python)");
}

#[test]
fn new_refuses_bad_names_and_existing_folders() {
    let dir = tempfile::tempdir().unwrap();
    let out = host(&[
        "new",
        "../evil",
        "--lang",
        "rust",
        "--dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(text(&out).contains("not a valid module name"));
    std::fs::create_dir_all(dir.path().join("taken")).unwrap();
    let out = host(&[
        "new",
        "taken",
        "--lang",
        "python",
        "--dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(text(&out).contains("already exists"));
}

#[test]
fn build_explains_when_there_is_nothing_to_build() {
    let dir = tempfile::tempdir().unwrap();
    let out = host(&["build", dir.path().to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).contains("host new"), "{}", text(&out));
}
