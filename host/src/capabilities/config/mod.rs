//! `config`: per-module configuration values and secrets. Values come from the manifest's
//! `[config]`, overridden by `host.toml` `[modules.NAME.config]`. The grant's scopes are key
//! patterns: a module reads only keys both it requests and its tenant allows.

mod host;
mod wasi;

use crate::runtime::CapabilityDescriptor;
use crate::runtime::bindings::plughost::platform::config;

/// The config capability.
pub const CAPABILITY: CapabilityDescriptor = CapabilityDescriptor {
    name: "config",
    interface: "plughost:platform/config",
    standard_interfaces: &["wasi:config/store"],
    always_granted: false,
    link: |linker| {
        config::add_to_linker::<_, host::ConfigCapability>(linker, |state| host::ConfigView {
            module: &state.module,
        })?;
        wasi::store::add_to_linker::<_, host::ConfigCapability>(linker, |state| host::ConfigView {
            module: &state.module,
        })
    },
    start: None,
    manifest_section: None,
    host_section: None,
    configure: None,
    handler: None,
};

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::host::ConfigView;
    use crate::config::{ScopeSet, TenantConfig};
    use crate::runtime::bindings::GuestError;
    use crate::runtime::bindings::plughost::platform::config::Host;
    use crate::runtime::{Grant, InvocationLimits, ModuleContext};

    fn module(requested: &[&str], allowed: &[&str]) -> ModuleContext {
        let tenant = TenantConfig {
            allow: BTreeMap::from([("config".into(), ScopeSet::of(allowed.iter().copied()))]),
            ..TenantConfig::default()
        };
        let request = BTreeMap::from([("config".into(), ScopeSet::of(requested.iter().copied()))]);
        let (grant, _) = Grant::resolve(&request, "t", &tenant);
        ModuleContext {
            name: "m".into(),
            version: "1".into(),
            tenant: "t".into(),
            grant,
            config: BTreeMap::from([
                ("greeting".into(), "hi".into()),
                ("secret".into(), "s3".into()),
            ]),
            limits: InvocationLimits {
                deadline: std::time::Duration::from_secs(1),
                memory_bytes: 1 << 20,
            },
            metrics: Arc::default(),
            parts: Default::default(),
            claims: Vec::new(),
            max_queued_jobs: 100,
            dev_sources: None,
        }
    }

    #[test]
    fn a_granted_key_reads_its_value_and_an_unset_one_reads_none() {
        let m = module(&["greeting", "missing"], &["*"]);
        let mut view = ConfigView { module: &m };
        assert_eq!(view.get("greeting".into()), Ok(Some("hi".into())));
        assert_eq!(view.get("missing".into()), Ok(None));
    }

    #[test]
    fn a_key_outside_the_grant_is_denied_naming_capability_and_key_and_counted() {
        let m = module(&["greeting"], &["*"]);
        let mut view = ConfigView { module: &m };
        let Err(GuestError::Denied(message)) = view.get("secret".into()) else {
            panic!("not denied")
        };
        assert!(message.starts_with("config: 'secret'"), "{message}");
        assert_eq!(
            m.metrics.denied.load(std::sync::atomic::Ordering::Relaxed),
            1
        );
    }

    #[test]
    fn the_tenant_bounds_what_a_module_may_request() {
        let m = module(&["*"], &["greeting"]);
        let mut view = ConfigView { module: &m };
        assert!(matches!(
            view.get("secret".into()),
            Err(GuestError::Denied(_))
        ));
        assert_eq!(view.get("greeting".into()), Ok(Some("hi".into())));
    }
}
