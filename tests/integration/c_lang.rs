//! C modules (guest-sdk/c, built by `host build` with zig cc) through the same host.

use std::process::Command;
use std::time::Duration;

use serde_json::json;

use crate::harness::{
    HOST, Host, HostBuilder, HostOptions, eventually, fixture, outbox_files, parse_eml, repo,
};
use crate::ws::{chat_contract, connect_to};

#[test]
fn the_c_hello_module_answers_its_public_contract() {
    let host = Host::with_modules(&[("hello-c", "hello-c"), ("hello-rust", "hello-rust")]);
    let reply = host.get("/hello-c/Ada");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body, "Hello, Ada! (c)");
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        host.get("/hello-c/Grace%20Hopper").body,
        "Hello, Grace Hopper! (c)",
        "params are percent-decoded"
    );
    assert_eq!(
        host.request("POST", "/hello-c/Ada", &[], Vec::new()).status,
        405
    );
    assert_eq!(host.get("/hello-rust/Ada").body, "Hello, Ada! (rust)");
}

#[test]
fn a_c_module_gets_a_default_for_each_handler_it_does_not_define() {
    // hello-c defines PH_ROUTES only; declaring a namespace makes the host call the SDK's
    // weak defaults: ph_ws_connect accepts, ph_ws_message says what to define.
    let routes = r#"routes = [{ method = "GET", path = "/{name}" }]"#;
    let host = HostBuilder::new()
        .module("hello-c", "hello-c")
        .edit(
            "hello-c",
            routes,
            &format!(
                "{routes}\n\n[capabilities]\nws = [\"/hello\"]\n\n[ws]\nnamespaces = [\"/hello\"]\n"
            ),
        )
        .start();
    let mut client = connect_to(&host, "/hello", None).expect("the default ph_ws_connect accepts");
    client.send("hi", json!(null));
    let error = client.expect("error");
    assert_eq!(error["data"]["code"], "internal", "{error}");
    assert_eq!(host.get("/hello-c/Ada").body, "Hello, Ada! (c)");
    host.wait_for_log(Duration::from_secs(5), |line| {
        line.to_string()
            .contains("the module defines no WebSocket handler for 'hi'")
    });
}

#[test]
fn a_c_module_uses_the_orm_through_the_c_sdk() {
    let host = Host::with_modules(&[("service-c", "service-c")]);
    let send = |method: &str, path: &str, body: &str| {
        host.request(method, path, &[], body.as_bytes().to_vec())
    };
    let reply = send(
        "POST",
        "/service-c/notes",
        r#"{"title": "Milk", "rank": 1}"#,
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let milk = reply.json();
    assert_eq!(milk["done"], false, "the model's default");
    assert!(milk["created_at"].is_string(), "{milk}");
    let id = milk["id"].as_i64().unwrap();
    let reply = send(
        "POST",
        "/service-c/notes",
        r#"{"title": "Eggs \"free range\" ✓", "rank": 5, "done": true}"#,
    );
    assert_eq!(reply.status, 201, "{}", reply.body);

    let refused = send("POST", "/service-c/notes", r#"{"rank": "high"}"#);
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("model 'note'"), "{}", refused.body);

    let page = host.get("/service-c/notes?limit=1&page=2").json();
    assert_eq!(
        (page["total"].as_u64(), page["count"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(page["total_pages"], 2);
    assert_eq!(page["first_title"], "Milk", "ordered by rank, descending");
    let first = host.get("/service-c/notes?limit=1").json();
    assert_eq!(
        first["first_title"], "Eggs \"free range\" ✓",
        "the row is read back through ph_json_get_string, escapes and UTF-8 intact"
    );
    let done = host.get("/service-c/notes?done=true").json();
    assert_eq!(done["total"], 1);
    assert_eq!(done["data"][0]["rank"], 5);
    assert_eq!(
        host.get("/service-c/notes?title=Milk").json()["total"],
        1,
        "a filter on a string field"
    );

    let shown = host.get(&format!("/service-c/notes/{id}"));
    assert_eq!(shown.json()["title"], "Milk");
    let updated = send(
        "PATCH",
        &format!("/service-c/notes/{id}"),
        r#"{"done": true}"#,
    );
    assert_eq!(updated.json()["done"], true, "{}", updated.body);
    assert_eq!(
        send("DELETE", &format!("/service-c/notes/{id}"), "").status,
        204
    );
    let gone = host.get(&format!("/service-c/notes/{id}"));
    assert_eq!(gone.status, 404, "{}", gone.body);
    assert_eq!(gone.json()["error"]["code"], "not_found");
    assert_eq!(
        send("DELETE", &format!("/service-c/notes/{id}"), "").status,
        404
    );
    assert_eq!(host.get("/service-c/notes/seven").status, 400);

    let good_then_bad = r#"[{"title": "A"}, {"title": "B"}, {"title": null}]"#;
    let reply = send("POST", "/service-c/notes/batch", good_then_bad);
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(
        host.get("/service-c/notes").json()["total"],
        1,
        "the transaction rolled back"
    );
    let reply = send(
        "POST",
        "/service-c/notes/batch",
        r#"[{"title": "A"}, {"title": "B"}]"#,
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json(), json!({"created": 2, "count": 3}));
}

#[test]
fn a_c_module_serves_websockets_events_and_jobs() {
    let host = Host::with_options(
        &[("service-c", "service-c")],
        HostOptions {
            config: Some("[ws]\njwt-secret = \"dev-secret\"\n".into()),
            ..HostOptions::default()
        },
    );
    let (mut ada, mut bob, error) = chat_contract(&host, "/c", r#"{"n": [1, 2]}"#);
    ada.send("shout", json!("everyone"));
    assert_eq!(bob.expect("shouted")["data"], "everyone");
    assert_eq!(ada.expect("shouted")["data"], "everyone");
    assert!(
        error["data"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("unknown event 'nope'"),
        "{error}"
    );
    ada.send("join", json!({}));
    assert_eq!(ada.expect("error")["data"]["code"], "invalid");

    // `say` emitted an event; its handler stored a note and dispatched a job; both logged.
    for expected in ["heard hi on service-c.said.v1", "job c-echo attempt 1: hi"] {
        host.wait_for_log(Duration::from_secs(10), |line| {
            crate::harness::message(line).contains(expected)
        });
    }
    let notes = host.get("/service-c/notes?title=heard:%20hi").json();
    assert_eq!(
        notes["total"], 1,
        "the event handler wrote through the ORM: {notes}"
    );
}

#[test]
fn a_c_module_reads_requests_and_config_and_sets_statuses_and_headers() {
    let host = Host::with_modules(&[("service-c", "service-c")]);
    let reply = host.request(
        "POST",
        "/service-c/echo?q=caf%C3%A9+au+lait&status=202&flag",
        &[("x-test", "yes please")],
        b"body text".to_vec(),
    );
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(reply.header("x-echo"), Some("yes"));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(
        reply.json(),
        json!({
            "method": "POST",
            "path": "/service-c/echo",
            "route": "/echo",
            "q": "café au lait",
            "query": "q=caf%C3%A9+au+lait&status=202&flag",
            "header": "yes please",
            "body": "body text",
            "length": 9,
            "has_id": true,
        })
    );
    let bare = host.get("/service-c/echo").json();
    assert_eq!(
        (&bare["q"], &bare["header"], &bare["body"]),
        (&json!(null), &json!(null), &json!(""))
    );

    let greeting = host.get("/service-c/config/greeting");
    assert_eq!(
        (greeting.status, greeting.body.as_str()),
        (200, "Hello from plugin.toml")
    );
    let secret = host.get("/service-c/config/secret");
    assert_eq!(secret.status, 403, "{}", secret.body);
    assert_eq!(secret.json()["error"]["code"], "denied");
}

#[test]
fn a_c_module_stores_objects_and_sends_mail_through_the_c_sdk() {
    let plugins = HostBuilder::new().module("service-c", "service-c").build();
    let host = plugins.start();
    let put = host.request(
        "PUT",
        "/service-c/objects/notes/a.txt",
        &[("content-type", "text/plain")],
        b"hello world".to_vec(),
    );
    assert_eq!(put.status, 201, "{}", put.body);
    assert_eq!(
        put.json(),
        json!({"key": "notes/a.txt", "size": 11, "content_type": "text/plain", "metadata": [["author", "Ada"]]})
    );
    let got = host.get("/service-c/objects/notes/a.txt");
    assert_eq!((got.status, got.body.as_str()), (200, "hello world"));
    assert_eq!(got.header("content-type"), Some("text/plain"));
    let range = host.get("/service-c/objects/notes/a.txt?start=6&end=9");
    assert_eq!((range.status, range.body.as_str()), (200, "wor"));
    assert_eq!(
        host.get("/service-c/objects/notes/a.txt?start=6").body,
        "world"
    );
    let missing = host.get("/service-c/objects/notes/none.txt");
    assert_eq!(missing.status, 404, "{}", missing.body);

    let uploaded = host.request(
        "POST",
        "/service-c/pieces?key=big/abc.txt&count=3&size=4",
        &[],
        Vec::new(),
    );
    assert_eq!(uploaded.status, 201, "{}", uploaded.body);
    let answer = uploaded.json();
    assert_eq!(
        (&answer["written"], &answer["size"]),
        (&json!(12), &json!(12))
    );
    let url = answer["url"].as_str().unwrap();
    assert!(url.starts_with("/_storage/"), "{url}");
    let served = host.get(url);
    assert_eq!(served.body, "aaaabbbbcccc");
    assert_eq!(served.header("content-type"), Some("text/plain"));
    assert_eq!(
        host.request("GET", url, &[("range", "bytes=4-7")], Vec::new())
            .body,
        "bbbb"
    );

    let send = |spec: serde_json::Value| {
        host.request(
            "POST",
            "/service-c/mail",
            &[],
            spec.to_string().into_bytes(),
        )
    };
    let denied = send(json!({
        "to": "ada@example.com", "subject": "x", "text": "x", "from": "mallory@evil.example",
    }));
    assert_eq!(denied.status, 403, "{}", denied.body);
    let sent = send(json!({"to": "ada@example.com", "subject": "From C", "text": "Hi."}));
    assert_eq!(sent.status, 201, "{}", sent.body);
    let id = sent.json()["id"]
        .as_str()
        .expect("a message id")
        .to_string();
    let file = eventually(
        "an .eml file in data/outbox",
        Duration::from_secs(20),
        || outbox_files(plugins.path()).pop(),
    );
    let message = parse_eml(&file);
    assert_eq!(message["headers"]["subject"], "From C");
    assert_eq!(message["headers"]["message-id"], format!("<{id}>"));
    let parts = message["parts"].as_array().unwrap();
    assert!(
        parts.iter().any(|p| p["filename"] == "note.txt"
            && p["content"].as_str().map(str::trim_end) == Some("attached by C")),
        "{message}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        outbox_files(plugins.path()).len(),
        1,
        "the refused message was queued"
    );
}

#[test]
fn a_trap_in_a_c_module_becomes_a_500_and_the_host_keeps_serving() {
    let host = Host::with_modules(&[("service-c", "service-c"), ("hello-c", "hello-c")]);
    for _ in 0..2 {
        let crash = host.get("/service-c/crash");
        assert_eq!(crash.status, 500, "{}", crash.body);
        assert_eq!(
            crash.json()["error"]["code"],
            "module_trapped",
            "{}",
            crash.body
        );
        assert_eq!(host.get("/service-c/ping").body, "pong");
        assert_eq!(host.get("/hello-c/Ada").body, "Hello, Ada! (c)");
    }
    host.wait_for_log(Duration::from_secs(5), |line| {
        crate::harness::message(line).contains("about to abort on /service-c/crash")
    });
    // `host build` drops the DWARF but keeps the name section: the trap names C functions.
    host.wait_for_log(Duration::from_secs(5), |line| {
        let message = crate::harness::message(line);
        message.contains("trapped") && message.contains("!abort") && message.contains("!crash")
    });
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs the host CLI with the repository's .venv (zig, from scripts/setup) first on PATH.
fn host_cli(args: &[&str]) -> std::process::Output {
    let path = format!(
        "{}:{}",
        repo().join(".venv/bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new(HOST)
        .args(args)
        .env("PATH", path)
        .output()
        .unwrap()
}

#[test]
fn a_new_c_module_builds_checks_and_runs_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let host = host_cli;
    let parent = dir.path().to_str().unwrap();
    let out = host(&["new", "demo", "--lang", "c", "--dir", parent]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(dir.path().join("demo/app.c").is_file());
    assert!(text(&out).contains("host build"), "{}", text(&out));
    let out = host(&["build", parent]);
    assert!(out.status.success(), "{}", text(&out));
    let plugins = dir.path().join("plugins");
    let module = plugins.join("demo");
    assert!(module.join("plugin.toml").is_file());
    let wasm = crate::harness::wasm_in(&module);
    let size = std::fs::metadata(&wasm).unwrap().len();
    assert!(
        size < 512 * 1024,
        "a C hello component is small (no DWARF): {size} bytes"
    );

    let check = host(&["check", plugins.to_str().unwrap()]);
    assert!(check.status.success(), "{}", text(&check));
    assert!(!text(&check).contains("error"), "{}", text(&check));

    let server = Host::start(&plugins, None, &HostOptions::default().cache_dir);
    let reply = server.get("/demo/Ada");
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "Hello, Ada! (c)")
    );
}

#[test]
fn check_accepts_the_wasi_imports_libc_brings_and_warns_that_files_are_not_granted() {
    let quiet = host_cli(&["check", fixture("service-c").to_str().unwrap()]);
    assert!(quiet.status.success(), "{}", text(&quiet));
    assert!(
        !text(&quiet).contains("warning") && text(&quiet).contains("ok: "),
        "a module whose libc makes no system calls imports no WASI: {}",
        text(&quiet)
    );

    // printf, getenv and fopen make the preview-1 adapter import wasi:cli, wasi:clocks and
    // wasi:filesystem: all linked by the host, the files empty.
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("files");
    std::fs::create_dir_all(&module).unwrap();
    std::fs::write(
        module.join("plugin.toml"),
        "name = \"files\"\nversion = \"0.1.0\"\n\n[http]\nprefix = \"/files\"\n\
         routes = [{ method = \"GET\", path = \"/{name}\" }]\n",
    )
    .unwrap();
    std::fs::write(
        module.join("app.c"),
        r#"#include <stdio.h>
#include <stdlib.h>
#include "plughost.h"

static ph_response *open_file(const ph_request *request) {
    printf("opening %s\n", ph_request_param(request, "name"));
    fflush(stdout);
    FILE *file = fopen(ph_request_param(request, "name"), "r");
    const char *home = getenv("HOME");
    return ph_response_text(ph_format("%s, HOME %s", file ? "opened" : "refused", home ? home : "unset"));
}

PH_ROUTES(PH_GET("/{name}", open_file))
"#,
    )
    .unwrap();
    let built = host_cli(&["build", dir.path().to_str().unwrap()]);
    assert!(built.status.success(), "{}", text(&built));
    let plugins = dir.path().join("plugins");
    let check = host_cli(&["check", plugins.to_str().unwrap()]);
    let said = text(&check);
    assert!(check.status.success(), "{said}");
    assert!(!said.contains("error"), "{said}");
    assert!(
        said.contains("warning:")
            && said.contains("imports wasi:filesystem")
            && said.contains("storage capability"),
        "{said}"
    );
    assert_eq!(
        said.matches("warning:").count(),
        1,
        "one warning, not one per WASI interface: {said}"
    );

    let server = Host::start(&plugins, None, &HostOptions::default().cache_dir);
    let reply = server.get("/files/%2Fetc%2Fpasswd");
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "refused, HOME unset")
    );
    server.wait_for_log(Duration::from_secs(5), |line| {
        crate::harness::message(line).contains("opening /etc/passwd") && line["stream"] == "stdout"
    });
}

#[test]
fn building_a_c_module_that_does_not_compile_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("broken");
    std::fs::create_dir_all(&module).unwrap();
    std::fs::write(
        module.join("plugin.toml"),
        "name = \"broken\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    std::fs::write(
        module.join("app.c"),
        "#include \"plughost.h\"\nint broken( {\n",
    )
    .unwrap();
    let out = host_cli(&["build", dir.path().to_str().unwrap()]);
    assert!(!out.status.success());
    let said = text(&out);
    assert!(
        said.contains("app.c"),
        "the compiler names the file: {said}"
    );
    assert!(said.contains("zig cc could not compile"), "{said}");
    assert!(!dir.path().join("plugins/broken/plugin.toml").exists());
}

#[test]
fn a_c_module_builds_where_the_machine_lacks_the_tools_with_those_the_host_installs() {
    let (dir, out) = crate::harness::build_hello_without_the_repositorys_tools("hello-c");
    assert!(out.status.success(), "{out:?}");
    let home = crate::harness::repo().join("target/plughost-home");
    assert!(home.join("tools/ziglang-0.17.1/.complete").is_file());
    assert!(dir.path().join("plugins/hello-c/hello_c.wasm").is_file());
}
