//! Manual migrations: `migrations/NNNN_name.up.sql` and `NNNN_name.down.sql` in a module's
//! folder, applied in order by `host db migrate`, undone by `host db rollback`, listed by
//! `host db status`, tracked in `plughost_migrations`.
//!
//! A migration names tables as `{{table}}`; the host puts the tenant's physical name there
//! (schema or prefix), and only for tables the module's `orm` grant covers. On PostgreSQL the
//! tenant's schema is also first on the search path, so indexes are named bare.

use std::path::{Path, PathBuf};

use super::ModuleSchema;
use super::backend::{Pool, Target};
use super::errors::OrmError;
use super::model::{ColumnKind, FieldType, check_identifier};
use super::sql::{Dialect, Statement};
use super::value::{SqlValue, format_datetime, now};
use crate::runtime::ModuleContext;
use crate::runtime::folder::{FolderError, ModuleFolder};

/// The control table of applied manual migrations.
pub const MIGRATIONS_TABLE: &str = "plughost_migrations";

/// One migration found in a module's folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// Its number, from the file name.
    pub version: i64,
    /// Its name, from the file name.
    pub name: String,
    /// The `.up.sql` file.
    pub up: PathBuf,
    /// The `.down.sql` file.
    pub down: PathBuf,
}

/// A migration and whether it has been applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// Module name.
    pub module: String,
    /// Version.
    pub version: i64,
    /// Name.
    pub name: String,
    /// When it was applied (RFC 3339), if it was.
    pub applied_at: Option<String>,
}

/// Creates the control table if it is missing.
pub async fn ensure_control_table(pool: &Pool) -> Result<(), OrmError> {
    let text = "VARCHAR(191)";
    let sql = format!(
        "CREATE TABLE IF NOT EXISTS {} (tenant {text} NOT NULL, module {text} NOT NULL, \
         version BIGINT NOT NULL, name {text} NOT NULL, applied_at {text} NOT NULL, \
         PRIMARY KEY (tenant, module, version))",
        pool.dialect().quote(MIGRATIONS_TABLE)
    );
    Ok(pool.run(&sql).await?)
}

/// The migrations in `module_dir/migrations`, by version; every `up` needs its `down`.
pub fn discover(module_dir: &Path) -> Result<Vec<Migration>, String> {
    let dir = module_dir.join("migrations");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut migrations = Vec::new();
    for entry in entries.filter_map(|e| e.ok()) {
        let file = entry.file_name().to_string_lossy().to_string();
        let Some(stem) = file.strip_suffix(".up.sql") else {
            if !file.ends_with(".down.sql") {
                tracing::warn!(
                    "{}: ignored; migrations are NNNN_name.up.sql and NNNN_name.down.sql",
                    dir.join(&file).display()
                );
            }
            continue;
        };
        let (version, name) = stem
            .split_once('_')
            .and_then(|(v, n)| Some((v.parse::<i64>().ok()?, n.to_string())))
            .ok_or_else(|| {
                format!(
                    "{}: name it NNNN_name.up.sql (a number, '_', a name)",
                    dir.join(&file).display()
                )
            })?;
        let down = dir.join(format!("{stem}.down.sql"));
        if !down.is_file() {
            return Err(format!(
                "{}: missing; every up migration needs its down",
                down.display()
            ));
        }
        if let Some(other) = migrations
            .iter()
            .find(|m: &&Migration| m.version == version)
        {
            return Err(format!(
                "{}: version {version} is used twice ({} and {name})",
                dir.display(),
                other.name
            ));
        }
        migrations.push(Migration {
            version,
            name,
            up: entry.path(),
            down,
        });
    }
    migrations.sort_by_key(|m| m.version);
    Ok(migrations)
}

/// Replaces each `{{table}}` with the tenant's quoted table, for tables the module may use.
pub fn render(sql: &str, dialect: Dialect, module: &ModuleContext) -> Result<String, String> {
    let schema: &ModuleSchema = super::schema_of(module);
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(start) = rest.find("{{") {
        let end = rest[start..]
            .find("}}")
            .ok_or_else(|| "an opening '{{' has no closing '}}'".to_string())?;
        let table = rest[start + 2..start + end].trim();
        check_identifier(table, "table name")?;
        module
            .grant
            .check("orm", table)
            .map_err(|denied| denied.to_string())?;
        out.push_str(&rest[..start]);
        out.push_str(&dialect.table(&schema.namespace, table));
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Applied migrations of `module` (all tenants' rows for its tenant), by version.
async fn applied(pool: &Pool, module: &ModuleContext) -> Result<Vec<(i64, String)>, OrmError> {
    let dialect = pool.dialect();
    let statement = Statement {
        sql: format!(
            "SELECT version, applied_at FROM {} WHERE tenant = {} AND module = {} ORDER BY version",
            dialect.quote(MIGRATIONS_TABLE),
            dialect.placeholder(1),
            dialect.placeholder(2)
        ),
        params: vec![
            SqlValue::Text(module.tenant.clone()),
            SqlValue::Text(module.name.clone()),
        ],
    };
    let kinds = [
        ColumnKind::Field(FieldType::Integer),
        ColumnKind::Field(FieldType::Text),
    ];
    let rows = Target::Pool(pool).fetch(&statement, &kinds).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| match row.as_slice() {
            [SqlValue::Int(v), SqlValue::Text(at)] => Some((*v, at.clone())),
            _ => None,
        })
        .collect())
}

/// Every migration of the module with its state.
pub async fn status(
    pool: &Pool,
    module: &ModuleContext,
    migrations: &[Migration],
) -> Result<Vec<MigrationStatus>, OrmError> {
    ensure_control_table(pool).await?;
    let applied = applied(pool, module).await?;
    Ok(migrations
        .iter()
        .map(|m| MigrationStatus {
            module: module.name.clone(),
            version: m.version,
            name: m.name.clone(),
            applied_at: applied
                .iter()
                .find(|(v, _)| *v == m.version)
                .map(|(_, at)| at.clone()),
        })
        .collect())
}

/// Applies the pending migrations in order; returns the ones applied.
pub async fn migrate(
    pool: &Pool,
    module: &ModuleContext,
    migrations: &[Migration],
) -> Result<Vec<Migration>, OrmError> {
    ensure_control_table(pool).await?;
    ensure_namespace(pool, module).await?;
    let applied = applied(pool, module).await?;
    let mut done = Vec::new();
    for migration in migrations
        .iter()
        .filter(|m| !applied.iter().any(|(v, _)| *v == m.version))
    {
        let sql = read_rendered(&migration.up, pool.dialect(), module)?;
        let mut tx = pool.begin_bookkeeping().await?;
        in_tenant_schema(&mut tx, pool.dialect(), module).await?;
        execute_script(&mut tx, &sql)
            .await
            .map_err(|e| fail(&migration.up, e))?;
        let record = record_statement(pool.dialect(), module, migration);
        Target::Transaction(&mut tx).execute(&record).await?;
        tx.commit().await?;
        tracing::info!(module = %module.name, version = migration.version, "applied migration {}", migration.name);
        done.push(migration.clone());
    }
    Ok(done)
}

/// Undoes the last `steps` applied migrations of the module, newest first.
pub async fn rollback(
    pool: &Pool,
    module: &ModuleContext,
    migrations: &[Migration],
    steps: usize,
) -> Result<Vec<Migration>, OrmError> {
    ensure_control_table(pool).await?;
    let applied = applied(pool, module).await?;
    let mut undone = Vec::new();
    for (version, _) in applied.iter().rev().take(steps) {
        let migration = migrations.iter().find(|m| m.version == *version).ok_or_else(|| {
            OrmError::Invalid(format!(
                "migration {version} of module '{}' was applied but its files are gone; restore its .down.sql to roll it back",
                module.name
            ))
        })?;
        let sql = read_rendered(&migration.down, pool.dialect(), module)?;
        let mut tx = pool.begin_bookkeeping().await?;
        in_tenant_schema(&mut tx, pool.dialect(), module).await?;
        execute_script(&mut tx, &sql)
            .await
            .map_err(|e| fail(&migration.down, e))?;
        let dialect = pool.dialect();
        let forget = Statement {
            sql: format!(
                "DELETE FROM {} WHERE tenant = {} AND module = {} AND version = {}",
                dialect.quote(MIGRATIONS_TABLE),
                dialect.placeholder(1),
                dialect.placeholder(2),
                dialect.placeholder(3)
            ),
            params: vec![
                SqlValue::Text(module.tenant.clone()),
                SqlValue::Text(module.name.clone()),
                SqlValue::Int(*version),
            ],
        };
        Target::Transaction(&mut tx).execute(&forget).await?;
        tx.commit().await?;
        tracing::info!(module = %module.name, version, "rolled back migration {}", migration.name);
        undone.push(migration.clone());
    }
    Ok(undone)
}

fn record_statement(dialect: Dialect, module: &ModuleContext, migration: &Migration) -> Statement {
    Statement {
        sql: format!(
            "INSERT INTO {} (tenant, module, version, name, applied_at) VALUES ({})",
            dialect.quote(MIGRATIONS_TABLE),
            dialect.placeholders(5)
        ),
        params: vec![
            SqlValue::Text(module.tenant.clone()),
            SqlValue::Text(module.name.clone()),
            SqlValue::Int(migration.version),
            SqlValue::Text(migration.name.clone()),
            SqlValue::Text(format_datetime(now())),
        ],
    }
}

async fn ensure_namespace(pool: &Pool, module: &ModuleContext) -> Result<(), OrmError> {
    let dialect = pool.dialect();
    if dialect != Dialect::Postgres {
        return Ok(());
    }
    let schema = dialect.quote(&super::schema_of(module).namespace.schema());
    Ok(pool
        .run(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
        .await?)
}

fn read_rendered(
    path: &Path,
    dialect: Dialect,
    module: &ModuleContext,
) -> Result<String, OrmError> {
    let sql = read_beneath_module(path)
        .map_err(|e| OrmError::Invalid(format!("cannot read {}: {e}", path.display())))?;
    render(&sql, dialect, module).map_err(|e| OrmError::Invalid(format!("{}: {e}", path.display())))
}

/// Largest migration file the host reads.
const MAX_MIGRATION_BYTES: u64 = 16 << 20;

/// Reads `MODULE/migrations/FILE` beneath the module's folder: a migration linked to a
/// file outside it (a host secret, `/etc/passwd`) is refused, never read or sent.
fn read_beneath_module(path: &Path) -> Result<String, FolderError> {
    let outside = || FolderError::Outside(path.display().to_string());
    let file = path
        .file_name()
        .and_then(|f| f.to_str())
        .ok_or_else(outside)?;
    let module_dir = path.parent().and_then(Path::parent).ok_or_else(outside)?;
    let bytes =
        ModuleFolder::open(module_dir)?.read(&format!("migrations/{file}"), MAX_MIGRATION_BYTES)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// On PostgreSQL, puts the tenant's schema first on the transaction's search path, so that
/// what a migration names bare (an index, a sequence, a function) is the tenant's own: `{{…}}`
/// covers tables only, and `DROP INDEX name` would otherwise look in `public`.
async fn in_tenant_schema(
    tx: &mut super::backend::Transaction,
    dialect: Dialect,
    module: &ModuleContext,
) -> Result<(), OrmError> {
    if dialect != Dialect::Postgres {
        return Ok(());
    }
    let schema = dialect.quote(&super::schema_of(module).namespace.schema());
    execute_script(tx, &format!("SET LOCAL search_path TO {schema}, public")).await
}

async fn execute_script(tx: &mut super::backend::Transaction, sql: &str) -> Result<(), OrmError> {
    Target::Transaction(tx).execute_script(sql).await?;
    Ok(())
}

fn fail(path: &Path, error: OrmError) -> OrmError {
    OrmError::Database(format!(
        "{} failed and was not recorded: {error}",
        path.display()
    ))
}
