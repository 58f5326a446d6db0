//! The events capability: real modules emitting and subscribing through one host.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Host, install, repo, write_atomic};

/// A plugins folder of events-probe copies.
struct Bus {
    dir: tempfile::TempDir,
}

/// How to install one copy.
struct Copy<'a> {
    name: &'a str,
    tenant: &'a str,
    subscribe: &'a [&'a str],
    grant: &'a [&'a str],
}

impl Bus {
    fn new(tenants: &[&str]) -> Bus {
        let dir = tempfile::tempdir().unwrap();
        let mut config = String::new();
        for t in tenants {
            config.push_str(&format!(
                "[tenants.{t}.allow]\norm = true\nevents = true\n\n"
            ));
        }
        std::fs::write(dir.path().join("host.toml"), config).unwrap();
        std::fs::create_dir_all(dir.path().join("plugins")).unwrap();
        Bus { dir }
    }

    fn plugins(&self) -> PathBuf {
        self.dir.path().join("plugins")
    }

    fn add(&self, copy: Copy<'_>) -> PathBuf {
        let folder = install(&self.plugins(), "events-probe", copy.name);
        std::fs::write(folder.join("plugin.toml"), manifest(&copy)).unwrap();
        folder
    }

    fn start(&self) -> Host {
        Host::start(
            &self.plugins(),
            Some(&self.dir.path().join("host.toml")),
            &repo().join("target/test-cache"),
        )
    }
}

fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("\"{i}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

fn manifest(copy: &Copy<'_>) -> String {
    let template =
        std::fs::read_to_string(crate::harness::fixture("events-probe").join("plugin.toml"))
            .unwrap();
    let table = format!("received_{}", copy.name.replace('-', "_"));
    template
        .replace(
            "name = \"events-probe\"",
            &format!("name = \"{}\"\ntenant = \"{}\"", copy.name, copy.tenant),
        )
        .replace(
            "prefix = \"/events-probe\"",
            &format!("prefix = \"/{}\"", copy.name),
        )
        .replace(
            "events = [\"*\"]",
            &format!("events = [{}]", list(copy.grant)),
        )
        .replace("orm = [\"received\"]", &format!("orm = [\"{table}\"]"))
        .replace("table = \"received\"", &format!("table = \"{table}\""))
        .replace(
            "subscribe = [\"order.*\"]",
            &format!("subscribe = [{}]", list(copy.subscribe)),
        )
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
    let start = Instant::now();
    loop {
        let got = received(host, module);
        if got.len() >= n {
            std::thread::sleep(Duration::from_millis(150));
            return received(host, module);
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{module} received {} of {n} events; log:\n{}",
            got.len(),
            host.log_text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
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
    let bus = Bus::new(&["acme"]);
    bus.add(copy("emitter", &[]));
    bus.add(copy("all-orders", &["order.*", "order.created.v1"]));
    bus.add(copy("created-only", &["order.created.v1"]));
    bus.add(copy("invoices", &["invoice.*"]));
    let host = bus.start();
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
    let bus = Bus::new(&["acme"]);
    bus.add(copy("emitter", &[]));
    bus.add(copy("created", &["*.created.v1", "order.marker"]));
    let host = bus.start();
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
    let bus = Bus::new(&["acme"]);
    bus.add(copy("emitter", &[]));
    bus.add(copy("good", &["order.*"]));
    bus.add(copy("also-good", &["order.*"]));
    let host = bus.start();
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
    let bus = Bus::new(&["acme"]);
    bus.add(Copy {
        grant: &["order.*"],
        ..copy("emitter", &[])
    });
    bus.add(Copy {
        grant: &["order.*"],
        ..copy("greedy", &["invoice.*", "order.*"])
    });
    bus.add(copy("invoices", &["invoice.*"]));
    let host = bus.start();
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
    let bus = Bus::new(&["acme", "globex"]);
    bus.add(copy("emitter", &[]));
    bus.add(copy("mine", &["order.*"]));
    bus.add(Copy {
        tenant: "globex",
        ..copy("theirs", &["*"])
    });
    let host = bus.start();
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
    let bus = Bus::new(&["acme"]);
    bus.add(copy("emitter", &[]));
    bus.add(copy("listener", &["order.*"]));
    let host = bus.start();
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
    let bus = Bus::new(&["acme"]);
    bus.add(copy("emitter", &[]));
    let host = bus.start();
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
    let bus = Bus::new(&["acme"]);
    bus.add(copy("emitter", &[]));
    let listener = bus.add(copy("listener", &["order.*"]));
    let host = bus.start();
    emit_one(&host, "emitter", "invoice.created", json!({}));
    assert!(settle(&host, "emitter", "listener", 0).is_empty());
    let text = std::fs::read_to_string(listener.join("plugin.toml")).unwrap();
    write_atomic(
        &listener.join("plugin.toml"),
        text.replace(
            "subscribe = [\"order.*\"]",
            "subscribe = [\"order.*\", \"invoice.*\"]",
        )
        .as_bytes(),
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
    let start = Instant::now();
    while subscriptions(&host)
        .iter()
        .any(|s| s["module"] == "listener")
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "listener never unbound"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    emit_one(&host, "emitter", "order.created", json!({}));
}

fn subscriptions(host: &Host) -> Vec<Value> {
    host.get("/_admin/events").json()["subscriptions"]
        .as_array()
        .unwrap()
        .clone()
}

fn wait_for_subscription(host: &Host, module: &str, pattern: &str) {
    let start = Instant::now();
    while !subscriptions(host)
        .iter()
        .any(|s| s["module"] == module && s["pattern"] == pattern)
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{module} never subscribed to {pattern}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
