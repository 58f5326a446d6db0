//! `[storage]` in host.toml: where the local backend keeps the modules' objects.

use std::path::PathBuf;

use serde::Deserialize;

/// Storage settings.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StorageConfig {
    /// The folder holding every module's root; default: `storage` in the host's data
    /// folder (`data/storage` beside the plugins folder).
    pub root: Option<PathBuf>,
}
