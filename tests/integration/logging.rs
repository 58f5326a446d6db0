//! Log lines carry module, tenant and request id; guest output is captured into them.

use std::time::Duration;

use crate::harness::{Host, message};

#[test]
fn guest_stdout_stderr_and_log_calls_become_log_lines_tagged_with_module_tenant_and_request_id() {
    let host = Host::with_modules(&[("probe", "probe")]);
    let reply = host.get("/probe/output");
    assert_eq!(reply.status, 200);
    let id = reply.header("x-request-id").unwrap().to_string();
    for (text, stream) in [
        ("probe stdout line", Some("stdout")),
        ("probe stderr line", Some("stderr")),
        ("probe log line for", None),
    ] {
        let line = host.wait_for_log(Duration::from_secs(5), |l| message(l).starts_with(text));
        assert_eq!(line["module"], "probe", "{line}");
        assert_eq!(line["span"]["request_id"], id.as_str(), "{line}");
        assert_eq!(line["span"]["module"], "probe", "{line}");
        assert_eq!(line["span"]["tenant"], "default", "{line}");
        if let Some(stream) = stream {
            assert_eq!(line["stream"], stream);
        }
    }
    assert!(
        message(&host.wait_for_log(Duration::from_secs(5), |l| {
            message(l).starts_with("probe log line")
        }))
        .ends_with(&id)
    );
}

#[test]
fn request_log_lines_carry_the_request_span_in_json() {
    let host = Host::with_modules(&[("probe", "probe")]);
    let reply = host.get("/probe/trap");
    let id = reply.header("x-request-id").unwrap().to_string();
    let line = host.wait_for_log(Duration::from_secs(5), |l| {
        l["span"]["request_id"] == id.as_str()
    });
    assert_eq!(line["span"]["module"], "probe");
    assert_eq!(line["span"]["tenant"], "default");
    assert!(line["timestamp"].is_string() && line["level"].is_string());
}
