//! The shop example's public contract on one host: events between modules and a queue
//! with retries.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Host, Reply, install, repo};

fn shop(config: &str) -> (tempfile::TempDir, Host) {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    for module in ["inventory", "orders", "notifications"] {
        install(&plugins, module, module);
    }
    std::fs::write(dir.path().join("host.toml"), config).unwrap();
    let host = Host::start(
        &plugins,
        Some(&dir.path().join("host.toml")),
        &repo().join("target/test-cache"),
    );
    (dir, host)
}

fn send(host: &Host, method: &str, path: &str, body: Value) -> Reply {
    host.request(method, path, &[], body.to_string().into_bytes())
}

fn eventually(what: &str, within: Duration, check: impl Fn() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(
            start.elapsed() < within,
            "{what} did not happen within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[test]
fn an_order_takes_stock_and_sends_a_confirmation_and_retries_show() {
    let (_dir, host) = shop("[queue]\nbackoff-base-ms = 100\npoll-ms = 50\n");
    assert_eq!(
        send(&host, "PUT", "/inventory/ABC", json!({"stock": 10})).status,
        200
    );
    let reply = send(
        &host,
        "POST",
        "/orders",
        json!({"sku": "ABC", "qty": 3, "email": "ada@example.com"}),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let order = reply.json();
    let id = order["id"].as_i64().unwrap();
    assert_eq!(
        (order["sku"].clone(), order["qty"].clone()),
        (json!("ABC"), json!(3))
    );
    assert_eq!(
        host.get(&format!("/orders/{id}")).json()["email"],
        "ada@example.com"
    );

    eventually("the stock to drop", Duration::from_secs(10), || {
        host.get("/inventory/ABC").json() == json!({"sku": "ABC", "stock": 7})
    });
    eventually("the confirmation", Duration::from_secs(10), || {
        host.get("/notifications")
            .json()
            .as_array()
            .is_some_and(|n| n.len() == 1)
    });
    let sent = host.get("/notifications").json();
    assert_eq!(
        (sent[0]["order_id"].clone(), sent[0]["attempt"].clone()),
        (json!(id), json!(1))
    );

    let reply = send(
        &host,
        "POST",
        "/orders",
        json!({"sku": "ABC", "qty": 1, "email": "fail-twice@example.com"}),
    );
    let second = reply.json()["id"].as_i64().unwrap();
    eventually("the retried confirmation", Duration::from_secs(10), || {
        host.get("/notifications")
            .json()
            .as_array()
            .is_some_and(|n| n.len() == 2)
    });
    let sent = host.get("/notifications").json();
    assert_eq!(
        (sent[1]["order_id"].clone(), sent[1]["attempt"].clone()),
        (json!(second), json!(3))
    );
    assert_eq!(host.get("/inventory/ABC").json()["stock"], 6);

    for bad in [
        json!({"sku": "ABC", "qty": 0, "email": "a@b"}),
        json!({"sku": "ABC"}),
        json!({"qty": 1}),
    ] {
        assert_eq!(send(&host, "POST", "/orders", bad).status, 400);
    }
    assert_eq!(host.get("/orders/999").status, 404);
    assert_eq!(host.get("/inventory/NOPE").status, 404);
}
