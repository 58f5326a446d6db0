//! `host.toml`: server settings, default limits, tenants with what each may be granted,
//! and per-module configuration. Every field has a default, so the file is optional.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::ScopeSet;

/// The whole host configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
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
    /// The database behind the `orm` capability.
    #[serde(default)]
    pub database: DatabaseConfig,
    /// The event bus.
    #[serde(default)]
    pub events: EventsConfig,
    /// The job queue.
    #[serde(default)]
    pub queue: QueueConfig,
    /// The channel between host instances.
    #[serde(default)]
    pub backplane: BackplaneConfig,
    /// WebSocket authentication and limits.
    #[serde(default)]
    pub ws: crate::capabilities::ws::WsConfig,
}

/// Where the backplane is; without one, events stay on this host.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BackplaneConfig {
    /// `redis://HOST:PORT`.
    pub url: Option<String>,
}

/// Job queue settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct QueueConfig {
    /// Wait before the 2nd attempt; it doubles for each attempt after that.
    #[serde(default = "default_backoff_base_ms")]
    pub backoff_base_ms: u64,
    /// Longest wait between two attempts.
    #[serde(default = "default_backoff_max_ms")]
    pub backoff_max_ms: u64,
    /// How often an idle queue looks for due jobs (delayed jobs, retries, other hosts' jobs).
    #[serde(default = "default_poll_ms")]
    pub poll_ms: u64,
    /// Attempts of one queue running at once, unless `queues` says otherwise.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Per-queue concurrency, e.g. `send-confirmation = 2`.
    #[serde(default)]
    pub queues: BTreeMap<String, usize>,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            backoff_base_ms: default_backoff_base_ms(),
            backoff_max_ms: default_backoff_max_ms(),
            poll_ms: default_poll_ms(),
            concurrency: default_concurrency(),
            queues: BTreeMap::new(),
        }
    }
}

impl QueueConfig {
    /// The wait after failed attempt `attempt` (from 1): base, 2 × base, 4 × base, … up to the max.
    pub fn backoff_ms(&self, attempt: u32) -> u64 {
        let doublings = attempt.saturating_sub(1).min(32);
        self.backoff_base_ms
            .saturating_mul(1u64 << doublings)
            .min(self.backoff_max_ms)
    }

    /// Attempts of `queue` that may run at once (at least 1).
    pub fn concurrency_of(&self, queue: &str) -> usize {
        self.queues
            .get(queue)
            .copied()
            .unwrap_or(self.concurrency)
            .max(1)
    }
}

fn default_backoff_base_ms() -> u64 {
    1_000
}
fn default_backoff_max_ms() -> u64 {
    3_600_000
}
fn default_poll_ms() -> u64 {
    250
}
fn default_concurrency() -> usize {
    4
}

/// Event bus settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EventsConfig {
    /// Events kept per topic for the admin API.
    #[serde(default = "default_history")]
    pub history: usize,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            history: default_history(),
        }
    }
}

fn default_history() -> usize {
    crate::capabilities::events::bus::DEFAULT_HISTORY
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
}

/// What a tenant's modules may be granted, per capability.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TenantConfig {
    /// Upper bound of each capability's scopes, e.g. `config = ["public.*"]`.
    #[serde(default)]
    pub allow: BTreeMap<String, ScopeSet>,
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
            database: DatabaseConfig::default(),
            events: EventsConfig::default(),
            queue: QueueConfig::default(),
            backplane: BackplaneConfig::default(),
            ws: crate::capabilities::ws::WsConfig::default(),
        };
        config.add_default_tenant();
        config
    }
}

impl HostConfig {
    /// Reads `path`, naming it in every error.
    pub fn load(path: &Path) -> Result<HostConfig, String> {
        let mut config: HostConfig = super::read_toml(path)?;
        config.add_default_tenant();
        config
            .validate()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(config)
    }

    /// With no tenants declared, a single `default` tenant may be granted everything,
    /// so `host run` works without a `host.toml`.
    fn add_default_tenant(&mut self) {
        if self.tenants.is_empty() {
            let allow = crate::capabilities::ALL
                .iter()
                .map(|c| (c.name.to_string(), ScopeSet::everything()))
                .collect();
            self.tenants
                .insert("default".into(), TenantConfig { allow });
        }
    }

    fn validate(&self) -> Result<(), String> {
        for (tenant, t) in &self.tenants {
            for capability in t.allow.keys() {
                crate::capabilities::find(capability).ok_or_else(|| {
                    format!(
                        "tenants.{tenant}.allow: {}",
                        crate::capabilities::unknown(capability)
                    )
                })?;
            }
        }
        if self.limits.memory_mib > self.limits.max_memory_mib {
            return Err("limits.memory-mib must not exceed limits.max-memory-mib".into());
        }
        Ok(())
    }

    /// The database URL: configured, or an SQLite file `data/plughost.db` beside `plugins`.
    pub fn database_url(&self, plugins: &Path) -> String {
        if let Some(url) = &self.database.url {
            return url.clone();
        }
        let base = plugins
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        format!(
            "sqlite://{}",
            base.join("data").join("plughost.db").display()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_file_one_default_tenant_may_have_everything() {
        let c = HostConfig::default();
        assert!(c.tenants["default"].allow["config"].covers("anything"));
        assert_eq!(c.server.body_limit_bytes, 1024 * 1024);
        assert_eq!(c.limits.deadline_ms, 5000);
    }

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_max() {
        let q: QueueConfig =
            toml::from_str("backoff-base-ms = 1000\nbackoff-max-ms = 5000").unwrap();
        let waits: Vec<u64> = (1..=5).map(|a| q.backoff_ms(a)).collect();
        assert_eq!(waits, [1000, 2000, 4000, 5000, 5000]);
        assert_eq!(q.backoff_ms(200), 5000);
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
    fn unknown_capabilities_in_a_tenant_are_refused() {
        let mut c: HostConfig = toml::from_str("[tenants.acme.allow]\nteleport = true").unwrap();
        c.add_default_tenant();
        assert!(c.validate().unwrap_err().contains("teleport"));
    }
}
