//! The storage capability through a real host and the `storage-probe` module: objects
//! round-trip with their content type, metadata and ranges; listings page in key order;
//! every attempt to leave the module's root is refused and writes nothing outside.

use std::path::{Path, PathBuf};

use crate::harness::{HostBuilder, Plugins};

/// The module's root under the host's data folder (`data/` beside the plugins folder).
fn module_root(plugins: &Plugins, module: &str) -> PathBuf {
    plugins
        .path()
        .parent()
        .unwrap()
        .join("data/storage/default")
        .join(module)
}

fn probe() -> Plugins {
    HostBuilder::new()
        .module("storage-probe", "storage-probe")
        .build()
}

#[test]
fn objects_round_trip_with_their_content_type_metadata_and_ranges() {
    let plugins = HostBuilder::new()
        .host_toml("[server]\nbody-limit-bytes = 8388608\n")
        .module("storage-probe", "storage-probe")
        .build();
    let host = plugins.start();
    // Printable bytes: the harness reads answers as text.
    let big: Vec<u8> = (0..3 * 1024 * 1024u32)
        .map(|i| (i % 94 + 33) as u8)
        .collect();
    for (key, body) in [
        ("empty", Vec::new()),
        ("one", vec![b'7']),
        ("docs/big.bin", big.clone()),
    ] {
        let put = host.request(
            "PUT",
            &format!("/storage-probe/objects/{key}"),
            &[],
            body.clone(),
        );
        assert_eq!(put.status, 201, "{}", put.body);
        assert_eq!(put.json()["size"], body.len());
        let got = host.get(&format!("/storage-probe/objects/{key}"));
        assert_eq!(got.status, 200);
        assert!(
            got.body.as_bytes() == body,
            "{key}: the bytes came back changed"
        );
    }
    let typed = host.request(
        "PUT",
        "/storage-probe/objects/notes/a.txt",
        &[("content-type", "text/plain"), ("x-meta-author", "Ada")],
        b"hello world".to_vec(),
    );
    assert_eq!(typed.status, 201, "{}", typed.body);
    let head = host.get("/storage-probe/head/notes/a.txt").json();
    assert_eq!(head["content_type"], "text/plain");
    assert_eq!(head["metadata"], serde_json::json!([["author", "Ada"]]));
    assert_eq!(head["etag"].as_str().unwrap().len(), 32);
    assert!(head["modified_ms"].as_u64().unwrap() > 1_700_000_000_000);
    let range = host.get("/storage-probe/objects/notes/a.txt?start=6&end=11");
    assert_eq!(range.body, "world");
    assert_eq!(range.header("content-type"), Some("text/plain"));
    let tail = host.get("/storage-probe/objects/notes/a.txt?start=6");
    assert_eq!(tail.body, "world");
    let past = host.get("/storage-probe/objects/notes/a.txt?start=50");
    assert_eq!(past.status, 400, "{}", past.body);

    let copy = host.request(
        "POST",
        "/storage-probe/copy?source=notes/a.txt&target=notes/b.txt",
        &[],
        Vec::new(),
    );
    assert_eq!(copy.status, 200, "{}", copy.body);
    assert_eq!(copy.json()["etag"], head["etag"]);
    assert_eq!(
        host.get("/storage-probe/objects/notes/b.txt").body,
        "hello world"
    );

    assert_eq!(
        host.get("/storage-probe/exists/notes/a.txt").json()["exists"],
        true
    );
    let deleted = host.request(
        "DELETE",
        "/storage-probe/objects/notes/a.txt",
        &[],
        Vec::new(),
    );
    assert_eq!(deleted.json()["deleted"], true);
    assert_eq!(
        host.get("/storage-probe/exists/notes/a.txt").json()["exists"],
        false
    );
    let gone = host.get("/storage-probe/objects/notes/a.txt");
    assert_eq!(gone.status, 404, "{}", gone.body);
    assert_eq!(gone.json()["error"]["code"], "not_found");
    let again = host.request(
        "DELETE",
        "/storage-probe/objects/notes/a.txt",
        &[],
        Vec::new(),
    );
    assert_eq!(again.json()["deleted"], false);
    // Objects sit beneath the module's own root, and nothing is left aside.
    let root = module_root(&plugins, "storage-probe");
    assert!(root.join("objects/notes/b.txt~").is_file());
    assert_eq!(std::fs::read_dir(root.join("tmp")).unwrap().count(), 0);
}

#[test]
fn listings_are_in_key_order_by_prefix_and_page_with_a_cursor() {
    let host = probe().start();
    for key in ["b/2", "a", "b/1", "b-c", "b/3/x", "c"] {
        let put = host.request(
            "PUT",
            &format!("/storage-probe/objects/{key}"),
            &[],
            b"x".to_vec(),
        );
        assert_eq!(put.status, 201, "{key}: {}", put.body);
    }
    let all = host.get("/storage-probe/list").json();
    assert_eq!(
        all["keys"],
        serde_json::json!(["a", "b-c", "b/1", "b/2", "b/3/x", "c"])
    );
    assert!(all["next_cursor"].is_null());
    let under_b = host.get("/storage-probe/list?prefix=b/").json();
    assert_eq!(under_b["keys"], serde_json::json!(["b/1", "b/2", "b/3/x"]));
    let first = host.get("/storage-probe/list?prefix=b&limit=2").json();
    assert_eq!(first["keys"], serde_json::json!(["b-c", "b/1"]));
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    let second = host
        .get(&format!(
            "/storage-probe/list?prefix=b&limit=2&cursor={cursor}"
        ))
        .json();
    assert_eq!(second["keys"], serde_json::json!(["b/2", "b/3/x"]));
    assert!(second["next_cursor"].is_null());
}

#[test]
fn keys_that_try_to_leave_the_root_are_refused_and_nothing_is_written() {
    let plugins = probe();
    let host = plugins.start();
    let long = "k".repeat(1100);
    for key in [
        "..%2F..%2Fescaped",
        "%2Fetc%2Fpasswd",
        "a%2F..%2F..%2Fescaped",
        "a%00b",
        "a%2F%2Fb",
        long.as_str(),
    ] {
        let put = host.request(
            "PUT",
            &format!("/storage-probe/raw?key={key}"),
            &[],
            b"x".to_vec(),
        );
        assert_eq!(put.status, 400, "{key}: {}", put.body);
        assert_eq!(put.json()["error"]["code"], "invalid", "{key}");
    }
    let encoded = host.request(
        "PUT",
        "/storage-probe/objects/..%2F..%2Fescaped",
        &[],
        b"x".to_vec(),
    );
    assert!(
        matches!(encoded.status, 400 | 403 | 404),
        "{}",
        encoded.body
    );
    let base = plugins.path().parent().unwrap();
    assert!(!base.join("escaped").exists());
    assert!(!base.join("data/escaped").exists());
    assert!(!base.join("data/storage/escaped").exists());
    // The host still serves.
    let ok = host.request("PUT", "/storage-probe/objects/fine", &[], b"x".to_vec());
    assert_eq!(ok.status, 201);
}

#[cfg(unix)]
#[test]
fn a_symlink_planted_in_the_root_reaches_nothing_outside_it() {
    let plugins = probe();
    let host = plugins.start();
    let ok = host.request("PUT", "/storage-probe/objects/first", &[], b"x".to_vec());
    assert_eq!(ok.status, 201, "{}", ok.body);
    let outside = plugins.path().parent().unwrap().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret~"), b"PHO1secret").unwrap();
    let objects = module_root(&plugins, "storage-probe").join("objects");
    // A file link and a folder link, both pointing out of the root.
    std::os::unix::fs::symlink(outside.join("secret~"), objects.join("secret~")).unwrap();
    std::os::unix::fs::symlink(&outside, objects.join("out")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", objects.join("passwd~")).unwrap();

    for key in ["secret", "passwd", "out/secret"] {
        let got = host.get(&format!("/storage-probe/objects/{key}"));
        assert_eq!(got.status, 403, "{key}: {}", got.body);
        assert_eq!(got.json()["error"]["code"], "denied");
    }
    let write = host.request(
        "PUT",
        "/storage-probe/objects/out/planted",
        &[],
        b"x".to_vec(),
    );
    assert_eq!(write.status, 403, "{}", write.body);
    assert!(!outside.join("planted~").exists());
    let delete = host.request(
        "DELETE",
        "/storage-probe/objects/out/secret",
        &[],
        Vec::new(),
    );
    assert_eq!(delete.status, 403, "{}", delete.body);
    assert!(outside.join("secret~").exists());
    // Listing skips the links: they are not objects.
    let listed = host.get("/storage-probe/list").json();
    assert_eq!(listed["keys"], serde_json::json!(["first"]));
    assert_file_intact(&outside.join("secret~"));
}

fn assert_file_intact(path: &Path) {
    assert_eq!(std::fs::read(path).unwrap(), b"PHO1secret");
}

#[test]
fn each_module_has_its_own_root() {
    let plugins = HostBuilder::new()
        .module("storage-probe", "storage-probe")
        .module("storage-probe", "other")
        .edit("other", "name = \"storage-probe\"", "name = \"other\"")
        .edit(
            "other",
            "prefix = \"/storage-probe\"",
            "prefix = \"/other\"",
        )
        .build();
    let host = plugins.start();
    let put = host.request(
        "PUT",
        "/storage-probe/objects/mine",
        &[],
        b"secret".to_vec(),
    );
    assert_eq!(put.status, 201);
    assert_eq!(host.get("/other/objects/mine").status, 404);
    assert_eq!(
        host.get("/other/list").json()["keys"],
        serde_json::json!([])
    );
    assert_eq!(host.get("/storage-probe/objects/mine").body, "secret");
}

#[test]
fn calls_outside_the_storage_grant_are_denied_and_counted() {
    let host = HostBuilder::new()
        .module("storage-probe", "storage-probe")
        .edit(
            "storage-probe",
            "storage = [\"*\"]",
            "storage = [\"public/*\"]",
        )
        .start();
    let allowed = host.request("PUT", "/storage-probe/objects/public/a", &[], b"x".to_vec());
    assert_eq!(allowed.status, 201, "{}", allowed.body);
    for (method, path) in [
        ("PUT", "/storage-probe/objects/private/a"),
        ("GET", "/storage-probe/objects/private/a"),
        ("DELETE", "/storage-probe/objects/private/a"),
        ("GET", "/storage-probe/head/private/a"),
        ("GET", "/storage-probe/exists/private/a"),
        ("GET", "/storage-probe/list?prefix=private/"),
        (
            "POST",
            "/storage-probe/copy?source=public/a&target=private/a",
        ),
    ] {
        let refused = host.request(method, path, &[], b"x".to_vec());
        assert_eq!(refused.status, 403, "{method} {path}: {}", refused.body);
        assert_eq!(refused.json()["error"]["code"], "denied");
    }
    let denied = &host.status_of("storage-probe")["serving"]["metrics"]["denied"];
    assert!(denied.as_u64().unwrap() >= 7, "{denied}");
}

#[test]
fn a_module_without_the_storage_capability_is_denied() {
    let host = HostBuilder::new()
        .module("storage-probe", "storage-probe")
        .edit("storage-probe", "storage = [\"*\"]", "config = [\"x\"]")
        .start();
    let refused = host.request("PUT", "/storage-probe/objects/a", &[], b"x".to_vec());
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("storage"), "{}", refused.body);
}
