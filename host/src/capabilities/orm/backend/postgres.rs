//! PostgreSQL: native BOOLEAN, DATE, TIMESTAMPTZ and JSONB; NULLs typed by their column.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::{PgArguments, PgConnectOptions, PgPoolOptions, PgQueryResult, PgRow};
use sqlx::types::Json;
use sqlx::{Connection as _, PgPool, Postgres, Row as _, ValueRef as _};

use super::Written;
use crate::capabilities::orm::model::{ColumnKind, FieldType};
use crate::capabilities::orm::value::SqlValue;

type Query<'q> = sqlx::query::Query<'q, Postgres, PgArguments>;

/// Connects a pool.
pub(super) async fn connect(url: &str) -> Result<PgPool, sqlx::Error> {
    let options: PgConnectOptions = url.parse()?;
    super::reachable(sqlx::PgConnection::connect_with(&options)).await?;
    PgPoolOptions::new()
        .max_connections(16)
        .connect_with(options)
        .await
}

/// Binds one value; a NULL gets its column's type, which PostgreSQL checks.
pub(super) fn bind<'q>(query: Query<'q>, value: &SqlValue) -> Query<'q> {
    match value {
        SqlValue::Null(ty) => match ty {
            FieldType::Integer => query.bind(Option::<i64>::None),
            FieldType::Number => query.bind(Option::<f64>::None),
            FieldType::Boolean => query.bind(Option::<bool>::None),
            FieldType::String | FieldType::Text => query.bind(Option::<String>::None),
            FieldType::Date => query.bind(Option::<NaiveDate>::None),
            FieldType::Datetime => query.bind(Option::<DateTime<Utc>>::None),
            FieldType::Json => query.bind(Option::<Json<serde_json::Value>>::None),
        },
        SqlValue::Bool(b) => query.bind(*b),
        SqlValue::Int(i) => query.bind(*i),
        SqlValue::Float(f) => query.bind(*f),
        SqlValue::Text(s) => query.bind(s.clone()),
        SqlValue::Date(d) => query.bind(*d),
        SqlValue::DateTime(t) => query.bind(*t),
        SqlValue::Json(j) => query.bind(Json(j.clone())),
    }
}

/// Decodes column `i` as `kind`.
pub(super) fn decode(row: &PgRow, i: usize, kind: ColumnKind) -> Result<SqlValue, sqlx::Error> {
    let ty = kind.field_type();
    if row.try_get_raw(i)?.is_null() {
        return Ok(SqlValue::Null(ty));
    }
    Ok(match ty {
        FieldType::Integer => SqlValue::Int(row.try_get(i)?),
        FieldType::Number => SqlValue::Float(row.try_get(i)?),
        FieldType::Boolean => SqlValue::Bool(row.try_get(i)?),
        FieldType::String | FieldType::Text => SqlValue::Text(row.try_get(i)?),
        FieldType::Date => SqlValue::Date(row.try_get(i)?),
        FieldType::Datetime => SqlValue::DateTime(row.try_get(i)?),
        FieldType::Json => SqlValue::Json(row.try_get::<Json<serde_json::Value>, _>(i)?.0),
    })
}

/// Rows changed (ids come back through RETURNING).
pub(super) fn written(result: &PgQueryResult) -> Written {
    Written {
        rows_affected: result.rows_affected(),
        last_insert_id: None,
    }
}
