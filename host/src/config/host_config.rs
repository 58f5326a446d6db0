//! `host.toml`: server settings, default limits, tenants with what each may be granted,
//! and per-module configuration. Every field has a default, so the file is optional.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::ScopeSet;

/// The whole host configuration: what the host itself reads, and each capability's own
/// section, kept as TOML until that capability starts and reads it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct HostConfig {
    /// Listening address, body limit, cache directory.
    #[serde(default)]
    pub server: ServerConfig,
    /// Defaults and ceilings for per-invocation limits.
    #[serde(default)]
    pub limits: LimitsConfig,
    /// Tenants by name. Without any, one tenant `default` may be granted everything.
    #[serde(default)]
    pub tenants: BTreeMap<String, TenantConfig>,
    /// Per-module settings by module name.
    #[serde(default)]
    pub modules: BTreeMap<String, ModuleOverrides>,
    /// The database the ORM and the queue share.
    #[serde(default)]
    pub database: DatabaseConfig,
    /// The channel between host instances.
    #[serde(default)]
    pub backplane: BackplaneConfig,
    /// Who may use the admin API, and where it is served.
    #[serde(default)]
    pub admin: AdminConfig,
    /// Every other top-level key: a capability's section (`[events]`, `[queue]`, `[ws]`,
    /// …), read by that capability when it starts; a key no capability reads is refused
    /// then ([`HostConfig::unknown_sections`]).
    #[serde(flatten)]
    pub sections: super::Sections,
    /// The host's data folder (`data/` beside the plugins folder), where capabilities keep
    /// what they hold on disk; set by `host run` ([`HostConfig::data_beside`]).
    #[serde(skip)]
    pub data_dir: PathBuf,
    /// `host dev` only, never from a file: Python modules by name whose source folder the
    /// host mounts read-only into their instances, so an edit answers before its rebuild.
    #[serde(skip)]
    pub dev_sources: BTreeMap<String, PathBuf>,
    /// Set when no tenant was declared and the implicit `default` tenant holds every folder.
    #[serde(skip)]
    implicit_tenant: bool,
}

/// The keys host.toml has besides the capabilities' sections.
pub const KEYS: &[&str] = &[
    "server",
    "limits",
    "tenants",
    "modules",
    "database",
    "backplane",
    "admin",
];

/// The admin API (`/_admin/*`): without a token it is not served on the public listener.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AdminConfig {
    /// Bearer token the admin API requires (`Authorization: Bearer TOKEN`).
    pub token: Option<String>,
    /// A second listener for the admin API alone, e.g. `127.0.0.1:9090`; it must be a
    /// loopback address unless a token is set.
    pub listen: Option<SocketAddr>,
}

/// Where the backplane is; without one, events stay on this host.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BackplaneConfig {
    /// `redis://HOST:PORT`.
    pub url: Option<String>,
}

/// Where the ORM keeps its tables.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DatabaseConfig {
    /// `sqlite://FILE`, `postgres://…` or `mysql://…`; default: an SQLite file
    /// `data/plughost.db` beside the plugins folder.
    pub url: Option<String>,
}

/// Server settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServerConfig {
    /// Address to listen on.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Largest accepted request body, in bytes; larger bodies get 413.
    #[serde(default = "default_body_limit")]
    pub body_limit_bytes: usize,
    /// Where compiled components are cached.
    pub cache_dir: Option<PathBuf>,
}

/// Defaults for modules that set no limits, and the ceilings none may exceed.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LimitsConfig {
    /// Default deadline of one invocation.
    #[serde(default = "default_deadline_ms")]
    pub deadline_ms: u64,
    /// Default memory cap of one instance.
    #[serde(default = "default_memory_mib")]
    pub memory_mib: u64,
    /// Largest deadline a manifest may ask for.
    #[serde(default = "default_max_deadline_ms")]
    pub max_deadline_ms: u64,
    /// Largest memory cap a manifest may ask for (also the pool's slot size).
    #[serde(default = "default_max_memory_mib")]
    pub max_memory_mib: u64,
    /// Most instances alive at once across all modules (the pool's size).
    #[serde(default = "default_max_instances")]
    pub max_instances: u32,
    /// Jobs one invocation may dispatch.
    #[serde(default = "default_jobs_per_invocation")]
    pub jobs_per_invocation: usize,
    /// Events one invocation may emit.
    #[serde(default = "default_events_per_invocation")]
    pub events_per_invocation: usize,
    /// Bytes of job and event payloads one invocation may hold pending.
    #[serde(default = "default_pending_bytes")]
    pub pending_bytes_per_invocation: usize,
    /// Log lines (log interface, stdout, stderr) one invocation may write; the rest is
    /// dropped and counted.
    #[serde(default = "default_log_lines")]
    pub log_lines_per_invocation: u32,
    /// Bytes of log one invocation may write; the rest is dropped and counted.
    #[serde(default = "default_log_bytes")]
    pub log_bytes_per_invocation: usize,
    /// Largest component file the host reads, in MiB.
    #[serde(default = "default_component_mib")]
    pub component_mib: u64,
    /// Largest static file of a module's `http.public` folder the host serves, in MiB.
    #[serde(default = "default_public_file_mib")]
    pub public_file_mib: u64,
}

/// A tenant: the plugin folders it owns, what their modules may be granted, and its quotas.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TenantConfig {
    /// Globs over plugin folder names (`["shop-*", "billing"]`): the operator, not the
    /// manifest, decides which tenant a folder belongs to.
    #[serde(default)]
    pub modules: Vec<String>,
    /// Upper bound of each capability's scopes, e.g. `config = ["public.*"]`.
    #[serde(default)]
    pub allow: BTreeMap<String, ScopeSet>,
    /// Set for the implicit `default` tenant of a host.toml without tenants: it may be
    /// granted every capability with every scope.
    #[serde(skip)]
    pub allow_everything: bool,
    /// Invocations of the tenant's modules running at once (HTTP, WebSocket, events, jobs).
    #[serde(default = "default_max_concurrent")]
    pub max_concurrent: usize,
    /// Invocations that may wait for one of those slots; beyond, requests get 429.
    #[serde(default = "default_max_waiting")]
    pub max_waiting: usize,
    /// HTTP requests per second to the tenant's modules (0: no limit); beyond, 429.
    #[serde(default)]
    pub requests_per_second: u32,
    /// Requests above the rate that may arrive at once (default: one second's worth).
    pub burst: Option<u32>,
    /// Jobs of the tenant that may wait in the queue (pending or retrying).
    #[serde(default = "default_max_queued_jobs")]
    pub max_queued_jobs: u64,
}

impl Default for TenantConfig {
    fn default() -> Self {
        TenantConfig {
            modules: Vec::new(),
            allow: BTreeMap::new(),
            allow_everything: false,
            max_concurrent: default_max_concurrent(),
            max_waiting: default_max_waiting(),
            requests_per_second: 0,
            burst: None,
            max_queued_jobs: default_max_queued_jobs(),
        }
    }
}

impl TenantConfig {
    /// The most a module of this tenant may be granted of `capability`, if anything.
    pub fn allowance(&self, capability: &str) -> Option<std::borrow::Cow<'_, ScopeSet>> {
        if self.allow_everything {
            return Some(std::borrow::Cow::Owned(ScopeSet::everything()));
        }
        self.allow.get(capability).map(std::borrow::Cow::Borrowed)
    }
}

fn default_max_concurrent() -> usize {
    8
}
fn default_max_waiting() -> usize {
    256
}
fn default_max_queued_jobs() -> u64 {
    100_000
}

/// Host-side settings of one module.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ModuleOverrides {
    /// Config values (and secrets) that override the manifest's `[config]`.
    #[serde(default)]
    pub config: BTreeMap<String, String>,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_body_limit() -> usize {
    1024 * 1024
}
fn default_deadline_ms() -> u64 {
    5_000
}
fn default_memory_mib() -> u64 {
    64
}
fn default_max_deadline_ms() -> u64 {
    60_000
}
fn default_max_memory_mib() -> u64 {
    256
}
fn default_max_instances() -> u32 {
    1_000
}
fn default_jobs_per_invocation() -> usize {
    1_000
}
fn default_events_per_invocation() -> usize {
    1_000
}
fn default_pending_bytes() -> usize {
    8 << 20
}
fn default_log_lines() -> u32 {
    1_000
}
fn default_log_bytes() -> usize {
    1 << 20
}
fn default_component_mib() -> u64 {
    256
}
fn default_public_file_mib() -> u64 {
    64
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: default_listen(),
            body_limit_bytes: default_body_limit(),
            cache_dir: None,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            deadline_ms: default_deadline_ms(),
            memory_mib: default_memory_mib(),
            max_deadline_ms: default_max_deadline_ms(),
            max_memory_mib: default_max_memory_mib(),
            max_instances: default_max_instances(),
            jobs_per_invocation: default_jobs_per_invocation(),
            events_per_invocation: default_events_per_invocation(),
            pending_bytes_per_invocation: default_pending_bytes(),
            log_lines_per_invocation: default_log_lines(),
            log_bytes_per_invocation: default_log_bytes(),
            component_mib: default_component_mib(),
            public_file_mib: default_public_file_mib(),
        }
    }
}

impl Default for HostConfig {
    fn default() -> Self {
        let mut config = HostConfig {
            server: ServerConfig::default(),
            limits: LimitsConfig::default(),
            tenants: BTreeMap::new(),
            modules: BTreeMap::new(),
            dev_sources: BTreeMap::new(),
            database: DatabaseConfig::default(),
            backplane: BackplaneConfig::default(),
            admin: AdminConfig::default(),
            sections: BTreeMap::new(),
            data_dir: PathBuf::new(),
            implicit_tenant: false,
        };
        config.add_default_tenant();
        config
    }
}

impl HostConfig {
    /// Reads `path`, naming it in every error.
    pub fn load(path: &Path) -> Result<HostConfig, String> {
        let mut config: HostConfig = super::read_toml(path)?;
        config
            .settle()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(config)
    }

    /// Parses and validates host.toml's text.
    pub fn parse(text: &str) -> Result<HostConfig, String> {
        let mut config: HostConfig =
            toml::from_str(text).map_err(|e| format!("not valid TOML for host.toml: {e}"))?;
        config.settle()?;
        Ok(config)
    }

    /// Adds the implicit tenant when none is declared, then validates.
    fn settle(&mut self) -> Result<(), String> {
        self.add_default_tenant();
        self.validate()
    }

    /// With no tenants declared, a single `default` tenant may be granted everything,
    /// so `host run` works without a `host.toml`.
    fn add_default_tenant(&mut self) {
        if self.tenants.is_empty() {
            let tenant = TenantConfig {
                modules: vec!["*".into()],
                allow_everything: true,
                ..TenantConfig::default()
            };
            self.tenants.insert("default".into(), tenant);
            self.implicit_tenant = true;
        }
    }

    /// The tenant that owns plugin folder `folder`, by the `modules` globs of `host.toml`.
    /// Without declared tenants every folder is the `default` tenant's; with them, a folder
    /// no tenant claims, or that two claim, is refused.
    pub fn tenant_of(&self, folder: &str) -> Result<&str, String> {
        let claims: Vec<&str> = self
            .tenants
            .iter()
            .filter(|(_, t)| {
                t.modules
                    .iter()
                    .any(|glob| super::scope::glob_matches(glob, folder))
            })
            .map(|(name, _)| name.as_str())
            .collect();
        match claims.as_slice() {
            [one] => Ok(one),
            [] => Err(format!(
                "no tenant claims the plugin folder '{folder}'; add it to the `modules` of one \
                 tenant in host.toml, e.g. [tenants.NAME] modules = [\"{folder}\"]"
            )),
            many => Err(format!(
                "the plugin folder '{folder}' is claimed by several tenants ({}); \
                 make their `modules` globs in host.toml disjoint",
                many.join(", ")
            )),
        }
    }

    /// Sets the admin token (from the command line or the environment), checked as in the file.
    pub fn set_admin_token(&mut self, token: String) -> Result<(), String> {
        self.admin.token = Some(token);
        self.validate()
    }

    /// A capability's section parsed into its settings type; absent is the default.
    /// Errors name the section, e.g. `host.toml [queue]: unknown field `pol-ms``.
    pub fn section<T: DeserializeOwned + Default>(&self, name: &str) -> Result<T, String> {
        super::section(&self.sections, "host.toml ", name)
    }

    /// Refuses what no one reads: a top-level key that is neither the host's nor one of
    /// `sections` (the capabilities' sections), and a tenant allowance for a capability
    /// not in `capabilities`; `unknown` words the message for a capability name.
    pub fn unknown_names(
        &self,
        sections: &[&str],
        capabilities: &[&str],
        unknown: impl Fn(&str) -> String,
    ) -> Result<(), String> {
        super::unknown_keys(&self.sections, "host.toml", KEYS, sections)?;
        for (tenant, t) in &self.tenants {
            if let Some(name) = t.allow.keys().find(|c| !capabilities.contains(&c.as_str())) {
                return Err(format!("tenants.{tenant}.allow: {}", unknown(name)));
            }
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), String> {
        for (tenant, t) in &self.tenants {
            if !crate::config::manifest::is_identifier(tenant) {
                return Err(format!(
                    "tenant '{tenant}' must use only letters, digits, '-' and '_'"
                ));
            }
            if t.max_concurrent == 0 {
                return Err(format!(
                    "tenants.{tenant}.max-concurrent must be at least 1"
                ));
            }
            if t.max_concurrent > self.limits.max_instances as usize {
                return Err(format!(
                    "tenants.{tenant}.max-concurrent = {} exceeds limits.max-instances = {}; \
                     one tenant must not be able to take every instance slot",
                    t.max_concurrent, self.limits.max_instances
                ));
            }
        }
        if let Some(token) = &self.admin.token
            && token.len() < 16
        {
            return Err("admin.token must be at least 16 characters; generate one, e.g. `openssl rand -hex 32`".into());
        }
        if let Some(listen) = self.admin.listen
            && self.admin.token.is_none()
            && !listen.ip().is_loopback()
        {
            return Err(format!(
                "admin.listen = {listen} is not a loopback address; without admin.token the admin API \
                 may only listen on loopback (e.g. 127.0.0.1:9090)"
            ));
        }
        if self.limits.memory_mib > self.limits.max_memory_mib {
            return Err("limits.memory-mib must not exceed limits.max-memory-mib".into());
        }
        Ok(())
    }

    /// Sets the data folder to `data/` beside `plugins`.
    pub fn data_beside(&mut self, plugins: &Path) {
        self.data_dir = beside(plugins).join("data");
    }

    /// The data folder (`data` in the working folder until `host run` sets it).
    pub fn data_dir(&self) -> PathBuf {
        if self.data_dir.as_os_str().is_empty() {
            return PathBuf::from("data");
        }
        self.data_dir.clone()
    }

    /// The database URL: configured, or an SQLite file `data/plughost.db` beside `plugins`.
    pub fn database_url(&self, plugins: &Path) -> String {
        if let Some(url) = &self.database.url {
            return url.clone();
        }
        format!(
            "sqlite://{}",
            beside(plugins).join("data").join("plughost.db").display()
        )
    }

    /// The cache directory: configured, or `$XDG_CACHE_HOME/plughost`, or `~/.cache/plughost`.
    pub fn cache_dir(&self) -> PathBuf {
        if let Some(dir) = &self.server.cache_dir {
            return dir.clone();
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        base.join("plughost")
    }
}

/// The folder holding `plugins`.
fn beside(plugins: &Path) -> &Path {
    plugins
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_file_one_default_tenant_may_have_everything() {
        let c = HostConfig::default();
        assert!(
            c.tenants["default"]
                .allowance("orm")
                .unwrap()
                .covers("anything")
        );
        assert_eq!(c.server.body_limit_bytes, 1024 * 1024);
        assert_eq!(c.limits.deadline_ms, 5000);
    }

    #[test]
    fn declared_tenants_replace_the_default() {
        let mut c: HostConfig =
            toml::from_str("[tenants.acme.allow]\nconfig = [\"public.*\"]").unwrap();
        c.add_default_tenant();
        assert!(!c.tenants.contains_key("default"));
        assert!(c.tenants["acme"].allow["config"].covers("public.x"));
    }

    #[test]
    fn unknown_capabilities_in_a_tenant_and_unknown_keys_are_refused() {
        let c = HostConfig::parse("[tenants.acme.allow]\nteleport = true").unwrap();
        let err = c
            .unknown_names(&[], &["config"], |name| format!("no {name}"))
            .unwrap_err();
        assert!(err.contains("tenants.acme.allow: no teleport"), "{err}");
        let c = HostConfig::parse("[limts]\ndeadline-ms = 1").unwrap();
        let err = c
            .unknown_names(&["queue"], &[], |n| n.to_string())
            .unwrap_err();
        assert!(
            err.contains("'limts'") && err.contains("limits, modules, queue"),
            "{err}"
        );
        assert!(c.unknown_names(&["limts"], &[], |n| n.to_string()).is_ok());
    }

    #[test]
    fn no_file_can_mount_a_modules_sources_into_its_instances() {
        // Only `host dev` sets them, in code: from host.toml the names are an unknown key.
        for text in [
            "dev_sources = { hello = \"/etc\" }",
            "dev-sources = { hello = \"/etc\" }",
        ] {
            let c = HostConfig::parse(text).unwrap();
            assert!(c.dev_sources.is_empty(), "{text}");
            assert!(
                c.unknown_names(&["queue"], &[], |n| n.to_string()).is_err(),
                "{text}"
            );
        }
    }

    #[test]
    fn a_section_is_read_by_its_capability_and_errors_name_it() {
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Queue {
            #[allow(dead_code)]
            poll: u64,
        }
        let c = HostConfig::parse("[queue]\npol = 1").unwrap();
        let err = c.section::<Queue>("queue").unwrap_err();
        assert!(
            err.starts_with("host.toml [queue]: ") && err.contains("pol"),
            "{err}"
        );
        assert!(c.section::<Queue>("events").is_ok());
    }
}
