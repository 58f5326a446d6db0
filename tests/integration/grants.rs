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
        config: Some(
            "[tenants.default]\nmodules = [\"*\"]\n[tenants.default.allow]\nconfig = [\"public.*\"]\n"
                .into(),
        ),
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
        config: Some("[tenants.default]\nmodules = [\"probe\"]\n".into()),
        ..Default::default()
    };
    let host = Host::with_options(&[("probe", "probe")], options);
    let reply = host.get("/probe/config/public.colour");
    assert_eq!(reply.status, 403);
    // The fix is the operator's, in host.toml: the refusal says so.
    let message = reply.json()["error"]["message"].clone();
    let message = message.as_str().unwrap();
    assert!(
        message.contains("[tenants.default.allow] config in host.toml"),
        "{message}"
    );
    host.wait_for_log(std::time::Duration::from_secs(5), |l| {
        l["level"] == "WARN" && crate::harness::message(l).contains("may not be granted it")
    });
}

#[test]
fn a_folder_no_tenant_claims_is_refused_with_what_to_do() {
    let options = HostOptions {
        config: Some("[tenants.acme]\nmodules = [\"shop-*\"]\n".into()),
        ..Default::default()
    };
    let host = Host::with_options(&[("probe", "probe")], options);
    let status = host.status_of("probe");
    assert_eq!(status["state"], "failed");
    let error = status["last_error"].as_str().unwrap();
    assert!(
        error.contains("no tenant claims the plugin folder 'probe'")
            && error.contains("modules = [\"probe\"]"),
        "{error}"
    );
    assert_eq!(host.get("/probe/hello/x").status, 404);
}

#[test]
fn host_toml_assigns_folders_to_tenants_by_glob_and_a_manifest_tenant_must_agree() {
    let options = HostOptions {
        config: Some(
            "[tenants.acme]\nmodules = [\"pro*\"]\n[tenants.acme.allow]\nconfig = true\n\
             [tenants.other]\nmodules = [\"hello-*\"]\n"
                .into(),
        ),
        ..Default::default()
    };
    let host = Host::with_options(&[("probe", "probe"), ("hello-rust", "hello-rust")], options);
    assert_eq!(host.status_of("probe")["serving"]["tenant"], "acme");
    assert_eq!(host.status_of("hello-rust")["serving"]["tenant"], "other");
    assert_eq!(host.get("/probe/config/greeting").status, 200);
    let manifest = host.plugins.join("probe/plugin.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    crate::harness::write_atomic(
        &manifest,
        text.replace(
            "version = \"0.1.0\"",
            "version = \"0.1.0\"\ntenant = \"acme\"\n# agrees",
        )
        .as_bytes(),
    );
    host.wait_for_log(std::time::Duration::from_secs(10), |l| {
        crate::harness::message(l).contains("swapped in")
    });
    assert!(host.status_of("probe")["last_error"].is_null());
}
