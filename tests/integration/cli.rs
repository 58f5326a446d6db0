//! The `host` CLI: help, inspect, check, new + build + run.

use std::process::{Command, Output};
use std::time::Duration;

use serde_json::json;

use crate::harness::{HOST, Host, HostOptions, fixture, install, repo, wasm_in, write_atomic};
use crate::ws::connect_to;

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

fn scaffold_builds_and_runs(lang: &str, body: &str) -> tempfile::TempDir {
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
    assert!(
        !text(&check).contains("warning"),
        "the untouched template draws no warning: {}",
        text(&check)
    );
    let server = Host::start(&plugins, None, &HostOptions::default().cache_dir);
    let reply = server.get("/demo/Ada");
    assert_eq!((reply.status, reply.body.as_str()), (200, body));
    dir
}

fn build(dir: &std::path::Path) -> Output {
    Command::new(HOST)
        .args(["build", dir.to_str().unwrap()])
        .env("CARGO_TARGET_DIR", repo().join("target/scaffold"))
        .env("PATH", path_with_venv())
        .output()
        .unwrap()
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
    let dir = scaffold_builds_and_runs("python", "Hello, Ada! (python)");
    // Check warns about what the sources use, not about every interface the component
    // imports: the module now uses the ORM without a grant.
    let app = dir.path().join("demo/app.py");
    let source = std::fs::read_to_string(&app).unwrap();
    std::fs::write(&app, format!("from plughost import orm\n{source}")).unwrap();
    let out = build(dir.path());
    assert!(out.status.success(), "{}", text(&out));
    let check = host(&["check", dir.path().join("plugins").to_str().unwrap()]);
    let report = text(&check);
    assert_eq!(report.matches("warning").count(), 1, "{report}");
    assert!(report.contains("no 'orm' capability"), "{report}");
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
fn new_refuses_a_name_the_host_could_never_load_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for (name, reason) in [
        ("_admin", "starts with '/_'"),
        ("_storage", "starts with '/_'"),
        ("9lives", "start with a letter"),
    ] {
        let out = host(&[
            "new",
            name,
            "--lang",
            "python",
            "--dir",
            dir.path().to_str().unwrap(),
        ]);
        assert!(!out.status.success(), "{name}: {}", text(&out));
        assert!(text(&out).contains(reason), "{name}: {}", text(&out));
        assert!(!dir.path().join(name).exists(), "{name}: a folder was left");
    }
}

#[test]
fn a_repeated_option_takes_its_last_value_so_wrappers_can_set_defaults() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(HOST)
        .args(["run", "--plugins"])
        .arg(dir.path().join("plugins"))
        .args(["--listen", "127.0.0.1:1", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["--cache-dir"])
        .arg(dir.path().join("cache"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let answered = loop {
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            use std::io::{Read as _, Write as _};
            stream
                .write_all(b"GET /_admin/health HTTP/1.0\r\n\r\n")
                .unwrap();
            let mut reply = String::new();
            let _ = stream.read_to_string(&mut reply);
            break reply;
        }
        if std::time::Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            break String::new();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(answered.starts_with("HTTP/1.0 200"), "{answered:?}");
}

#[test]
fn a_database_nobody_answers_at_fails_fast_naming_what_to_check() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    for url in [
        "postgres://127.0.0.1:1/test",
        "mysql://root@127.0.0.1:1/test",
    ] {
        let started = std::time::Instant::now();
        let out = Command::new(HOST)
            .args(["db", "status", "--plugins"])
            .arg(dir.path().join("plugins"))
            .args(["--database-url", url])
            .output()
            .unwrap();
        let elapsed = started.elapsed();
        assert!(!out.status.success(), "{url}: {}", text(&out));
        let message = text(&out);
        assert!(message.contains("127.0.0.1:1"), "{url}: {message}");
        assert!(message.contains("refused"), "{url}: {message}");
        assert!(
            message.contains("is the server running"),
            "{url}: {message}"
        );
        assert!(
            elapsed < std::time::Duration::from_secs(8),
            "{url}: took {elapsed:?}"
        );
    }
}

#[test]
fn a_log_written_to_a_file_holds_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
    let log_path = dir.path().join("host.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = Command::new(HOST)
        .args([
            "run",
            "--log-format",
            "pretty",
            "--listen",
            "127.0.0.1:0",
            "--plugins",
        ])
        .arg(dir.path().join("plugins"))
        .arg("--cache-dir")
        .arg(dir.path().join("cache"))
        .env_remove("NO_COLOR")
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let text = loop {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        if text.contains("listening on") || std::time::Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(text.contains("listening on"), "{text}");
    assert!(!text.contains('\x1b'), "escape codes in the file: {text:?}");
}

#[test]
fn build_explains_when_there_is_nothing_to_build() {
    let dir = tempfile::tempdir().unwrap();
    let out = host(&["build", dir.path().to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(text(&out).contains("host new"), "{}", text(&out));
}

/// Runs the openapi-spec-validator scripts/setup installs on `document`.
fn validate_openapi(document: &str) -> Output {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), document).unwrap();
    Command::new(repo().join(".venv/bin/openapi-spec-validator"))
        .arg(file.path())
        .output()
        .expect("openapi-spec-validator (scripts/setup installs it)")
}

#[test]
fn openapi_describes_the_declared_routes_of_sources_and_built_modules_in_a_valid_document() {
    for dir in [repo().join("examples"), repo().join("target/test-modules")] {
        let out = host(&["openapi", dir.to_str().unwrap()]);
        assert!(out.status.success(), "{}", text(&out));
        let document = String::from_utf8(out.stdout.clone()).unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&document).unwrap();
        assert_eq!(parsed["openapi"], "3.1.0");
        let todo = &parsed["paths"]["/todos/{id}"];
        assert_eq!(todo["patch"]["tags"][0], "todo", "{document}");
        assert_eq!(todo["patch"]["parameters"][0]["name"], "id");
        assert!(parsed["paths"]["/todos"]["post"].is_object(), "{document}");
        assert!(
            parsed["paths"]["/hello-rust/{name}"]["get"].is_object(),
            "{document}"
        );
        let valid = validate_openapi(&document);
        assert!(valid.status.success(), "{}\n{document}", text(&valid));
    }
    // The validator is real: a broken document fails it.
    let broken = validate_openapi(r#"{"openapi": "3.1.0", "paths": {}}"#);
    assert!(!broken.status.success(), "{}", text(&broken));
}

/// `host new` of every template beyond http in `lang`, built in one folder outside the
/// repository and served by one host; each answers as its comments say.
fn templates_build_and_run(lang: &str) {
    let dir = tempfile::tempdir().unwrap();
    for template in ["orm", "events", "queue", "ws"] {
        let name = format!("t-{template}");
        let out = host(&[
            "new",
            &name,
            "--lang",
            lang,
            "--template",
            template,
            "--dir",
            dir.path().to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", text(&out));
        assert!(text(&out).contains("host dev"), "{}", text(&out));
    }
    let out = build(dir.path());
    assert!(out.status.success(), "{}", text(&out));
    let server = Host::start(
        &dir.path().join("plugins"),
        None,
        &HostOptions::default().cache_dir,
    );

    let created = server.request("POST", "/t-orm/notes", &[], br#"{"text": "hi"}"#.to_vec());
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.json()["text"], "hi");
    let id = created.json()["id"].as_i64().unwrap();
    assert_eq!(
        server.get(&format!("/t-orm/notes/{id}")).json()["text"],
        "hi"
    );
    assert_eq!(server.get("/t-orm/notes").json()[0]["text"], "hi");
    assert_eq!(server.get("/t-orm/notes/999").status, 404);

    let greeted = server.request("POST", "/t-events/greet/Ada", &[], Vec::new());
    assert_eq!(greeted.status, 202, "{}", greeted.body);
    server.eventually("the event handled", Duration::from_secs(30), || {
        server
            .log_text()
            .contains("Ada was greeted (t-events.greeted.v1)")
    });

    let queued = server.request("POST", "/t-queue/jobs", &[], br#"{"task": 7}"#.to_vec());
    assert_eq!(queued.status, 202, "{}", queued.body);
    let job = queued.json()["job"].as_str().unwrap().to_string();
    server.eventually("the job done", Duration::from_secs(30), || {
        server
            .log_text()
            .contains(&format!("job {job} (attempt 1) done"))
    });

    let mut a = connect_to(&server, "/t-ws/ws", None).expect("anonymous sockets are accepted");
    let mut b = connect_to(&server, "/t-ws/ws", None).expect("anonymous sockets are accepted");
    a.send("echo", json!({"n": 1}));
    assert_eq!(a.expect("echo")["data"], json!({"n": 1}));
    a.send("broadcast", json!({"text": "to all"}));
    assert_eq!(b.expect("broadcast")["data"]["text"], "to all");
}

#[test]
fn every_rust_template_builds_and_runs_unchanged() {
    templates_build_and_run("rust");
}

#[test]
fn every_python_template_builds_and_runs_unchanged() {
    templates_build_and_run("python");
}

#[test]
fn templates_beyond_http_are_refused_for_languages_without_them() {
    let dir = tempfile::tempdir().unwrap();
    let out = host(&[
        "new",
        "demo",
        "--lang",
        "c",
        "--template",
        "orm",
        "--dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out)
            .contains("the orm template exists for Rust and Python; for c use --template http"),
        "{}",
        text(&out)
    );
    assert!(!dir.path().join("demo").exists(), "nothing is written");
}

#[test]
fn the_rust_and_python_sdks_package_for_publishing_with_their_wit() {
    let listed = Command::new(env!("CARGO"))
        .args(["package", "-p", "plughost-sdk", "--list", "--allow-dirty"])
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(listed.status.success(), "{}", text(&listed));
    let files = String::from_utf8_lossy(&listed.stdout);
    for file in ["README.md", "src/lib.rs", "wit/world.wit", "wit/http.wit"] {
        assert!(files.lines().any(|l| l == file), "{file} in:\n{files}");
    }

    // A copy, so the build's by-products stay out of the checkout.
    let copy = tempfile::tempdir().unwrap();
    let sdk = repo().join("guest-sdk/python");
    for entry in ["pyproject.toml", "README.md", "plughost_component.py"] {
        std::fs::copy(sdk.join(entry), copy.path().join(entry)).unwrap();
    }
    std::fs::create_dir(copy.path().join("plughost")).unwrap();
    for entry in std::fs::read_dir(sdk.join("plughost")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "py") {
            std::fs::copy(
                &path,
                copy.path().join("plughost").join(path.file_name().unwrap()),
            )
            .unwrap();
        }
    }
    let wheels = tempfile::tempdir().unwrap();
    let built = Command::new(repo().join(".venv/bin/pip"))
        .args(["wheel", "--quiet", "--no-deps", "-w"])
        .arg(wheels.path())
        .arg(copy.path())
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", text(&built));
    assert!(
        wheels
            .path()
            .join("plughost-0.1.0-py3-none-any.whl")
            .is_file()
    );
}

#[test]
fn host_test_runs_a_modules_own_cases_against_a_throwaway_host_and_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = host(&[
        "new",
        "notes",
        "--lang",
        "rust",
        "--template",
        "orm",
        "--dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let module = dir.path().join("notes");
    std::fs::create_dir_all(module.join("seed")).unwrap();
    std::fs::write(module.join("seed/note.json"), r#"[{"text": "seeded"}]"#).unwrap();
    std::fs::create_dir_all(module.join("tests")).unwrap();
    let cases = r#"
[[test]]
name = "the seed data is there"
path = "/notes/1"
json-includes = { text = "seeded" }

[[test]]
name = "a note is created"
method = "POST"
path = "/notes"
json = { text = "hi" }
status = 201
json-includes = { text = "hi" }

[[test]]
name = "an unknown note is 404"
path = "/notes/999"
status = 404
contains = "no note 999"
"#;
    std::fs::write(module.join("tests/notes.toml"), cases).unwrap();
    let run = || {
        Command::new(HOST)
            .args(["test"])
            .arg(dir.path())
            .env("CARGO_TARGET_DIR", repo().join("target/scaffold"))
            .output()
            .unwrap()
    };
    let out = run();
    assert!(out.status.success(), "{}", text(&out));
    let report = text(&out);
    assert!(report.contains("test a note is created ... ok"), "{report}");
    assert!(
        report.contains("test result: ok. 3 passed; 0 failed"),
        "{report}"
    );

    // A failing case fails the command and says what differed; the database was thrown
    // away, so the note created last time is not there.
    let failing = cases.replace("status = 404", "status = 200");
    std::fs::write(module.join("tests/notes.toml"), failing).unwrap();
    let out = run();
    assert!(!out.status.success(), "{}", text(&out));
    let report = text(&out);
    assert!(
        report.contains("test an unknown note is 404 ... FAILED"),
        "{report}"
    );
    assert!(report.contains("status 404, expected 200"), "{report}");
    assert!(
        report.contains("test result: FAILED. 2 passed; 1 failed"),
        "{report}"
    );
}
