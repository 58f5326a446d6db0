//! The mail capability through a real host, the `mail-probe` module and a real SMTP
//! server (aiosmtpd): what a module sends arrives intact, only when its invocation
//! succeeds; refusals and dropped connections are retried, then dead-lettered; bad input
//! is refused naming the field, and nothing is queued.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use crate::harness::{HostBuilder, Plugins, SmtpServer, eventually};

const WAIT: Duration = Duration::from_secs(20);
/// Fast retries for the tests.
const QUICK_RETRIES: &str = "[queue]\nbackoff-base-ms = 50\nbackoff-max-ms = 200\npoll-ms = 50\n";

fn probe_with(host_toml: &str) -> Plugins {
    HostBuilder::new()
        .host_toml(host_toml)
        .module("mail-probe", "mail-probe")
        .build()
}

fn send(host: &crate::harness::Host, spec: Value) -> crate::harness::Reply {
    host.request(
        "POST",
        "/mail-probe/send",
        &[("content-type", "application/json")],
        spec.to_string().into_bytes(),
    )
}

fn outbox_files(plugins: &Plugins) -> Vec<PathBuf> {
    crate::harness::outbox_files(plugins.path())
}

#[test]
fn a_message_arrives_over_smtp_with_its_headers_body_and_attachments_intact() {
    let smtp = SmtpServer::start();
    let plugins = probe_with(&smtp.host_toml());
    let host = plugins.start();
    let binary: String = (32u8..127).map(char::from).collect::<String>().repeat(40);
    let sent = send(
        &host,
        json!({
            "to": ["Ada Lovelace <ada@example.com>", "bob@example.com"],
            "cc": ["carol@example.com"],
            "bcc": ["audit@example.com"],
            "reply_to": "support@shop.example",
            "subject": "Your order n° 42",
            "text": "Thanks for your order.",
            "html": "<p>Thanks for your <b>order</b>.</p>",
            "attachments": [{"name": "receipt.txt", "content_type": "text/plain", "content": binary}],
            "headers": [["X-Order", "42"], ["List-Unsubscribe", "<https://shop.example/u>"]],
        }),
    );
    assert_eq!(sent.status, 201, "{}", sent.body);
    let id = sent.json()["ids"][0].as_str().unwrap().to_string();
    let received = eventually("the message at the SMTP server", WAIT, || {
        smtp.received().pop()
    });
    let (envelope, message) = received;
    assert_eq!(envelope["from"], "noreply@shop.example");
    let mut to: Vec<&str> = envelope["to"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    to.sort();
    assert_eq!(
        to,
        [
            "ada@example.com",
            "audit@example.com",
            "bob@example.com",
            "carol@example.com"
        ]
    );
    let headers = &message["headers"];
    assert_eq!(headers["subject"], "Your order n° 42");
    assert_eq!(headers["from"], "Shop <noreply@shop.example>");
    assert!(
        headers["to"]
            .as_str()
            .unwrap()
            .contains("Ada Lovelace <ada@example.com>")
    );
    assert_eq!(headers["cc"], "carol@example.com");
    assert!(
        headers.get("bcc").is_none(),
        "a Bcc header went out: {headers}"
    );
    assert_eq!(headers["reply-to"], "support@shop.example");
    assert_eq!(headers["x-order"], "42");
    assert_eq!(headers["list-unsubscribe"], "<https://shop.example/u>");
    assert_eq!(headers["message-id"], format!("<{id}>"));
    let parts = message["parts"].as_array().unwrap();
    let part = |ct: &str| parts.iter().find(|p| p["content_type"] == ct).unwrap();
    assert_eq!(
        part("text/plain")["content"].as_str().unwrap().trim_end(),
        "Thanks for your order."
    );
    assert!(
        part("text/html")["content"]
            .as_str()
            .unwrap()
            .contains("<b>order</b>")
    );
    let attachment = parts
        .iter()
        .find(|p| p["filename"] == "receipt.txt")
        .expect("the attachment");
    assert_eq!(
        attachment["content"],
        binary.as_str(),
        "the attachment changed on the way"
    );
}

#[test]
fn without_smtp_settings_mail_lands_as_eml_files_in_the_outbox_beside_the_plugins() {
    let plugins = probe_with("");
    let host = plugins.start();
    let sent = send(
        &host,
        json!({"to": ["ada@example.com"], "bcc": ["audit@example.com"], "subject": "Outbox", "text": "Hello"}),
    );
    assert_eq!(sent.status, 201, "{}", sent.body);
    let file = eventually("an .eml file in data/outbox", WAIT, || {
        outbox_files(&plugins).pop()
    });
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("Subject: Outbox"), "{text}");
    assert!(
        text.contains("X-Plughost-Envelope-To: ada@example.com, audit@example.com"),
        "{text}"
    );
    let parsed = crate::harness::parse_eml(&file);
    assert_eq!(
        parsed["parts"][0]["content"].as_str().unwrap().trim_end(),
        "Hello"
    );
}

#[test]
fn a_failed_invocation_or_a_rolled_back_transaction_sends_nothing() {
    let smtp = SmtpServer::start();
    let plugins = probe_with(&smtp.host_toml());
    let host = plugins.start();
    let base = json!({"to": ["ada@example.com"], "text": "x"});
    let with = |subject: &str, extra: Value| {
        let mut spec = base.clone();
        spec["subject"] = json!(subject);
        for (k, v) in extra.as_object().unwrap() {
            spec[k] = v.clone();
        }
        spec
    };
    let failed = send(&host, with("failed", json!({"then": "error"})));
    assert_eq!(failed.status, 500, "{}", failed.body);
    let rolled = send(&host, with("rolled back", json!({"tx": "rollback"})));
    assert_eq!(rolled.status, 201, "{}", rolled.body);
    let failed_in_tx = send(
        &host,
        with("failed in tx", json!({"tx": "commit", "then": "error"})),
    );
    assert_eq!(failed_in_tx.status, 500, "{}", failed_in_tx.body);
    let committed = send(&host, with("committed", json!({"tx": "commit"})));
    assert_eq!(committed.status, 201, "{}", committed.body);
    let plain = send(&host, with("plain", json!({})));
    assert_eq!(plain.status, 201, "{}", plain.body);
    // Delivery runs in order of queuing; once both good ones are in, nothing else is due.
    eventually("both messages of succeeded invocations", WAIT, || {
        (smtp.received().len() >= 2).then_some(())
    });
    std::thread::sleep(Duration::from_millis(500));
    let mut subjects: Vec<String> = smtp
        .received()
        .iter()
        .map(|(_, m)| m["headers"]["subject"].as_str().unwrap().to_string())
        .collect();
    subjects.sort();
    assert_eq!(subjects, ["committed", "plain"]);
    let notes = host.get("/mail-probe/notes").json();
    assert_eq!(notes["notes"].as_array().unwrap().len(), 1, "{notes}");
}

#[test]
fn a_permanent_refusal_is_a_dead_letter_at_once() {
    let smtp = SmtpServer::answering(Some("550 5.7.1 relaying denied"));
    let plugins = probe_with(&format!("{}{QUICK_RETRIES}", smtp.host_toml()));
    let host = plugins.start();
    let sent = send(
        &host,
        json!({"to": ["ada@example.com"], "subject": "refused", "text": "x"}),
    );
    assert_eq!(sent.status, 201, "{}", sent.body);
    let dead = eventually("the refused message among the dead letters", WAIT, || {
        let queues = host.get("/_admin/queues").json();
        queues["dead"].as_array().and_then(|d| d.first().cloned())
    });
    assert_eq!(dead["queue"], "@mail");
    assert_eq!(dead["attempts"], 1, "a 5xx answer is not retried: {dead}");
    assert!(
        dead["last_error"]
            .as_str()
            .unwrap()
            .contains("relaying denied"),
        "{dead}"
    );
    assert!(
        dead["payload"]
            .as_str()
            .unwrap()
            .contains("\"subject\":\"refused\"")
    );
    assert_eq!(smtp.refusals(), 1);
    let (ok, listing) = plugins.cli(&["queue", "dead"]);
    assert!(ok, "{listing}");
    assert!(listing.contains("queue=@mail attempts=1"), "{listing}");
    assert!(listing.contains("1 dead job(s)"), "{listing}");
}

#[test]
fn a_temporary_refusal_is_retried_with_backoff_then_dead_lettered() {
    let smtp = SmtpServer::answering(Some("451 4.3.0 try again later"));
    let plugins = probe_with(&format!(
        "{}{QUICK_RETRIES}[mail]\nmax-attempts = 3\n",
        smtp.host_toml()
    ));
    let host = plugins.start();
    let sent = send(
        &host,
        json!({"to": ["ada@example.com"], "subject": "later", "text": "x"}),
    );
    assert_eq!(sent.status, 201, "{}", sent.body);
    let dead = eventually("the message dead after its attempts", WAIT, || {
        let queues = host.get("/_admin/queues").json();
        queues["dead"].as_array().and_then(|d| d.first().cloned())
    });
    assert_eq!(dead["attempts"], 3, "{dead}");
    assert_eq!(smtp.refusals(), 3);
}

#[test]
fn a_server_that_drops_the_connection_is_retried_then_dead_lettered() {
    // A listener that accepts and closes at once: every attempt loses its connection.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(stream);
        }
    });
    let plugins = probe_with(&format!(
        "[mail]\nmax-attempts = 2\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\n{QUICK_RETRIES}"
    ));
    let host = plugins.start();
    let sent = send(
        &host,
        json!({"to": ["ada@example.com"], "subject": "dropped", "text": "x"}),
    );
    assert_eq!(sent.status, 201, "{}", sent.body);
    let dead = eventually("the message dead after its attempts", WAIT, || {
        let queues = host.get("/_admin/queues").json();
        queues["dead"].as_array().and_then(|d| d.first().cloned())
    });
    assert_eq!(dead["attempts"], 2, "{dead}");
    assert!(accepted.load(std::sync::atomic::Ordering::SeqCst) >= 2);
    // Re-driven, it is tried again (and dies again here).
    let id = dead["id"].as_str().unwrap();
    let before = accepted.load(std::sync::atomic::Ordering::SeqCst);
    let (ok, text) = plugins.cli(&["queue", "retry", id]);
    assert!(ok, "{text}");
    eventually("another attempt after the retry", WAIT, || {
        (accepted.load(std::sync::atomic::Ordering::SeqCst) > before).then_some(())
    });
}

#[test]
fn bad_messages_are_refused_naming_the_field_and_nothing_is_queued() {
    let plugins = probe_with("[mail]\nmax-recipients = 3\nmax-message-bytes = 4096\n");
    let host = plugins.start();
    let good = json!({"to": ["ada@example.com"], "subject": "s", "text": "x"});
    let with = |key: &str, value: Value| {
        let mut spec = good.clone();
        spec[key] = value;
        spec
    };
    let cases = [
        (with("to", json!(["not an address"])), 400, "to[0]"),
        (
            with("subject", json!("hi\r\nBcc: victim@example.com")),
            400,
            "line break",
        ),
        (
            with("reply_to", json!("a@example.com\nX-Evil: 1")),
            400,
            "reply-to",
        ),
        (
            with("cc", json!(["a@x.example", "b@x.example", "c@x.example"])),
            400,
            "1 to 3",
        ),
        (
            with(
                "attachments",
                json!([{"name": "big.bin", "content_type": "application/octet-stream", "content": {"repeat": "x", "times": 5000}}]),
            ),
            400,
            "max-message-bytes",
        ),
        (
            with(
                "attachments",
                json!([{"name": "../../.bashrc", "content_type": "text/plain", "content": "x"}]),
            ),
            400,
            "is a path",
        ),
        (
            with(
                "attachments",
                json!([{"name": "a.txt", "content_type": "text/plain\r\nX: y", "content": "x"}]),
            ),
            400,
            "content-type",
        ),
        (
            with("headers", json!([["Bcc", "victim@example.com"]])),
            400,
            "may not be set",
        ),
        (
            with(
                "headers",
                json!([["X-Note", "a\r\nBcc: victim@example.com"]]),
            ),
            400,
            "line break",
        ),
        (with("from", json!("ceo@bank.example")), 403, "mail"),
    ];
    for (spec, status, says) in cases {
        let reply = send(&host, spec.clone());
        assert_eq!(reply.status, status, "{spec}: {}", reply.body);
        assert!(reply.body.contains(says), "{spec}: {}", reply.body);
    }
    let marker = send(&host, with("subject", json!("marker")));
    assert_eq!(marker.status, 201, "{}", marker.body);
    eventually("the marker in the outbox", WAIT, || {
        (!outbox_files(&plugins).is_empty()).then_some(())
    });
    std::thread::sleep(Duration::from_millis(300));
    let files = outbox_files(&plugins);
    assert_eq!(files.len(), 1, "only the marker went out: {files:?}");
}

#[test]
fn a_tenant_past_its_messages_per_minute_is_refused() {
    let plugins = probe_with("[mail]\nper-minute = 2\n");
    let host = plugins.start();
    let spec = json!({"to": ["ada@example.com"], "subject": "s", "text": "x"});
    for _ in 0..2 {
        assert_eq!(send(&host, spec.clone()).status, 201);
    }
    let refused = send(&host, spec);
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("per-minute"), "{}", refused.body);
}

#[test]
fn a_module_without_the_mail_grant_is_denied() {
    let plugins = HostBuilder::new()
        .module("mail-probe", "mail-probe")
        .edit("mail-probe", "mail = [\"*@shop.example\"]", "")
        .build();
    let host = plugins.start();
    let reply = send(
        &host,
        json!({"to": ["ada@example.com"], "subject": "s", "text": "x"}),
    );
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert!(outbox_files(&plugins).is_empty());
}

/// A private CA and a certificate it signed for `localhost` (the name the host checks),
/// made with openssl: (ca, cert, key).
fn localhost_certificate(dir: &std::path::Path) -> (PathBuf, PathBuf, PathBuf) {
    let file = |name: &str| dir.join(name);
    let openssl = |args: &[&str]| {
        let made = std::process::Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .expect("run openssl");
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=Test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "key.pem",
        "-out",
        "cert.csr",
    ]);
    std::fs::write(
        file("leaf.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(&[
        "x509",
        "-req",
        "-in",
        "cert.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "1",
        "-extfile",
        "leaf.ext",
        "-out",
        "cert.pem",
    ]);
    (file("ca.pem"), file("cert.pem"), file("key.pem"))
}

#[test]
fn mail_goes_out_over_starttls_with_a_login_and_a_bad_password_is_a_dead_letter() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = localhost_certificate(dir.path());
    let smtp = SmtpServer::secured(&cert, &key, "shop", "s3cret");
    let settings = |password: &str| {
        format!(
            "{QUICK_RETRIES}[mail.smtp]\nhost = \"localhost\"\nport = {}\ntls = \"starttls\"\n\
             username = \"shop\"\npassword = \"{password}\"\nca-file = \"{}\"\ntimeout-ms = 3000\n",
            smtp.port,
            ca.display()
        )
    };
    let plugins = probe_with(&settings("s3cret"));
    let host = plugins.start();
    let sent = send(
        &host,
        json!({"to": ["ada@example.com"], "subject": "over tls", "text": "x"}),
    );
    assert_eq!(sent.status, 201, "{}", sent.body);
    let (_, message) = eventually("the message over STARTTLS", WAIT, || smtp.received().pop());
    assert_eq!(message["headers"]["subject"], "over tls");
    drop(host);

    let plugins = probe_with(&settings("wrong"));
    let host = plugins.start();
    let sent = send(
        &host,
        json!({"to": ["ada@example.com"], "subject": "refused login", "text": "x"}),
    );
    assert_eq!(sent.status, 201, "{}", sent.body);
    let dead = eventually("the message refused for its login", WAIT, || {
        let queues = host.get("/_admin/queues").json();
        queues["dead"].as_array().and_then(|d| d.first().cloned())
    });
    assert_eq!(
        dead["attempts"], 1,
        "a refused login is not retried: {dead}"
    );
    assert_eq!(smtp.received().len(), 1);
}

#[test]
fn mail_goes_out_over_implicit_tls_and_a_certificate_of_an_unknown_ca_is_never_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = localhost_certificate(dir.path());
    let smtp = SmtpServer::implicit_tls(&cert, &key);
    let settings = |trust: &str| {
        format!(
            "{QUICK_RETRIES}[mail]\nmax-attempts = 2\n[mail.smtp]\nhost = \"localhost\"\nport = {}\n\
             tls = \"tls\"\ntimeout-ms = 3000\n{trust}",
            smtp.port
        )
    };
    let trusted = probe_with(&settings(&format!("ca-file = \"{}\"\n", ca.display())));
    let host = trusted.start();
    let sent = send(
        &host,
        json!({"to": ["ada@example.com"], "subject": "smtps", "text": "x"}),
    );
    assert_eq!(sent.status, 201, "{}", sent.body);
    let (_, message) = eventually("the message over TLS", WAIT, || smtp.received().pop());
    assert_eq!(message["headers"]["subject"], "smtps");
    drop(host);

    // Without the CA the certificate is not trusted: nothing is sent, and it dies.
    let untrusted = probe_with(&settings(""));
    let host = untrusted.start();
    let sent = send(
        &host,
        json!({"to": ["ada@example.com"], "subject": "never", "text": "x"}),
    );
    assert_eq!(sent.status, 201, "{}", sent.body);
    let dead = eventually(
        "the message dead for an untrusted certificate",
        WAIT,
        || {
            let queues = host.get("/_admin/queues").json();
            queues["dead"].as_array().and_then(|d| d.first().cloned())
        },
    );
    assert!(
        dead["last_error"].as_str().unwrap().contains("certificate"),
        "{dead}"
    );
    assert_eq!(smtp.received().len(), 1);
}
