//! A Python module (componentize-py) through the same host.

use std::time::Duration;

use serde_json::json;

use crate::harness::{Host, HostOptions};
use crate::ws::{connect_to, user};

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
fn a_python_module_serves_websockets_events_and_jobs() {
    let host = Host::with_options(
        &[("service-py", "service-py")],
        HostOptions {
            config: Some("[ws]\njwt-secret = \"dev-secret\"\n".into()),
            ..HostOptions::default()
        },
    );
    assert_eq!(
        connect_to(&host, "/py", Some(&user("mallory"))).err(),
        Some(403),
        "on_connect refused her"
    );
    let mut ada = connect_to(&host, "/py", Some(&user("ada"))).unwrap();
    let mut bob = connect_to(&host, "/py", Some(&user("bob"))).unwrap();
    ada.send("join", json!({"room": "lobby"}));
    assert_eq!(ada.expect("joined")["data"], json!({"room": "lobby"}));
    assert_eq!(ada.expect("presence")["data"]["users"], json!(["ada"]));
    bob.send("join", json!({"room": "lobby"}));
    bob.expect("joined");
    assert_eq!(
        ada.expect("presence")["data"]["users"],
        json!(["ada", "bob"])
    );
    bob.send("say", json!({"room": "lobby", "text": "hi"}));
    assert_eq!(
        ada.expect("said")["data"],
        json!({"room": "lobby", "text": "hi", "user": "bob"})
    );
    ada.send_raw(r#"{"event": "echo", "data": [1, 2], "id": "m1"}"#);
    let echo = ada.expect("echo");
    assert_eq!((&echo["data"], &echo["id"]), (&json!([1, 2]), &json!("m1")));
    ada.send("nope", json!(null));
    let error = ada.expect("error");
    assert_eq!(error["data"]["code"], "invalid", "{error}");
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
