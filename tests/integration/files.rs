//! The files example's public contract: PUT, GET, list, DELETE under `/files`, escapes
//! refused, large files through a published URL, and a notification mail (to the outbox
//! beside the plugins, or a real SMTP server) only when the upload's row commits.

use std::time::Duration;

use crate::harness::{Host, HostBuilder, Plugins, SmtpServer, eventually, parse_eml};

fn files(host_toml: &str) -> Plugins {
    HostBuilder::new()
        .host_toml(&format!(
            "[server]\nbody-limit-bytes = 16777216\n{host_toml}"
        ))
        .module("files", "files")
        .build()
}

fn put(host: &Host, path: &str, body: &[u8]) -> crate::harness::Reply {
    host.request(
        "PUT",
        path,
        &[("content-type", "text/plain")],
        body.to_vec(),
    )
}

#[test]
fn the_files_example_keeps_its_contract() {
    let plugins = files("");
    let host = plugins.start();
    let stored = put(&host, "/files/notes/today.txt", b"buy milk");
    assert_eq!(stored.status, 201, "{}", stored.body);
    assert_eq!(stored.json()["key"], "notes/today.txt");
    assert_eq!(stored.json()["size"], 8);
    assert_eq!(put(&host, "/files/notes/tomorrow.txt", b"walk").status, 201);
    assert_eq!(put(&host, "/files/other.txt", b"x").status, 201);
    let got = host.get("/files/notes/today.txt");
    assert_eq!(got.status, 200);
    assert_eq!(got.body, "buy milk");
    assert_eq!(got.header("content-type"), Some("text/plain"));
    let listed = host.get("/files?prefix=notes/").json();
    assert_eq!(
        listed["keys"],
        serde_json::json!(["notes/today.txt", "notes/tomorrow.txt"])
    );
    let deleted = host.request("DELETE", "/files/notes/today.txt", &[], Vec::new());
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    assert_eq!(host.get("/files/notes/today.txt").status, 404);
    for escape in [
        "/files/..%2F..%2Fx",
        "/files/a/..%2F..%2F..%2Fetc%2Fpasswd",
        "/files/%2Fetc%2Fpasswd",
    ] {
        let refused = put(&host, escape, b"owned");
        assert!(
            refused.status == 400 || refused.status == 403,
            "{escape}: {} {}",
            refused.status,
            refused.body
        );
    }
    let data = plugins.path().parent().unwrap().join("data");
    assert!(!data.join("x").exists() && !plugins.path().parent().unwrap().join("x").exists());
}

#[test]
fn a_large_file_is_served_through_a_published_url_with_ranges() {
    let plugins = files("");
    let host = plugins.start();
    let big: Vec<u8> = (0..6 * 1024 * 1024u32)
        .map(|i| b'a' + (i % 26) as u8)
        .collect();
    assert_eq!(put(&host, "/files/big.txt", &big).status, 201);
    // The harness's client follows redirects; a raw request sees the module's answer.
    let (status, answer) = host.raw(
        "GET /files/big.txt HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n",
        b"",
    );
    assert_eq!(status, 302, "{answer}");
    let url = answer
        .lines()
        .find_map(|l| l.strip_prefix("location: "))
        .expect("a location header")
        .trim()
        .to_string();
    assert!(url.starts_with("/_storage/"), "{url}");
    let served = host.get(&url);
    assert_eq!(served.status, 200);
    assert!(served.body.as_bytes() == big, "the bytes came back changed");
    let followed = host.get("/files/big.txt");
    assert!(
        followed.body.as_bytes() == big,
        "the redirect did not lead to the bytes"
    );
    let part = host.request("GET", &url, &[("range", "bytes=26-51")], Vec::new());
    assert_eq!(part.status, 206);
    assert_eq!(part.body, "abcdefghijklmnopqrstuvwxyz");
}

#[test]
fn an_upload_with_notify_mails_the_file_attached_to_the_outbox_by_default() {
    let plugins = files("");
    let host = plugins.start();
    let stored = put(
        &host,
        "/files/reports/q3.txt?notify=ada@example.com",
        b"profits up",
    );
    assert_eq!(stored.status, 201, "{}", stored.body);
    let file = eventually("a mail in data/outbox", Duration::from_secs(20), || {
        crate::harness::outbox_files(plugins.path()).pop()
    });
    let mail = parse_eml(&file);
    assert_eq!(mail["headers"]["to"], "ada@example.com");
    assert_eq!(mail["headers"]["from"], "Files <files@example.com>");
    assert_eq!(mail["headers"]["subject"], "New file: reports/q3.txt");
    let attachment = mail["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["filename"] == "q3.txt")
        .expect("the file attached");
    assert_eq!(attachment["content"], "profits up");
}

#[test]
fn a_notification_goes_out_over_smtp_only_when_the_upload_row_commits() {
    let smtp = SmtpServer::start();
    let plugins = files(&smtp.host_toml());
    let host = plugins.start();
    // An address the mail capability refuses fails the transaction: no row, no mail.
    let refused = put(&host, "/files/a.txt?notify=not-an-address", b"a");
    assert_eq!(refused.status, 400, "{}", refused.body);
    let sent = put(&host, "/files/b.txt?notify=bob@example.com", b"b");
    assert_eq!(sent.status, 201, "{}", sent.body);
    let (envelope, mail) = eventually(
        "the mail at the SMTP server",
        Duration::from_secs(20),
        || smtp.received().pop(),
    );
    assert_eq!(envelope["to"], serde_json::json!(["bob@example.com"]));
    assert_eq!(mail["headers"]["subject"], "New file: b.txt");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(smtp.received().len(), 1);
}
