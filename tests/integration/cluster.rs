//! Two real host processes sharing PostgreSQL and the Redis backplane: events cross hosts,
//! and a queue's jobs run once each on whichever host claims them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::databases::{Backend, cleanup_postgres};
use crate::harness::{Host, install, repo};

/// The backplane the cluster tests use (`PLUGHOST_TEST_REDIS_URL` overrides).
fn redis_url() -> String {
    std::env::var("PLUGHOST_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// One tenant on shared PostgreSQL and Redis, with a folder per host.
struct Cluster {
    dir: tempfile::TempDir,
    tenant: String,
    url: String,
}

impl Cluster {
    fn new() -> Cluster {
        let tenant = format!("c{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        Cluster {
            dir: tempfile::tempdir().unwrap(),
            tenant,
            url: Backend::Postgres.server_url().unwrap(),
        }
    }

    /// A host folder named `name` with these fixtures (fixture, folder).
    fn host_folder(&self, name: &str, modules: &[(&str, &str)]) -> PathBuf {
        let root = self.dir.path().join(name);
        let plugins = root.join("plugins");
        for (fixture, folder) in modules {
            let dir = install(&plugins, fixture, folder);
            set_tenant(&dir, &self.tenant);
        }
        std::fs::write(
            root.join("host.toml"),
            format!(
                "[database]\nurl = \"{}\"\n\n[backplane]\nurl = \"{}\"\n\n[queue]\nbackoff-base-ms = 100\npoll-ms = 50\n\n\
                 [tenants.{}.allow]\norm = true\nevents = true\nqueue = true\nws = true\n",
                self.url,
                redis_url(),
                self.tenant
            ),
        )
        .unwrap();
        root
    }

    fn start(&self, root: &Path) -> Host {
        Host::start(
            &root.join("plugins"),
            Some(&root.join("host.toml")),
            &repo().join("target/test-cache"),
        )
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let t = &self.tenant;
        cleanup_postgres(
            &self.url,
            format!(
                "DROP SCHEMA IF EXISTS \"tenant_{t}\" CASCADE; DELETE FROM plughost_jobs WHERE tenant = '{t}'; \
                 DELETE FROM plughost_models WHERE tenant = '{t}';"
            ),
        );
    }
}

/// Puts the module in `tenant` (the fixtures name none, or another).
fn set_tenant(dir: &Path, tenant: &str) {
    let path = dir.join("plugin.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with("tenant ="))
        .collect();
    let text = kept.join("\n").replacen(
        "version = ",
        &format!("tenant = \"{tenant}\"\nversion = "),
        1,
    );
    std::fs::write(&path, text).unwrap();
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
fn two_hosts_on_postgres_deliver_events_across_the_backplane_once_per_subscriber() {
    let cluster = Cluster::new();
    let a = cluster.host_folder("a", &[("events-probe", "emitter")]);
    let b = cluster.host_folder("b", &[("events-probe", "listener")]);
    // Distinct module names and tables on the shared database.
    for (root, folder, name) in [(&a, "emitter", "emitter"), (&b, "listener", "listener")] {
        let path = root.join("plugins").join(folder).join("plugin.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text
            .replace("name = \"events-probe\"", &format!("name = \"{name}\""))
            .replace(
                "prefix = \"/events-probe\"",
                &format!("prefix = \"/{name}\""),
            )
            .replace("\"received\"", &format!("\"received_{name}\""));
        std::fs::write(&path, text).unwrap();
    }
    let host_a = cluster.start(&a);
    let host_b = cluster.start(&b);
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
    let cluster = Cluster::new();
    let a = cluster.host_folder("a", &[("queue-probe", "queue-probe")]);
    let b = cluster.host_folder("b", &[("queue-probe", "queue-probe")]);
    let host_a = cluster.start(&a);
    let host_b = cluster.start(&b);
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
    let cluster = Cluster::new();
    let a = cluster.host_folder("a", &[("orders", "orders"), ("inventory", "inventory")]);
    let b = cluster.host_folder("b", &[("notifications", "notifications")]);
    let host_a = cluster.start(&a);
    let host_b = cluster.start(&b);
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
fn chat_host(dir: &Path, name: &str) -> Host {
    let root = dir.join(name);
    install(&root.join("plugins"), "chat", "chat");
    std::fs::write(
        root.join("host.toml"),
        format!(
            "[ws]\njwt-secret = \"dev-secret\"\n\n[backplane]\nurl = \"{}\"\n",
            redis_url()
        ),
    )
    .unwrap();
    Host::start(
        &root.join("plugins"),
        Some(&root.join("host.toml")),
        &repo().join("target/test-cache"),
    )
}

#[test]
fn two_hosts_deliver_websocket_room_messages_and_agree_on_presence() {
    use tungstenite::Message;
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (chat_host(dir.path(), "a"), chat_host(dir.path(), "b"));
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
        let start = Instant::now();
        loop {
            // Joins are rate limited (5/s): ask again at a gentle pace.
            std::thread::sleep(Duration::from_millis(250));
            let join = json!({"event": "join", "data": {"room": room}}).to_string();
            socket.send(Message::text(join)).unwrap();
            let presence = wait_for(socket, "presence", None);
            if presence["data"]["users"] == json!(["ada", "bob"]) {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "{who} sees {presence}"
            );
        }
    }
    // When bob leaves host B, host A's presence drops him.
    drop(bob);
    let start = Instant::now();
    loop {
        std::thread::sleep(Duration::from_millis(250));
        let join = json!({"event": "join", "data": {"room": room}}).to_string();
        ada.send(Message::text(join)).unwrap();
        if wait_for(&mut ada, "presence", None)["data"]["users"] == json!(["ada"]) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "bob never left A's presence"
        );
    }
}

#[test]
fn two_hosts_on_postgres_keep_a_shared_counter_consistent_under_concurrent_increments() {
    use tungstenite::Message;
    let cluster = Cluster::new();
    let a = cluster.host_folder("a", &[("ws-counter", "ws-counter")]);
    let b = cluster.host_folder("b", &[("ws-counter", "ws-counter")]);
    let hosts = [cluster.start(&a), cluster.start(&b)];
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
