//! Two real host processes sharing PostgreSQL and the Redis backplane: events cross hosts,
//! and a queue's jobs run once each on whichever host claims them.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Database, Host, HostBuilder, eventually, unique_tenant};

/// The backplane the cluster tests use (`PLUGHOST_TEST_REDIS_URL` overrides).
fn redis_url() -> String {
    std::env::var("PLUGHOST_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// One host's folder in `tenant` on the shared PostgreSQL and Redis; each host gets one,
/// and the modules go in with `module_in(…, tenant)`.
fn member(tenant: &str) -> HostBuilder {
    HostBuilder::new()
        .database(Database::Postgres)
        .host_toml(&format!(
            "[backplane]\nurl = \"{}\"\n\n[queue]\nbackoff-base-ms = 100\npoll-ms = 50\n",
            redis_url()
        ))
        .tenant(tenant, &["orm", "events", "queue", "ws"])
}

#[test]
fn two_hosts_on_postgres_deliver_events_across_the_backplane_once_per_subscriber() {
    let tenant = unique_tenant("c");
    // Distinct module names and tables on the shared database.
    let events_probe = |name: &str| {
        member(&tenant)
            .module_in("events-probe", name, &tenant)
            .edit(
                name,
                "name = \"events-probe\"",
                &format!("name = \"{name}\""),
            )
            .edit(
                name,
                "prefix = \"/events-probe\"",
                &format!("prefix = \"/{name}\""),
            )
            .edit(
                name,
                "orm = [\"received\"]",
                &format!("orm = [\"received_{name}\"]"),
            )
            .edit(
                name,
                "table = \"received\"",
                &format!("table = \"received_{name}\""),
            )
    };
    let (a, b) = (
        events_probe("emitter").build(),
        events_probe("listener").build(),
    );
    let host_a = a.start();
    let host_b = b.start();
    let reply = host_a.request(
        "POST",
        "/emitter/emit",
        &[],
        json!({"events": [{"topic": "order.created.v1", "payload": {"n": 1}}]})
            .to_string()
            .into_bytes(),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let id = reply.json()["ids"][0].clone();
    eventually(
        "the listener on host B to receive",
        Duration::from_secs(10),
        || {
            host_b
                .get("/listener/received")
                .json()
                .as_array()
                .is_some_and(|r| !r.is_empty())
        },
    );
    std::thread::sleep(Duration::from_millis(300));
    let got = host_b.get("/listener/received").json();
    assert_eq!(got.as_array().unwrap().len(), 1, "{got}");
    assert_eq!(got[0]["event_id"], id);
    assert_eq!(got[0]["source"], "emitter");
    // The emitter subscribes to order.* too: it hears its own event once, not twice.
    let own = host_a.get("/emitter/received").json();
    assert_eq!(own.as_array().unwrap().len(), 1, "{own}");
}

#[test]
fn two_hosts_share_a_postgres_queue_and_run_each_job_once() {
    let tenant = unique_tenant("c");
    let queue_probe = || member(&tenant).module_in("queue-probe", "queue-probe", &tenant);
    let (a, b) = (queue_probe().build(), queue_probe().build());
    let host_a = a.start();
    let host_b = b.start();
    let jobs: Vec<Value> = (0..40)
        .map(|i| json!({"queue": "work", "payload": {"i": i, "spin_ms": 20}}))
        .collect();
    let reply = host_a.request(
        "POST",
        "/queue-probe/dispatch",
        &[],
        json!({"jobs": jobs}).to_string().into_bytes(),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let ids: Vec<String> = reply.json()["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let done = |host: &Host| -> Vec<Value> {
        host.get("/queue-probe/runs")
            .json()
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["outcome"] == "ok")
            .cloned()
            .collect()
    };
    eventually("all 40 jobs to finish", Duration::from_secs(20), || {
        done(&host_a).len() >= 40
    });
    std::thread::sleep(Duration::from_millis(300));
    let runs = done(&host_b);
    let mut ran: Vec<String> = runs
        .iter()
        .map(|r| r["job_id"].as_str().unwrap().to_string())
        .collect();
    ran.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(ran, expected, "each job ran exactly once");
}

#[test]
fn two_hosts_run_the_shop_on_postgres_and_the_backplane() {
    let tenant = unique_tenant("c");
    let a = member(&tenant)
        .module_in("orders", "orders", &tenant)
        .module_in("inventory", "inventory", &tenant)
        .build();
    let b = member(&tenant)
        .module_in("notifications", "notifications", &tenant)
        .build();
    let host_a = a.start();
    let host_b = b.start();
    let send = |host: &Host, method: &str, path: &str, body: Value| {
        host.request(method, path, &[], body.to_string().into_bytes())
    };
    assert_eq!(
        send(&host_a, "PUT", "/inventory/XYZ", json!({"stock": 5})).status,
        200
    );
    let reply = send(
        &host_a,
        "POST",
        "/orders",
        json!({"sku": "XYZ", "qty": 2, "email": "fail-twice@example.com"}),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let id = reply.json()["id"].clone();
    eventually(
        "the stock to drop on host A",
        Duration::from_secs(10),
        || host_a.get("/inventory/XYZ").json()["stock"] == 3,
    );
    eventually(
        "host B to send the confirmation after two failures",
        Duration::from_secs(15),
        || {
            host_b
                .get("/notifications")
                .json()
                .as_array()
                .is_some_and(|n| !n.is_empty())
        },
    );
    let sent = host_b.get("/notifications").json();
    assert_eq!(
        (sent[0]["order_id"].clone(), sent[0]["attempt"].clone()),
        (id, json!(3))
    );
}

/// A host running the chat example on the shared backplane.
fn chat_host() -> Host {
    HostBuilder::new()
        .module("chat", "chat")
        .host_toml(&format!(
            "[ws]\njwt-secret = \"dev-secret\"\n\n[backplane]\nurl = \"{}\"\n",
            redis_url()
        ))
        .start()
}

#[test]
fn two_hosts_deliver_websocket_room_messages_and_agree_on_presence() {
    use tungstenite::Message;
    let (a, b) = (chat_host(), chat_host());
    let token = |sub: &str| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &json!({"sub": sub}),
            &jsonwebtoken::EncodingKey::from_secret(b"dev-secret"),
        )
        .unwrap()
    };
    // A room name of its own, so parallel runs on the same Redis never meet.
    let room = format!("r{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let open = |host: &Host, sub: &str| {
        let url = format!(
            "{}/chat?token={}",
            host.base.replacen("http", "ws", 1),
            token(sub)
        );
        let (mut socket, _) = tungstenite::connect(url).unwrap();
        if let tungstenite::stream::MaybeTlsStream::Plain(s) = socket.get_ref() {
            s.set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
        }
        let join = json!({"event": "join", "data": {"room": room}}).to_string();
        socket.send(Message::text(join)).unwrap();
        socket
    };
    let wait_for =
        |socket: &mut tungstenite::WebSocket<_>, event: &str, text: Option<&str>| -> Value {
            let start = Instant::now();
            loop {
                assert!(start.elapsed() < Duration::from_secs(5), "no {event} frame");
                if let Ok(Message::Text(t)) = socket.read() {
                    let frame: Value = serde_json::from_str(&t).unwrap();
                    if frame["event"] == event && text.is_none_or(|x| frame["data"]["text"] == x) {
                        return frame;
                    }
                }
            }
        };
    let mut ada = open(&a, "ada");
    let mut bob = open(&b, "bob");
    wait_for(&mut ada, "joined", None);
    wait_for(&mut bob, "joined", None);
    let say =
        json!({"event": "message", "data": {"room": room, "text": "hello from A"}}).to_string();
    ada.send(Message::text(say)).unwrap();
    let got = wait_for(&mut bob, "message", Some("hello from A"));
    assert_eq!(
        got["data"]["user"], "ada",
        "a client on host B got host A's room message"
    );
    wait_for(&mut ada, "message", Some("hello from A"));
    // Presence is the same on both hosts: each sees the user on the other.
    for (socket, who) in [(&mut ada, "ada"), (&mut bob, "bob")] {
        eventually(
            &format!("{who} to see ada and bob"),
            Duration::from_secs(15),
            || {
                // Joins are rate limited (5/s): ask again at a gentle pace.
                std::thread::sleep(Duration::from_millis(250));
                let join = json!({"event": "join", "data": {"room": room}}).to_string();
                socket.send(Message::text(join)).unwrap();
                let presence = wait_for(socket, "presence", None);
                if presence["data"]["users"] == json!(["ada", "bob"]) {
                    Ok(())
                } else {
                    Err(presence)
                }
            },
        );
    }
    // When bob leaves host B, host A's presence drops him.
    drop(bob);
    eventually("bob to leave A's presence", Duration::from_secs(15), || {
        std::thread::sleep(Duration::from_millis(250));
        let join = json!({"event": "join", "data": {"room": room}}).to_string();
        ada.send(Message::text(join)).unwrap();
        wait_for(&mut ada, "presence", None)["data"]["users"] == json!(["ada"])
    });
}

#[test]
fn two_hosts_on_postgres_keep_a_shared_counter_consistent_under_concurrent_increments() {
    use tungstenite::Message;
    let tenant = unique_tenant("c");
    let ws_counter = || member(&tenant).module_in("ws-counter", "ws-counter", &tenant);
    let (a, b) = (ws_counter().build(), ws_counter().build());
    let hosts = [a.start(), b.start()];
    let call = |socket: &mut tungstenite::WebSocket<
        tungstenite::stream::MaybeTlsStream<std::net::TcpStream>,
    >,
                event: &str|
     -> Option<i64> {
        let frame = json!({"event": event, "data": {"name": "hits"}}).to_string();
        socket.send(Message::text(frame)).unwrap();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if let Ok(Message::Text(t)) = socket.read() {
                let frame: Value = serde_json::from_str(&t).unwrap();
                return (frame["event"] == "value")
                    .then(|| frame["data"]["value"].as_i64().unwrap());
            }
        }
        panic!("no answer to {event}");
    };
    let open = |host: &Host| {
        let url = format!("{}/counter", host.base.replacen("http", "ws", 1));
        let (socket, _) = tungstenite::connect(url).unwrap();
        socket
    };
    let mut first = open(&hosts[0]);
    assert_eq!(call(&mut first, "increment"), Some(1));
    let succeeded: usize = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|i| {
                let host = &hosts[i % 2];
                s.spawn(move || {
                    let mut socket = open(host);
                    (0..10)
                        .filter(|_| call(&mut socket, "increment").is_some())
                        .count()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    assert!(
        succeeded >= 30,
        "only {succeeded} of 40 increments succeeded"
    );
    for host in &hosts {
        let mut socket = open(host);
        assert_eq!(
            call(&mut socket, "get"),
            Some(1 + succeeded as i64),
            "every acknowledged increment counted, seen from both hosts"
        );
    }
}
