//! A Python module (componentize-py) through the same host.

use crate::harness::Host;

#[test]
fn the_python_hello_module_answers_its_public_contract() {
    let host = Host::with_modules(&[("hello-py", "hello-py"), ("hello-rust", "hello-rust")]);
    let reply = host.get("/hello-py/Ada");
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body, "Hello, Ada! (python)");
    assert_eq!(
        host.get("/hello-py/Grace%20Hopper").body,
        "Hello, Grace Hopper! (python)",
        "params are percent-decoded"
    );
    assert_eq!(
        host.request("POST", "/hello-py/Ada", &[], Vec::new())
            .status,
        405
    );
    assert_eq!(host.get("/hello-rust/Ada").body, "Hello, Ada! (rust)");
}
