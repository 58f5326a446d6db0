//! A Python module (componentize-py) through the same host.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::json;

use crate::harness::{Host, HostBuilder, HostOptions, Plugins, eventually, parse_eml};
use crate::ws::chat_contract;

#[test]
fn the_python_hello_module_answers_its_public_contract() {
    let host = Host::with_modules(&[("hello-py", "hello-py"), ("hello-rust", "hello-rust")]);
    let reply = host.get("/hello-py/Ada");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body, "Hello, Ada! (python)");
    assert_eq!(
        host.get("/hello-py/Grace%20Hopper").body,
        "Hello, Grace Hopper! (python)",
        "params are percent-decoded"
    );
    assert_eq!(
        host.request("POST", "/hello-py/Ada", &[], Vec::new())
            .status,
        405
    );
    assert_eq!(host.get("/hello-rust/Ada").body, "Hello, Ada! (rust)");
}

#[test]
fn a_python_module_uses_the_orm_through_the_python_sdk() {
    let host = Host::with_modules(&[("orm-py", "orm-py")]);
    let send = |method: &str, path: &str, body: &str| {
        host.request(method, path, &[], body.as_bytes().to_vec())
    };
    let reply = send(
        "POST",
        "/orm-py/books",
        r#"{"title": "Dune", "year": 1965}"#,
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let dune = reply.json();
    assert_eq!(dune["read"], false);
    assert!(dune["created_at"].is_string());
    let id = dune["id"].as_i64().unwrap();
    send(
        "POST",
        "/orm-py/books",
        r#"{"title": "Emma", "year": 1815, "read": true}"#,
    );

    let reply = send("POST", "/orm-py/books", r#"{"year": "soon"}"#);
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(reply.body.contains("model 'book'"), "{}", reply.body);

    let page = host.get("/orm-py/books?limit=1&page=2").json();
    assert_eq!(page["total"], 2);
    assert_eq!(page["total_pages"], 2);
    assert_eq!(
        page["data"][0]["title"], "Emma",
        "ordered by year, descending"
    );
    assert_eq!(host.get("/orm-py/books?read=true").json()["total"], 1);

    let reply = send("PATCH", &format!("/orm-py/books/{id}"), r#"{"read": true}"#);
    assert_eq!(reply.json()["read"], true);
    assert_eq!(
        send("DELETE", &format!("/orm-py/books/{id}"), "").status,
        204
    );
    assert_eq!(host.get(&format!("/orm-py/books/{id}")).status, 404);

    let good_then_bad = r#"[{"title": "A"}, {"title": "B"}, {"title": null}]"#;
    let reply = send("POST", "/orm-py/books/batch", good_then_bad);
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(
        host.get("/orm-py/books").json()["total"],
        1,
        "the transaction rolled back"
    );
    let reply = send(
        "POST",
        "/orm-py/books/batch",
        r#"[{"title": "A"}, {"title": "B"}]"#,
    );
    assert_eq!(reply.json()["count"], 3, "{}", reply.body);
}

#[test]
fn a_python_exception_is_an_internal_error_with_one_compact_log_line() {
    let host = Host::with_options(&[("service-py", "service-py")], HostOptions::default());
    let reply = host.get("/service-py/raise");
    assert_eq!(reply.status, 500, "{}", reply.body);
    let error = &reply.json()["error"];
    assert_eq!(error["code"], "internal", "not a trap: {error}");
    assert_eq!(
        error["message"],
        "handler fail raised ZeroDivisionError: division by zero"
    );
    let line = host.wait_for_log(Duration::from_secs(5), |line| {
        crate::harness::message(line).contains("raised ZeroDivisionError")
    });
    assert_eq!(
        crate::harness::message(&line),
        "handler fail raised ZeroDivisionError: division by zero \
         at app.py:53 in divide <- app.py:58 in fail"
    );
    assert_eq!(line["level"], "ERROR");
    let log = host.log_text();
    assert!(!log.contains("Traceback"), "no multi-line traceback: {log}");
    assert_eq!(log.matches("ZeroDivisionError").count(), 1, "{log}");

    let reply = host.get("/service-py/none");
    assert_eq!(reply.status, 500, "{}", reply.body);
    let message = reply.json()["error"]["message"].clone();
    assert_eq!(
        message,
        "handler forget returned NoneType; return a plughost.Response \
         (Response.text(...), Response.json(...) or Response(status, headers, body))"
    );
    assert_eq!(host.get("/service-py/ping").body, "pong", "still serving");
}

#[test]
fn a_python_module_serves_websockets_events_and_jobs() {
    let host = Host::with_options(
        &[("service-py", "service-py")],
        HostOptions {
            config: Some("[ws]\njwt-secret = \"dev-secret\"\n".into()),
            ..HostOptions::default()
        },
    );
    let _chat = chat_contract(&host, "/py", r#"[1, 2]"#);
    assert_eq!(
        host.get("/service-py/ping").body,
        "pong",
        "the same module serves HTTP"
    );
    // `say` emitted an event; its handler dispatched a job; both logged what was said.
    for expected in [
        "heard hi on service-py.said.v1",
        "job py-echo attempt 1: hi",
    ] {
        host.wait_for_log(Duration::from_secs(10), |line| {
            crate::harness::message(line).contains(expected)
        });
    }
}

fn put_object(
    host: &Host,
    key: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> crate::harness::Reply {
    host.request(
        "PUT",
        &format!("/files-py/objects/{key}"),
        headers,
        body.as_bytes().to_vec(),
    )
}

#[test]
fn a_python_module_writes_in_pieces_and_publishes_a_url_through_the_python_sdk() {
    let plugins = HostBuilder::new().module("files-py", "files-py").build();
    let host = plugins.start();
    let reply = host.request(
        "POST",
        "/files-py/pieces?key=abc.txt&count=3&size=4",
        &[],
        Vec::new(),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let answer = reply.json();
    assert_eq!(answer["info"]["size"], 12);
    let url = answer["url"].as_str().unwrap();
    assert!(url.starts_with("/_storage/"), "{url}");
    let served = host.get(url);
    assert_eq!(served.body, "aaaabbbbcccc");
    assert_eq!(served.header("content-type"), Some("text/plain"));
    let part = host.request("GET", url, &[("range", "bytes=4-7")], Vec::new());
    assert_eq!(part.body, "bbbb");
}

#[test]
fn a_python_module_stores_objects_through_the_python_sdk() {
    let plugins = HostBuilder::new().module("files-py", "files-py").build();
    let host = plugins.start();
    let put = put_object(
        &host,
        "notes/a.txt",
        &[("content-type", "text/plain"), ("x-meta-author", "Ada")],
        "hello world",
    );
    assert_eq!(put.status, 201, "{}", put.body);
    let stored = put.json();
    assert_eq!(stored["key"], "notes/a.txt");
    assert_eq!(stored["size"], 11);
    let got = host.get("/files-py/objects/notes/a.txt");
    assert_eq!(got.status, 200, "{}", got.body);
    assert_eq!(got.body, "hello world");
    assert_eq!(got.header("content-type"), Some("text/plain"));
    let range = host.get("/files-py/objects/notes/a.txt?start=6&end=9");
    assert_eq!((range.status, range.body.as_str()), (200, "wor"));
    assert_eq!(range.header("content-type"), Some("text/plain"));
    assert_eq!(
        host.get("/files-py/objects/notes/a.txt?start=6").body,
        "world"
    );
    let past = host.get("/files-py/objects/notes/a.txt?start=50");
    assert_eq!(past.status, 400, "{}", past.body);
    // The same through `get` and `head` (two calls) instead of `read` (one).
    let via_get = host.get("/files-py/objects/notes/a.txt?via=get&start=6&end=9");
    assert_eq!((via_get.status, via_get.body.as_str()), (200, "wor"));
    assert_eq!(via_get.header("content-type"), Some("text/plain"));

    let head = host.get("/files-py/head/notes/a.txt").json();
    assert_eq!(head["exists"], true);
    assert_eq!(head["info"]["metadata"], json!([["author", "Ada"]]));
    assert_eq!(head["info"]["etag"], stored["etag"]);
    let untyped = put_object(&host, "notes/b.bin", &[], "0123");
    assert_eq!(untyped.status, 201, "{}", untyped.body);
    assert_eq!(untyped.json()["content_type"], "application/octet-stream");
    let copy = host.request(
        "POST",
        "/files-py/copy?source=notes/a.txt&target=copies/a.txt",
        &[],
        Vec::new(),
    );
    assert_eq!(copy.status, 200, "{}", copy.body);
    assert_eq!(copy.json()["etag"], stored["etag"]);
    assert_eq!(
        host.get("/files-py/objects/copies/a.txt").body,
        "hello world"
    );

    let all = host.get("/files-py/list").json();
    assert_eq!(
        all["keys"],
        json!(["copies/a.txt", "notes/a.txt", "notes/b.bin"])
    );
    assert!(all["next_cursor"].is_null(), "{all}");
    let notes = host.get("/files-py/list?prefix=notes/").json();
    assert_eq!(notes["keys"], json!(["notes/a.txt", "notes/b.bin"]));
    let first = host.get("/files-py/list?prefix=notes/&limit=1").json();
    assert_eq!(first["keys"], json!(["notes/a.txt"]));
    let cursor = first["next_cursor"].as_str().expect("a cursor").to_string();
    let second = host
        .get(&format!(
            "/files-py/list?prefix=notes/&limit=1&cursor={cursor}"
        ))
        .json();
    assert_eq!(second["keys"], json!(["notes/b.bin"]));

    // Keys that leave the module's root are refused; the Python SDK lets the host's error
    // through, and nothing is written outside.
    let escaping = put_object(&host, "..%2Fx", &[], "x");
    assert!(
        matches!(escaping.status, 400 | 403),
        "{}: {}",
        escaping.status,
        escaping.body
    );
    for key in ["..%2F..%2Fescaped", "%2Fetc%2Fpasswd", "a%2F%2Fb"] {
        let raw = host.request(
            "PUT",
            &format!("/files-py/raw?key={key}"),
            &[],
            b"x".to_vec(),
        );
        assert_eq!(raw.status, 400, "{key}: {}", raw.body);
        assert_eq!(raw.json()["error"]["code"], "invalid", "{key}");
    }
    let base = plugins.path().parent().unwrap();
    for outside in ["x", "escaped", "data/x", "data/escaped", "data/storage/x"] {
        assert!(!base.join(outside).exists(), "{outside} was written");
    }

    let deleted = host.request("DELETE", "/files-py/objects/notes/a.txt", &[], Vec::new());
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    let gone = host.get("/files-py/objects/notes/a.txt");
    assert_eq!(gone.status, 404, "{}", gone.body);
    assert_eq!(gone.json()["error"]["code"], "not_found");
    assert_eq!(
        host.get("/files-py/head/notes/a.txt").json()["exists"],
        false
    );
    let again = host.request("DELETE", "/files-py/objects/notes/a.txt", &[], Vec::new());
    assert_eq!(again.status, 404, "{}", again.body);
    assert_eq!(
        host.get("/files-py/list?prefix=notes/").json()["keys"],
        json!(["notes/b.bin"])
    );
}

#[test]
fn a_python_module_outside_its_storage_grant_is_refused_with_403() {
    let host = HostBuilder::new()
        .module("files-py", "files-py")
        .edit(
            "files-py",
            r#"storage = ["*"]"#,
            r#"storage = ["uploads/*"]"#,
        )
        .start();
    let inside = put_object(&host, "uploads/a.txt", &[], "x");
    assert_eq!(inside.status, 201, "{}", inside.body);
    let outside = put_object(&host, "private/a.txt", &[], "x");
    assert_eq!(outside.status, 403, "{}", outside.body);
    assert_eq!(outside.json()["error"]["code"], "denied");
    assert_eq!(host.get("/files-py/objects/private/a.txt").status, 403);
    assert_eq!(host.get("/files-py/objects/uploads/a.txt").body, "x");
}

fn outbox_files(plugins: &Plugins) -> Vec<PathBuf> {
    crate::harness::outbox_files(plugins.path())
}

#[test]
fn a_python_module_sends_mail_with_an_attachment_through_the_python_sdk() {
    let plugins = HostBuilder::new().module("files-py", "files-py").build();
    let host = plugins.start();
    let send = |spec: serde_json::Value| {
        host.request(
            "POST",
            "/files-py/mail",
            &[("content-type", "application/json")],
            spec.to_string().into_bytes(),
        )
    };
    let attachment = "line one\nline two: naïve ✓\n";
    let sent = send(json!({
        "to": "ada@example.com",
        "subject": "Your files",
        "text": "See the attachment.",
        "attachment_name": "notes.txt",
        "attachment_text": attachment,
    }));
    assert_eq!(sent.status, 201, "{}", sent.body);
    let id = sent.json()["id"]
        .as_str()
        .expect("a message id")
        .to_string();

    // A sender outside the grant, and an attachment name with a folder, are refused by the
    // host through the Python SDK, and nothing is queued.
    let denied = send(json!({
        "to": "ada@example.com", "subject": "x", "text": "x", "from": "mallory@evil.example",
    }));
    assert_eq!(denied.status, 403, "{}", denied.body);
    let invalid = send(json!({
        "to": "ada@example.com", "subject": "x", "text": "x",
        "attachment_name": "../notes.txt", "attachment_text": "x",
    }));
    assert_eq!(invalid.status, 400, "{}", invalid.body);
    assert_eq!(invalid.json()["error"]["code"], "invalid");

    let file = eventually(
        "an .eml file in data/outbox",
        Duration::from_secs(20),
        || outbox_files(&plugins).pop(),
    );
    let message = parse_eml(&file);
    let headers = &message["headers"];
    assert_eq!(headers["subject"], "Your files");
    assert_eq!(headers["from"], "Shop <noreply@shop.example>");
    assert_eq!(headers["to"], "ada@example.com");
    assert_eq!(headers["message-id"], format!("<{id}>"));
    let parts = message["parts"].as_array().unwrap();
    let body = parts
        .iter()
        .find(|p| p["filename"].is_null() && p["content_type"] == "text/plain")
        .unwrap_or_else(|| panic!("a text body in {message}"));
    assert_eq!(
        body["content"].as_str().unwrap().trim_end(),
        "See the attachment."
    );
    let attached = parts
        .iter()
        .find(|p| p["filename"] == "notes.txt")
        .unwrap_or_else(|| panic!("the attachment in {message}"));
    assert_eq!(attached["content_type"], "text/plain");
    // parse.py gives the decoded bytes as latin-1 text.
    let bytes: Vec<u8> = attached["content"]
        .as_str()
        .unwrap()
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect();
    assert_eq!(
        String::from_utf8_lossy(&bytes),
        attachment,
        "the attachment's bytes changed on the way"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        outbox_files(&plugins).len(),
        1,
        "a refused message was queued"
    );
}

/// A Python module in a folder outside the repository whose `app.py` is `app` and whose
/// `requirements.txt` is `requirements` (none when empty), built by `host build`.
fn build_python_module(app: &str, requirements: &str) -> (tempfile::TempDir, std::process::Output) {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("deps");
    std::fs::create_dir_all(&module).unwrap();
    std::fs::write(
        module.join("plugin.toml"),
        "name = \"deps\"\nversion = \"0.1.0\"\n\n[http]\nprefix = \"/deps\"\nroutes = [{ method = \"GET\", path = \"/\" }]\n\n[limits]\nmemory-mib = 128\n",
    )
    .unwrap();
    std::fs::write(module.join("app.py"), app).unwrap();
    if !requirements.is_empty() {
        std::fs::write(module.join("requirements.txt"), requirements).unwrap();
    }
    let venv = crate::harness::repo().join(".venv/bin");
    let out = std::process::Command::new(crate::harness::HOST)
        .arg("build")
        .arg(dir.path())
        .env(
            "PATH",
            format!("{}:{}", venv.display(), std::env::var("PATH").unwrap()),
        )
        .output()
        .unwrap();
    (dir, out)
}

const IMPORTS: &str = r#"from plughost import Response, Router

router = Router()


def probe(name):
    try:
        module = __import__(name)
    except ImportError:
        return f"{name}: absent"
    return f"{name}: {getattr(module, '__version__', 'present')}"


# At import: what componentize-py bundles is what the module imports while it is built.
FOUND = ", ".join(probe(n) for n in ["six", "idna"])


@router.get("/")
def index(request) -> Response:
    return Response.text(FOUND)


HttpHandler = router.handler()
"#;

#[test]
fn a_python_modules_dependencies_come_from_its_requirements_never_from_the_systems_packages() {
    // idna is installed where componentize-py runs (scripts/setup's .venv, as a dependency
    // of moto): the module gets what its requirements.txt lists, from PyPI, and nothing else.
    let (dir, out) = build_python_module(IMPORTS, "six==1.16.0\n");
    assert!(out.status.success(), "{out:?}");
    let host = Host::start(
        &dir.path().join("plugins"),
        None,
        &HostOptions::default().cache_dir,
    );
    assert_eq!(host.get("/deps").body, "six: 1.16.0, idna: absent");

    let (dir, out) = build_python_module(IMPORTS, "");
    assert!(out.status.success(), "{out:?}");
    let host = Host::start(
        &dir.path().join("plugins"),
        None,
        &HostOptions::default().cache_dir,
    );
    assert_eq!(host.get("/deps").body, "six: absent, idna: absent");
}

#[test]
fn a_dependency_that_cannot_be_installed_fails_the_build_with_the_reason() {
    let (_dir, out) = build_python_module(IMPORTS, "no-such-package-plughost==9.9.9\n");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot install the module's dependencies")
            && stderr.contains("no-such-package-plughost"),
        "{stderr}"
    );
}

#[test]
fn an_unchanged_python_module_is_not_rebuilt_so_its_compiled_code_stays_cached() {
    let (dir, out) = build_python_module(IMPORTS, "");
    assert!(out.status.success(), "{out:?}");
    let wasm = dir.path().join("plugins/deps/deps.wasm");
    let first = std::fs::read(&wasm).unwrap();
    let build = || {
        let venv = crate::harness::repo().join(".venv/bin");
        std::process::Command::new(crate::harness::HOST)
            .arg("build")
            .arg(dir.path())
            .env(
                "PATH",
                format!("{}:{}", venv.display(), std::env::var("PATH").unwrap()),
            )
            .output()
            .unwrap()
    };
    let again = build();
    let said = String::from_utf8_lossy(&again.stderr).to_string();
    assert!(
        again.status.success() && said.contains("deps is up to date"),
        "{said}"
    );
    // The same bytes: the host's compile cache (keyed by them) answers on load.
    assert!(
        std::fs::read(&wasm).unwrap() == first,
        "the component was rewritten"
    );

    let app = dir.path().join("deps/app.py");
    std::fs::write(&app, IMPORTS.replace("\"six\"", "\"json\"")).unwrap();
    let edited = build();
    assert!(edited.status.success(), "{edited:?}");
    assert!(
        String::from_utf8_lossy(&edited.stderr).contains("building deps"),
        "an edit rebuilds"
    );
    assert!(std::fs::read(&wasm).unwrap() != first);
}

#[test]
fn host_build_installs_componentize_py_itself_where_none_is_found() {
    let (dir, out) = crate::harness::build_hello_without_the_repositorys_tools("hello-py");
    assert!(out.status.success(), "{out:?}");
    let home = crate::harness::repo().join("target/plughost-home");
    assert!(
        home.join("tools/componentize-py-0.25.1/bin/componentize-py")
            .is_file()
    );
    assert!(dir.path().join("plugins/hello-py/hello_py.wasm").is_file());
}

#[test]
fn a_syntax_error_is_one_line_from_the_embedded_pythons_parser_before_the_build() {
    let broken = IMPORTS.replace(
        "def index(request) -> Response:",
        "def index(request) -> Response",
    );
    let line = IMPORTS
        .lines()
        .position(|l| l.starts_with("def index"))
        .unwrap()
        + 1;
    let (_dir, out) = build_python_module(&broken, "");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("app.py:{line}: expected ':'")),
        "{stderr}"
    );
    assert!(
        !stderr.contains("Traceback") && !stderr.contains("componentize-py failed"),
        "found before componentize-py builds: {stderr}"
    );

    // The checker is the CPython componentize-py embeds (3.14), not the machine's 3.11:
    // syntax 3.12 added (quotes nested in an f-string) passes.
    let newer = IMPORTS.replace("FOUND = ", "NESTED = f\"{\"quotes\"} nested\"\nFOUND = ");
    let started = std::time::Instant::now();
    let (_dir, out) = build_python_module(&newer, "");
    assert!(out.status.success(), "{out:?}");
    eprintln!("a full build with the check took {:?}", started.elapsed());
}
