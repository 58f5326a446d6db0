//! Start-up: a broken module is reported naming its file, the others still load, and
//! compiled code is cached so a restart does not recompile.

use std::time::Duration;

use crate::harness::{Host, HostOptions, wasm_in, write_atomic};

#[test]
fn broken_modules_are_reported_at_startup_and_the_others_still_load() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    crate::harness::install(&plugins, "hello-rust", "hello-rust");
    let corrupt = crate::harness::install(&plugins, "probe", "corrupt");
    write_atomic(&wasm_in(&corrupt), b"garbage");
    let manifest_path = corrupt.join("plugin.toml");
    let text = std::fs::read_to_string(&manifest_path)
        .unwrap()
        .replace("name = \"probe\"", "name = \"corrupt\"");
    write_atomic(
        &manifest_path,
        text.replace("/probe", "/corrupt").as_bytes(),
    );
    let bad = crate::harness::install(&plugins, "probe", "bad-manifest");
    write_atomic(
        &bad.join("plugin.toml"),
        b"name = \"bad\"\nunknown-key = 1\n",
    );
    let empty = plugins.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("plugin.toml"), "name = \"empty\"\n").unwrap();

    let host = Host::start(&plugins, None, &HostOptions::default().cache_dir);
    assert_eq!(host.get("/hello-rust/Ada").body, "Hello, Ada! (rust)");
    let corrupt_error = host.status_of("corrupt")["last_error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        corrupt_error.contains("corrupt/probe.wasm") && corrupt_error.contains("not a valid"),
        "{corrupt_error}"
    );
    let bad_error = host.status_of("bad-manifest")["last_error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        bad_error.contains("bad-manifest/plugin.toml") && bad_error.contains("unknown-key"),
        "{bad_error}"
    );
    let empty_error = host.status_of("empty")["last_error"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(empty_error.contains("no .wasm component"), "{empty_error}");
    assert_eq!(host.status_of("corrupt")["state"], "failed");
}

#[test]
fn a_restart_loads_compiled_code_from_the_cache_instead_of_recompiling() {
    let cache = tempfile::tempdir().unwrap();
    let options = || HostOptions {
        cache_dir: cache.path().to_path_buf(),
        ..HostOptions::default()
    };
    let first = Host::with_options(&[("hello-rust", "hello-rust")], options());
    assert_eq!(first.get("/hello-rust/Ada").status, 200);
    // The log says when a module compiles and when it is done (Python and JS take seconds).
    let compiling = |line: &serde_json::Value| {
        crate::harness::message(line) == "compiling the component (not in the compile cache yet)"
            && line["module"] == "hello-rust"
    };
    first.wait_for_log(Duration::from_secs(5), compiling);
    first.wait_for_log(Duration::from_secs(5), |line| {
        crate::harness::message(line) == "compiled the component" && line["elapsed_ms"].is_u64()
    });
    drop(first);
    let cached: Vec<_> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
    assert!(cached[0].extension().is_some_and(|e| e == "cwasm"));
    // Beside it, Cranelift's compiled functions, which other components reuse.
    let functions = cache.path().join("functions");
    assert!(
        std::fs::read_dir(&functions).is_ok_and(|mut d| d.next().is_some()),
        "no compiled functions in {}",
        functions.display()
    );
    let written = std::fs::metadata(&cached[0]).unwrap().modified().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let second = Host::with_options(&[("hello-rust", "hello-rust")], options());
    assert_eq!(second.get("/hello-rust/Ada").body, "Hello, Ada! (rust)");
    assert!(
        !second.log_text().contains("compiling the component"),
        "a cache hit does not compile"
    );
    assert_eq!(
        std::fs::metadata(&cached[0]).unwrap().modified().unwrap(),
        written,
        "the cache entry was rewritten"
    );
    let files = std::fs::read_dir(cache.path())
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().is_file())
        .count();
    assert_eq!(files, 1, "one compiled component, nothing more");
}

#[test]
fn a_missing_plugins_folder_is_a_clear_error() {
    let out = std::process::Command::new(crate::harness::HOST)
        .args([
            "run",
            "--plugins",
            "/definitely/not/here",
            "--listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/definitely/not/here") && err.contains("host build"),
        "{err}"
    );
}
