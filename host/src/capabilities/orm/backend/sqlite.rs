//! SQLite: dates, instants and JSON are kept as text, booleans as 0/1.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteQueryResult,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{Row as _, Sqlite, SqlitePool, ValueRef as _};

use super::Written;
use crate::capabilities::orm::model::{ColumnKind, FieldType};
use crate::capabilities::orm::value::{SqlValue, format_datetime};

type Query<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>>;

/// Opens (creating if needed) the database file in WAL mode.
pub(super) async fn connect(url: &str) -> Result<SqlitePool, sqlx::Error> {
    let options: SqliteConnectOptions = url.parse()?;
    let options = options
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true);
    if let Some(parent) = options.get_filename().parent() {
        std::fs::create_dir_all(parent).map_err(sqlx::Error::Io)?;
    }
    SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options)
        .await
}

/// Binds one value.
pub(super) fn bind<'q>(query: Query<'q>, value: &SqlValue) -> Query<'q> {
    match value {
        SqlValue::Null(_) => query.bind(Option::<String>::None),
        SqlValue::Bool(b) => query.bind(*b),
        SqlValue::Int(i) => query.bind(*i),
        SqlValue::Float(f) => query.bind(*f),
        SqlValue::Text(s) => query.bind(s.clone()),
        SqlValue::Date(d) => query.bind(d.format("%Y-%m-%d").to_string()),
        SqlValue::DateTime(t) => query.bind(format_datetime(*t)),
        SqlValue::Json(j) => query.bind(j.to_string()),
    }
}

/// Decodes column `i` as `kind`.
pub(super) fn decode(row: &SqliteRow, i: usize, kind: ColumnKind) -> Result<SqlValue, sqlx::Error> {
    let ty = kind.field_type();
    if row.try_get_raw(i)?.is_null() {
        return Ok(SqlValue::Null(ty));
    }
    let corrupt = |e: String| sqlx::Error::ColumnDecode {
        index: i.to_string(),
        source: e.into(),
    };
    Ok(match ty {
        FieldType::Integer => SqlValue::Int(row.try_get(i)?),
        FieldType::Number => SqlValue::Float(row.try_get(i)?),
        FieldType::Boolean => SqlValue::Bool(row.try_get(i)?),
        FieldType::String | FieldType::Text => SqlValue::Text(row.try_get(i)?),
        FieldType::Date => {
            let text: String = row.try_get(i)?;
            SqlValue::Date(
                NaiveDate::parse_from_str(&text, "%Y-%m-%d").map_err(|e| corrupt(e.to_string()))?,
            )
        }
        FieldType::Datetime => {
            let text: String = row.try_get(i)?;
            let t = DateTime::parse_from_rfc3339(&text).map_err(|e| corrupt(e.to_string()))?;
            SqlValue::DateTime(t.with_timezone(&Utc))
        }
        FieldType::Json => {
            let text: String = row.try_get(i)?;
            SqlValue::Json(serde_json::from_str(&text).map_err(|e| corrupt(e.to_string()))?)
        }
    })
}

/// Rows changed and the generated id.
pub(super) fn written(result: &SqliteQueryResult) -> Written {
    Written {
        rows_affected: result.rows_affected(),
        last_insert_id: Some(result.last_insert_rowid()),
    }
}
