//! What users write: `plugin.toml` (a module's manifest) and `host.toml` (tenants, limits, server).

pub mod host_config;
pub mod manifest;
pub mod scope;

pub use host_config::{HostConfig, ServerConfig, TenantConfig};
pub use manifest::{HttpRoute, Manifest, ModuleLimits};
pub use scope::ScopeSet;

/// Reads and parses a TOML file, naming the file in every error.
pub(crate) fn read_toml<T: serde::de::DeserializeOwned>(
    path: &std::path::Path,
) -> Result<T, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("{} is not valid: {e}", path.display()))
}
