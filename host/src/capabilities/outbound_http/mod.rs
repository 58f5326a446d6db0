//! `outbound-http`: outgoing `wasi:http` requests. The runtime links `wasi:http` (its
//! types carry incoming requests to standard components), and refuses every outgoing
//! request unless this capability put its hooks into the invocation: then a request goes
//! out only to a host the module's grant covers. The grant's scopes are authorities:
//! `api.example.com` (default port of the scheme), `127.0.0.1:8080`, `*.example.com`;
//! a module reaches only hosts both it requests and its tenant allows.
//!
//! ```toml
//! # plugin.toml                                  # host.toml
//! [capabilities]                                 [tenants.acme.allow]
//! outbound-http = ["api.example.com"]            outbound-http = ["*.example.com"]
//! ```

mod hooks;
mod life_cycle;

use crate::runtime::CapabilityDescriptor;

/// The capability's name in manifests, tenant allowances and denials.
pub const NAME: &str = "outbound-http";

/// The outbound-http capability.
pub const CAPABILITY: CapabilityDescriptor = CapabilityDescriptor {
    name: NAME,
    interface: "wasi:http/outgoing-handler",
    // WASI 0.3's outgoing requests.
    standard_interfaces: &["wasi:http/client"],
    always_granted: false,
    // The runtime links all of wasi:http; this capability decides per invocation.
    link: |_| Ok(()),
    start: Some(|_| Ok(std::sync::Arc::new(life_cycle::OutboundHttp))),
    manifest_section: None,
    host_section: None,
    configure: None,
    handler: None,
};
