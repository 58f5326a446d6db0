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

/// Capability sections kept as raw TOML until their capability reads them.
pub type Sections = std::collections::BTreeMap<String, toml::Value>;

/// Section `name` parsed into its settings type; absent is the default. Errors start with
/// `label` and the section, e.g. `host.toml [queue]: unknown field `pol-ms``.
pub(crate) fn section<T: serde::de::DeserializeOwned + Default>(
    sections: &Sections,
    label: &str,
    name: &str,
) -> Result<T, String> {
    let Some(value) = sections.get(name) else {
        return Ok(T::default());
    };
    value
        .clone()
        .try_into()
        .map_err(|e: toml::de::Error| format!("{label}[{name}]: {}", e.message().trim_end()))
}

/// Refuses a key of `file` that is neither one of the file's own `keys` nor one of
/// `readers` (the sections the capabilities read), naming every key the host reads.
pub(crate) fn unknown_keys(
    sections: &Sections,
    file: &str,
    keys: &[&str],
    readers: &[&str],
) -> Result<(), String> {
    let Some(key) = sections.keys().find(|k| !readers.contains(&k.as_str())) else {
        return Ok(());
    };
    let mut known: Vec<&str> = keys.iter().chain(readers).copied().collect();
    known.sort_unstable();
    Err(format!(
        "unknown key '{key}' in {file}; this host reads: {}",
        known.join(", ")
    ))
}

/// A configured URL (database, backplane) without its password, for messages.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let Some((credentials, host)) = rest.split_once('@') else {
        return url.to_string();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://app:s3cret@db:5432/x"),
            "postgres://app:***@db:5432/x"
        );
        assert_eq!(redact("sqlite://data/x.db"), "sqlite://data/x.db");
    }
}
