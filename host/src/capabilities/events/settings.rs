//! `[events]` in host.toml: how much event history the host keeps for the admin API.

use serde::Deserialize;

/// Events kept per topic when host.toml does not say.
pub const DEFAULT_HISTORY: usize = 100;

/// Event bus settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EventsConfig {
    /// Events kept per topic for the admin API.
    #[serde(default = "default_history")]
    pub history: usize,
    /// Bytes of payload the history holds in all, across topics and tenants; the oldest
    /// events are forgotten first.
    #[serde(default = "default_history_bytes")]
    pub history_bytes: usize,
    /// Topics the history remembers in all; beyond, the least recently used is forgotten.
    #[serde(default = "default_history_topics")]
    pub history_topics: usize,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            history: default_history(),
            history_bytes: default_history_bytes(),
            history_topics: default_history_topics(),
        }
    }
}

fn default_history_bytes() -> usize {
    16 << 20
}
fn default_history_topics() -> usize {
    10_000
}

fn default_history() -> usize {
    DEFAULT_HISTORY
}
