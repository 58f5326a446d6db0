//! `plugin.toml`: a module's name, tenant, HTTP mount, requested capabilities and limits.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use serde::de::DeserializeOwned;

use super::ScopeSet;

/// File name of a module's manifest inside its folder.
pub const MANIFEST_FILE: &str = "plugin.toml";

/// A module's manifest: what the host itself reads, and each capability's own section,
/// kept as TOML until that capability reads it when the module loads.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Manifest {
    /// Unique module name (letters, digits, `-`, `_`).
    pub name: String,
    /// The module's own version, shown by the admin API.
    #[serde(default = "default_version")]
    pub version: String,
    /// The tenant the author expects the module to belong to. The operator decides
    /// (`[tenants.NAME] modules` in host.toml); a tenant named here is only checked
    /// against that assignment.
    pub tenant: Option<String>,
    /// The component file, relative to the folder; default: the folder's only `.wasm`.
    pub component: Option<String>,
    /// HTTP mount and routes.
    pub http: Option<HttpSection>,
    /// Requested capabilities and their scopes, e.g. `config = ["greeting"]`.
    #[serde(default)]
    pub capabilities: BTreeMap<String, ScopeSet>,
    /// Per-invocation limits, overriding the host's defaults.
    #[serde(default)]
    pub limits: ModuleLimits,
    /// Whether an instance serves more than one invocation (`[instances]`).
    #[serde(default)]
    pub instances: InstanceSettings,
    /// Configuration values the module reads through the `config` capability.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    /// Every other top-level key: a capability's section (`[models]`, `[events]`,
    /// `[queue]`, `[ws]`, …), read and checked by that capability's *configure*; a key no
    /// capability reads is refused there ([`Manifest::unknown_sections`]).
    #[serde(flatten)]
    pub sections: super::Sections,
}

/// The keys the host itself reads; every other key is a capability's section.
pub const KEYS: &[&str] = &[
    "name",
    "version",
    "tenant",
    "component",
    "http",
    "capabilities",
    "limits",
    "instances",
    "config",
];

/// Where a module mounts and which routes it serves.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSection {
    /// Path prefix, e.g. `/hello-rust`.
    pub prefix: String,
    /// Routes relative to the prefix.
    #[serde(default)]
    pub routes: Vec<HttpRoute>,
    /// A folder of the module (e.g. `"public"`) whose files the host serves at the prefix
    /// for GET requests no route matches; `index.html` for folders.
    pub public: Option<String>,
}

/// One declared route.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HttpRoute {
    /// HTTP method, or `ANY`.
    #[serde(default = "any_method")]
    pub method: String,
    /// Path pattern with `{param}` and `{*rest}` segments, e.g. `/{name}`.
    pub path: String,
}

/// Per-invocation limits a manifest may set.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ModuleLimits {
    /// Wall-clock deadline of one invocation, in milliseconds.
    pub deadline_ms: Option<u64>,
    /// Memory cap of one instance, in MiB.
    pub memory_mib: Option<u64>,
}

/// `[instances]`: warm-instance reuse (SPEC §3). Off by default: a fresh instance per
/// invocation. With `reuse = N`, an instance serves up to N invocations, one at a time,
/// of this module only; one that trapped or hit a limit is never reused.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct InstanceSettings {
    /// Invocations one instance serves before it is dropped (1: fresh every time).
    #[serde(default = "one")]
    pub reuse: u32,
    /// Seconds an idle instance is kept.
    #[serde(default = "sixty")]
    pub idle_seconds: u64,
    /// Idle instances kept at most (each holds its memory).
    #[serde(default = "four")]
    pub max_idle: u32,
}

impl Default for InstanceSettings {
    fn default() -> Self {
        InstanceSettings {
            reuse: 1,
            idle_seconds: 60,
            max_idle: 4,
        }
    }
}

impl InstanceSettings {
    fn validate(&self) -> Result<(), String> {
        if !(1..=1_000_000).contains(&self.reuse) {
            return Err(format!(
                "[instances] reuse = {} must be 1 (a fresh instance per invocation) to 1000000",
                self.reuse
            ));
        }
        if !(1..=3600).contains(&self.idle_seconds) {
            return Err(format!(
                "[instances] idle-seconds = {} must be 1 to 3600",
                self.idle_seconds
            ));
        }
        if !(1..=64).contains(&self.max_idle) {
            return Err(format!(
                "[instances] max-idle = {} must be 1 to 64",
                self.max_idle
            ));
        }
        Ok(())
    }
}

fn one() -> u32 {
    1
}

fn sixty() -> u64 {
    60
}

fn four() -> u32 {
    4
}

fn default_version() -> String {
    "0.0.0".into()
}

fn any_method() -> String {
    "ANY".into()
}

const METHODS: &[&str] = &[
    "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "ANY",
];

impl Manifest {
    /// Reads and validates `dir/plugin.toml`; every error names the file and what to fix.
    pub fn load(dir: &Path) -> Result<Manifest, String> {
        let path = dir.join(MANIFEST_FILE);
        let mut manifest: Manifest = super::read_toml(&path)?;
        manifest.normalize();
        manifest
            .validate()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(manifest)
    }

    /// Parses and validates manifest text read from `path` (named in every error).
    pub fn parse(text: &str, path: &Path) -> Result<Manifest, String> {
        let mut manifest: Manifest =
            toml::from_str(text).map_err(|e| format!("{} is not valid: {e}", path.display()))?;
        manifest.normalize();
        manifest
            .validate()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(manifest)
    }

    /// A capability's section parsed into its settings type; absent is the default.
    /// Errors name the section, e.g. `[events]: unknown field `subscrib`` (the loader puts
    /// the manifest's path before it).
    pub fn section<T: DeserializeOwned + Default>(&self, name: &str) -> Result<T, String> {
        super::section(&self.sections, "", name)
    }

    /// Refuses a key that neither the host nor any of `sections` (the capabilities'
    /// sections) reads.
    pub fn unknown_sections(&self, sections: &[&str]) -> Result<(), String> {
        super::unknown_keys(&self.sections, MANIFEST_FILE, KEYS, sections)
    }

    fn normalize(&mut self) {
        if let Some(http) = &mut self.http {
            for route in &mut http.routes {
                route.method = route.method.to_ascii_uppercase();
            }
        }
    }

    /// Checks names, prefix and routes.
    pub fn validate(&self) -> Result<(), String> {
        if !is_identifier(&self.name) {
            return Err(format!(
                "module name '{}' must be non-empty and use only letters, digits, '-' and '_'",
                self.name
            ));
        }
        if let Some(tenant) = &self.tenant
            && !is_identifier(tenant)
        {
            return Err(format!(
                "tenant '{tenant}' must use only letters, digits, '-' and '_'"
            ));
        }
        if let Some(http) = &self.http {
            validate_http(http)?;
        }
        self.instances.validate()
    }
}

fn validate_http(http: &HttpSection) -> Result<(), String> {
    let prefix = &http.prefix;
    if !prefix.starts_with('/') || (prefix.len() > 1 && prefix.ends_with('/')) {
        return Err(format!(
            "http.prefix '{prefix}' must start with '/' and not end with '/' (e.g. \"/todos\")"
        ));
    }
    if let Some(public) = &http.public
        && (public.is_empty() || public.starts_with('/') || public.split('/').any(|p| p == ".."))
    {
        return Err(format!(
            "http.public '{public}' must be a folder inside the module's folder, e.g. \"public\""
        ));
    }
    if prefix.starts_with("/_") {
        return Err(format!(
            "http.prefix '{prefix}' starts with '/_', which the host keeps for its own routes \
             (/_admin, /_storage); choose another prefix"
        ));
    }
    for route in &http.routes {
        if !METHODS.contains(&route.method.as_str()) {
            return Err(format!(
                "route method '{}' is not one of {}",
                route.method,
                METHODS.join(", ")
            ));
        }
        if !route.path.starts_with('/') {
            return Err(format!("route path '{}' must start with '/'", route.path));
        }
    }
    Ok(())
}

/// Letters, digits, `-` and `_`; not empty.
pub fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, String> {
        let mut m: Manifest = toml::from_str(text).map_err(|e| e.to_string())?;
        m.normalize();
        m.validate()?;
        Ok(m)
    }

    #[test]
    fn a_minimal_manifest_gets_defaults() {
        let m = parse("name = \"hello\"").unwrap();
        assert_eq!(m.tenant, None);
        assert_eq!(m.version, "0.0.0");
        assert!(m.http.is_none());
    }

    #[test]
    fn unknown_keys_are_refused_with_their_name() {
        let m = parse("name = \"x\"\nroutes = []").unwrap();
        let err = m.unknown_sections(&["events"]).unwrap_err();
        assert!(err.contains("'routes'"), "{err}");
        assert!(err.contains("events"), "{err}");
        let err = parse("name = \"x\"\n[http]\nprefix = \"/x\"\nprefx = 1").unwrap_err();
        assert!(err.contains("prefx"), "{err}");
    }

    #[test]
    fn a_section_is_parsed_by_its_reader_and_errors_name_it() {
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Events {
            #[allow(dead_code)]
            subscribe: Vec<String>,
        }
        let m = parse("name = \"x\"\n[events]\nsubscrib = []").unwrap();
        let err = m.section::<Events>("events").unwrap_err();
        assert!(
            err.starts_with("[events]: ") && err.contains("subscrib"),
            "{err}"
        );
        assert!(m.unknown_sections(&["events"]).is_ok());
        assert!(m.section::<Events>("queue").is_ok());
    }

    #[test]
    fn bad_prefixes_and_methods_are_refused() {
        let err = parse("name = \"x\"\n[http]\nprefix = \"x/\"").unwrap_err();
        assert!(err.contains("must start with '/'"), "{err}");
        let err = parse(
            "name = \"x\"\n[http]\nprefix = \"/x\"\nroutes = [{method = \"FETCH\", path = \"/\"}]",
        )
        .unwrap_err();
        assert!(err.contains("FETCH"), "{err}");
    }

    #[test]
    fn module_names_must_be_identifiers() {
        assert!(
            parse("name = \"../etc\"")
                .unwrap_err()
                .contains("module name")
        );
    }

    #[test]
    fn methods_are_case_insensitive() {
        let m = parse(
            "name = \"x\"\n[http]\nprefix = \"/x\"\nroutes = [{method = \"get\", path = \"/\"}]",
        )
        .unwrap();
        assert_eq!(m.http.unwrap().routes[0].method, "GET");
    }
}
