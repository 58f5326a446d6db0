//! JavaScript and TypeScript modules (componentize-js, guest-sdk/js) through the same host.
//! A JS component is about 12 MB and takes seconds to compile, so each test starts one host
//! and asks it several things (compiled code is cached across tests in target/test-cache).

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::json;

use crate::harness::{Host, HostBuilder, HostOptions, eventually, repo};
use crate::ws::chat_contract;

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn the_javascript_hello_module_answers_its_public_contract() {
    let host = Host::with_modules(&[("hello-js", "hello-js")]);
    let reply = host.get("/hello-js/Ada");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body, "Hello, Ada! (js)");
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        host.get("/hello-js/Grace%20Hopper").body,
        "Hello, Grace Hopper! (js)",
        "params are percent-decoded"
    );
    assert_eq!(
        host.request("POST", "/hello-js/Ada", &[], Vec::new())
            .status,
        405
    );
}

#[test]
fn a_javascript_module_uses_the_orm_websockets_events_and_jobs() {
    let host = Host::with_options(
        &[("service-js", "service-js")],
        HostOptions {
            config: Some("[ws]\njwt-secret = \"dev-secret\"\n".into()),
            ..HostOptions::default()
        },
    );
    let send = |method: &str, path: &str, body: &str| {
        host.request(method, path, &[], body.as_bytes().to_vec())
    };
    let reply = send(
        "POST",
        "/service-js/books",
        r#"{"title": "Dune", "year": 1965}"#,
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let dune = reply.json();
    assert_eq!(dune["read"], false);
    assert!(dune["created_at"].is_string(), "{dune}");
    let id = dune["id"].as_i64().unwrap();
    send(
        "POST",
        "/service-js/books",
        r#"{"title": "Emma", "year": 1815, "read": true}"#,
    );
    let reply = send("POST", "/service-js/books", r#"{"year": "soon"}"#);
    assert_eq!(
        reply.status, 400,
        "the host's error passes through: {}",
        reply.body
    );
    assert!(reply.body.contains("model 'book'"), "{}", reply.body);
    let reply = send("POST", "/service-js/books", "not json");
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(reply.body.contains("not valid JSON"), "{}", reply.body);

    let page = host.get("/service-js/books?limit=1&page=2").json();
    assert_eq!(
        (&page["total"], &page["totalPages"]),
        (&json!(2), &json!(2))
    );
    assert_eq!(
        page["data"][0]["title"], "Emma",
        "ordered by year, descending"
    );
    assert_eq!(host.get("/service-js/books?read=true").json()["total"], 1);
    let reply = send(
        "PATCH",
        &format!("/service-js/books/{id}"),
        r#"{"read": true}"#,
    );
    assert_eq!(reply.json()["read"], true, "{}", reply.body);
    assert_eq!(host.get("/service-js/books/nope").status, 400);
    assert_eq!(
        send("DELETE", &format!("/service-js/books/{id}"), "").status,
        204
    );
    let gone = host.get(&format!("/service-js/books/{id}"));
    assert_eq!(gone.status, 404, "{}", gone.body);
    assert!(gone.body.contains("no such book"), "{}", gone.body);

    let good_then_bad = r#"[{"title": "A"}, {"title": "B"}, {"title": null}]"#;
    let reply = send("POST", "/service-js/books/batch", good_then_bad);
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(
        host.get("/service-js/books").json()["total"],
        1,
        "the transaction rolled back"
    );
    let reply = send(
        "POST",
        "/service-js/books/batch",
        r#"[{"title": "A"}, {"title": "B"}]"#,
    );
    assert_eq!(
        reply.json(),
        json!({"created": 2, "count": 3}),
        "{}",
        reply.body
    );

    let _chat = chat_contract(&host, "/js", r#"[1, 2]"#);
    // `say` emitted an event; its handler dispatched a job; both logged what was said.
    for expected in [
        "heard hi on service-js.said.v1",
        "job js-echo attempt 1: hi",
    ] {
        host.wait_for_log(Duration::from_secs(10), |line| {
            crate::harness::message(line).contains(expected)
        });
    }
}

#[test]
fn a_javascript_module_stores_objects_sends_mail_and_reads_config() {
    let plugins = HostBuilder::new()
        .module("service-js", "service-js")
        .build();
    let host = plugins.start();
    let put = host.request(
        "PUT",
        "/service-js/objects/notes/a.txt",
        &[("content-type", "text/plain"), ("x-meta-author", "Ada")],
        b"hello world".to_vec(),
    );
    assert_eq!(put.status, 201, "{}", put.body);
    assert_eq!(
        (&put.json()["size"], &put.json()["key"]),
        (&json!(11), &json!("notes/a.txt"))
    );
    let got = host.get("/service-js/objects/notes/a.txt");
    assert_eq!((got.status, got.body.as_str()), (200, "hello world"));
    assert_eq!(got.header("content-type"), Some("text/plain"));
    assert_eq!(got.header("x-size"), Some("11"));
    assert_eq!(got.header("x-author"), Some("Ada"));
    assert_eq!(got.header("x-keys"), Some("notes/a.txt"));
    let range = host.get("/service-js/objects/notes/a.txt?start=6&end=9");
    assert_eq!((range.status, range.body.as_str()), (200, "wor"));
    let missing = host.get("/service-js/objects/notes/none.txt");
    assert_eq!(missing.status, 404, "{}", missing.body);

    let reply = host.request("POST", "/service-js/pieces?key=big.txt", &[], Vec::new());
    assert_eq!(reply.status, 201, "{}", reply.body);
    let answer = reply.json();
    assert_eq!(
        (&answer["written"], &answer["info"]["size"]),
        (&json!(12), &json!(12))
    );
    let url = answer["url"].as_str().unwrap();
    assert!(url.starts_with("/_storage/"), "{url}");
    assert_eq!(host.get(url).body, "aaaabbbbcccc");

    assert_eq!(
        host.get("/service-js/config/greeting").json(),
        json!({"value": "hello from the manifest"})
    );
    assert_eq!(host.get("/service-js/config/secret").status, 403);

    let mail = |spec: serde_json::Value| {
        host.request(
            "POST",
            "/service-js/mail",
            &[],
            spec.to_string().into_bytes(),
        )
    };
    let sent = mail(json!({
        "to": "ada@example.com", "subject": "Your files", "text": "See the attachment.",
        "attachment": "notes.txt",
    }));
    assert_eq!(sent.status, 201, "{}", sent.body);
    let id = sent.json()["id"]
        .as_str()
        .expect("a message id")
        .to_string();
    let denied = mail(json!({
        "to": "ada@example.com", "subject": "x", "text": "x", "from": "mallory@evil.example",
    }));
    assert_eq!(denied.status, 403, "{}", denied.body);
    let file = eventually(
        "an .eml file in data/outbox",
        Duration::from_secs(20),
        || crate::harness::outbox_files(plugins.path()).pop(),
    );
    let message = crate::harness::parse_eml(&file);
    assert_eq!(message["headers"]["subject"], "Your files");
    assert_eq!(message["headers"]["message-id"], format!("<{id}>"));
    let parts = message["parts"].as_array().unwrap();
    assert!(
        parts.iter().any(|p| p["filename"] == "notes.txt"),
        "the attachment in {message}"
    );
}

#[test]
fn a_thrown_javascript_exception_is_a_500_and_the_host_keeps_serving() {
    let host = Host::with_modules(&[("service-js", "service-js"), ("hello-js", "hello-js")]);
    for _ in 0..3 {
        let reply = host.get("/service-js/boom");
        assert_eq!(reply.status, 500, "{}", reply.body);
        assert_eq!(host.get("/service-js/ping").body, "pong");
    }
    assert_eq!(host.get("/hello-js/Ada").body, "Hello, Ada! (js)");
    // The guest's own account of the exception reaches the log.
    host.wait_for_log(Duration::from_secs(5), |line| {
        line.to_string().contains("TypeError")
    });
}

#[test]
fn a_new_javascript_module_builds_and_runs_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let new = Command::new(crate::harness::HOST)
        .args(["new", "demo", "--lang", "js", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(new.status.success(), "{}", text(&new));
    assert!(dir.path().join("demo/app.js").is_file());
    // From a folder outside the repository: the tools are found from the host's own
    // working folder (here the repository), as they would be from a module's parents.
    let build = Command::new(crate::harness::HOST)
        .arg("build")
        .arg(dir.path())
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(build.status.success(), "{}", text(&build));
    let plugins = dir.path().join("plugins");
    let check = Command::new(crate::harness::HOST)
        .arg("check")
        .arg(&plugins)
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", text(&check));
    assert!(
        !text(&check).contains("warning"),
        "the imports componentize-js always adds are not reported: {}",
        text(&check)
    );
    let server = Host::start(&plugins, None, &HostOptions::default().cache_dir);
    let reply = server.get("/demo/Ada");
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "Hello, Ada! (js)")
    );
}

#[test]
fn a_javascript_module_that_fails_to_load_is_a_build_error_naming_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("broken");
    std::fs::create_dir_all(&module).unwrap();
    std::fs::write(
        module.join("plugin.toml"),
        "name = \"broken\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    std::fs::write(
        module.join("app.js"),
        "import { nothing } from 'plughost';\nexport const httpHandler = {};\n",
    )
    .unwrap();
    let build = Command::new(crate::harness::HOST)
        .arg("build")
        .arg(dir.path())
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(!build.status.success());
    let out = text(&build);
    assert!(
        out.contains("nothing"),
        "esbuild names the missing export: {out}"
    );
    assert!(out.contains("esbuild could not bundle"), "{out}");
}

#[test]
fn the_checked_in_typescript_typings_match_the_wit() {
    let js = repo().join("guest-sdk/js");
    assert!(
        Path::new(&js.join("node_modules/.bin/jco")).is_file(),
        "jco is not installed in guest-sdk/js; run scripts/setup"
    );
    let out = Command::new("node")
        .arg("scripts/types.mjs")
        .arg("--check")
        .current_dir(&js)
        .output()
        .expect("run node");
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn a_js_module_builds_where_the_machine_lacks_the_tools_with_those_the_host_installs() {
    let (dir, out) = crate::harness::build_hello_without_the_repositorys_tools("hello-js");
    assert!(out.status.success(), "{out:?}");
    assert!(dir.path().join("plugins/hello-js/hello_js.wasm").is_file());
}
