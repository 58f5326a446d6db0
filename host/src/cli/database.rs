//! What the commands that work on the host's database (`db`, `queue`) share: where the
//! plugins, the configuration and the database are, and a runtime to reach it.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use crate::capabilities::orm::backend::Pool;
use crate::config::HostConfig;

/// Where the modules and the database are.
#[derive(Args)]
pub struct DatabaseArgs {
    /// The plugins folder (its host.toml and default database are beside it).
    #[arg(long)]
    pub plugins: PathBuf,
    /// Host configuration; default: host.toml beside the plugins folder, if any.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Database URL (overrides host.toml); default: data/plughost.db beside the plugins folder.
    #[arg(long, env = "PLUGHOST_DATABASE_URL")]
    pub database_url: Option<String>,
}

impl DatabaseArgs {
    /// The host configuration with its database URL settled.
    pub fn host_config(&self) -> anyhow::Result<HostConfig> {
        super::run::resolve_config(
            self.config.as_deref(),
            &self.plugins,
            self.database_url.clone(),
        )
    }

    /// Connects to the configured database.
    pub async fn connect(&self, config: &HostConfig) -> anyhow::Result<Pool> {
        let url = config.database.url.clone().unwrap_or_default();
        Pool::connect(&url).await.map_err(anyhow::Error::msg)
    }
}

/// Runs `work` to completion on a small runtime.
pub fn block_on<F: Future<Output = anyhow::Result<()>>>(work: F) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(work)
}
