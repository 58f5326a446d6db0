//! Routing, request data, body limit, request ids and error mapping.

use crate::harness::Host;

fn probe() -> Host {
    Host::with_modules(&[("probe", "probe"), ("hello-rust", "hello-rust")])
}

#[test]
fn the_rust_hello_module_answers_its_public_contract() {
    let host = probe();
    let reply = host.get("/hello-rust/Ada");
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "Hello, Ada! (rust)");
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
}

#[test]
fn method_path_params_query_headers_and_body_reach_the_module() {
    let host = probe();
    let reply = host.request(
        "POST",
        "/probe/echo/42?colour=dark%20blue&size=L&flag",
        &[("x-custom", "value-1"), ("content-type", "text/plain")],
        b"the body".to_vec(),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.header("x-probe"),
        Some("echo"),
        "module headers reach the client"
    );
    let echo = reply.json();
    assert_eq!(echo["method"], "POST");
    assert_eq!(echo["path"], "/probe/echo/42");
    assert_eq!(echo["route"], "/echo/{id}");
    assert_eq!(echo["params"], serde_json::json!([["id", "42"]]));
    assert_eq!(
        echo["query"],
        serde_json::json!([["colour", "dark blue"], ["size", "L"], ["flag", ""]])
    );
    assert_eq!(echo["body"], "the body");
    let headers = echo["headers"].as_array().unwrap();
    assert!(
        headers.contains(&serde_json::json!(["x-custom", "value-1"])),
        "{headers:?}"
    );
}

#[test]
fn an_unknown_prefix_or_route_is_404_and_a_wrong_method_is_405() {
    let host = probe();
    let reply = host.get("/nowhere/at/all");
    assert_eq!(reply.status, 404);
    assert_eq!(reply.json()["error"]["code"], "no_route");
    let reply = host.get("/probe/not-declared");
    assert_eq!(reply.status, 404);
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("probe")
    );
    let reply = host.request("DELETE", "/hello-rust/Ada", &[], Vec::new());
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("GET, HEAD"));
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("GET")
    );
}

#[test]
fn head_on_a_get_route_answers_the_headers_without_the_body() {
    let host = probe();
    let get = host.get("/hello-rust/Ada");
    let head = host.request("HEAD", "/hello-rust/Ada", &[], Vec::new());
    assert_eq!(head.status, 200);
    assert_eq!(head.body, "");
    assert_eq!(head.header("content-type"), get.header("content-type"));
    assert_eq!(
        head.header("content-length"),
        Some(get.body.len().to_string().as_str())
    );
}

#[test]
fn a_declared_route_the_module_does_not_bind_is_404_from_the_sdk() {
    let host = probe();
    let reply = host.get("/probe/unbound");
    assert_eq!(reply.status, 404);
    assert!(
        reply.body.contains("no handler for GET /unbound"),
        "{}",
        reply.body
    );
}

#[test]
fn a_body_over_the_limit_is_413_and_one_at_the_limit_passes() {
    let host = probe();
    let limit = 1024 * 1024;
    // A declared length over the limit is refused before the body is read: a client that
    // asks `Expect: 100-continue` never has to send it.
    let head = format!(
        "POST /probe/echo/1 HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\nexpect: 100-continue\r\nconnection: close\r\n\r\n",
        limit + 1
    );
    let (status, answer) = host.raw(&head, b"");
    assert_eq!(status, 413, "{answer}");
    assert!(
        answer.contains("body_too_large") && answer.contains("x-request-id"),
        "{answer}"
    );
    // A chunked body (no declared length) is cut off once it passes the limit.
    let head = "POST /probe/echo/1 HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
    let mut body = format!("{:x}\r\n", limit + 1).into_bytes();
    body.extend(vec![b'a'; limit + 1]);
    body.extend(b"\r\n0\r\n\r\n");
    let (status, answer) = host.raw(head, &body);
    assert_eq!(status, 413, "{answer}");
    let reply = host.request("POST", "/probe/echo/1", &[], vec![b'a'; limit]);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["body_len"], limit);
}

#[test]
fn the_body_limit_is_configurable_in_host_toml() {
    let options = crate::harness::HostOptions {
        config: Some("[server]\nbody-limit-bytes = 100\n".into()),
        ..Default::default()
    };
    let host = Host::with_options(&[("probe", "probe")], options);
    assert_eq!(
        host.request("POST", "/probe/echo/1", &[], vec![b'a'; 101])
            .status,
        413
    );
    assert_eq!(
        host.request("POST", "/probe/echo/1", &[], vec![b'a'; 100])
            .status,
        200
    );
}

#[test]
fn every_response_carries_a_request_id_and_a_callers_id_is_kept() {
    let host = probe();
    for path in ["/hello-rust/Ada", "/nowhere", "/probe/trap"] {
        let reply = host.get(path);
        let id = reply
            .header("x-request-id")
            .unwrap_or_else(|| panic!("{path}: no x-request-id"));
        assert_eq!(id.len(), 36, "{path}: {id}");
    }
    let reply = host.request(
        "GET",
        "/probe/echo/1",
        &[("x-request-id", "caller-abc-123")],
        Vec::new(),
    );
    assert_eq!(reply.header("x-request-id"), Some("caller-abc-123"));
    assert_eq!(
        reply.json()["request_id"],
        "caller-abc-123",
        "the module sees the same id"
    );
    let reply = host.request(
        "GET",
        "/probe/echo/1",
        &[("x-request-id", "bad id with spaces")],
        Vec::new(),
    );
    assert_ne!(reply.header("x-request-id"), Some("bad id with spaces"));
}

#[test]
fn a_trapping_module_answers_500_with_the_request_id_and_the_host_goes_on() {
    let host = probe();
    let reply = host.get("/probe/trap");
    assert_eq!(reply.status, 500);
    let error = &reply.json()["error"];
    assert_eq!(error["code"], "module_trapped");
    assert_eq!(error["request_id"].as_str(), reply.header("x-request-id"));
    let logged = host.wait_for_log(std::time::Duration::from_secs(5), |l| {
        l["level"] == "ERROR" && crate::harness::message(l).contains("trapped")
    });
    assert_eq!(
        logged["span"]["request_id"].as_str(),
        reply.header("x-request-id")
    );
    assert_eq!(host.get("/hello-rust/Ada").status, 200);
    assert_eq!(
        host.get("/probe/hello/x").status,
        200,
        "the same module still serves"
    );
}

#[test]
fn guest_errors_map_to_statuses() {
    let host = probe();
    let reply = host.get("/probe/invalid");
    assert_eq!(reply.status, 400);
    assert_eq!(reply.json()["error"]["code"], "invalid");
    assert!(reply.body.contains("refuses this on purpose"));
}
