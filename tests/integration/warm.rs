//! Warm-instance reuse (`[instances] reuse = N` in plugin.toml): an instance serves up to
//! N invocations of its own module, one at a time; a trap, a limit or a swap ends it; a
//! module that does not opt in gets a fresh instance every time. The probe's `/count`
//! answers how many invocations its instance has served.

use std::time::Duration;

use crate::harness::{HostBuilder, edit_manifest};

const REUSE_3: &str = "[instances]\nreuse = 3\n\n[limits]";

fn count(host: &crate::harness::Host, prefix: &str) -> String {
    let reply = host.get(&format!("{prefix}/count"));
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

#[test]
fn a_module_without_reuse_gets_a_fresh_instance_every_time() {
    let host = HostBuilder::new().module("probe", "probe").start();
    for _ in 0..3 {
        assert_eq!(count(&host, "/probe"), "1 (probe)");
    }
}

#[test]
fn an_instance_serves_up_to_its_reuse_count_then_a_fresh_one_follows() {
    let host = HostBuilder::new()
        .module("probe", "probe")
        .edit("probe", "[limits]", REUSE_3)
        .start();
    let served: Vec<String> = (0..7).map(|_| count(&host, "/probe")).collect();
    assert_eq!(
        served,
        ["1", "2", "3", "1", "2", "3", "1"].map(|n| format!("{n} (probe)")),
        "three invocations per instance"
    );
}

#[test]
fn state_kept_by_one_module_never_reaches_another() {
    let host = HostBuilder::new()
        .module("probe", "probe")
        .module("probe-alt", "probe-alt")
        .edit("probe", "[limits]", REUSE_3)
        .edit("probe-alt", "[limits]", REUSE_3)
        .start();
    assert_eq!(count(&host, "/probe"), "1 (probe)");
    assert_eq!(count(&host, "/probe"), "2 (probe)");
    assert_eq!(
        count(&host, "/probe-alt"),
        "1 (probe-alt)",
        "another module's instance starts from nothing"
    );
    assert_eq!(count(&host, "/probe"), "3 (probe)");
}

#[test]
fn a_trap_or_a_limit_discards_the_instance() {
    let host = HostBuilder::new()
        .module("probe", "probe")
        .edit("probe", "[limits]", "[instances]\nreuse = 100\n\n[limits]")
        .start();
    for (breaker, status) in [
        ("/probe/trap", 500),
        ("/probe/loop", 504),
        ("/probe/alloc", 500),
    ] {
        assert_eq!(count(&host, "/probe"), "1 (probe)");
        assert_eq!(count(&host, "/probe"), "2 (probe)");
        let broken = host.get(breaker);
        assert_eq!(broken.status, status, "{breaker}: {}", broken.body);
        assert_eq!(
            count(&host, "/probe"),
            "1 (probe)",
            "after {breaker}, a fresh instance"
        );
        // Use up this instance (100 invocations), so the next round starts afresh too.
        for _ in 0..99 {
            count(&host, "/probe");
        }
    }
}

#[test]
fn a_swap_drops_the_old_versions_instances() {
    let plugins = HostBuilder::new()
        .module("probe", "probe")
        .edit("probe", "[limits]", "[instances]\nreuse = 1000\n\n[limits]")
        .build();
    let host = plugins.start();
    assert_eq!(count(&host, "/probe"), "1 (probe)");
    assert_eq!(count(&host, "/probe"), "2 (probe)");
    edit_manifest(
        &plugins.module("probe"),
        "version = \"0.1.0\"",
        "version = \"0.2.0\"",
    );
    host.wait_for_log(Duration::from_secs(10), |line| {
        crate::harness::message(line).contains("swapped in")
    });
    assert_eq!(
        count(&host, "/probe"),
        "1 (probe)",
        "the new version's own instance"
    );
}

#[test]
fn an_idle_instance_is_dropped_after_its_idle_time() {
    let host = HostBuilder::new()
        .module("probe", "probe")
        .edit(
            "probe",
            "[limits]",
            "[instances]\nreuse = 100\nidle-seconds = 1\n\n[limits]",
        )
        .start();
    assert_eq!(count(&host, "/probe"), "1 (probe)");
    assert_eq!(count(&host, "/probe"), "2 (probe)");
    std::thread::sleep(Duration::from_millis(1_300));
    assert_eq!(
        count(&host, "/probe"),
        "1 (probe)",
        "idle past a second: dropped"
    );
}

#[test]
fn the_warm_hello_module_answers_as_the_fresh_one_does() {
    let host = HostBuilder::new()
        .module("hello-rust-warm", "hello-rust-warm")
        .start();
    for _ in 0..5 {
        let reply = host.get("/hello-rust-warm/Ada");
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.body, "Hello, Ada! (rust)");
        assert_eq!(
            reply.header("content-type"),
            Some("text/plain; charset=utf-8")
        );
    }
}

#[test]
fn a_reuse_setting_out_of_range_is_refused_naming_the_key() {
    let plugins = HostBuilder::new()
        .module("probe", "probe")
        .edit("probe", "[limits]", "[instances]\nreuse = 0\n\n[limits]")
        .build();
    let host = plugins.start();
    let error = host.wait_for_error("probe");
    assert!(error.contains("[instances] reuse = 0"), "{error}");
    assert_eq!(host.get("/probe/count").status, 404);
}

#[test]
fn idle_instances_give_way_when_the_host_runs_out_of_instance_slots() {
    let host = HostBuilder::new()
        .host_toml("[limits]\nmax-instances = 4\n[tenants.default]\nmodules = [\"*\"]\nmax-concurrent = 4\n")
        .module("probe", "probe")
        .module("hello-rust", "hello-rust")
        .edit("probe", "[limits]", "[instances]\nreuse = 100\nmax-idle = 4\n\n[limits]")
        .start();
    // Four at once: four instances, all kept idle afterwards, every slot of the host.
    std::thread::scope(|scope| {
        let slow: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| host.get("/probe/slow").status))
            .collect();
        for request in slow {
            assert_eq!(request.join().unwrap(), 200);
        }
    });
    let reply = host.get("/hello-rust/Ada");
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "Hello, Ada! (rust)"),
        "another module still gets an instance"
    );
    host.wait_for_log(Duration::from_secs(5), |line| {
        crate::harness::message(line).contains("idle warm instances dropped")
    });
}
