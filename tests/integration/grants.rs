//! Effective grant = requested ∩ tenant's allowance; calls outside it are denied (403).

use crate::harness::{Host, HostOptions};

#[test]
fn a_granted_config_key_is_read_and_host_toml_overrides_the_manifest() {
    let options = HostOptions {
        config: Some(
            "[modules.probe.config]\n\"public.colour\" = \"green from host.toml\"\n".into(),
        ),
        ..Default::default()
    };
    let host = Host::with_options(&[("probe", "probe")], options);
    let reply = host.get("/probe/config/greeting");
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "hi from the manifest")
    );
    let reply = host.get("/probe/config/public.colour");
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, "green from host.toml")
    );
    let reply = host.get("/probe/config/public.unset");
    assert_eq!(reply.status, 404, "granted but unset");
}

#[test]
fn a_key_the_module_did_not_request_is_denied_naming_the_capability() {
    let host = Host::with_modules(&[("probe", "probe")]);
    let reply = host.get("/probe/config/secret");
    assert_eq!(reply.status, 403, "{}", reply.body);
    let error = &reply.json()["error"];
    assert_eq!(error["code"], "denied");
    let message = error["message"].as_str().unwrap();
    assert!(message.starts_with("config: 'secret'"), "{message}");
    assert_eq!(host.status_of("probe")["serving"]["metrics"]["denied"], 1);
}

#[test]
fn a_tenant_bounds_what_its_modules_are_granted() {
    let options = HostOptions {
        config: Some("[tenants.default.allow]\nconfig = [\"public.*\"]\n".into()),
        ..Default::default()
    };
    let host = Host::with_options(&[("probe", "probe")], options);
    // Requested by the module but outside the tenant's allowance.
    let reply = host.get("/probe/config/greeting");
    assert_eq!(reply.status, 403);
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tenant"),
        "{}",
        reply.body
    );
    // Inside both.
    assert_eq!(host.get("/probe/config/public.colour").body, "blue");
}

#[test]
fn a_tenant_without_the_capability_denies_every_call_and_the_load_warns() {
    let options = HostOptions {
        config: Some("[tenants.default]\n".into()),
        ..Default::default()
    };
    let host = Host::with_options(&[("probe", "probe")], options);
    let reply = host.get("/probe/config/public.colour");
    assert_eq!(reply.status, 403);
    assert!(
        reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no 'config' capability")
    );
    host.wait_for_log(std::time::Duration::from_secs(5), |l| {
        l["level"] == "WARN" && crate::harness::message(l).contains("may not be granted it")
    });
}

#[test]
fn a_module_of_an_undefined_tenant_is_refused_with_what_to_do() {
    let options = HostOptions {
        config: Some("[tenants.acme]\n".into()),
        ..Default::default()
    };
    let host = Host::with_options(&[("probe", "probe")], options);
    let status = host.status_of("probe");
    assert_eq!(status["state"], "failed");
    let error = status["last_error"].as_str().unwrap();
    assert!(
        error.contains("tenant 'default' is not defined") && error.contains("[tenants.default]"),
        "{error}"
    );
    assert_eq!(host.get("/probe/hello/x").status, 404);
}
