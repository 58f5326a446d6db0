//! The events capability: real modules emitting and subscribing through one host.

use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{Host, HostBuilder, edit_manifest};

/// A host over events-probe copies, with `tenants` allowed the ORM and events.
fn bus<'a>(tenants: &[&str], copies: impl IntoIterator<Item = Copy<'a>>) -> Host {
    let bus = tenants.iter().fold(HostBuilder::new(), |bus, tenant| {
        bus.tenant(tenant, &["orm", "events"])
    });
    copies
        .into_iter()
        .fold(bus, |bus, copy| copy.on(bus))
        .start()
}

/// How to install one copy.
struct Copy<'a> {
    name: &'a str,
    tenant: &'a str,
    subscribe: &'a [&'a str],
    grant: &'a [&'a str],
}

impl Copy<'_> {
    /// Installs events-probe as module `name` at `/name` in its tenant, with its own table
    /// (`received_NAME`), grant and subscriptions.
    fn on(self, bus: HostBuilder) -> HostBuilder {
        let (name, table) = (
            self.name,
            format!("received_{}", self.name.replace('-', "_")),
        );
        let edits = [
            ("name = \"events-probe\"", format!("name = \"{name}\"")),
            (
                "prefix = \"/events-probe\"",
                format!("prefix = \"/{name}\""),
            ),
            (
                "events = [\"*\"]",
                format!("events = [{}]", list(self.grant)),
            ),
            ("orm = [\"received\"]", format!("orm = [\"{table}\"]")),
            ("table = \"received\"", format!("table = \"{table}\"")),
            (
                "subscribe = [\"order.*\"]",
                format!("subscribe = [{}]", list(self.subscribe)),
            ),
        ];
        let bus = bus.module_in("events-probe", name, self.tenant);
        edits
            .iter()
            .fold(bus, |bus, (from, to)| bus.edit(name, from, to))
    }
}

fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn copy<'a>(name: &'a str, subscribe: &'a [&'a str]) -> Copy<'a> {
    Copy {
        name,
        tenant: "acme",
        subscribe,
        grant: &["*"],
    }
}

/// Emits through module `from`: `POST /{from}/emit`.
fn emit(host: &Host, from: &str, spec: Value) -> crate::harness::Reply {
    host.request(
        "POST",
        &format!("/{from}/emit"),
        &[],
        spec.to_string().into_bytes(),
    )
}

fn emit_one(host: &Host, from: &str, topic: &str, payload: Value) -> String {
    let reply = emit(
        host,
        from,
        json!({"events": [{"topic": topic, "payload": payload}]}),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["ids"][0].as_str().unwrap().to_string()
}

fn received(host: &Host, module: &str) -> Vec<Value> {
    let reply = host.get(&format!("/{module}/received"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json().as_array().unwrap().clone()
}

/// Waits until `module` has recorded `n` events, then a little longer to catch extras.
fn wait_received(host: &Host, module: &str, n: usize) -> Vec<Value> {
    host.eventually(
        &format!("{module} to receive {n} events"),
        Duration::from_secs(10),
        || {
            let got = received(host, module).len();
            if got >= n {
                Ok(())
            } else {
                Err(format!("{got} received"))
            }
        },
    );
    std::thread::sleep(Duration::from_millis(150));
    received(host, module)
}

/// A marker event through `from` that every module subscribed to `order.*` gets; when
/// `module` has it, anything emitted before it has been delivered or dropped.
fn settle(host: &Host, from: &str, module: &str, expected_before: usize) -> Vec<Value> {
    emit_one(host, from, "order.marker", json!({"marker": true}));
    let got = wait_received(host, module, expected_before + 1);
    got.into_iter()
        .filter(|e| e["topic"] != "order.marker")
        .collect()
}

#[test]
fn an_event_fans_out_to_every_matching_subscriber_once() {
    let host = bus(
        &["acme"],
        [
            copy("emitter", &[]),
            copy("all-orders", &["order.*", "order.created.v1"]),
            copy("created-only", &["order.created.v1"]),
            copy("invoices", &["invoice.*"]),
        ],
    );
    let id = emit_one(&host, "emitter", "order.created.v1", json!({"order": 7}));
    for module in ["all-orders", "created-only"] {
        let got = wait_received(&host, module, 1);
        assert_eq!(got.len(), 1, "{module} got each event once: {got:?}");
        let event = &got[0];
        assert_eq!(event["event_id"], id.as_str());
        assert_eq!(event["topic"], "order.created.v1");
        assert_eq!(event["source"], "emitter");
        assert_eq!(
            serde_json::from_str::<Value>(event["payload"].as_str().unwrap()).unwrap(),
            json!({"order": 7})
        );
        assert!(event["time"].as_str().unwrap().ends_with('Z'));
    }
    assert!(received(&host, "invoices").is_empty());
    assert!(
        received(&host, "emitter").is_empty(),
        "no subscriptions, no deliveries"
    );
}

#[test]
fn patterns_match_versions_and_entities() {
    let host = bus(
        &["acme"],
        [
            copy("emitter", &[]),
            copy("created", &["*.created.v1", "order.marker"]),
        ],
    );
    for topic in [
        "order.created.v1",
        "invoice.created.v1",
        "order.deleted.v1",
        "order.created.v2",
        "order.item.created.v1",
    ] {
        emit_one(&host, "emitter", topic, json!({}));
    }
    let got = settle(&host, "emitter", "created", 3);
    let topics: Vec<&str> = got.iter().map(|e| e["topic"].as_str().unwrap()).collect();
    let mut sorted = topics.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "invoice.created.v1",
            "order.created.v1",
            "order.item.created.v1"
        ]
    );
}

#[test]
fn a_failing_subscriber_does_not_stop_the_others_and_is_counted() {
    let host = bus(
        &["acme"],
        [
            copy("emitter", &[]),
            copy("good", &["order.*"]),
            copy("also-good", &["order.*"]),
        ],
    );
    emit_one(&host, "emitter", "order.created", json!({"trap": true}));
    emit_one(&host, "emitter", "order.created", json!({"fail": true}));
    emit_one(&host, "emitter", "order.created", json!({"n": 1}));
    // good and also-good trap and fail on the first two, in isolation; the third arrives.
    for module in ["good", "also-good"] {
        let got = settle(&host, "emitter", module, 1);
        assert_eq!(got.len(), 1, "{module}: {got:?}");
    }
    let status = host.status_of("good");
    assert_eq!(
        status["serving"]["metrics"]["event_failures"], 2,
        "{status}"
    );
    let events = host.get("/_admin/events").json();
    assert!(
        events["metrics"]["failed"].as_u64().unwrap() >= 4,
        "{events}"
    );
    host.wait_for_log(Duration::from_secs(5), |l| {
        crate::harness::message(l).contains("event delivery failed") && l["module"] == "good"
    });
}

#[test]
fn publishing_and_subscribing_outside_the_grant_are_denied() {
    let host = bus(
        &["acme"],
        [
            Copy {
                grant: &["order.*"],
                ..copy("emitter", &[])
            },
            Copy {
                grant: &["order.*"],
                ..copy("greedy", &["invoice.*", "order.*"])
            },
            copy("invoices", &["invoice.*"]),
        ],
    );
    let reply = emit(
        &host,
        "emitter",
        json!({"events": [{"topic": "invoice.created", "payload": {}}]}),
    );
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert!(
        reply.body.contains("events: 'invoice.created'"),
        "{}",
        reply.body
    );
    host.wait_for_log(Duration::from_secs(5), |l| {
        crate::harness::message(l).contains("subscription not bound") && l["module"] == "greedy"
    });
    emit_one(&host, "invoices", "invoice.created", json!({}));
    let got = settle(&host, "emitter", "greedy", 0);
    assert!(
        got.is_empty(),
        "greedy must not receive invoice events: {got:?}"
    );
    assert_eq!(host.status_of("emitter")["serving"]["metrics"]["denied"], 1);
}

#[test]
fn tenants_never_see_each_others_events() {
    let host = bus(
        &["acme", "globex"],
        [
            copy("emitter", &[]),
            copy("mine", &["order.*"]),
            Copy {
                tenant: "globex",
                ..copy("theirs", &["*"])
            },
        ],
    );
    emit_one(&host, "emitter", "order.created", json!({}));
    let got = settle(&host, "emitter", "mine", 1);
    assert_eq!(got.len(), 1);
    std::thread::sleep(Duration::from_millis(200));
    assert!(received(&host, "theirs").is_empty());
    let topics = host.get("/_admin/events").json()["topics"].clone();
    let created = topics
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["topic"] == "order.created")
        .unwrap()
        .clone();
    assert_eq!(created["tenant"], "acme");
    assert_eq!(created["subscribers"], 1, "{created}");
}

#[test]
fn events_of_a_failed_invocation_or_a_rolled_back_transaction_are_never_delivered() {
    let host = bus(
        &["acme"],
        [copy("emitter", &[]), copy("listener", &["order.*"])],
    );
    let one = |n: i64| json!([{"topic": "order.created", "payload": {"n": n}}]);
    assert_eq!(
        emit(&host, "emitter", json!({"events": one(1), "then": "error"})).status,
        400
    );
    assert_eq!(
        emit(&host, "emitter", json!({"events": one(2), "then": "trap"})).status,
        500
    );
    assert_eq!(
        emit(
            &host,
            "emitter",
            json!({"events": one(3), "tx": "rollback"})
        )
        .status,
        200
    );
    assert_eq!(
        emit(&host, "emitter", json!({"events": one(4), "tx": "commit"})).status,
        200
    );
    assert_eq!(
        emit(
            &host,
            "emitter",
            json!({"events": one(5), "tx": "open", "then": "error"})
        )
        .status,
        400
    );
    assert_eq!(
        emit(&host, "emitter", json!({"events": one(6), "tx": "open"})).status,
        200
    );
    let got = settle(&host, "emitter", "listener", 2);
    let mut ns: Vec<i64> = got
        .iter()
        .map(|e| {
            serde_json::from_str::<Value>(e["payload"].as_str().unwrap()).unwrap()["n"]
                .as_i64()
                .unwrap()
        })
        .collect();
    ns.sort();
    assert_eq!(ns, [4, 6]);
}

#[test]
fn bad_topics_and_payloads_get_clear_errors() {
    let host = bus(&["acme"], [copy("emitter", &[])]);
    let cases = [
        (
            json!({"topic": "Order.Created", "payload": {}}),
            "must look like",
        ),
        (json!({"topic": "order", "payload": {}}), "must look like"),
        (
            json!({"topic": "order.created", "raw": "{not json"}),
            "not JSON",
        ),
        (
            json!({"topic": "order.created", "payload": "x".repeat(70_000)}),
            "at most 65536 bytes",
        ),
    ];
    for (event, expected) in cases {
        let reply = emit(&host, "emitter", json!({"events": [event]}));
        assert_eq!(reply.status, 400, "{}", reply.body);
        assert!(reply.body.contains(expected), "{expected}: {}", reply.body);
    }
}

#[test]
fn a_swap_rebinds_subscriptions_and_a_removed_module_stops_receiving() {
    let host = bus(
        &["acme"],
        [copy("emitter", &[]), copy("listener", &["order.*"])],
    );
    emit_one(&host, "emitter", "invoice.created", json!({}));
    assert!(settle(&host, "emitter", "listener", 0).is_empty());
    let listener = host.plugins.join("listener");
    edit_manifest(
        &listener,
        "subscribe = [\"order.*\"]",
        "subscribe = [\"order.*\", \"invoice.*\"]",
    );
    wait_for_subscription(&host, "listener", "invoice.*");
    emit_one(&host, "emitter", "invoice.created", json!({}));
    let got = settle(&host, "emitter", "listener", 2);
    assert_eq!(
        got.iter()
            .filter(|e| e["topic"] == "invoice.created")
            .count(),
        1
    );

    std::fs::remove_dir_all(&listener).unwrap();
    host.eventually("listener to be unbound", Duration::from_secs(10), || {
        !subscriptions(&host)
            .iter()
            .any(|s| s["module"] == "listener")
    });
    emit_one(&host, "emitter", "order.created", json!({}));
}

fn subscriptions(host: &Host) -> Vec<Value> {
    host.get("/_admin/events").json()["subscriptions"]
        .as_array()
        .unwrap()
        .clone()
}

fn wait_for_subscription(host: &Host, module: &str, pattern: &str) {
    host.eventually(
        &format!("{module} to subscribe to {pattern}"),
        Duration::from_secs(10),
        || {
            subscriptions(host)
                .iter()
                .any(|s| s["module"] == module && s["pattern"] == pattern)
        },
    );
}
