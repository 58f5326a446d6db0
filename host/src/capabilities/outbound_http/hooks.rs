//! The check of each outgoing request: its authority against the module's grant. A
//! refusal is `HTTP-request-denied` to the component, a warning naming the host and the
//! fix, and the module's `denied` counter.

use std::sync::Arc;

use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

use super::NAME;
use crate::runtime::ModuleContext;
use crate::runtime::outbound::OutgoingResult;

/// Lets requests out to the hosts the module's grant covers.
pub struct GrantedHosts {
    module: Arc<ModuleContext>,
}

impl GrantedHosts {
    /// Hooks for one invocation of `module`.
    pub fn new(module: Arc<ModuleContext>) -> Self {
        GrantedHosts { module }
    }

    /// Whether the grant covers `host:port`, or `host` alone when the port is the
    /// scheme's default; a refusal is counted and logged with what to change.
    fn allows(&self, uri: &hyper::Uri) -> bool {
        let host = uri.host().unwrap_or_default().to_ascii_lowercase();
        let default_port = if uri.scheme_str() == Some("http") {
            80
        } else {
            443
        };
        let port = uri.port_u16().unwrap_or(default_port);
        if port == default_port && self.module.grant.check(NAME, &host).is_ok() {
            return true;
        }
        self.module.check(NAME, &format!("{host}:{port}")).is_ok()
    }
}

impl WasiHttpHooks for GrantedHosts {
    fn send_request(
        &mut self,
        request: hyper::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<dyn Future<Output = OutgoingResult> + Send> {
        if !self.allows(request.uri()) {
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        let _ = fut;
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::{GrantedHosts, NAME};
    use crate::config::{ScopeSet, TenantConfig};
    use crate::runtime::{Grant, InvocationLimits, ModuleContext};

    fn hooks(requested: &[&str], allowed: &[&str]) -> GrantedHosts {
        let tenant = TenantConfig {
            allow: BTreeMap::from([(NAME.into(), ScopeSet::of(allowed.iter().copied()))]),
            ..TenantConfig::default()
        };
        let request = BTreeMap::from([(NAME.into(), ScopeSet::of(requested.iter().copied()))]);
        let (grant, _) = Grant::resolve(&request, "t", &tenant);
        GrantedHosts::new(Arc::new(ModuleContext {
            name: "m".into(),
            version: "1".into(),
            tenant: "t".into(),
            grant,
            config: BTreeMap::new(),
            limits: InvocationLimits {
                deadline: std::time::Duration::from_secs(1),
                memory_bytes: 1 << 20,
            },
            metrics: Arc::default(),
            parts: Default::default(),
            claims: Vec::new(),
            max_queued_jobs: 100,
            dev_sources: None,
        }))
    }

    fn allows(hooks: &GrantedHosts, uri: &str) -> bool {
        hooks.allows(&uri.parse().unwrap())
    }

    #[test]
    fn a_host_is_reached_on_its_schemes_default_port_or_on_a_port_listed_with_it() {
        let h = hooks(&["api.example.com", "127.0.0.1:8080"], &["*"]);
        assert!(allows(&h, "https://api.example.com/v1"));
        assert!(allows(&h, "http://api.example.com/v1"));
        assert!(
            allows(&h, "https://API.Example.COM/v1"),
            "host names ignore case"
        );
        assert!(allows(&h, "http://127.0.0.1:8080/x"));
        assert!(
            !allows(&h, "https://api.example.com:8443/v1"),
            "another port"
        );
        assert!(
            !allows(&h, "http://api.example.com:443/"),
            "443 is not http's port"
        );
        assert!(!allows(&h, "http://127.0.0.1:8081/x"));
        assert!(!allows(&h, "http://127.0.0.1/x"));
    }

    #[test]
    fn look_alike_hosts_userinfo_and_other_spellings_of_a_granted_host_are_refused() {
        let h = hooks(&["*.example.com"], &["*"]);
        assert!(allows(&h, "https://a.example.com/"));
        for uri in [
            "https://a.example.com.evil.test/",
            "https://example.com.evil.test/",
            "https://evilexample.com/",
            "https://a.example.com@evil.test/",
            "https://a.example.com.:443/",
            "http://[::1]/",
            "http://localhost/",
            "http://2130706433/",
        ] {
            assert!(!allows(&h, uri), "{uri}");
        }
        let metrics = &h.module.metrics;
        assert_eq!(
            metrics.denied.load(std::sync::atomic::Ordering::Relaxed),
            8,
            "every refusal is counted"
        );
    }

    #[test]
    fn the_tenant_bounds_what_a_manifest_may_request() {
        let h = hooks(&["api.example.com", "internal.corp"], &["*.example.com"]);
        assert!(allows(&h, "https://api.example.com/"));
        assert!(!allows(&h, "https://internal.corp/"));
    }
}
