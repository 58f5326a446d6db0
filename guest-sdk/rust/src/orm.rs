//! Typed repositories over the host's ORM: a module declares its models in `plugin.toml`
//! and reads and writes rows as serde structs, never as SQL.
//!
//! ```ignore
//! use plughost_sdk::orm::{Query, Repository};
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Todo { id: i64, title: String, done: bool }
//!
//! let todos = Repository::<Todo>::new("todo");
//! let todo = todos.create(&serde_json::json!({ "title": "Buy milk" }))?;
//! let open = todos.find_many(&Query::new().filter("done", false).order_by_desc("id"))?;
//! ```

use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::bindings::plughost::platform::orm as wit;
use crate::{Error, Result};

/// Which rows a read returns: equality filters (ANDed), sort keys, a window.
#[derive(Debug, Clone, Default)]
pub struct Query {
    filters: Vec<(String, String)>,
    order: Vec<(String, bool)>,
    limit: Option<u64>,
    offset: Option<u64>,
    include_deleted: bool,
}

impl Query {
    /// Every row.
    pub fn new() -> Query {
        Query::default()
    }

    /// Only rows whose `field` equals `value` (`None` matches empty fields).
    pub fn filter(mut self, field: &str, value: impl Serialize) -> Query {
        let json = serde_json::to_string(&value).unwrap_or_else(|_| "null".into());
        self.filters.push((field.to_string(), json));
        self
    }

    /// Sorts by `field`, ascending.
    pub fn order_by(mut self, field: &str) -> Query {
        self.order.push((field.to_string(), false));
        self
    }

    /// Sorts by `field`, descending.
    pub fn order_by_desc(mut self, field: &str) -> Query {
        self.order.push((field.to_string(), true));
        self
    }

    /// At most `n` rows.
    pub fn limit(mut self, n: u64) -> Query {
        self.limit = Some(n);
        self
    }

    /// Skips `n` rows.
    pub fn offset(mut self, n: u64) -> Query {
        self.offset = Some(n);
        self
    }

    /// Also returns soft-deleted rows.
    pub fn include_deleted(mut self) -> Query {
        self.include_deleted = true;
        self
    }

    fn to_wit(&self) -> wit::Query {
        wit::Query {
            filters: self.filters.clone(),
            order_by: self
                .order
                .iter()
                .map(|(field, desc)| wit::Sort {
                    field: field.clone(),
                    direction: if *desc {
                        wit::Direction::Desc
                    } else {
                        wit::Direction::Asc
                    },
                })
                .collect(),
            limit: self.limit,
            offset: self.offset,
            include_deleted: self.include_deleted,
        }
    }
}

/// One page of rows; serialises as `{data, total, page, limit, total_pages}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The rows.
    pub data: Vec<T>,
    /// Rows matching in all.
    pub total: u64,
    /// This page, from 1.
    pub page: u64,
    /// Rows per page.
    pub limit: u64,
    /// Pages in all.
    pub total_pages: u64,
}

/// The rows of one model, read as `T` (use `serde_json::Value` for untyped rows).
pub struct Repository<T> {
    model: String,
    rows: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Repository<T> {
    /// The repository of the model declared as `[models.NAME]` in `plugin.toml`.
    pub fn new(model: &str) -> Repository<T> {
        Repository {
            model: model.to_string(),
            rows: PhantomData,
        }
    }

    /// Rows matching the query.
    pub fn find_many(&self, query: &Query) -> Result<Vec<T>> {
        self.decode(&wit::find_many(&self.model, &query.to_wit())?)
    }

    /// The first row matching the query.
    pub fn find_one(&self, query: &Query) -> Result<Option<T>> {
        wit::find_one(&self.model, &query.to_wit())?
            .map(|row| self.decode(&row))
            .transpose()
    }

    /// The row with this id.
    pub fn find_by_id(&self, id: i64) -> Result<Option<T>> {
        wit::find_by_id(&self.model, id)?
            .map(|row| self.decode(&row))
            .transpose()
    }

    /// Inserts a row from any serialisable value with the model's fields; returns it.
    pub fn create(&self, values: &impl Serialize) -> Result<T> {
        self.decode(&wit::create(&self.model, &encode(values)?)?)
    }

    /// Sets the given fields of a row; `None` when there is no such row.
    pub fn update(&self, id: i64, values: &impl Serialize) -> Result<Option<T>> {
        wit::update(&self.model, id, &encode(values)?)?
            .map(|row| self.decode(&row))
            .transpose()
    }

    /// Deletes a row (soft-delete models mark it); whether one went.
    pub fn delete(&self, id: i64) -> Result<bool> {
        wit::delete(&self.model, id)
    }

    /// Rows matching the query's filters.
    pub fn count(&self, query: &Query) -> Result<u64> {
        wit::count(&self.model, &query.filters)
    }

    /// Page `page` (from 1) of `limit` rows matching the query's filters and order.
    pub fn paginate(&self, query: &Query, page: u64, limit: u64) -> Result<Page<T>> {
        let p = wit::paginate(&self.model, &query.to_wit(), page, limit)?;
        Ok(Page {
            data: self.decode(&p.data)?,
            total: p.total,
            page: p.page,
            limit: p.limit,
            total_pages: p.total_pages,
        })
    }

    fn decode<R: DeserializeOwned>(&self, json: &str) -> Result<R> {
        serde_json::from_str(json).map_err(|e| {
            Error::Internal(format!(
                "a row of model '{}' does not fit the module's type: {e}",
                self.model
            ))
        })
    }
}

fn encode(values: &impl Serialize) -> Result<String> {
    serde_json::to_string(values)
        .map_err(|e| Error::Invalid(format!("values do not serialise: {e}")))
}

/// Runs `body` in a transaction: committed when it returns `Ok`, rolled back when it
/// returns `Err` (or when the invocation traps or runs out of time).
pub fn transaction<R>(body: impl FnOnce() -> Result<R>) -> Result<R> {
    wit::begin()?;
    match body() {
        Ok(value) => {
            wit::commit()?;
            Ok(value)
        }
        Err(error) => {
            wit::rollback()?;
            Err(error)
        }
    }
}

/// Opens a transaction that ends with the invocation: committed if the handler returns
/// `Ok`, rolled back if it returns `Err` or traps. Use [`transaction`] for a narrower scope.
pub fn begin() -> Result<()> {
    wit::begin()
}
