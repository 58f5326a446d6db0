//! WebSockets through the chat example: real clients (tungstenite) against a real host.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use crate::harness::{Host, HostBuilder, edit_manifest, repo};

/// The chat example with its host.toml (HS256 secret `dev-secret`).
pub fn chat() -> Host {
    chat_with("")
}

/// The chat example with its host.toml plus `[ws]` settings `extra` (one per line).
fn chat_with(extra: &str) -> Host {
    let base = std::fs::read_to_string(repo().join("examples/chat/host.toml")).unwrap();
    HostBuilder::new()
        .module("chat", "chat")
        .host_toml(&format!("{base}{extra}"))
        .start()
}

fn token(secret: &str, claims: Value) -> String {
    jsonwebtoken::encode(
        &Header::default(),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

pub fn user(name: &str) -> String {
    token("dev-secret", json!({"sub": name}))
}

pub struct Client {
    socket: WebSocket<MaybeTlsStream<TcpStream>>,
}

/// Opens `ws://host/chat?token=…`; the HTTP status when the handshake is refused.
fn connect(host: &Host, token: Option<&str>) -> Result<Client, u16> {
    connect_to(host, "/chat", token)
}

/// Opens `ws://host{namespace}?token=…`; the HTTP status when the handshake is refused.
pub fn connect_to(host: &Host, namespace: &str, token: Option<&str>) -> Result<Client, u16> {
    let mut url = format!("{}{namespace}", host.base.replacen("http", "ws", 1));
    if let Some(t) = token {
        url.push_str(&format!("?token={t}"));
    }
    match tungstenite::connect(url) {
        Ok((socket, _)) => {
            if let MaybeTlsStream::Plain(stream) = socket.get_ref() {
                stream
                    .set_read_timeout(Some(Duration::from_millis(200)))
                    .unwrap();
            }
            Ok(Client { socket })
        }
        Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("cannot connect: {e}"),
    }
}

impl Client {
    pub fn send(&mut self, event: &str, data: Value) {
        let frame = json!({"event": event, "data": data}).to_string();
        self.socket.send(Message::text(frame)).unwrap();
    }

    pub fn send_raw(&mut self, text: &str) {
        self.socket.send(Message::text(text.to_string())).unwrap();
    }

    /// The next frame whose event is `event`, skipping others, within 5 s.
    pub fn expect(&mut self, event: &str) -> Value {
        let start = Instant::now();
        loop {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "no '{event}' frame within 5 s"
            );
            match self.socket.read() {
                Ok(Message::Text(text)) => {
                    let frame: Value = serde_json::from_str(&text).unwrap();
                    if frame["event"] == event {
                        return frame;
                    }
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => panic!("socket failed while waiting for '{event}': {e}"),
            }
        }
    }

    /// The code of the host's close frame within 5 s, or what happened instead.
    fn close_code(&mut self) -> Result<u16, String> {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            match self.socket.read() {
                Ok(Message::Close(frame)) => {
                    return frame
                        .map(|f| u16::from(f.code))
                        .ok_or_else(|| "a close frame without a code".to_string());
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => return Err(format!("the socket ended without a close frame: {e}")),
            }
        }
        Err("still open after 5 s".into())
    }

    /// Closes from the client's side; whether the host answered within 5 s, completing the
    /// closing handshake (tungstenite then reports the connection closed).
    fn close_handshake_completes(&mut self) -> bool {
        self.socket.close(None).unwrap();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            match self.socket.read() {
                Ok(_) => {}
                Err(tungstenite::Error::ConnectionClosed) => return true,
                Err(tungstenite::Error::Io(e))
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => return false,
            }
        }
        false
    }

    /// Reads (and so answers pings) for `period`; how many pings came.
    fn pings_during(&mut self, period: Duration) -> usize {
        let start = Instant::now();
        let mut pings = 0;
        while start.elapsed() < period {
            match self.socket.read() {
                Ok(Message::Ping(_)) => pings += 1,
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) => panic!("socket failed while answering pings: {e}"),
            }
        }
        pings
    }
}

#[test]
fn two_clients_join_a_room_see_presence_and_each_others_messages() {
    let host = chat();
    let mut ada = connect(&host, Some(&user("ada"))).unwrap();
    let mut bob = connect(&host, Some(&user("bob"))).unwrap();
    ada.send("join", json!({"room": "lobby"}));
    assert_eq!(ada.expect("joined")["data"], json!({"room": "lobby"}));
    assert_eq!(
        ada.expect("presence")["data"],
        json!({"room": "lobby", "users": ["ada"]})
    );
    bob.send("join", json!({"room": "lobby"}));
    bob.expect("joined");
    assert_eq!(
        ada.expect("presence")["data"]["users"],
        json!(["ada", "bob"])
    );
    ada.send("message", json!({"room": "lobby", "text": "hi bob"}));
    assert_eq!(
        bob.expect("message")["data"],
        json!({"room": "lobby", "text": "hi bob", "user": "ada"})
    );
    assert_eq!(ada.expect("message")["data"]["user"], "ada");
    bob.send("typing", json!({"room": "lobby"}));
    assert_eq!(ada.expect("typing")["data"]["user"], "bob");
    bob.send("leave", json!({"room": "lobby"}));
    bob.expect("left");
    assert_eq!(ada.expect("presence")["data"]["users"], json!(["ada"]));
}

#[test]
fn a_client_cannot_connect_without_a_valid_token_nor_claim_another_user() {
    let host = chat();
    assert_eq!(connect(&host, None).err(), Some(401));
    assert_eq!(
        connect(&host, Some(&token("wrong-secret", json!({"sub": "ada"})))).err(),
        Some(401)
    );
    let good = user("mallory");
    let claimed = token("dev-secret", json!({"sub": "ada"}));
    let tampered = format!(
        "{}.{}.{}",
        good.split('.').next().unwrap(),
        claimed.split('.').nth(1).unwrap(),
        good.split('.').nth(2).unwrap()
    );
    assert_eq!(connect(&host, Some(&tampered)).err(), Some(401));
    assert_eq!(
        connect(
            &host,
            Some(&token("dev-secret", json!({"sub": "ada", "exp": 1})))
        )
        .err(),
        Some(401)
    );
    assert_eq!(
        connect(&host, Some(&token("dev-secret", json!({"name": "ada"})))).err(),
        Some(401)
    );
    assert!(
        !host.log_text().contains("\"target\":\"guest\""),
        "no module code ran"
    );
    // The user id comes from the token only: data naming another user changes nothing.
    let mut mallory = connect(&host, Some(&good)).unwrap();
    mallory.send("join", json!({"room": "lobby", "user": "ada"}));
    mallory.expect("joined");
    assert_eq!(
        mallory.expect("presence")["data"]["users"],
        json!(["mallory"])
    );
    let metrics = host.get("/_admin/ws").json()["metrics"].clone();
    assert!(metrics["rejections"].as_u64().unwrap() >= 5, "{metrics}");
}

/// Seconds since the epoch, shifted by `offset`.
fn now_plus(offset: i64) -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    now + offset
}

#[test]
fn a_token_not_yet_valid_is_refused_and_expiry_allows_the_configured_leeway() {
    let signed = |claims: Value| token("dev-secret", claims);
    let host = chat();
    let early = signed(json!({"sub": "ada", "nbf": now_plus(600)}));
    assert_eq!(
        connect(&host, Some(&early)).err(),
        Some(401),
        "nbf in 10 min"
    );
    let started = signed(json!({"sub": "ada", "nbf": now_plus(-10)}));
    assert!(connect(&host, Some(&started)).is_ok(), "nbf 10 s ago");
    // The default leeway is 60 s, for clocks that differ a little.
    let just_expired = signed(json!({"sub": "ada", "exp": now_plus(-30)}));
    assert!(connect(&host, Some(&just_expired)).is_ok(), "within 60 s");
    let expired = signed(json!({"sub": "ada", "exp": now_plus(-120)}));
    assert_eq!(connect(&host, Some(&expired)).err(), Some(401));
    drop(host);

    let strict = chat_with("jwt-leeway-seconds = 0");
    assert_eq!(connect(&strict, Some(&just_expired)).err(), Some(401));
    let early = signed(json!({"sub": "ada", "nbf": now_plus(5)}));
    assert_eq!(connect(&strict, Some(&early)).err(), Some(401));
}

#[test]
fn invalid_frames_and_payloads_get_error_frames_and_are_logged_with_their_context() {
    let host = chat();
    let mut ada = connect(&host, Some(&user("ada"))).unwrap();
    ada.send_raw("not json");
    assert_eq!(ada.expect("error")["data"]["code"], "bad_frame");
    ada.send(
        "message",
        json!({"room": "lobby", "text": "before joining"}),
    );
    assert_eq!(ada.expect("error")["data"]["code"], "denied");
    ada.send("join", json!({"room": "user:bob"}));
    assert_eq!(ada.expect("error")["data"]["code"], "invalid");
    ada.send("join", json!({"room": "lobby"}));
    ada.expect("joined");
    ada.send("message", json!({"room": "lobby", "text": ""}));
    let error = ada.expect("error");
    assert_eq!(
        error["data"]["code"], "invalid_payload",
        "the schema refuses it"
    );
    assert!(
        error["data"]["message"].as_str().unwrap().contains("/text"),
        "{error}"
    );
    ada.send("dance", json!({}));
    assert!(
        ada.expect("error")["data"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown event")
    );
    let line = host.wait_for_log(Duration::from_secs(5), |l| {
        crate::harness::message(l).contains("message refused by the module")
    });
    let span = &line["span"];
    assert_eq!(span["namespace"], "/chat", "{line}");
    assert!(
        span["socket_id"].is_string() && span["request_id"].is_string(),
        "{line}"
    );
    assert!(span["event"].is_string(), "{line}");
}

#[test]
fn connections_stay_open_across_a_swap_and_the_next_message_goes_to_the_new_version() {
    let host = chat();
    let mut ada = connect(&host, Some(&user("ada"))).unwrap();
    ada.send("join", json!({"room": "lobby"}));
    ada.expect("joined");
    edit_manifest(
        &host.plugins.join("chat"),
        "version = \"0.1.0\"",
        "version = \"0.2.0\"",
    );
    host.eventually("the swap to 0.2.0", Duration::from_secs(10), || {
        host.status_of("chat")["serving"]["version"] == "0.2.0"
    });
    ada.send("message", json!({"room": "lobby", "text": "still here"}));
    assert_eq!(ada.expect("message")["data"]["text"], "still here");
}

#[test]
fn a_disconnect_leaves_rooms_and_presence() {
    let host = chat();
    let mut ada = connect(&host, Some(&user("ada"))).unwrap();
    let mut bob = connect(&host, Some(&user("bob"))).unwrap();
    for c in [&mut ada, &mut bob] {
        c.send("join", json!({"room": "lobby"}));
        c.expect("joined");
    }
    assert!(
        bob.close_handshake_completes(),
        "the host answers a client's close"
    );
    host.eventually("bob to leave", Duration::from_secs(5), || {
        // Joins are rate limited (5/s): ask again at a gentle pace.
        std::thread::sleep(Duration::from_millis(250));
        ada.send("join", json!({"room": "lobby"}));
        ada.expect("presence")["data"]["users"] == json!(["ada"])
    });
}

#[test]
fn an_oversized_frame_closes_the_socket_and_others_are_unaffected() {
    let host = chat();
    let mut ada = connect(&host, Some(&user("ada"))).unwrap();
    let mut bob = connect(&host, Some(&user("bob"))).unwrap();
    ada.send(
        "message",
        json!({"room": "lobby", "text": "x".repeat(100_000)}),
    );
    assert_eq!(
        ada.close_code(),
        Ok(1009),
        "the host closes a socket that sends a frame over the limit with 1009 (too big)"
    );
    bob.send("join", json!({"room": "lobby"}));
    bob.expect("joined");
}

fn invocations(host: &Host) -> u64 {
    host.status_of("chat")["serving"]["metrics"]["invocations"]
        .as_u64()
        .unwrap()
}

#[test]
fn an_invalid_payload_gets_an_error_frame_and_the_handler_is_not_called() {
    let host = chat();
    let mut ada = connect(&host, Some(&user("ada"))).unwrap();
    ada.send("join", json!({"room": "lobby"}));
    ada.expect("joined");
    let before = invocations(&host);
    for (event, data, path) in [
        ("message", json!({"room": 5, "text": "hi"}), "/room"),
        ("message", json!({"room": "lobby"}), "text"),
        ("join", json!({"room": ""}), "/room"),
        ("message", json!("just a string"), "object"),
    ] {
        ada.send(event, data.clone());
        let error = ada.expect("error");
        assert_eq!(
            error["data"]["code"], "invalid_payload",
            "{event} {data}: {error}"
        );
        assert!(
            error["data"]["message"].as_str().unwrap().contains(path),
            "{error}"
        );
    }
    assert_eq!(
        invocations(&host),
        before,
        "the module never ran for an invalid payload"
    );
}

#[test]
fn spam_beyond_the_rate_limit_gets_error_frames_and_other_clients_are_unaffected() {
    let host = chat();
    let mut ada = connect(&host, Some(&user("ada"))).unwrap();
    let mut bob = connect(&host, Some(&user("bob"))).unwrap();
    for c in [&mut ada, &mut bob] {
        c.send("join", json!({"room": "lobby"}));
        c.expect("joined");
    }
    for i in 0..30 {
        ada.send(
            "message",
            json!({"room": "lobby", "text": format!("spam {i}")}),
        );
    }
    let mut limited = 0;
    let mut delivered = 0;
    let start = Instant::now();
    while limited + delivered < 30 && start.elapsed() < Duration::from_secs(5) {
        if let Ok(Message::Text(text)) = ada.socket.read() {
            let frame: Value = serde_json::from_str(&text).unwrap();
            match frame["event"].as_str() {
                Some("error") if frame["data"]["code"] == "rate_limited" => limited += 1,
                Some("message") => delivered += 1,
                _ => {}
            }
        }
    }
    assert!(
        limited >= 20,
        "only {limited} of 30 were limited ({delivered} delivered)"
    );
    assert!((5..=10).contains(&delivered), "{delivered} got through");
    bob.send("message", json!({"room": "lobby", "text": "bob is fine"}));
    host.eventually("bob's own message", Duration::from_secs(5), || {
        bob.expect("message")["data"]["text"] == "bob is fine"
    });
}

#[test]
fn a_message_to_a_user_reaches_all_of_their_devices() {
    let host = chat();
    let mut ada = connect(&host, Some(&user("ada"))).unwrap();
    let mut phone = connect(&host, Some(&user("bob"))).unwrap();
    let mut laptop = connect(&host, Some(&user("bob"))).unwrap();
    let mut carol = connect(&host, Some(&user("carol"))).unwrap();
    ada.send("direct", json!({"to": "bob", "text": "psst"}));
    for device in [&mut phone, &mut laptop] {
        assert_eq!(
            device.expect("direct")["data"],
            json!({"from": "ada", "text": "psst"})
        );
    }
    carol.send("direct", json!({"to": "carol", "text": "note to self"}));
    assert_eq!(
        carol.expect("direct")["data"]["text"],
        "note to self",
        "carol only got her own"
    );
}

#[test]
fn the_host_pings_answering_clients_and_closes_silent_ones_as_idle() {
    let host = chat_with("ping-secs = 1\nidle-secs = 2");
    let mut answering = connect(&host, Some(&user("ada"))).unwrap();
    let mut silent = connect(&host, Some(&user("bob"))).unwrap();
    let pings = answering.pings_during(Duration::from_secs(3));
    assert!(pings >= 2, "only {pings} pings in 3 s at one per second");
    assert_eq!(
        silent.close_code(),
        Ok(1001),
        "a client that answered nothing for idle-secs is closed as going away"
    );
    answering.send("join", json!({"room": "lobby"}));
    answering.expect("joined");
    host.wait_for_log(Duration::from_secs(5), |line| {
        crate::harness::message(line) == "socket closed" && line["why"] == "idle"
    });
}

#[test]
fn stopping_the_host_closes_sockets_with_going_away() {
    let host = chat();
    let mut ada = connect(&host, Some(&user("ada"))).unwrap();
    ada.send("join", json!({"room": "lobby"}));
    ada.expect("joined");
    host.terminate();
    assert_eq!(
        ada.close_code(),
        Ok(1001),
        "clients are told the server is going away"
    );
}

#[test]
fn a_websocket_client_gets_the_same_error_codes_as_http_when_the_module_fails() {
    let host = Host::with_modules(&[("ws-echo", "ws-echo")]);
    let mut client = connect_to(&host, "/echo", None).unwrap();
    for (event, code) in [
        ("panic", "module_trapped"),
        ("spin", "deadline_exceeded"),
        ("hog", "memory_cap_exceeded"),
    ] {
        client.send(event, json!({}));
        let error = client.expect("error");
        assert_eq!(error["data"]["code"], code, "{event}: {error}");
        assert!(
            !error["data"]["message"]
                .as_str()
                .unwrap()
                .contains("wasm backtrace"),
            "a trap's details stay in the host log: {error}"
        );
    }
    client.send("echo", json!({"still": "here"}));
    assert_eq!(client.expect("echo")["data"], json!({"still": "here"}));
}

/// The chat every language's service fixture serves on `namespace` (service-py, -js, -c,
/// -go): mallory is refused at connect; ada and bob join the lobby and see presence; bob's
/// `say` reaches ada; an `echo` of `data` with an id comes back with both; an unknown event
/// is an `invalid` error frame. Returns ada, bob and that error frame.
pub fn chat_contract(host: &Host, namespace: &str, data: &str) -> (Client, Client, Value) {
    assert_eq!(
        connect_to(host, namespace, Some(&user("mallory"))).err(),
        Some(403),
        "the module's connect handler refused her"
    );
    let mut ada = connect_to(host, namespace, Some(&user("ada"))).unwrap();
    let mut bob = connect_to(host, namespace, Some(&user("bob"))).unwrap();
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
    ada.send_raw(&format!(
        r#"{{"event": "echo", "data": {data}, "id": "m1"}}"#
    ));
    let echo = ada.expect("echo");
    let sent: Value = serde_json::from_str(data).unwrap();
    assert_eq!((&echo["data"], &echo["id"]), (&sent, &json!("m1")));
    ada.send("nope", json!(null));
    let error = ada.expect("error");
    assert_eq!(error["data"]["code"], "invalid", "{error}");
    (ada, bob, error)
}
