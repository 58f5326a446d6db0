//! Models as a manifest declares them (`[models.NAME]`), validated into the shape the
//! ORM uses: a table name, typed fields, timestamps and soft delete.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A model as written in `plugin.toml`:
///
/// ```toml
/// [models.todo]              # table "todos" unless `table` says otherwise
/// timestamps = true          # created_at / updated_at, filled by the host
/// soft-delete = false        # delete marks deleted_at; reads skip such rows
/// fields.title = { type = "string", required = true }
/// fields.done = { type = "boolean", default = false }
/// ```
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ModelSpec {
    /// Table name; default: the model name's snake_case plural.
    pub table: Option<String>,
    /// Adds `created_at` and `updated_at`.
    #[serde(default)]
    pub timestamps: bool,
    /// Adds `deleted_at`; delete sets it and reads skip rows that have it.
    #[serde(default)]
    pub soft_delete: bool,
    /// Fields by name, in declaration order.
    #[serde(default)]
    pub fields: toml::Table,
}

/// One field as written: `{ type = "...", required = bool, default = value }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct FieldSpec {
    r#type: FieldType,
    #[serde(default)]
    required: bool,
    default: Option<toml::Value>,
}

pub use super::value::FieldType;

/// Longest `string` value, in characters (the same on every backend).
pub const STRING_MAX_CHARS: usize = 255;

/// A validated field.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// Column name.
    pub name: String,
    /// Its type.
    pub ty: FieldType,
    /// Whether create must set it (or a default must).
    pub required: bool,
    /// Value used on create when none is given, as JSON.
    pub default: Option<serde_json::Value>,
}

/// A validated model.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Model name, as modules name it in calls.
    pub name: String,
    /// Logical table name (what grants and migrations name).
    pub table: String,
    /// Declared fields, in order.
    pub fields: Vec<Field>,
    /// Has `created_at` / `updated_at`.
    pub timestamps: bool,
    /// Has `deleted_at`.
    pub soft_delete: bool,
}

/// Columns the host manages.
pub const ID: &str = "id";
/// Set on create.
pub const CREATED_AT: &str = "created_at";
/// Set on create and update.
pub const UPDATED_AT: &str = "updated_at";
/// Set by a soft delete.
pub const DELETED_AT: &str = "deleted_at";

impl Model {
    /// Validates a manifest entry.
    pub fn from_spec(name: &str, spec: &ModelSpec) -> Result<Model, String> {
        // A model name never reaches SQL (its table does), so reserved words are fine here.
        if let Err(e) = check_identifier(name, "model name")
            && !RESERVED.contains(&name)
        {
            return Err(e);
        }
        let table = match &spec.table {
            Some(t) => t.clone(),
            None => plural(name),
        };
        check_identifier(&table, "table name")?;
        if table.contains("__") {
            return Err(format!(
                "table name '{table}' must not contain '__' (the host uses it to separate tenants)"
            ));
        }
        let mut fields = Vec::new();
        for (field_name, value) in &spec.fields {
            fields.push(
                parse_field(field_name, value.clone())
                    .map_err(|e| format!("models.{name}.fields.{field_name}: {e}"))?,
            );
        }
        Ok(Model {
            name: name.to_string(),
            table,
            fields,
            timestamps: spec.timestamps,
            soft_delete: spec.soft_delete,
        })
    }

    /// The field called `name`, if declared.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Every column in select order: id, fields, then the managed timestamps.
    pub fn columns(&self) -> Vec<(&str, ColumnKind)> {
        let mut columns = vec![(ID, ColumnKind::Id)];
        columns.extend(
            self.fields
                .iter()
                .map(|f| (f.name.as_str(), ColumnKind::Field(f.ty))),
        );
        for managed in self.managed_columns() {
            columns.push((managed, ColumnKind::Field(FieldType::Datetime)));
        }
        columns
    }

    /// The timestamp columns this model has.
    pub fn managed_columns(&self) -> Vec<&'static str> {
        let mut columns = Vec::new();
        if self.timestamps {
            columns.extend([CREATED_AT, UPDATED_AT]);
        }
        if self.soft_delete {
            columns.push(DELETED_AT);
        }
        columns
    }

    /// The type of a column a query may filter or order by.
    pub fn column_type(&self, column: &str) -> Option<ColumnKind> {
        self.columns()
            .into_iter()
            .find(|(name, _)| *name == column)
            .map(|(_, kind)| kind)
    }

    /// Names of the columns a query may use, for messages.
    pub fn column_names(&self) -> String {
        self.columns()
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// What a column holds: the primary key or a typed field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// The generated 64-bit id.
    Id,
    /// A declared or managed field.
    Field(FieldType),
}

impl ColumnKind {
    /// The value type of the column.
    pub fn field_type(self) -> FieldType {
        match self {
            ColumnKind::Id => FieldType::Integer,
            ColumnKind::Field(ty) => ty,
        }
    }
}

fn parse_field(name: &str, value: toml::Value) -> Result<Field, String> {
    check_identifier(name, "field name")?;
    if [ID, CREATED_AT, UPDATED_AT, DELETED_AT].contains(&name) {
        return Err(format!("'{name}' is managed by the host; remove it"));
    }
    let spec: FieldSpec = value
        .try_into()
        .map_err(|e: toml::de::Error| e.message().to_string())?;
    let default = match spec.default {
        None => None,
        Some(v) => {
            let json = serde_json::to_value(&v).map_err(|e| e.to_string())?;
            super::value::from_json(&json, spec.r#type, STRING_MAX_CHARS)
                .map_err(|e| format!("default {json}: {e}"))?;
            Some(json)
        }
    };
    Ok(Field {
        name: name.to_string(),
        ty: spec.r#type,
        required: spec.required,
        default,
    })
}

/// Words no backend accepts unquoted as a column or table; refused so that names mean
/// the same everywhere and a migration written by hand needs no quoting.
const RESERVED: &[&str] = &[
    "all",
    "alter",
    "and",
    "any",
    "as",
    "asc",
    "between",
    "by",
    "case",
    "check",
    "column",
    "constraint",
    "create",
    "cross",
    "current_date",
    "current_time",
    "current_timestamp",
    "current_user",
    "database",
    "default",
    "delete",
    "desc",
    "distinct",
    "drop",
    "else",
    "end",
    "exists",
    "false",
    "fetch",
    "for",
    "foreign",
    "from",
    "full",
    "grant",
    "group",
    "having",
    "in",
    "index",
    "inner",
    "insert",
    "intersect",
    "into",
    "is",
    "join",
    "key",
    "left",
    "like",
    "limit",
    "not",
    "null",
    "offset",
    "on",
    "or",
    "order",
    "outer",
    "primary",
    "references",
    "right",
    "rows",
    "schema",
    "select",
    "set",
    "table",
    "then",
    "to",
    "true",
    "union",
    "unique",
    "update",
    "user",
    "using",
    "values",
    "when",
    "where",
    "with",
];

/// Longest identifier; leaves room for a tenant prefix within every backend's limit (63).
const MAX_IDENTIFIER: usize = 40;

/// Letters, digits and `_`, starting with a lower-case letter; not a reserved word.
pub fn check_identifier(name: &str, what: &str) -> Result<(), String> {
    let well_formed = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !well_formed || name.len() > MAX_IDENTIFIER {
        return Err(format!(
            "{what} '{name}' must start with a lower-case letter and use only a-z, 0-9 and '_' \
             (at most {MAX_IDENTIFIER} characters)"
        ));
    }
    if RESERVED.contains(&name) {
        return Err(format!(
            "{what} '{name}' is a reserved SQL word; choose another name"
        ));
    }
    Ok(())
}

/// The snake_case plural of a model name: `todo` → `todos`, `category` → `categories`,
/// `box` → `boxes`.
pub fn plural(name: &str) -> String {
    let consonant_y = name.ends_with('y')
        && !name
            .chars()
            .rev()
            .nth(1)
            .is_some_and(|c| "aeiou".contains(c));
    if consonant_y {
        return format!("{}ies", &name[..name.len() - 1]);
    }
    if ["s", "x", "z", "ch", "sh"]
        .iter()
        .any(|e| name.ends_with(e))
    {
        return format!("{name}es");
    }
    format!("{name}s")
}

/// Every model of a manifest, validated, by name.
pub fn models_from_manifest(
    specs: &BTreeMap<String, ModelSpec>,
) -> Result<BTreeMap<String, Model>, String> {
    let mut tables = BTreeMap::new();
    let mut models = BTreeMap::new();
    for (name, spec) in specs {
        let model = Model::from_spec(name, spec)?;
        if let Some(other) = tables.insert(model.table.clone(), name.clone()) {
            return Err(format!(
                "models '{other}' and '{name}' both use table '{}'",
                model.table
            ));
        }
        models.insert(name.clone(), model);
    }
    Ok(models)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(text: &str) -> Result<Model, String> {
        let spec: ModelSpec = toml::from_str(text).map_err(|e| e.to_string())?;
        Model::from_spec("todo", &spec)
    }

    #[test]
    fn tables_are_snake_case_plurals_of_the_model_name() {
        assert_eq!(plural("todo"), "todos");
        assert_eq!(plural("category"), "categories");
        assert_eq!(plural("day"), "days");
        assert_eq!(plural("box"), "boxes");
        assert_eq!(plural("order_item"), "order_items");
    }

    #[test]
    fn a_model_keeps_its_fields_types_and_defaults() {
        let m = model(
            "timestamps = true\nfields.title = { type = \"string\", required = true }\n\
             fields.done = { type = \"boolean\", default = false }",
        )
        .unwrap();
        assert_eq!(m.table, "todos");
        assert_eq!(m.field("done").unwrap().default, Some(false.into()));
        assert!(m.field("title").unwrap().required);
        let names: Vec<&str> = m.columns().iter().map(|c| c.0).collect();
        assert_eq!(
            names,
            ["id", "done", "title", "created_at", "updated_at"].to_vec()
        );
    }

    #[test]
    fn identifiers_that_could_carry_sql_or_reserved_words_are_refused() {
        for bad in ["Todo", "drop table", "x;--", "1st", "select", "a\"b", ""] {
            assert!(check_identifier(bad, "field name").is_err(), "{bad}");
        }
        assert!(check_identifier("due_at2", "field name").is_ok());
        let err = model("fields.order = { type = \"integer\" }").unwrap_err();
        assert!(err.contains("reserved"), "{err}");
    }

    #[test]
    fn a_default_of_the_wrong_type_and_managed_names_are_refused() {
        let err = model("fields.done = { type = \"boolean\", default = \"no\" }").unwrap_err();
        assert!(err.contains("fields.done"), "{err}");
        let err = model("fields.id = { type = \"integer\" }").unwrap_err();
        assert!(err.contains("managed"), "{err}");
        let err = model("fields.x = { type = \"uuid\" }").unwrap_err();
        assert!(err.contains("uuid"), "{err}");
    }

    #[test]
    fn double_underscores_in_tables_are_refused() {
        let err = model("table = \"a__b\"").unwrap_err();
        assert!(err.contains("__"), "{err}");
    }
}
