//! The storage capability through a real host and the `storage-probe` module: objects
//! round-trip with their content type, metadata and ranges; listings page in key order;
//! every attempt to leave the module's root is refused and writes nothing outside.

use std::path::{Path, PathBuf};

use crate::harness::{HostBuilder, Plugins, StorageBackend, every_storage_backend};

// The same scenarios on the local folder and on an S3-compatible bucket (moto).
every_storage_backend!(
    objects_round_trip_with_their_content_type_metadata_and_ranges,
    listings_are_in_key_order_by_prefix_and_page_with_a_cursor,
    each_module_has_its_own_root,
    calls_outside_the_storage_grant_are_denied_and_counted,
    objects_written_in_pieces_read_back_by_ranges,
    an_upload_dropped_without_commit_leaves_nothing_behind,
    quotas_hold_under_concurrent_writers_and_nothing_over_them_is_written,
    a_tenant_quota_counts_all_its_modules_and_restarts_keep_the_count,
    a_published_url_serves_the_object_with_ranges_and_etags_until_it_expires,
    a_download_under_way_is_never_torn_by_a_replacement,
);

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
    probe_on(&StorageBackend::Local)
}

fn probe_on(backend: &StorageBackend) -> Plugins {
    HostBuilder::new()
        .host_toml(&backend.host_toml())
        .module("storage-probe", "storage-probe")
        .build()
}

fn objects_round_trip_with_their_content_type_metadata_and_ranges(backend: StorageBackend) {
    let plugins = HostBuilder::new()
        .host_toml("[server]\nbody-limit-bytes = 8388608\n")
        .host_toml(&backend.host_toml())
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
        // `read` (bytes and info in one call) and `get` (bytes alone) agree.
        for route in ["objects", "bytes"] {
            let got = host.get(&format!("/storage-probe/{route}/{key}"));
            assert_eq!(got.status, 200);
            assert!(
                got.body.as_bytes() == body,
                "{key}: the bytes came back changed through {route}"
            );
        }
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
    assert_eq!(range.header("etag"), head["etag"].as_str(), "read's info");
    for route in ["objects", "bytes"] {
        let path = format!("/storage-probe/{route}/notes/a.txt");
        assert_eq!(host.get(&format!("{path}?start=6&end=11")).body, "world");
        assert_eq!(host.get(&format!("{path}?start=6")).body, "world");
        assert_eq!(
            host.get(&format!("{path}?start=11")).body,
            "",
            "empty at the end"
        );
        let past = host.get(&format!("{path}?start=50"));
        assert_eq!(past.status, 400, "{route}: {}", past.body);
        let missing = host.get(&format!("/storage-probe/{route}/notes/none.txt"));
        assert_eq!(missing.status, 404, "{route}: {}", missing.body);
    }

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
    if !backend.is_local() {
        return;
    }
    // Objects sit beneath the module's own root, and nothing is left aside.
    let root = module_root(&plugins, "storage-probe");
    assert!(root.join("objects/notes/b.txt~").is_file());
    assert_eq!(std::fs::read_dir(root.join("tmp")).unwrap().count(), 0);
}

fn listings_are_in_key_order_by_prefix_and_page_with_a_cursor(backend: StorageBackend) {
    let host = probe_on(&backend).start();
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

fn each_module_has_its_own_root(backend: StorageBackend) {
    let plugins = HostBuilder::new()
        .host_toml(&backend.host_toml())
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

fn calls_outside_the_storage_grant_are_denied_and_counted(backend: StorageBackend) {
    let host = HostBuilder::new()
        .host_toml(&backend.host_toml())
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

/// The host's peak resident memory so far, in bytes (`VmHWM`).
fn peak_memory(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .expect("VmHWM in /proc/PID/status");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap();
    kib * 1024
}

fn long_running_probe(host_toml: &str) -> Plugins {
    HostBuilder::new()
        .host_toml(host_toml)
        .module("storage-probe", "storage-probe")
        .edit(
            "storage-probe",
            "[capabilities]",
            "[limits]\ndeadline-ms = 60000\n\n[capabilities]",
        )
        .build()
}

#[test]
fn a_gibibyte_object_is_written_in_pieces_and_read_by_ranges_with_the_host_memory_bounded() {
    const GIB: u64 = 1 << 30;
    let plugins = long_running_probe("");
    let host = plugins.start();
    let written = host.request(
        "POST",
        &format!(
            "/storage-probe/generate?key=big/one.bin&size={GIB}&piece={}",
            8 << 20
        ),
        &[],
        Vec::new(),
    );
    assert_eq!(written.status, 201, "{}", written.body);
    assert_eq!(written.json()["size"], GIB);
    let on_disk = module_root(&plugins, "storage-probe").join("objects/big/one.bin~");
    assert!(std::fs::metadata(&on_disk).unwrap().len() > GIB);
    let verified = host.get(&format!(
        "/storage-probe/verify?key=big/one.bin&piece={}",
        8 << 20
    ));
    assert_eq!(verified.status, 200, "{}", verified.body);
    assert_eq!(verified.json()["ok"], true, "{}", verified.body);
    // Neither the host nor the module ever held the object: the host's peak stays far
    // below it (the module's 64 MiB memory and the host's own included).
    let peak = peak_memory(host.pid());
    assert!(
        peak < 512 << 20,
        "the host peaked at {} MiB while moving a 1 GiB object",
        peak >> 20
    );
    let whole = host.get("/storage-probe/objects/big/one.bin");
    assert_eq!(whole.status, 400, "{}", whole.body);
    assert!(whole.body.contains("by ranges"), "{}", whole.body);
}

fn an_upload_dropped_without_commit_leaves_nothing_behind(backend: StorageBackend) {
    let plugins = probe_on(&backend);
    let host = plugins.start();
    let abandoned = host.request(
        "POST",
        "/storage-probe/abandon?key=half.bin&size=300000",
        &[],
        Vec::new(),
    );
    assert_eq!(abandoned.status, 200, "{}", abandoned.body);
    assert_eq!(abandoned.json()["written"], 300000);
    assert_eq!(host.get("/storage-probe/objects/half.bin").status, 404);
    if !backend.is_local() {
        return;
    }
    let tmp = module_root(&plugins, "storage-probe").join("tmp");
    let left: Vec<_> = std::fs::read_dir(&tmp).unwrap().collect();
    assert!(left.is_empty(), "files left in tmp/: {left:?}");
    // Its quota came back too: a full-quota object fits afterwards (checked below).
}

/// 48 MiB in 5 MiB pieces (S3 parts are at least 5 MiB), read back by 3 MiB ranges.
fn objects_written_in_pieces_read_back_by_ranges(backend: StorageBackend) {
    let plugins = probe_on(&backend);
    let host = plugins.start();
    let size = 48 << 20;
    let written = host.request(
        "POST",
        &format!(
            "/storage-probe/generate?key=pieces.bin&size={size}&piece={}",
            5 << 20
        ),
        &[],
        Vec::new(),
    );
    assert_eq!(written.status, 201, "{}", written.body);
    assert_eq!(written.json()["size"], size);
    let verified = host.get(&format!(
        "/storage-probe/verify?key=pieces.bin&piece={}",
        3 << 20
    ));
    assert_eq!(verified.json()["ok"], true, "{}", verified.body);
    let head = host.get("/storage-probe/head/pieces.bin").json();
    assert_eq!(head["size"], size);
    // Written again smaller, the object is replaced whole.
    let again = host.request(
        "POST",
        "/storage-probe/generate?key=pieces.bin&size=10&piece=4",
        &[],
        Vec::new(),
    );
    assert_eq!(again.json()["size"], 10);
    assert_eq!(
        host.get("/storage-probe/verify?key=pieces.bin&piece=3")
            .json()["ok"],
        true
    );
}

fn put(host: &crate::harness::Host, path: &str, size: usize) -> crate::harness::Reply {
    host.request("PUT", path, &[], vec![b'q'; size])
}

fn quotas_hold_under_concurrent_writers_and_nothing_over_them_is_written(backend: StorageBackend) {
    const PIECE: usize = 512 * 1024;
    let plugins = HostBuilder::new()
        .host_toml(&format!(
            "[server]\nbody-limit-bytes = 8388608\n[storage]\nmodule-max-bytes = {}\n",
            5 * PIECE
        ))
        .host_toml(&backend.host_toml())
        .module("storage-probe", "storage-probe")
        .build();
    let host = std::sync::Arc::new(plugins.start());
    let writers: Vec<_> = (0..12)
        .map(|i| {
            let host = host.clone();
            std::thread::spawn(move || put(&host, &format!("/storage-probe/objects/q/{i}"), PIECE))
        })
        .collect();
    let replies: Vec<_> = writers.into_iter().map(|w| w.join().unwrap()).collect();
    let stored = replies.iter().filter(|r| r.status == 201).count();
    assert_eq!(
        stored,
        5,
        "{:?}",
        replies
            .iter()
            .map(|r| (r.status, &r.body))
            .collect::<Vec<_>>()
    );
    for refused in replies.iter().filter(|r| r.status != 201) {
        assert_eq!(refused.status, 400, "{}", refused.body);
        assert!(
            refused.body.contains("module-max-bytes"),
            "{}",
            refused.body
        );
    }
    let listed = host.get("/storage-probe/list?prefix=q/").json();
    assert_eq!(listed["keys"].as_array().unwrap().len(), 5, "{listed}");
    let tmp = module_root(&plugins, "storage-probe").join("tmp");
    if backend.is_local() {
        assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
    }
    // Replacing an object with one of the same size fits; a bigger one does not.
    let first = listed["keys"][0].as_str().unwrap().to_string();
    assert_eq!(
        put(&host, &format!("/storage-probe/objects/{first}"), PIECE).status,
        201
    );
    assert_eq!(
        put(&host, &format!("/storage-probe/objects/{first}"), PIECE + 1).status,
        400
    );
    // A delete gives its bytes back.
    let deleted = host.request(
        "DELETE",
        &format!("/storage-probe/objects/{first}"),
        &[],
        Vec::new(),
    );
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(
        put(&host, "/storage-probe/objects/q/again", PIECE).status,
        201
    );
    // An upload counts as it goes: the 6th piece of a 6-piece object is refused.
    let generated = host.request(
        "POST",
        &format!(
            "/storage-probe/generate?key=q/streamed&size={}&piece={PIECE}",
            6 * PIECE
        ),
        &[],
        Vec::new(),
    );
    assert_eq!(generated.status, 400, "{}", generated.body);
    if backend.is_local() {
        assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
    }
}

fn a_tenant_quota_counts_all_its_modules_and_restarts_keep_the_count(backend: StorageBackend) {
    let plugins = HostBuilder::new()
        .host_toml("[storage]\ntenant-max-objects = 3\n")
        .host_toml(&backend.host_toml())
        .module("storage-probe", "storage-probe")
        .module("storage-probe", "storage-probe-2")
        .edit(
            "storage-probe-2",
            "name = \"storage-probe\"",
            "name = \"storage-probe-2\"",
        )
        .edit(
            "storage-probe-2",
            "prefix = \"/storage-probe\"",
            "prefix = \"/storage-probe-2\"",
        )
        .build();
    let host = plugins.start();
    assert_eq!(put(&host, "/storage-probe/objects/a", 10).status, 201);
    assert_eq!(put(&host, "/storage-probe/objects/b", 10).status, 201);
    assert_eq!(put(&host, "/storage-probe-2/objects/a", 10).status, 201);
    let refused = put(&host, "/storage-probe-2/objects/b", 10);
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused.body.contains("tenant 'default'"),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("tenant-max-objects"),
        "{}",
        refused.body
    );
    host.terminate();
    // A new host counts what is on disk before the first write.
    let host = plugins.start();
    assert_eq!(put(&host, "/storage-probe-2/objects/b", 10).status, 400);
    assert_eq!(
        put(&host, "/storage-probe/objects/a", 10).status,
        201,
        "replacing fits"
    );
}

fn a_published_url_serves_the_object_with_ranges_and_etags_until_it_expires(
    backend: StorageBackend,
) {
    let plugins = probe_on(&backend);
    let host = plugins.start();
    let stored = host.request(
        "PUT",
        "/storage-probe/objects/site/page.html",
        &[("content-type", "text/html")],
        b"<h1>hello, world</h1>".to_vec(),
    );
    assert_eq!(stored.status, 201, "{}", stored.body);
    let etag = format!("\"{}\"", stored.json()["etag"].as_str().unwrap());
    let url = host
        .get("/storage-probe/publish/site/page.html?seconds=60")
        .json()["url"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(url.starts_with("/_storage/"), "{url}");
    let whole = host.get(&url);
    assert_eq!(whole.status, 200, "{}", whole.body);
    assert_eq!(whole.body, "<h1>hello, world</h1>");
    assert_eq!(whole.header("content-type"), Some("text/html"));
    assert_eq!(whole.header("etag"), Some(etag.as_str()));
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    // Module content on the host's origin: no sniffing, no script with the host's origin.
    assert_eq!(whole.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(whole.header("content-security-policy"), Some("sandbox"));
    let part = host.request("GET", &url, &[("range", "bytes=4-8")], Vec::new());
    assert_eq!(part.status, 206);
    assert_eq!(part.body, "hello");
    assert_eq!(part.header("content-range"), Some("bytes 4-8/21"));
    let past = host.request("GET", &url, &[("range", "bytes=50-")], Vec::new());
    assert_eq!(past.status, 416);
    let cached = host.request("GET", &url, &[("if-none-match", &etag)], Vec::new());
    assert_eq!(cached.status, 304);
    let mut forged = url.clone();
    forged.replace_range(12..13, if &url[12..13] == "A" { "B" } else { "A" });
    assert_eq!(host.get(&forged).status, 403);
    let short = host
        .get("/storage-probe/publish/site/page.html?seconds=1")
        .json()["url"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(host.get(&short).status, 200);
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let expired = host.get(&short);
    assert_eq!(expired.status, 403);
    assert!(expired.body.contains("expired"), "{}", expired.body);
    assert_eq!(
        host.get("/storage-probe/publish/site/page.html?seconds=0")
            .status,
        400
    );
    assert_eq!(
        host.get("/storage-probe/publish/site/none.html").status,
        404
    );
    host.request(
        "DELETE",
        "/storage-probe/objects/site/page.html",
        &[],
        Vec::new(),
    );
    assert_eq!(host.get(&url).status, 404);
}

#[test]
fn two_hosts_share_one_bucket_and_serve_each_others_urls() {
    let s3 = crate::harness::S3Server::start();
    let shared = format!(
        "[storage]\nsigning-key = \"a shared key of at least 32 characters\"\n{}",
        s3.host_toml("shared-bucket")
    );
    let first = HostBuilder::new()
        .host_toml(&shared)
        .module("storage-probe", "storage-probe")
        .build();
    let second = HostBuilder::new()
        .host_toml(&shared)
        .module("storage-probe", "storage-probe")
        .build();
    let (a, b) = (first.start(), second.start());
    let put = a.request(
        "PUT",
        "/storage-probe/objects/shared/note.txt",
        &[("content-type", "text/plain")],
        b"written by A".to_vec(),
    );
    assert_eq!(put.status, 201, "{}", put.body);
    assert_eq!(
        b.get("/storage-probe/objects/shared/note.txt").body,
        "written by A"
    );
    let url = a
        .get("/storage-probe/publish/shared/note.txt?seconds=60")
        .json()["url"]
        .as_str()
        .unwrap()
        .to_string();
    let served = b.get(&url);
    assert_eq!(served.status, 200, "{}", served.body);
    assert_eq!(served.body, "written by A");
}

#[test]
fn a_host_killed_mid_upload_leaves_no_object_and_its_leftovers_are_swept() {
    let plugins = long_running_probe("");
    let host = plugins.start();
    let pid = host.pid();
    let writer = {
        let base = host.base.clone();
        std::thread::spawn(move || {
            let _ = ureq::post(format!(
                "{base}/storage-probe/generate?key=crash/big.bin&size={}&piece={}",
                1u64 << 30,
                8 << 20
            ))
            .send_empty();
        })
    };
    let tmp = module_root(&plugins, "storage-probe").join("tmp");
    crate::harness::eventually(
        "a write under way",
        std::time::Duration::from_secs(20),
        || {
            std::fs::read_dir(&tmp)
                .ok()?
                .flatten()
                .find(|e| e.metadata().is_ok_and(|m| m.len() > 16 << 20))
        },
    );
    std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    let _ = writer.join();
    drop(host);
    assert!(
        !module_root(&plugins, "storage-probe")
            .join("objects/crash")
            .exists()
    );
    // The leftover, once old, is swept when the next host first writes for the tenant.
    let leftover = std::fs::read_dir(&tmp)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let old = std::process::Command::new("touch")
        .args(["-d", "2 hours ago"])
        .arg(&leftover)
        .status()
        .unwrap();
    assert!(old.success());
    let host = plugins.start();
    assert_eq!(host.get("/storage-probe/objects/crash/big.bin").status, 404);
    assert_eq!(put(&host, "/storage-probe/objects/after", 10).status, 201);
    assert!(
        !leftover.exists(),
        "the crashed write's file is still there"
    );
}

#[test]
fn a_module_answers_with_an_object_the_host_streams_within_its_grant() {
    let plugins = HostBuilder::new()
        .host_toml("[server]\nbody-limit-bytes = 8388608\n")
        .module("storage-probe", "storage-probe")
        .edit(
            "storage-probe",
            "storage = [\"*\"]",
            "storage = [\"public/*\", \"private/*\"]",
        )
        .build();
    let host = plugins.start();
    let body: Vec<u8> = (0..5 * 1024 * 1024u32)
        .map(|i| b'a' + (i % 26) as u8)
        .collect();
    let put = host.request(
        "PUT",
        "/storage-probe/objects/public/big.txt",
        &[("content-type", "text/plain")],
        body.clone(),
    );
    assert_eq!(put.status, 201, "{}", put.body);
    let etag = format!("\"{}\"", put.json()["etag"].as_str().unwrap());
    let served = host.get("/storage-probe/served/public/big.txt");
    assert_eq!(served.status, 200);
    assert!(
        served.body.as_bytes() == body,
        "the bytes came back changed"
    );
    assert_eq!(served.header("content-type"), Some("text/plain"));
    assert_eq!(served.header("etag"), Some(etag.as_str()));
    assert_eq!(
        served.header("cache-control"),
        Some("no-store"),
        "the module's header is kept"
    );
    assert_eq!(
        served.header("x-plughost-object"),
        None,
        "the host's instruction never leaks"
    );
    let part = host.request(
        "GET",
        "/storage-probe/served/public/big.txt",
        &[("range", "bytes=0-25")],
        Vec::new(),
    );
    assert_eq!(part.status, 206);
    assert_eq!(part.body, "abcdefghijklmnopqrstuvwxyz");
    let cached = host.request(
        "GET",
        "/storage-probe/served/public/big.txt",
        &[("if-none-match", &etag)],
        Vec::new(),
    );
    assert_eq!(cached.status, 304);
    assert_eq!(
        host.get("/storage-probe/served/public/none.txt").status,
        404
    );
    // Only keys within the module's grant, and only from its own root.
    let outside = host.get("/storage-probe/served/secret/x");
    assert_eq!(outside.status, 403, "{}", outside.body);
    let escape = host.get("/storage-probe/served/..%2F..%2Fetc%2Fpasswd");
    assert!(
        matches!(escape.status, 400 | 403 | 404 | 502),
        "{}",
        escape.status
    );
}

/// A large object streamed by the host is read in pieces; replaced while a client is part
/// of the way through, the client gets the version it started with, whole (local: the
/// open file stays readable), or a cut-short body (S3: the rest no longer matches the
/// etag), never the start of one version and the end of another.
fn a_download_under_way_is_never_torn_by_a_replacement(backend: StorageBackend) {
    use std::io::{Read, Write};
    const SIZE: u64 = 24 << 20;
    let plugins = probe_on(&backend);
    let host = plugins.start();
    let generate = |seed: u64| {
        let made = host.request(
            "POST",
            &format!("/storage-probe/generate?key=movie.bin&size={SIZE}&piece=4194304&seed={seed}"),
            &[],
            Vec::new(),
        );
        assert_eq!(made.status, 201, "{}", made.body);
    };
    generate(0);
    let addr = host.base.trim_start_matches("http://");
    let mut socket = std::net::TcpStream::connect(addr).unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    write!(
        socket,
        "GET /storage-probe/served/movie.bin HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    // The head and the first bytes, then a pause: the host has read a few pieces at most.
    let mut received = vec![0; 64 * 1024];
    socket.read_exact(&mut received).unwrap();
    generate(1);
    socket.read_to_end(&mut received).unwrap_or_else(|e| {
        // A connection closed mid-body is how a cut-short answer arrives.
        eprintln!("the download ended with {e}");
        0
    });
    let text = String::from_utf8_lossy(&received[..1024]);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let start = received.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let body = &received[start..];
    let original = |at: usize| (at % 251) as u8;
    let first_wrong = body
        .iter()
        .enumerate()
        .position(|(at, b)| *b != original(at));
    assert_eq!(
        first_wrong,
        None,
        "byte {first_wrong:?} of {} is not the version the download started with",
        body.len()
    );
    if matches!(backend, StorageBackend::Local) {
        assert_eq!(
            body.len() as u64,
            SIZE,
            "the local file stays readable whole"
        );
    } else {
        assert!(
            (body.len() as u64) < SIZE,
            "the replaced object cannot end the download"
        );
    }
}
