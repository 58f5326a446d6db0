//! `[queue]` in host.toml: retry backoff, polling and concurrency of the job queue.

use std::collections::BTreeMap;

use serde::Deserialize;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_up_to_the_max() {
        let q: QueueConfig =
            toml::from_str("backoff-base-ms = 1000\nbackoff-max-ms = 5000").unwrap();
        let waits: Vec<u64> = (1..=5).map(|a| q.backoff_ms(a)).collect();
        assert_eq!(waits, [1000, 2000, 4000, 5000, 5000]);
        assert_eq!(q.backoff_ms(200), 5000);
    }
}
