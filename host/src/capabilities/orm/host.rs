//! The `orm` interface over the invoking module's schema, grant and session.

use serde_json::Value as Json;
use wasmtime::component::HasData;

use super::ModuleSchema;
use super::errors::OrmError;
use super::repository::{Page, Repository};
use super::session::OrmSession;
use super::sql::{Dialect, Query};
use crate::runtime::ModuleContext;
use crate::runtime::bindings::GuestError;
use crate::runtime::bindings::plughost::platform::orm::{self, Direction, Host};

/// Marker tying the interface to its view.
pub struct OrmCapability;

impl HasData for OrmCapability {
    type Data<'a> = OrmView<'a>;
}

/// What the ORM sees: the module (grant, models, tenant) and this invocation's session.
pub struct OrmView<'a> {
    pub module: &'a ModuleContext,
    pub session: &'a mut OrmSession,
}

type Result<T> = std::result::Result<T, GuestError>;

/// The repository of `model`, when the module declares it and its grant covers the table.
fn repository<'m>(
    module: &'m ModuleContext,
    model: &str,
    dialect: Dialect,
) -> std::result::Result<Repository<'m>, OrmError> {
    let schema: &ModuleSchema = super::schema_of(module);
    let found = schema.models.get(model).ok_or_else(|| {
        // Refused like a call outside the grant: counted and logged.
        module
            .metrics
            .denied
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::warn!(module = %module.name, tenant = %module.tenant, "denied orm: undeclared model '{model}'");
        OrmError::Denied(format!(
            "model '{model}' is not declared by module '{}' (it declares: {}); a module reaches only \
             its own models: declare it under [models.{model}] in plugin.toml",
            module.name,
            schema.model_names()
        ))
    })?;
    module
        .check("orm", &found.table)
        .map_err(|denied| OrmError::Denied(denied.reason))?;
    Ok(Repository {
        model: found,
        namespace: &schema.namespace,
        dialect,
    })
}

fn query(repo: &Repository<'_>, query: orm::Query) -> std::result::Result<Query, OrmError> {
    let mut order = Vec::new();
    for sort in &query.order_by {
        repo.order_column(&sort.field)?;
        order.push((sort.field.clone(), sort.direction == Direction::Desc));
    }
    Ok(Query {
        filters: repo.filters(&query.filters)?,
        order,
        limit: query.limit,
        offset: query.offset,
        include_deleted: query.include_deleted,
    })
}

fn parse(model: &str, text: &str) -> std::result::Result<Json, OrmError> {
    serde_json::from_str(text).map_err(|e| {
        OrmError::Invalid(format!(
            "values for model '{model}' are not valid JSON: {e}"
        ))
    })
}

fn text(json: &Json) -> String {
    json.to_string()
}

impl Host for OrmView<'_> {
    async fn find_many(&mut self, model: String, q: orm::Query) -> Result<String> {
        let rows = self
            .with(&model, async |repo, target| {
                let q = query(repo, q)?;
                repo.find_many(target, &q).await
            })
            .await?;
        Ok(Json::Array(rows).to_string())
    }

    async fn find_one(&mut self, model: String, q: orm::Query) -> Result<Option<String>> {
        let row = self
            .with(&model, async |repo, target| {
                let q = query(repo, q)?;
                repo.find_one(target, &q).await
            })
            .await?;
        Ok(row.as_ref().map(text))
    }

    async fn find_by_id(&mut self, model: String, id: i64) -> Result<Option<String>> {
        let row = self
            .with(&model, async |repo, target| {
                repo.find_by_id(target, id).await
            })
            .await?;
        Ok(row.as_ref().map(text))
    }

    async fn create(&mut self, model: String, values: String) -> Result<String> {
        let values = parse(&model, &values)?;
        let row = self
            .with(&model, async |repo, target| {
                repo.create(target, &values).await
            })
            .await?;
        Ok(text(&row))
    }

    async fn update(&mut self, model: String, id: i64, values: String) -> Result<Option<String>> {
        let values = parse(&model, &values)?;
        let row = self
            .with(&model, async |repo, target| {
                repo.update(target, id, &values).await
            })
            .await?;
        Ok(row.as_ref().map(text))
    }

    async fn delete(&mut self, model: String, id: i64) -> Result<bool> {
        Ok(self
            .with(&model, async |repo, target| repo.delete(target, id).await)
            .await?)
    }

    async fn count(&mut self, model: String, filters: Vec<(String, String)>) -> Result<u64> {
        Ok(self
            .with(&model, async |repo, target| {
                let q = Query {
                    filters: repo.filters(&filters)?,
                    ..Query::default()
                };
                repo.count(target, &q).await
            })
            .await?)
    }

    async fn paginate(
        &mut self,
        model: String,
        q: orm::Query,
        page: u64,
        limit: u64,
    ) -> Result<orm::Page> {
        let Page {
            data,
            total,
            page,
            limit,
            total_pages,
        } = self
            .with(&model, async |repo, target| {
                let q = query(repo, q)?;
                repo.paginate(target, &q, page, limit).await
            })
            .await?;
        Ok(orm::Page {
            data: Json::Array(data).to_string(),
            total,
            page,
            limit,
            total_pages,
        })
    }

    async fn begin(&mut self) -> Result<()> {
        self.require_grant()?;
        Ok(self.session.begin().await?)
    }

    async fn commit(&mut self) -> Result<()> {
        Ok(self.session.commit().await?)
    }

    async fn rollback(&mut self) -> Result<()> {
        Ok(self.session.rollback().await?)
    }
}

impl OrmView<'_> {
    /// Runs `op` with the model's repository on the invocation's session.
    async fn with<T>(
        &mut self,
        model: &str,
        op: impl AsyncFnOnce(
            &Repository<'_>,
            super::backend::Target<'_>,
        ) -> std::result::Result<T, OrmError>,
    ) -> std::result::Result<T, OrmError> {
        let module: &ModuleContext = self.module;
        let dialect = self.session.pool().await?.dialect();
        let repo = repository(module, model, dialect)?;
        self.session
            .run(async |target| op(&repo, target).await)
            .await
    }

    fn require_grant(&self) -> std::result::Result<(), OrmError> {
        if self.module.grant.has("orm") {
            return Ok(());
        }
        let denied = self.module.check("orm", "transaction").unwrap_err();
        Err(OrmError::Denied(denied.reason))
    }
}
