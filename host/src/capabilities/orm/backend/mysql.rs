//! MySQL and MariaDB: BOOLEAN is TINYINT(1), instants are DATETIME(6) in UTC, JSON is text.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::mysql::{
    MySqlArguments, MySqlConnectOptions, MySqlPoolOptions, MySqlQueryResult, MySqlRow,
};
use sqlx::{Connection as _, MySql, MySqlPool, Row as _, ValueRef as _};

use super::Written;
use crate::capabilities::orm::model::{ColumnKind, FieldType};
use crate::capabilities::orm::value::SqlValue;

type Query<'q> = sqlx::query::Query<'q, MySql, MySqlArguments>;

/// Connects a pool; sessions run in UTC (so DATETIME values mean UTC) and serializable.
pub(super) async fn connect(url: &str) -> Result<MySqlPool, sqlx::Error> {
    let options: MySqlConnectOptions = url.parse()?;
    let options = options.timezone(Some("+00:00".into()));
    super::reachable(sqlx::MySqlConnection::connect_with(&options)).await?;
    MySqlPoolOptions::new()
        .max_connections(16)
        .after_connect(|conn, _| {
            Box::pin(async move {
                sqlx::Executor::execute(
                    conn,
                    "SET SESSION TRANSACTION ISOLATION LEVEL SERIALIZABLE",
                )
                .await
                .map(drop)
            })
        })
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
        SqlValue::Date(d) => query.bind(*d),
        SqlValue::DateTime(t) => query.bind(t.naive_utc()),
        SqlValue::Json(j) => query.bind(j.to_string()),
    }
}

/// Decodes column `i` as `kind`.
pub(super) fn decode(row: &MySqlRow, i: usize, kind: ColumnKind) -> Result<SqlValue, sqlx::Error> {
    let ty = kind.field_type();
    if row.try_get_raw(i)?.is_null() {
        return Ok(SqlValue::Null(ty));
    }
    Ok(match ty {
        FieldType::Integer => SqlValue::Int(row.try_get(i)?),
        FieldType::Number => SqlValue::Float(row.try_get(i)?),
        FieldType::Boolean => SqlValue::Bool(row.try_get(i)?),
        FieldType::String | FieldType::Text => SqlValue::Text(text(row, i)?),
        FieldType::Date => SqlValue::Date(row.try_get::<NaiveDate, _>(i)?),
        FieldType::Datetime => {
            let naive: chrono::NaiveDateTime = row.try_get(i)?;
            SqlValue::DateTime(DateTime::<Utc>::from_naive_utc_and_offset(naive, Utc))
        }
        FieldType::Json => {
            let json =
                serde_json::from_str(&text(row, i)?).map_err(|e| sqlx::Error::ColumnDecode {
                    index: i.to_string(),
                    source: e.into(),
                })?;
            SqlValue::Json(json)
        }
    })
}

/// Text columns with a binary collation come back typed as BLOB; both decode as UTF-8.
fn text(row: &MySqlRow, i: usize) -> Result<String, sqlx::Error> {
    row.try_get::<String, _>(i).or_else(|_| {
        let bytes: Vec<u8> = row.try_get(i)?;
        String::from_utf8(bytes).map_err(|e| sqlx::Error::ColumnDecode {
            index: i.to_string(),
            source: e.into(),
        })
    })
}

/// Rows changed and the generated id.
pub(super) fn written(result: &MySqlQueryResult) -> Written {
    Written {
        rows_affected: result.rows_affected(),
        last_insert_id: i64::try_from(result.last_insert_id()).ok(),
    }
}
