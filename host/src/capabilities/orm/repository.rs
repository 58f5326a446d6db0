//! Repository operations on one model: input checked against the model (unknown fields,
//! types, required fields), statements built by the dialect, rows returned as JSON.

use serde_json::{Map, Value as Json};

use super::backend::{Row, Target};
use super::errors::OrmError;
use super::model::{ColumnKind, FieldType, ID, Model, STRING_MAX_CHARS};
use super::sql::{Dialect, Namespace, Query};
use super::value::{SqlValue, from_json, to_json};

/// Largest page a paginate call may ask for.
pub const MAX_PAGE_LIMIT: u64 = 1_000;

/// One model in one tenant's namespace on one backend.
pub struct Repository<'a> {
    /// The model.
    pub model: &'a Model,
    /// The tenant's namespace.
    pub namespace: &'a Namespace,
    /// The backend's SQL.
    pub dialect: Dialect,
}

/// A page of rows with its position, as `paginate` returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The rows of this page.
    pub data: Vec<Json>,
    /// Rows matching the filters in all.
    pub total: u64,
    /// This page, from 1.
    pub page: u64,
    /// Rows per page.
    pub limit: u64,
    /// Pages in all (0 when nothing matches).
    pub total_pages: u64,
}

impl Repository<'_> {
    /// Rows matching the query.
    pub async fn find_many(
        &self,
        target: Target<'_>,
        query: &Query,
    ) -> Result<Vec<Json>, OrmError> {
        let statement = self.dialect.select(self.namespace, self.model, query);
        let rows = target
            .fetch(&statement, &Dialect::row_kinds(self.model))
            .await?;
        Ok(rows.into_iter().map(|r| self.to_object(r)).collect())
    }

    /// The first row matching the query.
    pub async fn find_one(
        &self,
        target: Target<'_>,
        query: &Query,
    ) -> Result<Option<Json>, OrmError> {
        let query = Query {
            limit: Some(1),
            ..query.clone()
        };
        Ok(self.find_many(target, &query).await?.into_iter().next())
    }

    /// The live row with this id.
    pub async fn find_by_id(&self, target: Target<'_>, id: i64) -> Result<Option<Json>, OrmError> {
        let query = Query {
            filters: vec![(ID.into(), SqlValue::Int(id))],
            ..Query::default()
        };
        self.find_one(target, &query).await
    }

    /// Rows matching the query's filters.
    pub async fn count(&self, target: Target<'_>, query: &Query) -> Result<u64, OrmError> {
        let statement = self.dialect.count(self.namespace, self.model, query);
        let rows = target
            .fetch(&statement, &[ColumnKind::Field(FieldType::Integer)])
            .await?;
        match rows.first().and_then(|r| r.first()) {
            Some(SqlValue::Int(n)) => Ok((*n).max(0) as u64),
            _ => Err(OrmError::Database("COUNT(*) returned no number".into())),
        }
    }

    /// One page of the rows matching the query (its limit and offset are replaced).
    pub async fn paginate(
        &self,
        mut target: Target<'_>,
        query: &Query,
        page: u64,
        limit: u64,
    ) -> Result<Page, OrmError> {
        if page == 0 || limit == 0 || limit > MAX_PAGE_LIMIT {
            return Err(OrmError::Invalid(format!(
                "paginate on model '{}': page must be 1 or more and limit between 1 and {MAX_PAGE_LIMIT} (got page {page}, limit {limit})",
                self.model.name
            )));
        }
        let total = self.count(target.reborrow(), query).await?;
        let window = Query {
            limit: Some(limit),
            offset: Some((page - 1).saturating_mul(limit)),
            ..query.clone()
        };
        let data = self.find_many(target, &window).await?;
        Ok(Page {
            data,
            total,
            page,
            limit,
            total_pages: total.div_ceil(limit),
        })
    }

    /// Inserts a row from a JSON object and returns it with its id (and timestamps).
    pub async fn create(&self, mut target: Target<'_>, values: &Json) -> Result<Json, OrmError> {
        let mut columns = self.create_values(values)?;
        columns.extend(Dialect::stamp(self.model, true));
        let statement = self.dialect.insert(self.namespace, self.model, columns);
        if self.dialect.writes_return_rows() {
            let rows = target
                .fetch(&statement, &Dialect::row_kinds(self.model))
                .await?;
            return self.single(rows);
        }
        let written = target.reborrow().execute(&statement).await?;
        let id = written
            .last_insert_id
            .ok_or_else(|| OrmError::Database("the database reported no generated id".into()))?;
        self.find_by_id(target, id)
            .await?
            .ok_or_else(|| OrmError::Database(format!("row {id} vanished after insert")))
    }

    /// Sets the given fields of a live row; none when there is no such row.
    pub async fn update(
        &self,
        mut target: Target<'_>,
        id: i64,
        values: &Json,
    ) -> Result<Option<Json>, OrmError> {
        let mut columns = self.update_values(values)?;
        if columns.is_empty() {
            return self.find_by_id(target, id).await;
        }
        columns.extend(Dialect::stamp(self.model, false));
        let statement = self.dialect.update(self.namespace, self.model, id, columns);
        if self.dialect.writes_return_rows() {
            let rows = target
                .fetch(&statement, &Dialect::row_kinds(self.model))
                .await?;
            return Ok(rows.into_iter().next().map(|r| self.to_object(r)));
        }
        target.reborrow().execute(&statement).await?;
        // MySQL reports 0 rows affected when nothing changed; the row decides.
        self.find_by_id(target, id).await
    }

    /// Deletes (or soft-deletes) a live row; whether one went.
    pub async fn delete(&self, target: Target<'_>, id: i64) -> Result<bool, OrmError> {
        let statement = self.dialect.delete(self.namespace, self.model, id);
        Ok(target.execute(&statement).await?.rows_affected > 0)
    }

    /// Parses equality filters (`field`, JSON value text) against the model's columns.
    pub fn filters(
        &self,
        filters: &[(String, String)],
    ) -> Result<Vec<(String, SqlValue)>, OrmError> {
        filters
            .iter()
            .map(|(column, text)| {
                let kind = self.column(column)?;
                let json: Json = serde_json::from_str(text).map_err(|e| {
                    self.invalid(
                        column,
                        &format!("filter value {text:?} is not JSON ({e}); strings need quotes"),
                    )
                })?;
                let value = from_json(&json, kind.field_type(), usize::MAX)
                    .map_err(|e| self.invalid(column, &e))?;
                Ok((column.clone(), value))
            })
            .collect()
    }

    /// Checks an order-by column.
    pub fn order_column(&self, column: &str) -> Result<(), OrmError> {
        self.column(column).map(drop)
    }

    fn column(&self, column: &str) -> Result<ColumnKind, OrmError> {
        self.model.column_type(column).ok_or_else(|| {
            OrmError::Invalid(format!(
                "model '{}' has no field '{column}'; its fields are: {}",
                self.model.name,
                self.model.column_names()
            ))
        })
    }

    fn invalid(&self, field: &str, problem: &str) -> OrmError {
        OrmError::Invalid(format!(
            "model '{}', field '{field}': {problem}",
            self.model.name
        ))
    }

    fn object<'j>(&self, values: &'j Json) -> Result<&'j Map<String, Json>, OrmError> {
        values.as_object().ok_or_else(|| {
            OrmError::Invalid(format!(
                "values for model '{}' must be a JSON object of fields, not {values}",
                self.model.name
            ))
        })
    }

    /// Checks every given field, fills defaults, and requires the required ones.
    fn create_values(&self, values: &Json) -> Result<Vec<(String, SqlValue)>, OrmError> {
        let object = self.object(values)?;
        self.reject_unknown(object)?;
        let mut columns = Vec::new();
        for field in &self.model.fields {
            let given = object.get(&field.name).filter(|v| !v.is_null());
            let Some(json) = given.or(field.default.as_ref()) else {
                if field.required {
                    return Err(self.invalid(&field.name, "is required"));
                }
                continue;
            };
            let value = from_json(json, field.ty, STRING_MAX_CHARS)
                .map_err(|e| self.invalid(&field.name, &e))?;
            columns.push((field.name.clone(), value));
        }
        Ok(columns)
    }

    /// Checks the given fields only; a required field may not be set to null.
    fn update_values(&self, values: &Json) -> Result<Vec<(String, SqlValue)>, OrmError> {
        let object = self.object(values)?;
        self.reject_unknown(object)?;
        let mut columns = Vec::new();
        for field in &self.model.fields {
            let Some(json) = object.get(&field.name) else {
                continue;
            };
            if json.is_null() && field.required {
                return Err(self.invalid(&field.name, "is required and cannot be set to null"));
            }
            let value = from_json(json, field.ty, STRING_MAX_CHARS)
                .map_err(|e| self.invalid(&field.name, &e))?;
            columns.push((field.name.clone(), value));
        }
        Ok(columns)
    }

    fn reject_unknown(&self, object: &Map<String, Json>) -> Result<(), OrmError> {
        for key in object.keys() {
            if self.model.field(key).is_some() {
                continue;
            }
            if self.model.column_type(key).is_some() {
                return Err(self.invalid(key, "is set by the host; leave it out"));
            }
            return Err(OrmError::Invalid(format!(
                "model '{}' has no field '{key}'; its fields are: {}",
                self.model.name,
                self.model
                    .fields
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok(())
    }

    fn single(&self, rows: Vec<Row>) -> Result<Json, OrmError> {
        rows.into_iter()
            .next()
            .map(|r| self.to_object(r))
            .ok_or_else(|| OrmError::Database("the write returned no row".into()))
    }

    fn to_object(&self, row: Row) -> Json {
        let object: Map<String, Json> = self
            .model
            .columns()
            .into_iter()
            .zip(row)
            .map(|((name, _), value)| (name.to_string(), to_json(value)))
            .collect();
        Json::Object(object)
    }
}
