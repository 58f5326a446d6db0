//! Auto-migration, run when a module version loads: creates missing tables, adds new
//! columns, warns (never drops) about columns that left the model, and refuses type
//! changes. `plughost_models` records what was applied and which module owns each table.

use std::collections::BTreeMap;

use super::ModuleSchema;
use super::backend::{Pool, Target};
use super::errors::OrmError;
use super::model::{ColumnKind, FieldType, ID, Model};
use super::sql::{Dialect, Statement};
use super::value::{SqlValue, format_datetime, now};

/// The control table of applied models.
pub const MODELS_TABLE: &str = "plughost_models";

/// What one table's record says: its owner and the type of every column ever applied.
#[derive(Debug, Clone, PartialEq)]
struct Applied {
    module: String,
    fields: BTreeMap<String, FieldType>,
}

/// Brings the database in line with `schema`'s models; returns the warnings to report.
pub async fn auto_migrate(
    pool: &Pool,
    module: &str,
    schema: &ModuleSchema,
) -> Result<Vec<String>, OrmError> {
    if schema.models.is_empty() {
        return Ok(Vec::new());
    }
    ensure_control_tables(pool).await?;
    let dialect = pool.dialect();
    if dialect == Dialect::Postgres {
        let create = format!(
            "CREATE SCHEMA IF NOT EXISTS {}",
            dialect.quote(&schema.namespace.schema())
        );
        if pool.run(&create).await.is_err() {
            // The same catalog race as above: the schema now exists.
            pool.run(&create).await?;
        }
    }
    let mut warnings = Vec::new();
    for model in schema.models.values() {
        warnings.extend(migrate_model(pool, module, schema, model).await?);
    }
    Ok(warnings)
}

/// Creates the control tables if they are missing. Two hosts (or two modules) doing this
/// at once can make PostgreSQL's `CREATE TABLE IF NOT EXISTS` fail on its catalog; the
/// table then exists, so one more try succeeds.
pub async fn ensure_control_tables(pool: &Pool) -> Result<(), OrmError> {
    match create_control_tables(pool).await {
        Ok(()) => Ok(()),
        Err(first) => {
            tracing::debug!("retrying the control tables after: {first}");
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            create_control_tables(pool).await
        }
    }
}

async fn create_control_tables(pool: &Pool) -> Result<(), OrmError> {
    let dialect = pool.dialect();
    // 191 characters keep a utf8mb4 primary key within MySQL's index limit.
    let text = "VARCHAR(191)";
    pool.run(&format!(
        "CREATE TABLE IF NOT EXISTS {} (tenant {text} NOT NULL, table_name {text} NOT NULL, \
             module {text} NOT NULL, fields TEXT NOT NULL, applied_at {text} NOT NULL, \
             PRIMARY KEY (tenant, table_name))",
        dialect.quote(MODELS_TABLE)
    ))
    .await?;
    super::manual::ensure_control_table(pool).await
}

async fn migrate_model(
    pool: &Pool,
    module: &str,
    schema: &ModuleSchema,
    model: &Model,
) -> Result<Vec<String>, OrmError> {
    let dialect = pool.dialect();
    let namespace = &schema.namespace;
    let table = &model.table;
    let applied = applied(pool, &namespace.tenant, table).await?;
    if let Some(owner) = applied.as_ref().map(|a| &a.module).filter(|m| *m != module) {
        return Err(OrmError::Denied(format!(
            "table '{table}' of tenant '{}' belongs to module '{owner}'; a module may only use \
             tables it owns: give model '{}' another table name",
            namespace.tenant, model.name
        )));
    }
    let mut recorded = applied.map(|a| a.fields).unwrap_or_default();
    check_types(model, &recorded)?;
    let existing = existing_columns(pool, namespace, table).await?;
    let mut warnings = Vec::new();
    if existing.is_empty() {
        pool.run(&dialect.create_table(namespace, model)).await?;
        tracing::info!(module, tenant = %namespace.tenant, table = %table, "created table");
    } else {
        for (column, kind) in model.columns() {
            if existing.iter().any(|c| c == column) || column == ID {
                continue;
            }
            let default = model.field(column).and_then(|f| f.default.as_ref());
            let ty = kind.field_type();
            pool.run(&dialect.add_column(namespace, table, column, ty, default))
                .await?;
            tracing::info!(module, tenant = %namespace.tenant, table = %table, column, "added column");
        }
        for column in existing.iter().filter(|c| model.column_type(c).is_none()) {
            let warning = format!(
                "table '{table}' keeps column '{column}', which model '{}' no longer declares; \
                 it is never dropped automatically (write a manual migration to drop it)",
                model.name
            );
            tracing::warn!(module, tenant = %namespace.tenant, "{warning}");
            warnings.push(warning);
        }
    }
    for (column, kind) in model.columns() {
        if let ColumnKind::Field(ty) = kind {
            recorded.insert(column.to_string(), ty);
        }
    }
    record(pool, &namespace.tenant, table, module, &recorded).await?;
    Ok(warnings)
}

fn check_types(model: &Model, recorded: &BTreeMap<String, FieldType>) -> Result<(), OrmError> {
    for field in &model.fields {
        match recorded.get(&field.name) {
            Some(old) if *old != field.ty => {
                return Err(OrmError::Invalid(format!(
                    "model '{}' changes field '{}' from {} to {}; auto-migration never changes a \
                     column's type: keep the old type, or add a manual migration (migrations/NNNN_name.up.sql \
                     and .down.sql, applied with `host db migrate`) and a new field name",
                    model.name,
                    field.name,
                    old.name(),
                    field.ty.name()
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

async fn existing_columns(
    pool: &Pool,
    namespace: &super::sql::Namespace,
    table: &str,
) -> Result<Vec<String>, OrmError> {
    let statement = pool.dialect().list_columns(namespace, table);
    let rows = Target::Pool(pool)
        .fetch(&statement, &[ColumnKind::Field(FieldType::Text)])
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|mut r| match r.pop() {
            Some(SqlValue::Text(name)) => Some(name),
            _ => None,
        })
        .collect())
}

async fn applied(pool: &Pool, tenant: &str, table: &str) -> Result<Option<Applied>, OrmError> {
    let dialect = pool.dialect();
    let statement = Statement {
        sql: format!(
            "SELECT module, fields FROM {} WHERE tenant = {} AND table_name = {}",
            dialect.quote(MODELS_TABLE),
            dialect.placeholder(1),
            dialect.placeholder(2)
        ),
        params: vec![SqlValue::Text(tenant.into()), SqlValue::Text(table.into())],
    };
    let text = ColumnKind::Field(FieldType::Text);
    let rows = Target::Pool(pool).fetch(&statement, &[text, text]).await?;
    let Some(row) = rows.into_iter().next() else {
        return Ok(None);
    };
    let [SqlValue::Text(module), SqlValue::Text(fields)] = <[SqlValue; 2]>::try_from(row)
        .map_err(|_| OrmError::Database(format!("{MODELS_TABLE} has an unexpected shape")))?
    else {
        return Err(OrmError::Database(format!("{MODELS_TABLE} holds NULLs")));
    };
    let fields = serde_json::from_str(&fields)
        .map_err(|e| OrmError::Database(format!("{MODELS_TABLE}.fields of '{table}': {e}")))?;
    Ok(Some(Applied { module, fields }))
}

async fn record(
    pool: &Pool,
    tenant: &str,
    table: &str,
    module: &str,
    fields: &BTreeMap<String, FieldType>,
) -> Result<(), OrmError> {
    let dialect = pool.dialect();
    let fields = serde_json::to_string(fields).unwrap_or_default();
    // One upsert, so concurrent loads of different tables never conflict.
    let update = match dialect {
        Dialect::MySql => {
            "ON DUPLICATE KEY UPDATE module = VALUES(module), fields = VALUES(fields), \
                           applied_at = VALUES(applied_at)"
        }
        _ => {
            "ON CONFLICT (tenant, table_name) DO UPDATE SET module = excluded.module, \
              fields = excluded.fields, applied_at = excluded.applied_at"
        }
    };
    let upsert = Statement {
        sql: format!(
            "INSERT INTO {} (tenant, table_name, module, fields, applied_at) VALUES ({}) {update}",
            dialect.quote(MODELS_TABLE),
            dialect.placeholders(5)
        ),
        params: vec![
            SqlValue::Text(tenant.into()),
            SqlValue::Text(table.into()),
            SqlValue::Text(module.into()),
            SqlValue::Text(fields),
            SqlValue::Text(format_datetime(now())),
        ],
    };
    Target::Pool(pool).execute(&upsert).await?;
    Ok(())
}
