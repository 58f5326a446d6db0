//! Grants: what a module may do. Effective grant = what its manifest requests ∩ what its
//! tenant allows, per capability. Every refusal names the capability and the resource.

use std::collections::BTreeMap;

use crate::config::{ScopeSet, TenantConfig};

/// A module's effective grant.
#[derive(Debug, Clone, Default)]
pub struct Grant {
    /// Capability name → (requested, allowed) scopes; a resource must be in both.
    scopes: BTreeMap<String, (ScopeSet, ScopeSet)>,
    /// Capabilities the manifest requests that the tenant does not allow → that tenant,
    /// so a refusal names host.toml, the file that can fix it.
    withheld: BTreeMap<String, String>,
}

/// A refused call: the capability and resource, and why.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("{capability}: {reason}")]
pub struct Denied {
    /// The capability that refused.
    pub capability: String,
    /// What was asked and how to obtain it.
    pub reason: String,
}

/// A requested capability that the tenant does not allow at all (reported at load).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withheld {
    /// The capability name.
    pub capability: String,
    /// The tenant that withholds it.
    pub tenant: String,
}

impl Grant {
    /// Intersects a manifest's requests with its tenant's allowances. Capabilities that
    /// the tenant does not allow are left out and returned, so the loader can warn.
    pub fn resolve(
        requested: &BTreeMap<String, ScopeSet>,
        tenant_name: &str,
        tenant: &TenantConfig,
    ) -> (Grant, Vec<Withheld>) {
        let mut grant = Grant::default();
        let mut withheld = Vec::new();
        for (capability, wanted) in requested {
            match tenant.allowance(capability) {
                Some(allowed) if !allowed.is_empty() && !wanted.is_empty() => {
                    grant
                        .scopes
                        .insert(capability.clone(), (wanted.clone(), allowed.into_owned()));
                }
                _ => {
                    grant
                        .withheld
                        .insert(capability.clone(), tenant_name.into());
                    withheld.push(Withheld {
                        capability: capability.clone(),
                        tenant: tenant_name.into(),
                    })
                }
            }
        }
        (grant, withheld)
    }

    /// Whether the capability is granted for some resource.
    pub fn has(&self, capability: &str) -> bool {
        self.scopes.contains_key(capability)
    }

    /// Allows the call only when both the request and the tenant cover `resource`.
    pub fn check(&self, capability: &str, resource: &str) -> Result<(), Denied> {
        if let Some(tenant) = self.withheld.get(capability) {
            return Err(Denied {
                capability: capability.into(),
                reason: format!(
                    "'{resource}' refused: the module requests '{capability}' but its tenant \
                     '{tenant}' may not be granted it; the operator allows it under \
                     [tenants.{tenant}.allow] {capability} in host.toml"
                ),
            });
        }
        let Some((requested, allowed)) = self.scopes.get(capability) else {
            return Err(Denied {
                capability: capability.into(),
                reason: format!(
                    "'{resource}' refused: the module's grant has no '{capability}' capability; \
                     request it under [capabilities] in plugin.toml and allow it for the tenant in host.toml"
                ),
            });
        };
        if !requested.covers(resource) {
            return Err(Denied {
                capability: capability.into(),
                reason: format!(
                    "'{resource}' is not among the scopes the module requests ({}); add it to \
                     [capabilities] {capability} in plugin.toml",
                    requested.patterns().join(", ")
                ),
            });
        }
        if !allowed.covers(resource) {
            return Err(Denied {
                capability: capability.into(),
                reason: format!(
                    "'{resource}' is outside what the tenant may be granted ({}); widen \
                     [tenants.NAME.allow] {capability} in host.toml",
                    allowed.patterns().join(", ")
                ),
            });
        }
        Ok(())
    }

    /// Granted capabilities with their requested scopes, for display.
    pub fn summary(&self) -> BTreeMap<String, Vec<String>> {
        self.scopes
            .iter()
            .map(|(k, (r, _))| (k.clone(), r.patterns().to_vec()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(allow: &[(&str, &[&str])]) -> TenantConfig {
        TenantConfig {
            allow: allow
                .iter()
                .map(|(k, v)| (k.to_string(), ScopeSet::of(v.iter().copied())))
                .collect(),
            ..TenantConfig::default()
        }
    }

    fn request(req: &[(&str, &[&str])]) -> BTreeMap<String, ScopeSet> {
        req.iter()
            .map(|(k, v)| (k.to_string(), ScopeSet::of(v.iter().copied())))
            .collect()
    }

    #[test]
    fn the_effective_grant_is_the_intersection_of_request_and_tenant() {
        let (g, withheld) = Grant::resolve(
            &request(&[("config", &["greeting", "secret"])]),
            "acme",
            &tenant(&[("config", &["greeting", "public.*"])]),
        );
        assert!(withheld.is_empty());
        assert!(g.check("config", "greeting").is_ok());
        let refused = g.check("config", "secret").unwrap_err();
        assert!(refused.reason.contains("tenant"), "{refused}");
        let refused = g.check("config", "public.colour").unwrap_err();
        assert!(refused.reason.contains("requests"), "{refused}");
    }

    #[test]
    fn a_capability_the_tenant_does_not_allow_is_withheld_and_denied() {
        let (g, withheld) = Grant::resolve(&request(&[("config", &["*"])]), "acme", &tenant(&[]));
        assert_eq!(
            withheld,
            vec![Withheld {
                capability: "config".into(),
                tenant: "acme".into()
            }]
        );
        let refused = g.check("config", "x").unwrap_err();
        assert_eq!(refused.capability, "config");
        assert!(refused.to_string().starts_with("config: "));
        // The fix is the operator's: host.toml, not plugin.toml.
        assert!(
            refused
                .reason
                .contains("[tenants.acme.allow] config in host.toml"),
            "{refused}"
        );
        assert!(!refused.reason.contains("plugin.toml"), "{refused}");
    }

    #[test]
    fn nothing_requested_means_nothing_granted() {
        let (g, _) = Grant::resolve(&BTreeMap::new(), "acme", &tenant(&[("config", &["*"])]));
        assert!(!g.has("config"));
        let refused = g.check("config", "greeting").unwrap_err();
        assert!(refused.reason.contains("plugin.toml"), "{refused}");
    }
}
