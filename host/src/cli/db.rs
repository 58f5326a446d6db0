//! `host db migrate|rollback|status`: the manual migrations in each module's `migrations/`;
//! `host db seed`: the rows in each module's `seed/MODEL.json`.

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
    /// Insert each module's seed data (`seed/MODEL.json`, an array of rows) into tables
    /// that are still empty.
    Seed(DbArgs),
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
    dir: PathBuf,
    context: ModuleContext,
    migrations: Vec<Migration>,
}

/// Runs a `db` subcommand.
pub fn run(command: DbCommand) -> anyhow::Result<()> {
    super::database::block_on(dispatch(command))
}

async fn dispatch(command: DbCommand) -> anyhow::Result<()> {
    let (args, steps) = match &command {
        DbCommand::Migrate(a) | DbCommand::Status(a) | DbCommand::Seed(a) => (a, 0),
        DbCommand::Rollback { args, steps } => (args, *steps),
    };
    let config = args.database.host_config()?;
    let modules = modules(&config, &args.database.plugins, args.module.as_deref())?;
    let pool = args.database.connect(&config).await?;
    let result = match command {
        DbCommand::Migrate(_) => migrate(&pool, &modules).await,
        DbCommand::Rollback { .. } => rollback(&pool, &modules, steps).await,
        DbCommand::Status(_) => status(&pool, &modules).await,
        DbCommand::Seed(_) => seed(&pool, &modules).await,
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
            dir,
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
    create_model_tables(pool, modules).await?;
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

/// The tables of each module's [models], as `host run` makes them when the module loads:
/// manual migrations and seed data may fill them before the first start.
async fn create_model_tables(pool: &Pool, modules: &[ModuleMigrations]) -> anyhow::Result<()> {
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
    Ok(())
}

/// Inserts each module's `seed/MODEL.json` rows, through the same checks as a module's own
/// writes (declared fields, types, required fields), into tables that hold no rows yet,
/// so seeding twice adds nothing.
async fn seed(pool: &Pool, modules: &[ModuleMigrations]) -> anyhow::Result<()> {
    create_model_tables(pool, modules).await?;
    let mut inserted = 0;
    for m in modules {
        for (model, rows) in seed_files(&m.dir)? {
            inserted += seed_model(pool, m, &model, &rows).await?;
        }
    }
    println!("{inserted} seed row(s) inserted");
    Ok(())
}

/// The seed files of a module folder: (model, rows) by file name.
fn seed_files(dir: &Path) -> anyhow::Result<Vec<(String, Vec<serde_json::Value>)>> {
    let seed = dir.join("seed");
    let Ok(entries) = std::fs::read_dir(&seed) else {
        return Ok(Vec::new());
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let rows: Vec<serde_json::Value> = serde_json::from_str(&text).with_context(|| {
            format!("{} must be a JSON array of rows (objects)", file.display())
        })?;
        let model = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        out.push((model, rows));
    }
    Ok(out)
}

async fn seed_model(
    pool: &Pool,
    m: &ModuleMigrations,
    model: &str,
    rows: &[serde_json::Value],
) -> anyhow::Result<usize> {
    use crate::capabilities::orm::backend::Target;
    use crate::capabilities::orm::repository::Repository;
    use crate::capabilities::orm::sql::Query;
    let name = &m.context.name;
    let (schema, _) = orm::granted_schema(&m.context);
    let Some(found) = schema.models.get(model) else {
        bail!(
            "{name}: seed/{model}.json names model '{model}', which the module does not declare \
             (or its orm grant does not cover); declare it under [models.{model}] in plugin.toml"
        );
    };
    let repository = Repository {
        model: found,
        namespace: &schema.namespace,
        dialect: pool.dialect(),
    };
    let existing = repository
        .count(Target::Pool(pool), &Query::default())
        .await?;
    if existing > 0 {
        println!("skipped   {name} {model}: its table already holds {existing} row(s)");
        return Ok(0);
    }
    let mut transaction = pool.begin().await?;
    for (index, row) in rows.iter().enumerate() {
        repository
            .create(Target::Transaction(&mut transaction), row)
            .await
            .with_context(|| format!("{name}: seed/{model}.json row {}", index + 1))?;
    }
    transaction.commit().await?;
    println!("seeded    {name} {model}: {} row(s)", rows.len());
    Ok(rows.len())
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
