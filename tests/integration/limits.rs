//! Deadlines and memory caps stop one invocation; the host and other requests go on.

use std::time::{Duration, Instant};

use crate::harness::Host;

#[test]
fn an_endless_loop_gets_504_within_its_deadline_while_other_requests_are_answered() {
    // The probe's manifest sets a 1000 ms deadline.
    let host = Host::with_modules(&[("probe", "probe"), ("hello-rust", "hello-rust")]);
    std::thread::scope(|s| {
        let looping: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(|| {
                    let started = Instant::now();
                    let reply = host.get("/probe/loop");
                    (reply, started.elapsed())
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(100));
        // Both looping invocations are running now; on 2 cores the host must still answer.
        let mut answered = 0;
        let start = Instant::now();
        while start.elapsed() < Duration::from_millis(700) {
            let started = Instant::now();
            let reply = host.get("/hello-rust/Ada");
            assert_eq!(reply.status, 200);
            assert!(
                started.elapsed() < Duration::from_millis(500),
                "a hello took {:?}",
                started.elapsed()
            );
            answered += 1;
        }
        assert!(
            answered >= 5,
            "only {answered} answers while modules looped"
        );
        for handle in looping {
            let (reply, took) = handle.join().unwrap();
            assert_eq!(reply.status, 504, "{}", reply.body);
            assert_eq!(reply.json()["error"]["code"], "deadline_exceeded");
            assert!(
                took < Duration::from_millis(2000),
                "504 after {took:?}, deadline is 1000 ms"
            );
            assert!(
                took >= Duration::from_millis(950),
                "stopped early, after {took:?}"
            );
        }
    });
    assert_eq!(host.get("/probe/hello/again").status, 200);
    assert_eq!(host.status_of("probe")["serving"]["metrics"]["timeouts"], 2);
}

#[test]
fn a_module_allocating_without_bound_is_stopped_at_its_cap_and_the_host_goes_on() {
    // The probe's manifest caps memory at 16 MiB.
    let host = Host::with_modules(&[("probe", "probe"), ("hello-rust", "hello-rust")]);
    for _ in 0..3 {
        let reply = host.get("/probe/alloc");
        assert_eq!(reply.status, 500, "{}", reply.body);
        let error = &reply.json()["error"];
        assert_eq!(error["code"], "memory_cap_exceeded");
        assert!(
            error["message"].as_str().unwrap().contains("16 MiB"),
            "{error}"
        );
    }
    assert_eq!(host.get("/hello-rust/Ada").body, "Hello, Ada! (rust)");
    assert_eq!(host.get("/probe/hello/x").status, 200);
    assert_eq!(
        host.status_of("probe")["serving"]["metrics"]["memory_cap_hits"],
        3
    );
}

#[test]
fn manifest_limits_above_the_host_ceiling_are_refused_with_a_clear_message() {
    let host = Host::with_modules(&[("hello-rust", "hello-rust")]);
    let manifest = host.plugins.join("hello-rust/plugin.toml");
    let text = std::fs::read_to_string(&manifest).unwrap() + "\n[limits]\nmemory-mib = 100000\n";
    crate::harness::write_atomic(&manifest, text.as_bytes());
    let status = host.wait_for_error("hello-rust");
    assert!(status.contains("memory-mib"), "{status}");
    assert!(status.contains("plugin.toml"), "{status}");
    assert_eq!(
        host.get("/hello-rust/Ada").status,
        200,
        "the old version keeps serving"
    );
}

#[test]
fn a_module_has_no_env_args_files_or_sockets() {
    let host = Host::with_modules(&[("probe", "probe")]);
    let reply = host.get("/probe/ambient");
    assert_eq!(reply.status, 200, "{}", reply.body);
    let seen = reply.json();
    assert_eq!(
        seen["env"],
        serde_json::json!([]),
        "no inherited environment"
    );
    assert_eq!(seen["args"], 0);
    for attempt in ["read_dir_root", "read_passwd", "connect"] {
        let outcome = seen[attempt].as_str().unwrap();
        assert!(
            outcome.starts_with("Err("),
            "{attempt} should fail: {outcome}"
        );
    }
}
