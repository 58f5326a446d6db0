//! Unmodified `wasi:http` components (`tests/modules/std-http`, built with the wstd crate
//! as for `wasmtime serve`) run as modules: a manifest with only name, version and an
//! HTTP prefix; every path below the prefix reaches the component, which sees the full
//! path; tenant, deadline, memory cap and warm reuse apply as to any module, and outgoing
//! requests leave only for hosts both the manifest and the tenant allow.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::harness::HostBuilder;

/// `prefix = "/std-http"` followed by `extra` (more TOML sections).
fn with_sections(extra: &str) -> (String, String) {
    let from = "prefix = \"/std-http\"".to_string();
    (from.clone(), format!("{from}\n\n{extra}"))
}

#[test]
fn an_unmodified_wasi_http_component_answers_every_path_under_its_prefix() {
    let host = HostBuilder::new().module("std-http", "std-http").start();
    let hello = host.get("/std-http/hello/Ada?lang=en&x=1");
    assert_eq!(hello.status, 200, "{}", hello.body);
    assert_eq!(hello.body, "Hello, Ada! (wasi:http)");
    assert_eq!(hello.header("x-seen-path"), Some("/std-http/hello/Ada"));
    assert_eq!(hello.header("x-seen-query"), Some("lang=en&x=1"));
    assert!(hello.header("x-request-id").is_some());

    let echoed = host.request("POST", "/std-http/echo", &[], b"ping pong".to_vec());
    assert_eq!((echoed.status, echoed.body.as_str()), (200, "ping pong"));

    let missing = host.get("/std-http/deep/er/path");
    assert_eq!(missing.status, 404, "the component's own 404");
    assert_eq!(
        missing.body,
        "std-http has nothing at /std-http/deep/er/path"
    );
}

#[test]
fn a_body_the_component_streams_arrives_whole() {
    let host = HostBuilder::new().module("std-http", "std-http").start();
    let kib = 2048;
    let reply = host.get(&format!("/std-http/stream?kib={kib}"));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body.len(), kib << 10);
    let expected: String = (0..kib << 10)
        .map(|i| (b'a' + (i % 26) as u8) as char)
        .collect();
    assert!(reply.body == expected, "the streamed bytes differ");
}

#[test]
fn a_trap_an_endless_loop_and_a_memory_grab_each_end_only_their_own_request() {
    let (from, to) = with_sections("[limits]\ndeadline-ms = 500\nmemory-mib = 64");
    let host = HostBuilder::new()
        .module("std-http", "std-http")
        .edit("std-http", &from, &to)
        .start();
    for (path, status, code) in [
        ("/std-http/panic", 500, "module_trapped"),
        ("/std-http/spin", 504, "deadline_exceeded"),
        ("/std-http/grow", 500, "memory_cap_exceeded"),
    ] {
        let reply = host.get(path);
        assert_eq!(reply.status, status, "{path}: {}", reply.body);
        assert_eq!(reply.json()["error"]["code"], code, "{path}");
        let after = host.get("/std-http/hello/again");
        assert_eq!(after.status, 200, "the host keeps serving after {path}");
    }
}

#[test]
fn a_response_status_or_header_flood_the_host_does_not_allow_is_refused_and_counted() {
    let host = HostBuilder::new().module("std-http", "std-http").start();
    for path in ["/std-http/bad-status", "/std-http/many-headers"] {
        let reply = host.get(path);
        assert_eq!(reply.status, 502, "{path}: {}", reply.body);
        assert_eq!(reply.json()["error"]["code"], "bad_module_response");
    }
    let metrics = &host.status_of("std-http")["serving"]["metrics"];
    assert_eq!(metrics["bad_responses"], 2, "{metrics}");
    assert_eq!(host.get("/std-http/hello/after").status, 200);
}

#[test]
fn a_standard_component_reuses_its_instance_only_when_its_manifest_opts_in() {
    let fresh = HostBuilder::new().module("std-http", "std-http").start();
    for _ in 0..3 {
        assert_eq!(fresh.get("/std-http/count").body, "1");
    }
    drop(fresh);
    let (from, to) = with_sections("[instances]\nreuse = 3");
    let warm = HostBuilder::new()
        .module("std-http", "std-http")
        .edit("std-http", &from, &to)
        .start();
    let counts: Vec<String> = (0..4).map(|_| warm.get("/std-http/count").body).collect();
    assert_eq!(counts, ["1", "2", "3", "1"]);
}

#[test]
fn routes_in_a_standard_components_manifest_are_refused_with_the_fix() {
    let (from, to) = (
        "prefix = \"/std-http\"",
        "prefix = \"/std-http\"\nroutes = [{ method = \"GET\", path = \"/{name}\" }]",
    );
    let host = HostBuilder::new()
        .module("std-http", "std-http")
        .edit("std-http", from, to)
        .start();
    let error = host.wait_for_error("std-http");
    assert!(
        error.contains("answers every path under its prefix"),
        "{error}"
    );
    assert!(error.contains("remove `routes`"), "{error}");
}

/// An HTTP server on loopback (axum, on its own runtime) answering `pong`: its port, and
/// how many requests reached it.
fn pong_server() -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let reached = Arc::new(AtomicUsize::new(0));
    let counter = reached.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let app = axum::Router::new().fallback(move || {
                counter.fetch_add(1, Ordering::SeqCst);
                async { "pong" }
            });
            axum::serve(listener, app).await.unwrap();
        });
    });
    (port, reached)
}

#[test]
fn outgoing_requests_leave_only_for_hosts_the_manifest_and_the_tenant_both_allow() {
    let (port, reached) = pong_server();
    let url = format!("http://127.0.0.1:{port}/ping");
    let fetch = format!("/std-http/fetch?url={}", url.replace(':', "%3A"));
    let grant = format!("[capabilities]\noutbound-http = [\"127.0.0.1:{port}\"]");

    // Nothing requested: refused, and counted.
    let host = HostBuilder::new().module("std-http", "std-http").start();
    let refused = host.get(&fetch);
    assert_eq!(refused.status, 502, "{}", refused.body);
    assert!(
        refused.body.starts_with("outgoing request failed"),
        "{}",
        refused.body
    );
    assert_eq!(
        host.status_of("std-http")["serving"]["metrics"]["denied"],
        1
    );
    assert_eq!(reached.load(Ordering::SeqCst), 0, "nothing left the host");
    drop(host);

    // Requested, but the tenant allows another host only.
    let (from, to) = with_sections(&grant);
    let tenant = "[tenants.web]\nmodules = [\"std-http\"]\n[tenants.web.allow]\n";
    let host = HostBuilder::new()
        .module("std-http", "std-http")
        .edit("std-http", &from, &to)
        .host_toml(&format!("{tenant}outbound-http = [\"api.example.com\"]"))
        .start();
    let refused = host.get(&fetch);
    assert_eq!(refused.status, 502, "{}", refused.body);
    assert_eq!(reached.load(Ordering::SeqCst), 0, "nothing left the host");
    // The host writes its log asynchronously: wait for the line.
    host.wait_for_log(Duration::from_secs(5), |line| {
        crate::harness::message(line).contains("outside what the tenant may be granted")
    });
    drop(host);

    // Requested and allowed: it goes out.
    let host = HostBuilder::new()
        .module("std-http", "std-http")
        .edit("std-http", &from, &to)
        .host_toml(&format!("{tenant}outbound-http = [\"127.0.0.1:*\"]"))
        .start();
    let mut allowed = host.get(&fetch);
    // Under heavy load the guest's client (wstd over wasi:http 0.2) now and then reports
    // "connection reset" after the server has answered (seen 1 run in ~10 with the cores
    // saturated; not seen with WASI 0.3): one retry, so the grant is what is tested here.
    if allowed.body.contains("connection reset") {
        allowed = host.get(&fetch);
    }
    let reached_now = reached.load(Ordering::SeqCst);
    assert_eq!(
        allowed.status,
        200,
        "{} (requests that reached the server: {reached_now})\nthe host's log:\n{}",
        allowed.body,
        host.log_text()
    );
    assert_eq!(allowed.body, "200 pong");
    assert!((1..=2).contains(&reached_now), "{reached_now}");
    let other = host.get("/std-http/fetch?url=http%3A//127.0.0.1%3A9/ping");
    assert_eq!(other.status, 502, "another port: {}", other.body);
    // The host writes its log asynchronously: wait for the line.
    host.wait_for_log(Duration::from_secs(5), |line| {
        crate::harness::message(line).contains("'127.0.0.1:9' is not among the scopes")
    });
}

#[test]
fn standard_config_and_logging_imports_reach_the_hosts_config_and_log() {
    let (from, to) = with_sections(
        "[capabilities]\nconfig = [\"greeting\"]\n\n[config]\ngreeting = \"hi\"\nsecret = \"s3\"",
    );
    let host = HostBuilder::new()
        .module("std-http", "std-http")
        .edit("std-http", &from, &to)
        .start();
    let granted = host.get("/std-http/config/greeting");
    assert_eq!((granted.status, granted.body.as_str()), (200, "hi"));
    let refused = host.get("/std-http/config/secret");
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        refused.body.contains("Upstream(\"denied: "),
        "{}",
        refused.body
    );
    assert_eq!(
        host.status_of("std-http")["serving"]["metrics"]["denied"],
        1
    );
    let all = host.get("/std-http/config-all");
    assert_eq!(all.body, "[(\"greeting\", \"hi\")]", "only granted keys");

    assert_eq!(host.get("/std-http/log?message=from%20wasi").body, "logged");
    let line = host.wait_for_log(std::time::Duration::from_secs(5), |line| {
        crate::harness::message(line) == "[std-http] from wasi"
    });
    assert_eq!(line["level"], "WARN", "{line}");
    assert_eq!(line["module"], "std-http", "{line}");
}

#[test]
fn host_check_accepts_a_standard_component_and_names_what_its_grant_lacks() {
    for (fixture, outgoing) in [
        ("std-http", "imports wasi:http/outgoing-handler@0.2"),
        ("std-http-p3", "imports wasi:http/client@0.3.0"),
    ] {
        let output = std::process::Command::new(crate::harness::HOST)
            .arg("check")
            .arg(crate::harness::fixture(fixture))
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{fixture}: {stdout}");
        assert!(stdout.contains("ok: "), "{fixture}: {stdout}");
        assert!(
            stdout.contains(outgoing) && stdout.contains("no 'outbound-http' capability"),
            "{fixture}: {stdout}"
        );
    }
}

#[test]
fn componentize_py_and_componentize_js_http_components_run_unchanged() {
    let host = HostBuilder::new()
        .module("std-http-py", "std-http-py")
        .module("std-http-js", "std-http-js")
        .start();
    for (prefix, language) in [("/std-http-py", "python"), ("/std-http-js", "js")] {
        let reply = host.get(&format!("{prefix}/hello/Ada"));
        assert_eq!(reply.status, 200, "{prefix}: {}", reply.body);
        assert_eq!(reply.body, format!("Hello, Ada! ({language} wasi:http)"));
        let seen = format!("{prefix}/hello/Ada");
        assert_eq!(reply.header("x-seen-path"), Some(seen.as_str()));
    }
}

// WASI 0.3: `tests/modules/std-http-p3`, built with the wasip3 crate, exports
// `wasi:http/handler@0.3.0` and writes its bodies from tasks that run after the handler
// returned.

/// `prefix = "/std-http-p3"` followed by `extra` (more TOML sections).
fn p3_with_sections(extra: &str) -> (String, String) {
    let from = "prefix = \"/std-http-p3\"".to_string();
    (from.clone(), format!("{from}\n\n{extra}"))
}

#[test]
fn a_wasi_0_3_component_answers_every_path_under_its_prefix() {
    let host = HostBuilder::new()
        .module("std-http-p3", "std-http-p3")
        .start();
    let hello = host.get("/std-http-p3/hello/Ada?lang=en&x=1");
    assert_eq!(hello.status, 200, "{}", hello.body);
    assert_eq!(hello.body, "Hello, Ada! (wasi:http p3)");
    assert_eq!(hello.header("x-seen-path"), Some("/std-http-p3/hello/Ada"));
    assert_eq!(hello.header("x-seen-query"), Some("lang=en&x=1"));
    assert!(hello.header("x-request-id").is_some());

    let body = "ping pong ".repeat(10_000);
    let echoed = host.request("POST", "/std-http-p3/echo", &[], body.clone().into_bytes());
    assert_eq!(echoed.status, 200, "{}", echoed.body);
    assert!(echoed.body == body, "the echoed body differs");

    let missing = host.get("/std-http-p3/deep/er");
    assert_eq!(missing.status, 404, "the component's own 404");
    assert_eq!(missing.body, "no route for /std-http-p3/deep/er");
}

#[test]
fn a_body_a_wasi_0_3_component_writes_after_returning_arrives_whole() {
    let host = HostBuilder::new()
        .module("std-http-p3", "std-http-p3")
        .start();
    let kib = 2048;
    let reply = host.get(&format!("/std-http-p3/stream?kib={kib}"));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body.len(), kib << 10);
    let expected: String = (0..kib / 16)
        .map(|i| {
            ((b'a' + (i % 26) as u8) as char)
                .to_string()
                .repeat(16 << 10)
        })
        .collect();
    assert!(reply.body == expected, "the streamed bytes differ");
}

#[test]
fn a_wasi_0_3_components_trap_loop_memory_grab_and_error_code_end_only_their_own_request() {
    let (from, to) = p3_with_sections("[limits]\ndeadline-ms = 500\nmemory-mib = 64");
    let host = HostBuilder::new()
        .module("std-http-p3", "std-http-p3")
        .edit("std-http-p3", &from, &to)
        .start();
    for (path, status, code) in [
        ("/std-http-p3/panic", 500, "module_trapped"),
        ("/std-http-p3/spin", 504, "deadline_exceeded"),
        ("/std-http-p3/grow", 500, "memory_cap_exceeded"),
        ("/std-http-p3/error", 500, "internal"),
    ] {
        let reply = host.get(path);
        assert_eq!(reply.status, status, "{path}: {}", reply.body);
        assert_eq!(reply.json()["error"]["code"], code, "{path}");
        let after = host.get("/std-http-p3/hello/again");
        assert_eq!(after.status, 200, "the host keeps serving after {path}");
    }
    for path in ["/std-http-p3/bad-status", "/std-http-p3/many-headers"] {
        let reply = host.get(path);
        assert_eq!(reply.status, 502, "{path}: {}", reply.body);
        assert_eq!(reply.json()["error"]["code"], "bad_module_response");
    }
    let metrics = &host.status_of("std-http-p3")["serving"]["metrics"];
    assert_eq!(metrics["bad_responses"], 2, "{metrics}");
    assert_eq!(metrics["timeouts"], 1, "{metrics}");
}

#[test]
fn a_wasi_0_3_component_reuses_its_instance_only_when_its_manifest_opts_in() {
    let fresh = HostBuilder::new()
        .module("std-http-p3", "std-http-p3")
        .start();
    for _ in 0..3 {
        assert_eq!(fresh.get("/std-http-p3/count").body, "1");
    }
    drop(fresh);
    let (from, to) = p3_with_sections("[instances]\nreuse = 3");
    let warm = HostBuilder::new()
        .module("std-http-p3", "std-http-p3")
        .edit("std-http-p3", &from, &to)
        .start();
    let counts: Vec<String> = (0..4)
        .map(|_| warm.get("/std-http-p3/count").body)
        .collect();
    assert_eq!(counts, ["1", "2", "3", "1"]);
}

#[test]
fn a_wasi_0_3_components_outgoing_requests_need_the_manifest_and_the_tenant() {
    let (port, reached) = pong_server();
    let url = format!("http://127.0.0.1:{port}/ping");
    let fetch = format!("/std-http-p3/fetch?url={}", url.replace(':', "%3A"));

    let host = HostBuilder::new()
        .module("std-http-p3", "std-http-p3")
        .start();
    let refused = host.get(&fetch);
    assert_eq!(refused.status, 502, "{}", refused.body);
    assert!(
        refused.body.contains("HttpRequestDenied"),
        "{}",
        refused.body
    );
    assert_eq!(
        host.status_of("std-http-p3")["serving"]["metrics"]["denied"],
        1
    );
    assert_eq!(reached.load(Ordering::SeqCst), 0, "nothing left the host");
    drop(host);

    let (from, to) = p3_with_sections(&format!(
        "[capabilities]\noutbound-http = [\"127.0.0.1:{port}\"]"
    ));
    let host = HostBuilder::new()
        .module("std-http-p3", "std-http-p3")
        .edit("std-http-p3", &from, &to)
        .start();
    let allowed = host.get(&fetch);
    assert_eq!(allowed.status, 200, "{}", allowed.body);
    assert_eq!(allowed.body, "200 pong");
    assert_eq!(reached.load(Ordering::SeqCst), 1);
}

#[test]
fn a_wasi_0_3_component_gets_no_environment_folders_sockets_or_name_lookups() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    // Even with outbound HTTP to that very port granted: raw sockets are another thing.
    let (from, to) = p3_with_sections(&format!(
        "[capabilities]\noutbound-http = [\"127.0.0.1:{port}\"]"
    ));
    let host = HostBuilder::new()
        .module("std-http-p3", "std-http-p3")
        .edit("std-http-p3", &from, &to)
        .start();
    let reach = host.get(&format!("/std-http-p3/reach?port={port}"));
    assert_eq!(reach.status, 200, "{}", reach.body);
    assert!(
        reach
            .body
            .starts_with("env=0 dirs=0 tcp=create:ErrorCode::AccessDenied dns=ErrorCode::"),
        "{}",
        reach.body
    );
    assert!(
        !reach.body.contains("resolved") && !reach.body.contains("connected"),
        "{}",
        reach.body
    );
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "no connection reached the listener"
    );
}
