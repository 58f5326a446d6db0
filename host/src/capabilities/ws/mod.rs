//! `ws`: inbound WebSockets. A module owns namespaces (`[ws] namespaces = ["/chat"]`),
//! served on the HTTP port; the host authenticates the handshake (JWT), keeps sockets,
//! rooms (`user:{id}` for each authenticated socket) and presence, and calls the module's
//! `ws-handler` for connects, messages and disconnects. Connections outlive a swap of
//! their module: the next message goes to the new version. The grant's scopes are
//! namespaces.

pub mod auth;
pub mod handler;
mod host;
pub mod hub;
mod life_cycle;
pub mod rules;

use serde::{Deserialize, Serialize};

pub use auth::WsConfig;
pub use host::{CurrentSocket, WsInvocation};
pub use hub::Hub;

use crate::runtime::bindings::plughost::platform::ws;
use crate::runtime::module::PathClaim;
use crate::runtime::state::PREPARED;
use crate::runtime::{CapabilityDescriptor, Handler, ModuleContext};

/// The ws capability.
pub const CAPABILITY: CapabilityDescriptor = CapabilityDescriptor {
    name: "ws",
    interface: "plughost:platform/ws",
    standard_interfaces: &[],
    always_granted: false,
    link: |linker| {
        ws::add_to_linker::<_, host::WsCapability>(linker, |state| host::WsView {
            module: &state.module,
            ws: state.capabilities.get().expect(PREPARED),
        })
    },
    start: Some(life_cycle::start),
    manifest_section: Some("ws"),
    host_section: Some("ws"),
    configure: Some(|manifest, context| {
        let spec: WsSpec = manifest.section("ws")?;
        spec.validate()?;
        let rules = rules::EventRules::compile(&spec.events)?;
        let namespaces = spec.granted(context);
        context.claims.extend(namespaces.iter().map(|ns| PathClaim {
            path: ns.clone(),
            kind: "WebSocket namespace",
        }));
        context.parts.insert(WsModule { namespaces, rules });
        Ok(())
    }),
    handler: Some(Handler {
        export: "ws-handler",
        declared_by: "[ws] namespaces",
        declared: |manifest| {
            manifest
                .section::<WsSpec>("ws")
                .is_ok_and(|spec| !spec.namespaces.is_empty())
        },
    }),
};

/// A module's WebSocket part: the namespaces it serves (those its grant covers) and the
/// rules checked before its handler runs.
pub struct WsModule {
    /// Namespaces it serves.
    pub namespaces: Vec<String>,
    /// Per-event schema, claims and rate.
    pub rules: rules::EventRules,
}

/// `[ws]` in plugin.toml.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WsSpec {
    /// Namespaces the module serves, e.g. `/chat`.
    #[serde(default)]
    pub namespaces: Vec<String>,
    /// Per-event rules: payload schema, rate limit, required claims.
    #[serde(default)]
    pub events: std::collections::BTreeMap<String, rules::EventRuleSpec>,
}

impl WsSpec {
    /// Checks every namespace and compiles the event rules.
    pub fn validate(&self) -> Result<(), String> {
        rules::EventRules::compile(&self.events)?;
        for ns in &self.namespaces {
            let ok = ns.starts_with('/')
                && ns.len() > 1
                && !ns.starts_with("/_admin")
                && ns[1..]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_/".contains(c));
            if !ok {
                return Err(format!(
                    "ws.namespaces: '{ns}' must start with '/' and use letters, digits, '-', '_' and '/' (e.g. \"/chat\")"
                ));
            }
        }
        Ok(())
    }

    /// The namespaces the grant allows; the others are refused (logged, counted).
    pub fn granted(&self, module: &ModuleContext) -> Vec<String> {
        module.granted("ws", &self.namespaces, "namespace not served")
    }
}
