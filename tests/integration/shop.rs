//! The shop example's public contract on one host: events between modules and a queue
//! with retries.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Host, HostBuilder, Reply};

/// The three shop modules on one host, with host.toml `config`.
fn shop(config: &str) -> Host {
    HostBuilder::new()
        .module("inventory", "inventory")
        .module("orders", "orders")
        .module("notifications", "notifications")
        .host_toml(config)
        .start()
}

fn send(host: &Host, method: &str, path: &str, body: Value) -> Reply {
    host.request(method, path, &[], body.to_string().into_bytes())
}

#[test]
fn an_order_takes_stock_and_sends_a_confirmation_and_retries_show() {
    let host = shop("[queue]\nbackoff-base-ms = 100\npoll-ms = 50\n");
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

    host.eventually("the stock to drop", Duration::from_secs(10), || {
        host.get("/inventory/ABC").json() == json!({"sku": "ABC", "stock": 7})
    });
    host.eventually("the confirmation", Duration::from_secs(10), || {
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
    host.eventually("the retried confirmation", Duration::from_secs(10), || {
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
