//! `host db migrate|rollback|status`: the manual migrations in each module's `migrations/`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};

use super::database::DatabaseArgs;
use crate::capabilities::orm;
use crate::capabilities::orm::backend::Pool;
use crate::capabilities::orm::manual::{self, Migration};
use crate::config::Manifest;
use crate::runtime::ModuleContext;
use crate::runtime::loader;

/// The `db` subcommands.
#[derive(Subcommand)]
pub enum DbCommand {
    /// Apply every pending migration, oldest first.
    Migrate(DbArgs),
    /// Undo the most recently applied migrations (one unless --steps says more).
    Rollback {
        #[command(flatten)]
        args: DbArgs,
        /// How many migrations to undo.
        #[arg(long, default_value_t = 1)]
        steps: usize,
    },
    /// List each module's migrations and whether they are applied.
    Status(DbArgs),
}

/// Where the modules and the database are, and which module.
#[derive(Args)]
pub struct DbArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    /// Only this module.
    #[arg(long)]
    module: Option<String>,
}

/// One module with its migrations.
struct ModuleMigrations {
    context: ModuleContext,
    migrations: Vec<Migration>,
}

/// Runs a `db` subcommand.
pub fn run(command: DbCommand) -> anyhow::Result<()> {
    super::database::block_on(dispatch(command))
}

async fn dispatch(command: DbCommand) -> anyhow::Result<()> {
    let (args, steps) = match &command {
        DbCommand::Migrate(a) | DbCommand::Status(a) => (a, 0),
        DbCommand::Rollback { args, steps } => (args, *steps),
    };
    let config = args.database.host_config()?;
    let modules = modules(&config, &args.database.plugins, args.module.as_deref())?;
    let pool = args.database.connect(&config).await?;
    let result = match command {
        DbCommand::Migrate(_) => migrate(&pool, &modules).await,
        DbCommand::Rollback { .. } => rollback(&pool, &modules, steps).await,
        DbCommand::Status(_) => status(&pool, &modules).await,
    };
    pool.close().await;
    result
}

fn modules(
    config: &crate::config::HostConfig,
    plugins: &Path,
    only: Option<&str>,
) -> anyhow::Result<Vec<ModuleMigrations>> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(plugins)
        .with_context(|| format!("cannot read the plugins folder {}", plugins.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(crate::config::manifest::MANIFEST_FILE).is_file())
        .collect();
    dirs.sort();
    let mut modules = Vec::new();
    for dir in dirs {
        let manifest = Manifest::load(&dir).map_err(anyhow::Error::msg)?;
        if only.is_some_and(|name| name != manifest.name) {
            continue;
        }
        let context = loader::context(
            config,
            crate::capabilities::ALL,
            &dir,
            &manifest,
            Arc::default(),
        )?;
        let migrations = manual::discover(&dir).map_err(anyhow::Error::msg)?;
        modules.push(ModuleMigrations {
            context,
            migrations,
        });
    }
    if let Some(name) = only.filter(|_| modules.is_empty()) {
        bail!("no module named '{name}' in {}", plugins.display());
    }
    Ok(modules)
}

async fn migrate(pool: &Pool, modules: &[ModuleMigrations]) -> anyhow::Result<()> {
    // The tables of each module's [models] first, as `host run` makes them when the module
    // loads: manual migrations may index or fill them before the first start.
    for m in modules {
        let (schema, refused) = orm::granted_schema(&m.context);
        for refusal in refused {
            println!("warning   {} {refusal}", m.context.name);
        }
        if schema.models.is_empty() {
            continue;
        }
        let warnings = orm::migrate::auto_migrate(pool, &m.context.name, &schema).await?;
        for warning in warnings {
            println!("warning   {} {warning}", m.context.name);
        }
        println!(
            "models    {} {} table(s) up to date",
            m.context.name,
            schema.models.len()
        );
    }
    let mut applied = 0;
    for m in modules {
        for migration in manual::migrate(pool, &m.context, &m.migrations).await? {
            println!(
                "applied   {} {:04} {}",
                m.context.name, migration.version, migration.name
            );
            applied += 1;
        }
    }
    println!("{applied} migration(s) applied");
    Ok(())
}

async fn rollback(pool: &Pool, modules: &[ModuleMigrations], steps: usize) -> anyhow::Result<()> {
    // Newest first across modules: (applied_at, version) orders them.
    let mut applied = Vec::new();
    for (index, m) in modules.iter().enumerate() {
        for s in manual::status(pool, &m.context, &m.migrations).await? {
            if let Some(at) = s.applied_at {
                applied.push((at, s.version, index));
            }
        }
    }
    applied.sort();
    let mut undone = 0;
    for (_, _, index) in applied.into_iter().rev().take(steps) {
        let m = &modules[index];
        for migration in manual::rollback(pool, &m.context, &m.migrations, 1).await? {
            println!(
                "rolled back {} {:04} {}",
                m.context.name, migration.version, migration.name
            );
            undone += 1;
        }
    }
    println!("{undone} migration(s) rolled back");
    Ok(())
}

async fn status(pool: &Pool, modules: &[ModuleMigrations]) -> anyhow::Result<()> {
    println!("{:<20} {:>7}  {:<30} APPLIED", "MODULE", "VERSION", "NAME");
    for m in modules {
        for s in manual::status(pool, &m.context, &m.migrations).await? {
            let applied = s.applied_at.unwrap_or_else(|| "pending".into());
            println!(
                "{:<20} {:>7}  {:<30} {applied}",
                s.module,
                format!("{:04}", s.version),
                s.name
            );
        }
    }
    Ok(())
}
