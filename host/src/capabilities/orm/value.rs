//! Values crossing between JSON (what modules send and receive) and SQL parameters,
//! checked against the field's type. Values are always bound, never spliced into SQL.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// The type of a field, and so of its column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// Up to 255 characters.
    String,
    /// Text of any length.
    Text,
    /// A 64-bit signed integer.
    Integer,
    /// A 64-bit float.
    Number,
    /// True or false.
    Boolean,
    /// A calendar date, `YYYY-MM-DD`.
    Date,
    /// An instant in UTC, RFC 3339.
    Datetime,
    /// Any JSON value.
    Json,
}

impl FieldType {
    /// The name used in manifests and messages.
    pub fn name(self) -> &'static str {
        match self {
            FieldType::String => "string",
            FieldType::Text => "text",
            FieldType::Integer => "integer",
            FieldType::Number => "number",
            FieldType::Boolean => "boolean",
            FieldType::Date => "date",
            FieldType::Datetime => "datetime",
            FieldType::Json => "json",
        }
    }
}

/// A typed SQL value, bound as a parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum SqlValue {
    /// NULL of a column type (PostgreSQL wants typed NULLs).
    Null(FieldType),
    /// A boolean.
    Bool(bool),
    /// A 64-bit integer.
    Int(i64),
    /// A 64-bit float.
    Float(f64),
    /// A `string` or `text`.
    Text(String),
    /// A date.
    Date(NaiveDate),
    /// An instant in UTC.
    DateTime(DateTime<Utc>),
    /// A JSON document.
    Json(Json),
}

/// Parses a JSON value as a field of type `ty`; the error says what was expected.
pub fn from_json(value: &Json, ty: FieldType, max_chars: usize) -> Result<SqlValue, String> {
    if value.is_null() {
        return Ok(SqlValue::Null(ty));
    }
    let mismatch = || format!("expected {} but got {}", expected(ty), kind_of(value));
    match ty {
        FieldType::String | FieldType::Text => {
            let text = value.as_str().ok_or_else(mismatch)?;
            if ty == FieldType::String && text.chars().count() > max_chars {
                return Err(format!(
                    "is longer than {max_chars} characters; use type \"text\" for long values"
                ));
            }
            Ok(SqlValue::Text(text.to_string()))
        }
        FieldType::Integer => value.as_i64().map(SqlValue::Int).ok_or_else(mismatch),
        FieldType::Number => value.as_f64().map(SqlValue::Float).ok_or_else(mismatch),
        FieldType::Boolean => value.as_bool().map(SqlValue::Bool).ok_or_else(mismatch),
        FieldType::Date => {
            let text = value.as_str().ok_or_else(mismatch)?;
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(SqlValue::Date)
                .map_err(|_| format!("'{text}' is not a date like 2026-11-23"))
        }
        FieldType::Datetime => {
            let text = value.as_str().ok_or_else(mismatch)?;
            DateTime::parse_from_rfc3339(text)
                .map(|t| SqlValue::DateTime(t.with_timezone(&Utc)))
                .map_err(|_| {
                    format!("'{text}' is not an RFC 3339 datetime like 2026-11-23T10:00:00Z")
                })
        }
        FieldType::Json => Ok(SqlValue::Json(value.clone())),
    }
}

/// The JSON form of a value read from the database.
pub fn to_json(value: SqlValue) -> Json {
    match value {
        SqlValue::Null(_) => Json::Null,
        SqlValue::Bool(b) => Json::Bool(b),
        SqlValue::Int(i) => Json::from(i),
        SqlValue::Float(f) => serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number),
        SqlValue::Text(s) => Json::String(s),
        SqlValue::Date(d) => Json::String(d.format("%Y-%m-%d").to_string()),
        SqlValue::DateTime(t) => Json::String(format_datetime(t)),
        SqlValue::Json(j) => j,
    }
}

/// The one text form of instants: RFC 3339, UTC, microseconds (what every backend keeps).
pub fn format_datetime(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Now, truncated to the microsecond every backend stores.
pub fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

fn expected(ty: FieldType) -> &'static str {
    match ty {
        FieldType::String | FieldType::Text => "a string",
        FieldType::Integer => "an integer",
        FieldType::Number => "a number",
        FieldType::Boolean => "true or false",
        FieldType::Date => "a date string (YYYY-MM-DD)",
        FieldType::Datetime => "an RFC 3339 datetime string",
        FieldType::Json => "JSON",
    }
}

fn kind_of(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn values_are_checked_against_their_field_type() {
        assert_eq!(
            from_json(&json!(3), FieldType::Integer, 255),
            Ok(SqlValue::Int(3))
        );
        assert_eq!(
            from_json(&json!(3), FieldType::Number, 255),
            Ok(SqlValue::Float(3.0))
        );
        let err = from_json(&json!("3"), FieldType::Integer, 255).unwrap_err();
        assert_eq!(err, "expected an integer but got a string");
        let err = from_json(&json!(1.5), FieldType::Integer, 255).unwrap_err();
        assert!(err.contains("got a number"), "{err}");
        assert!(from_json(&json!("2026-02-30"), FieldType::Date, 255).is_err());
        assert!(from_json(&json!("x".repeat(256)), FieldType::String, 255).is_err());
        assert!(from_json(&json!("x".repeat(256)), FieldType::Text, 255).is_ok());
    }

    #[test]
    fn datetimes_come_back_in_utc_with_microseconds() {
        let v = from_json(
            &json!("2026-11-23T10:00:00.5+02:00"),
            FieldType::Datetime,
            255,
        )
        .unwrap();
        assert_eq!(to_json(v), json!("2026-11-23T08:00:00.500000Z"));
    }

    #[test]
    fn sql_in_a_value_is_just_text() {
        let v = from_json(&json!("' OR 1=1 --"), FieldType::String, 255).unwrap();
        assert_eq!(v, SqlValue::Text("' OR 1=1 --".into()));
    }
}
