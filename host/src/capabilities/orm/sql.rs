//! SQL text for each backend. Identifiers come only from validated models (and are
//! quoted besides); every value is a bound parameter.

use super::model::{CREATED_AT, ColumnKind, DELETED_AT, FieldType, ID, Model, UPDATED_AT};
use super::value::SqlValue;

/// Which SQL the backend speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite 3.35+ (bundled).
    Sqlite,
    /// PostgreSQL 12+.
    Postgres,
    /// MySQL 8 / MariaDB 10.5+.
    MySql,
}

/// A statement and its parameters, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The SQL text with placeholders.
    pub sql: String,
    /// Values for the placeholders.
    pub params: Vec<SqlValue>,
}

/// Where a tenant's tables live: a PostgreSQL schema, or a name prefix elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    /// The tenant.
    pub tenant: String,
}

impl Namespace {
    /// The PostgreSQL schema of the tenant.
    pub fn schema(&self) -> String {
        format!("tenant_{}", self.tenant)
    }

    /// The physical, unquoted table name (SQLite, MySQL) or the bare name inside the schema.
    pub fn physical(&self, dialect: Dialect, table: &str) -> String {
        match dialect {
            Dialect::Postgres => table.to_string(),
            _ => format!("{}__{table}", self.tenant),
        }
    }
}

/// The equality filters, order and window of a read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    /// `column = value` (or `IS NULL`), ANDed.
    pub filters: Vec<(String, SqlValue)>,
    /// Sort keys; `id` ascending is always the last, so pages are stable.
    pub order: Vec<(String, bool)>,
    /// Most rows to return.
    pub limit: Option<u64>,
    /// Rows to skip.
    pub offset: Option<u64>,
    /// Include soft-deleted rows.
    pub include_deleted: bool,
}

impl Dialect {
    /// A quoted identifier.
    pub fn quote(self, ident: &str) -> String {
        match self {
            Dialect::MySql => format!("`{ident}`"),
            _ => format!("\"{ident}\""),
        }
    }

    /// The quoted table of `namespace`.
    pub fn table(self, namespace: &Namespace, table: &str) -> String {
        let name = self.quote(&namespace.physical(self, table));
        match self {
            Dialect::Postgres => format!("{}.{name}", self.quote(&namespace.schema())),
            _ => name,
        }
    }

    /// Placeholders 1 to `n`, comma-separated (for a VALUES list).
    pub fn placeholders(self, n: usize) -> String {
        (1..=n)
            .map(|k| self.placeholder(k))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The `n`th (1-based) parameter placeholder.
    pub fn placeholder(self, n: usize) -> String {
        match self {
            Dialect::Postgres => format!("${n}"),
            _ => "?".into(),
        }
    }

    /// Whether INSERT and UPDATE may return the written row.
    fn returns_rows(self) -> bool {
        self != Dialect::MySql
    }

    /// The column type used for a field.
    pub fn column_type(self, ty: FieldType) -> &'static str {
        use FieldType::*;
        match (self, ty) {
            (Dialect::Sqlite, String | Text | Date | Datetime | Json) => "TEXT",
            (Dialect::Sqlite, Integer | Boolean) => "INTEGER",
            (Dialect::Sqlite, Number) => "REAL",
            (Dialect::Postgres, String) => "VARCHAR(255)",
            (Dialect::Postgres, Text) => "TEXT",
            (Dialect::Postgres, Integer) => "BIGINT",
            (Dialect::Postgres, Number) => "DOUBLE PRECISION",
            (Dialect::Postgres, Boolean) => "BOOLEAN",
            (Dialect::Postgres, Date) => "DATE",
            (Dialect::Postgres, Datetime) => "TIMESTAMPTZ",
            (Dialect::Postgres, Json) => "JSONB",
            // Binary collation: equality is case- and accent-sensitive, as elsewhere.
            (Dialect::MySql, String) => "VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
            (Dialect::MySql, Text) => "LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
            (Dialect::MySql, Integer) => "BIGINT",
            (Dialect::MySql, Number) => "DOUBLE",
            (Dialect::MySql, Boolean) => "BOOLEAN",
            (Dialect::MySql, Date) => "DATE",
            (Dialect::MySql, Datetime) => "DATETIME(6)",
            (Dialect::MySql, Json) => "LONGTEXT",
        }
    }

    fn id_column(self) -> &'static str {
        match self {
            Dialect::Sqlite => "\"id\" INTEGER PRIMARY KEY AUTOINCREMENT",
            Dialect::Postgres => "\"id\" BIGSERIAL PRIMARY KEY",
            Dialect::MySql => "`id` BIGINT AUTO_INCREMENT PRIMARY KEY",
        }
    }

    /// A column definition; a default is rendered as a literal (DDL takes no parameters),
    /// so rows that exist when a column is added get it too.
    fn column_definition(
        self,
        name: &str,
        ty: FieldType,
        default: Option<&serde_json::Value>,
    ) -> String {
        let mut definition = format!("{} {}", self.quote(name), self.column_type(ty));
        if let Some(literal) = default.and_then(|d| self.literal(ty, d)) {
            definition.push_str(" DEFAULT ");
            definition.push_str(&literal);
        }
        definition
    }

    /// A default as a SQL literal, for the scalar types; None for the rest (the ORM
    /// fills those on create).
    fn literal(self, ty: FieldType, value: &serde_json::Value) -> Option<String> {
        match (ty, value) {
            (FieldType::Boolean, serde_json::Value::Bool(b)) => Some(match self {
                Dialect::Sqlite => (if *b { "1" } else { "0" }).into(),
                _ => (if *b { "TRUE" } else { "FALSE" }).into(),
            }),
            (FieldType::Integer, serde_json::Value::Number(n)) => n.as_i64().map(|i| i.to_string()),
            (FieldType::Number, serde_json::Value::Number(n)) => n
                .as_f64()
                .filter(|f| f.is_finite())
                .map(|f| format!("{f:?}")),
            (FieldType::String, serde_json::Value::String(s)) => {
                // MySQL reads `\` in a literal as an escape: such a default is refused.
                (self != Dialect::MySql || !s.contains('\\'))
                    .then(|| format!("'{}'", s.replace('\'', "''")))
            }
            _ => None,
        }
    }

    /// `CREATE TABLE` for a new model.
    pub fn create_table(self, namespace: &Namespace, model: &Model) -> String {
        let mut columns = vec![self.id_column().to_string()];
        for field in &model.fields {
            columns.push(self.column_definition(&field.name, field.ty, field.default.as_ref()));
        }
        for managed in model.managed_columns() {
            columns.push(self.column_definition(managed, FieldType::Datetime, None));
        }
        format!(
            "CREATE TABLE IF NOT EXISTS {} ({})",
            self.table(namespace, &model.table),
            columns.join(", ")
        )
    }

    /// `ALTER TABLE … ADD COLUMN` for a field new to the model.
    pub fn add_column(
        self,
        namespace: &Namespace,
        table: &str,
        name: &str,
        ty: FieldType,
        default: Option<&serde_json::Value>,
    ) -> String {
        format!(
            "ALTER TABLE {} ADD COLUMN {}",
            self.table(namespace, table),
            self.column_definition(name, ty, default)
        )
    }

    /// The statement listing a table's column names (empty when it does not exist).
    pub fn list_columns(self, namespace: &Namespace, table: &str) -> Statement {
        let physical = namespace.physical(self, table);
        let (sql, params) = match self {
            Dialect::Sqlite => (
                "SELECT name FROM pragma_table_info(?)".to_string(),
                vec![SqlValue::Text(physical)],
            ),
            Dialect::Postgres => (
                "SELECT column_name::text FROM information_schema.columns \
                 WHERE table_schema = $1 AND table_name = $2"
                    .to_string(),
                vec![SqlValue::Text(namespace.schema()), SqlValue::Text(physical)],
            ),
            Dialect::MySql => (
                "SELECT CAST(column_name AS CHAR) FROM information_schema.columns \
                 WHERE table_schema = DATABASE() AND table_name = ?"
                    .to_string(),
                vec![SqlValue::Text(physical)],
            ),
        };
        Statement { sql, params }
    }

    fn column_list(self, model: &Model) -> String {
        model
            .columns()
            .iter()
            .map(|(name, _)| self.quote(name))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `SELECT` of whole rows.
    pub fn select(self, namespace: &Namespace, model: &Model, query: &Query) -> Statement {
        let mut params = Vec::new();
        let mut sql = format!(
            "SELECT {} FROM {}",
            self.column_list(model),
            self.table(namespace, &model.table)
        );
        sql.push_str(&self.where_clause(model, query, &mut params));
        let mut keys: Vec<String> = query
            .order
            .iter()
            .map(|(column, desc)| self.sort_key(column, *desc))
            .collect();
        if !query.order.iter().any(|(c, _)| c == ID) {
            keys.push(format!("{} ASC", self.quote(ID)));
        }
        sql.push_str(&format!(" ORDER BY {}", keys.join(", ")));
        if query.limit.is_some() || query.offset.is_some() {
            let limit = query.limit.unwrap_or(i64::MAX as u64).min(i64::MAX as u64);
            sql.push_str(&format!(
                " LIMIT {limit} OFFSET {}",
                query.offset.unwrap_or(0)
            ));
        }
        Statement { sql, params }
    }

    /// One ORDER BY key. Empty values sort as the smallest on every backend (SQLite's and
    /// MySQL's rule; PostgreSQL is told so).
    fn sort_key(self, column: &str, desc: bool) -> String {
        let direction = if desc { "DESC" } else { "ASC" };
        let nulls = match (self, desc) {
            (Dialect::Postgres, false) => " NULLS FIRST",
            (Dialect::Postgres, true) => " NULLS LAST",
            _ => "",
        };
        format!("{} {direction}{nulls}", self.quote(column))
    }

    /// `SELECT COUNT(*)` under the same filters.
    pub fn count(self, namespace: &Namespace, model: &Model, query: &Query) -> Statement {
        let mut params = Vec::new();
        let mut sql = format!(
            "SELECT COUNT(*) FROM {}",
            self.table(namespace, &model.table)
        );
        sql.push_str(&self.where_clause(model, query, &mut params));
        Statement { sql, params }
    }

    fn where_clause(self, model: &Model, query: &Query, params: &mut Vec<SqlValue>) -> String {
        let mut conditions = Vec::new();
        if model.soft_delete && !query.include_deleted {
            conditions.push(format!("{} IS NULL", self.quote(DELETED_AT)));
        }
        for (column, value) in &query.filters {
            if matches!(value, SqlValue::Null(_)) {
                conditions.push(format!("{} IS NULL", self.quote(column)));
                continue;
            }
            params.push(value.clone());
            conditions.push(format!(
                "{} = {}",
                self.quote(column),
                self.placeholder(params.len())
            ));
        }
        if conditions.is_empty() {
            return String::new();
        }
        format!(" WHERE {}", conditions.join(" AND "))
    }

    /// `INSERT` of one row; returns it where the backend can.
    pub fn insert(
        self,
        namespace: &Namespace,
        model: &Model,
        values: Vec<(String, SqlValue)>,
    ) -> Statement {
        let table = self.table(namespace, &model.table);
        let columns: Vec<String> = values.iter().map(|(c, _)| self.quote(c)).collect();
        let placeholders = self.placeholders(values.len());
        let mut sql = match (columns.is_empty(), self) {
            (true, Dialect::MySql) => format!("INSERT INTO {table} () VALUES ()"),
            (true, _) => format!("INSERT INTO {table} DEFAULT VALUES"),
            (false, _) => format!(
                "INSERT INTO {table} ({}) VALUES ({})",
                columns.join(", "),
                placeholders
            ),
        };
        if self.returns_rows() {
            sql.push_str(&format!(" RETURNING {}", self.column_list(model)));
        }
        Statement {
            sql,
            params: values.into_iter().map(|(_, v)| v).collect(),
        }
    }

    /// `UPDATE` of one live row by id; returns it where the backend can.
    pub fn update(
        self,
        namespace: &Namespace,
        model: &Model,
        id: i64,
        values: Vec<(String, SqlValue)>,
    ) -> Statement {
        let mut params = Vec::new();
        let assignments: Vec<String> = values
            .into_iter()
            .map(|(column, value)| {
                params.push(value);
                format!(
                    "{} = {}",
                    self.quote(&column),
                    self.placeholder(params.len())
                )
            })
            .collect();
        params.push(SqlValue::Int(id));
        let mut sql = format!(
            "UPDATE {} SET {} WHERE {} = {}",
            self.table(namespace, &model.table),
            assignments.join(", "),
            self.quote(ID),
            self.placeholder(params.len())
        );
        if model.soft_delete {
            sql.push_str(&format!(" AND {} IS NULL", self.quote(DELETED_AT)));
        }
        if self.returns_rows() {
            sql.push_str(&format!(" RETURNING {}", self.column_list(model)));
        }
        Statement { sql, params }
    }

    /// Whether [`Dialect::insert`] and [`Dialect::update`] return the row.
    pub fn writes_return_rows(self) -> bool {
        self.returns_rows()
    }

    /// `DELETE`, or for soft-delete models an `UPDATE` that sets `deleted_at`.
    pub fn delete(self, namespace: &Namespace, model: &Model, id: i64) -> Statement {
        let table = self.table(namespace, &model.table);
        if model.soft_delete {
            return Statement {
                sql: format!(
                    "UPDATE {table} SET {} = {} WHERE {} = {} AND {} IS NULL",
                    self.quote(DELETED_AT),
                    self.placeholder(1),
                    self.quote(ID),
                    self.placeholder(2),
                    self.quote(DELETED_AT)
                ),
                params: vec![SqlValue::DateTime(super::value::now()), SqlValue::Int(id)],
            };
        }
        Statement {
            sql: format!(
                "DELETE FROM {table} WHERE {} = {}",
                self.quote(ID),
                self.placeholder(1)
            ),
            params: vec![SqlValue::Int(id)],
        }
    }

    /// The kinds of the columns [`Dialect::select`] returns, for decoding.
    pub fn row_kinds(model: &Model) -> Vec<ColumnKind> {
        model.columns().into_iter().map(|(_, kind)| kind).collect()
    }

    /// The columns a create or update writes for the timestamps.
    pub fn stamp(model: &Model, creating: bool) -> Vec<(String, SqlValue)> {
        if !model.timestamps {
            return Vec::new();
        }
        let now = SqlValue::DateTime(super::value::now());
        let mut stamps = vec![(UPDATED_AT.to_string(), now.clone())];
        if creating {
            stamps.insert(0, (CREATED_AT.to_string(), now));
        }
        stamps
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capabilities::orm::model::ModelSpec;

    fn todo() -> Model {
        let spec: ModelSpec = toml::from_str(
            "soft-delete = true\nfields.title = { type = \"string\" }\nfields.done = { type = \"boolean\", default = false }",
        )
        .unwrap();
        Model::from_spec("todo", &spec).unwrap()
    }

    fn ns() -> Namespace {
        Namespace {
            tenant: "acme".into(),
        }
    }

    #[test]
    fn tenants_get_a_schema_on_postgres_and_a_prefix_elsewhere() {
        assert_eq!(
            Dialect::Postgres.table(&ns(), "todos"),
            "\"tenant_acme\".\"todos\""
        );
        assert_eq!(Dialect::Sqlite.table(&ns(), "todos"), "\"acme__todos\"");
        assert_eq!(Dialect::MySql.table(&ns(), "todos"), "`acme__todos`");
    }

    #[test]
    fn filters_are_placeholders_and_soft_deleted_rows_are_skipped() {
        let query = Query {
            filters: vec![
                ("title".into(), SqlValue::Text("' OR 1=1 --".into())),
                ("done".into(), SqlValue::Null(FieldType::Boolean)),
            ],
            order: vec![("title".into(), true)],
            limit: Some(10),
            offset: Some(20),
            include_deleted: false,
        };
        let s = Dialect::Postgres.select(&ns(), &todo(), &query);
        assert_eq!(
            s.sql,
            "SELECT \"id\", \"done\", \"title\", \"deleted_at\" FROM \"tenant_acme\".\"todos\" \
             WHERE \"deleted_at\" IS NULL AND \"title\" = $1 AND \"done\" IS NULL \
             ORDER BY \"title\" DESC NULLS LAST, \"id\" ASC LIMIT 10 OFFSET 20"
        );
        assert_eq!(s.params, vec![SqlValue::Text("' OR 1=1 --".into())]);
    }

    #[test]
    fn new_tables_carry_literal_defaults_for_existing_rows() {
        let sql = Dialect::MySql.create_table(&ns(), &todo());
        assert!(sql.contains("`done` BOOLEAN DEFAULT FALSE"), "{sql}");
        let sql = Dialect::Sqlite.add_column(
            &ns(),
            "todos",
            "note",
            FieldType::String,
            Some(&"it's".into()),
        );
        assert!(sql.ends_with("\"note\" TEXT DEFAULT 'it''s'"), "{sql}");
    }

    #[test]
    fn a_soft_delete_is_an_update_of_live_rows() {
        let s = Dialect::Sqlite.delete(&ns(), &todo(), 7);
        assert!(
            s.sql
                .starts_with("UPDATE \"acme__todos\" SET \"deleted_at\" = ?"),
            "{}",
            s.sql
        );
        assert_eq!(s.params[1], SqlValue::Int(7));
    }
}
