//! Hot swap: add, replace and remove modules while serving, with no failed request.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::harness::{Host, fixture, install, wasm_in, write_atomic};

const SWAP: &str = "/swap/hello/Ada";

/// A folder `swap` mounted at /swap whose component alternates between two builds
/// answering the same route differently.
fn swap_host() -> (Host, Vec<u8>, Vec<u8>) {
    let host = Host::with_modules(&[("probe", "swap")]);
    let manifest = host.plugins.join("swap/plugin.toml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("name = \"probe\"", "name = \"swap\"");
    let text = text.replace("prefix = \"/probe\"", "prefix = \"/swap\"");
    write_atomic(&manifest, text.as_bytes());
    host.wait_until(SWAP, Duration::from_secs(10), |r| r.status == 200);
    let probe = std::fs::read(wasm_in(&fixture("probe"))).unwrap();
    let alternate = std::fs::read(wasm_in(&fixture("probe-alt"))).unwrap();
    (host, probe, alternate)
}

#[test]
fn twenty_swaps_under_concurrent_load_fail_no_request() {
    let (host, probe, alternate) = swap_host();
    let wasm = wasm_in(&host.plugins.join("swap"));
    let done = AtomicBool::new(false);
    let answered = AtomicUsize::new(0);
    let seen_alt = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let clients: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    let mut failures = Vec::new();
                    while !done.load(Ordering::Relaxed) {
                        match host.try_request("GET", SWAP, &[], Vec::new()) {
                            Ok(r) if r.status == 200 && r.body == "Hello, Ada! (probe)" => {}
                            Ok(r) if r.status == 200 && r.body == "Hello, Ada! (probe-alt)" => {
                                seen_alt.fetch_add(1, Ordering::Relaxed);
                            }
                            other => failures.push(format!("{other:?}")),
                        }
                        answered.fetch_add(1, Ordering::Relaxed);
                    }
                    failures
                })
            })
            .collect();
        for i in 0..24 {
            let (bytes, body) = if i % 2 == 0 {
                (&alternate, "(probe-alt)")
            } else {
                (&probe, "(probe)")
            };
            write_atomic(&wasm, bytes);
            host.wait_until(SWAP, Duration::from_secs(10), |r| r.body.ends_with(body));
        }
        done.store(true, Ordering::Relaxed);
        let failures: Vec<String> = clients
            .into_iter()
            .flat_map(|c| c.join().unwrap())
            .collect();
        assert!(
            failures.is_empty(),
            "{} failed requests, e.g. {:?}",
            failures.len(),
            &failures[..failures.len().min(3)]
        );
    });
    assert!(
        answered.load(Ordering::Relaxed) > 100,
        "too little load: {}",
        answered.load(Ordering::Relaxed)
    );
    assert!(seen_alt.load(Ordering::Relaxed) > 0);
    let swaps = host
        .logs()
        .iter()
        .filter(|l| crate::harness::message(l) == "swapped in module")
        .count();
    assert!(swaps >= 24, "only {swaps} swaps logged");
}

#[test]
fn an_in_flight_request_finishes_on_the_version_it_started_on() {
    let (host, _, alternate) = swap_host();
    std::thread::scope(|s| {
        // The probe's /slow answers after 600 ms: long enough to swap meanwhile.
        let slow = s.spawn(|| host.get("/swap/slow"));
        std::thread::sleep(Duration::from_millis(100));
        write_atomic(&wasm_in(&host.plugins.join("swap")), &alternate);
        host.wait_until(SWAP, Duration::from_secs(10), |r| {
            r.body.ends_with("(probe-alt)")
        });
        let reply = slow.join().unwrap();
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (200, "slow (probe)"),
            "finished on the old version"
        );
        assert_eq!(host.get("/swap/slow").body, "slow (probe-alt)");
    });
}

#[test]
fn modules_are_added_and_removed_while_serving() {
    let host = Host::with_modules(&[("probe", "probe")]);
    assert_eq!(host.get("/hello-rust/Ada").status, 404);
    let started = Instant::now();
    install(&host.plugins, "hello-rust", "hello-rust");
    let reply = host.wait_until("/hello-rust/Ada", Duration::from_secs(10), |r| {
        r.status == 200
    });
    assert_eq!(reply.body, "Hello, Ada! (rust)");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "added after {:?}",
        started.elapsed()
    );
    std::fs::remove_dir_all(host.plugins.join("hello-rust")).unwrap();
    host.wait_until("/hello-rust/Ada", Duration::from_secs(10), |r| {
        r.status == 404
    });
    assert_eq!(host.status_of("hello-rust")["state"], "removed");
    assert_eq!(
        host.get("/probe/hello/x").status,
        200,
        "others keep serving"
    );
}

#[test]
fn a_component_in_a_sub_folder_rewritten_in_place_is_swapped_in() {
    let (host, _probe, alternate) = swap_host();
    let dir = host.plugins.join("swap");
    let wasm = wasm_in(&dir);
    std::fs::create_dir(dir.join("build")).unwrap();
    std::fs::rename(&wasm, dir.join("build/swap.wasm")).unwrap();
    let manifest = dir.join("plugin.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    write_atomic(
        &manifest,
        format!("component = \"build/swap.wasm\"\n{text}").as_bytes(),
    );
    host.wait_until(SWAP, Duration::from_secs(10), |r| {
        r.body == "Hello, Ada! (probe)"
    });
    // Written in place: neither the module folder nor `build/` changes, only the file.
    std::fs::write(dir.join("build/swap.wasm"), &alternate).unwrap();
    host.wait_until(SWAP, Duration::from_secs(10), |r| {
        r.body == "Hello, Ada! (probe-alt)"
    });
}

#[test]
fn a_corrupt_component_is_reported_naming_the_file_and_the_old_version_keeps_serving() {
    let host = Host::with_modules(&[("hello-rust", "hello-rust")]);
    let wasm = wasm_in(&host.plugins.join("hello-rust"));
    write_atomic(&wasm, b"\0asm this is not a component");
    let error = host.wait_for_error("hello-rust");
    assert!(error.contains(wasm.to_str().unwrap()), "{error}");
    assert!(
        error.contains("not a valid WebAssembly component"),
        "{error}"
    );
    assert_eq!(host.get("/hello-rust/Ada").body, "Hello, Ada! (rust)");
    host.wait_for_log(Duration::from_secs(5), |l| {
        l["level"] == "ERROR" && crate::harness::message(l).contains("keeps serving")
    });
}

#[test]
fn a_bad_manifest_is_reported_naming_the_file_and_the_old_version_keeps_serving() {
    let host = Host::with_modules(&[("hello-rust", "hello-rust")]);
    let manifest = host.plugins.join("hello-rust/plugin.toml");
    write_atomic(&manifest, b"name = \"hello-rust\"\n[http]\nprefix = 42\n");
    let error = host.wait_for_error("hello-rust");
    assert!(error.contains(manifest.to_str().unwrap()), "{error}");
    assert!(error.contains("prefix"), "{error}");
    assert_eq!(host.get("/hello-rust/Ada").body, "Hello, Ada! (rust)");
    assert_eq!(host.status_of("hello-rust")["state"], "serving");
}

#[test]
fn a_component_that_does_not_export_the_handler_is_refused() {
    let host = Host::with_modules(&[("hello-rust", "hello-rust")]);
    // A valid component with an empty world: compiles, but does not fit.
    let empty = wat_free_empty_component();
    write_atomic(&wasm_in(&host.plugins.join("hello-rust")), &empty);
    let error = host.wait_for_error("hello-rust");
    assert!(
        error.contains("exports neither plughost:platform/http-handler"),
        "{error}"
    );
    assert_eq!(host.get("/hello-rust/Ada").status, 200);
}

/// The smallest valid component: the 8-byte component preamble.
fn wat_free_empty_component() -> Vec<u8> {
    vec![0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00]
}
