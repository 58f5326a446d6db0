//! `host run`: load the plugins folder, watch it, serve HTTP.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::Args;
use tokio::net::TcpListener;

use crate::config::HostConfig;
use crate::runtime::{ModuleRegistry, Runtime, watcher};
use crate::server::{HttpState, serve, serve_admin};

/// Arguments of `host run`.
#[derive(Args)]
pub struct RunArgs {
    /// The plugins folder: one sub-folder per module, each with plugin.toml and a .wasm.
    #[arg(long)]
    pub plugins: PathBuf,
    /// Host configuration; default: host.toml beside the plugins folder, if any.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Address to listen on (overrides host.toml); default 127.0.0.1:8080.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Database for the orm capability: sqlite://FILE, postgres://… or mysql://…
    /// (overrides host.toml); default: an SQLite file data/plughost.db beside the plugins folder.
    #[arg(long, env = "PLUGHOST_DATABASE_URL")]
    pub database_url: Option<String>,
    /// The backplane between host instances, redis://HOST:PORT (overrides host.toml);
    /// without one, events stay on this host.
    #[arg(long, env = "PLUGHOST_BACKPLANE_URL")]
    pub backplane: Option<String>,
    /// Where compiled code is cached (overrides host.toml).
    #[arg(long, env = "PLUGHOST_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// The admin API's bearer token (overrides host.toml's [admin] token); keeps the
    /// secret out of files.
    #[arg(long, env = "PLUGHOST_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,
}

/// Runs the server until Ctrl-C or SIGTERM.
pub fn run(args: RunArgs) -> anyhow::Result<()> {
    run_with(args, |_| {})
}

/// Runs the server with the configuration `adjust` changes last (`host dev`'s settings).
pub fn run_with(args: RunArgs, adjust: impl FnOnce(&mut HostConfig)) -> anyhow::Result<()> {
    let mut config = resolve_config(args.config.as_deref(), &args.plugins, args.database_url)?;
    if let Some(listen) = args.listen {
        config.server.listen = listen;
    }
    if let Some(url) = args.backplane {
        config.backplane.url = Some(url);
    }
    if let Some(dir) = args.cache_dir {
        config.server.cache_dir = Some(dir);
    }
    if let Some(token) = args.admin_token {
        config.set_admin_token(token).map_err(anyhow::Error::msg)?;
    }
    adjust(&mut config);
    if !args.plugins.is_dir() {
        bail!(
            "the plugins folder {} does not exist; create it, or build modules into it with `host build`",
            args.plugins.display()
        );
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(serve_plugins(Arc::new(config), args.plugins))
}

/// The host configuration with the database URL settled: `--database-url`, else
/// host.toml's, else the SQLite file beside the plugins folder.
pub fn resolve_config(
    explicit: Option<&Path>,
    plugins: &Path,
    database_url: Option<String>,
) -> anyhow::Result<HostConfig> {
    let mut config = load_config(explicit, plugins)?;
    config.data_beside(plugins);
    let url = database_url.unwrap_or_else(|| config.database_url(plugins));
    config.database.url = Some(url);
    Ok(config)
}

/// `--config`, else `host.toml` beside the plugins folder, else defaults.
pub fn load_config(explicit: Option<&Path>, plugins: &Path) -> anyhow::Result<HostConfig> {
    if let Some(path) = explicit {
        return HostConfig::load(path).map_err(anyhow::Error::msg);
    }
    let beside = plugins.parent().unwrap_or(Path::new(".")).join("host.toml");
    if beside.is_file() {
        tracing::info!(path = %beside.display(), "using host configuration");
        return HostConfig::load(&beside).map_err(anyhow::Error::msg);
    }
    Ok(HostConfig::default())
}

async fn serve_plugins(config: Arc<HostConfig>, plugins: PathBuf) -> anyhow::Result<()> {
    let listen = config.server.listen;
    let body_limit = config.server.body_limit_bytes;
    let backplane = match &config.backplane.url {
        Some(url) => Some(
            crate::backplane::connect(url)
                .await
                .map_err(anyhow::Error::msg)?,
        ),
        None => None,
    };
    let runtime = Runtime::new(config, crate::capabilities::ALL)?;
    if let Some(backplane) = backplane {
        for (name, capability) in runtime.capabilities().iter() {
            capability
                .attach(&backplane)
                .await
                .with_context(|| format!("the {name} capability cannot join the backplane"))?;
        }
    }
    let registry = ModuleRegistry::new(runtime.clone(), plugins.clone());
    registry
        .load_all()
        .await
        .with_context(|| format!("cannot read the plugins folder {}", plugins.display()))?;
    let _watch = watcher::watch(registry.clone())?;
    let listener = TcpListener::bind(listen).await.with_context(|| {
        format!(
            "cannot listen on {listen}; is another server using it? choose another with --listen"
        )
    })?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    let state = Arc::new(HttpState {
        registry,
        runtime,
        body_limit,
    });
    let (admin_stop, admin_stopped) = tokio::sync::watch::channel(false);
    if let Some(admin_listen) = state.runtime.config().admin.listen {
        let admin_listener = TcpListener::bind(admin_listen).await.with_context(|| {
            format!(
                "cannot listen on {admin_listen} for the admin API ([admin] listen in host.toml)"
            )
        })?;
        tracing::info!("admin API on http://{}", admin_listener.local_addr()?);
        let mut stopped = admin_stopped.clone();
        tokio::spawn(serve_admin(admin_listener, state.clone(), async move {
            let _ = stopped.wait_for(|s| *s).await;
        }));
    }
    let runtime = state.runtime.clone();
    let stopping = async move {
        shutdown_signal().await;
        for (_, capability) in runtime.capabilities().iter() {
            capability.stopping();
        }
        let _ = admin_stop.send(true);
    };
    serve(listener, state.clone(), stopping)
        .await
        .context("the HTTP server failed")?;
    for (_, capability) in state.runtime.capabilities().iter() {
        capability.shutdown().await;
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = ctrl_c => {},
        _ = term.recv() => {},
    }
    tracing::info!("shutting down; in-flight requests finish first");
}
