//! `orm`: models declared in `plugin.toml`, tables auto-migrated when a module loads,
//! repository operations and per-invocation transactions, on SQLite (default),
//! PostgreSQL or MySQL/MariaDB through sqlx.
//!
//! The grant's scopes are table names. Each tenant's tables live apart: a PostgreSQL
//! schema `tenant_NAME`, or a `NAME__` prefix on SQLite and MySQL. A module reaches only
//! the models it declares, and a table belongs to the first module that migrates it.

pub mod backend;
mod errors;
mod host;
mod life_cycle;
pub mod manual;
pub mod migrate;
pub mod model;
pub mod repository;
pub mod session;
pub mod sql;
pub mod store;
pub mod value;

use std::collections::BTreeMap;

pub use errors::OrmError;
pub use model::{Model, ModelSpec};
pub use session::OrmSession;
pub use store::OrmStore;

use crate::runtime::bindings::plughost::platform::orm;
use crate::runtime::state::PREPARED;
use crate::runtime::{CapabilityDescriptor, ModuleContext};
use sql::Namespace;

/// The orm capability.
pub const CAPABILITY: CapabilityDescriptor = CapabilityDescriptor {
    name: "orm",
    interface: "plughost:platform/orm",
    standard_interfaces: &[],
    always_granted: false,
    link: |linker| {
        orm::add_to_linker::<_, host::OrmCapability>(linker, |state| host::OrmView {
            module: &state.module,
            session: state.capabilities.get_mut().expect(PREPARED),
        })
    },
    start: Some(life_cycle::start),
    manifest_section: Some("models"),
    host_section: None,
    configure: Some(|manifest, context| {
        let specs: BTreeMap<String, ModelSpec> = manifest.section("models")?;
        let schema = ModuleSchema::new(&context.tenant, &specs)?;
        context.parts.insert(schema);
        Ok(())
    }),
    handler: None,
};

/// The models of `module`: set for every module by *configure* (empty without models).
pub fn schema_of(module: &ModuleContext) -> &ModuleSchema {
    module
        .part::<ModuleSchema>()
        .expect("the orm capability configures every module")
}

/// The module's schema with only the models whose tables its grant covers, and a message
/// for each model left out (they are not migrated).
pub fn granted_schema(module: &ModuleContext) -> (ModuleSchema, Vec<String>) {
    let mut schema = schema_of(module).clone();
    let mut refused = Vec::new();
    schema.models.retain(
        |name, model| match module.grant.check("orm", &model.table) {
            Ok(()) => true,
            Err(denied) => {
                refused.push(format!("model '{name}' is not migrated: {denied}"));
                false
            }
        },
    );
    (schema, refused)
}

/// A module's models in its tenant's namespace.
#[derive(Debug, Clone)]
pub struct ModuleSchema {
    /// Where the tenant's tables live.
    pub namespace: Namespace,
    /// Models by name.
    pub models: BTreeMap<String, Model>,
}

impl ModuleSchema {
    /// Validates a manifest's `[models]` for a module of `tenant`.
    pub fn new(tenant: &str, specs: &BTreeMap<String, ModelSpec>) -> Result<ModuleSchema, String> {
        Ok(ModuleSchema {
            namespace: Namespace {
                tenant: tenant.to_string(),
            },
            models: model::models_from_manifest(specs)?,
        })
    }

    /// The declared model names, for messages.
    pub fn model_names(&self) -> String {
        if self.models.is_empty() {
            return "none".into();
        }
        self.models.keys().cloned().collect::<Vec<_>>().join(", ")
    }

    /// Whether `table` is one of the module's model tables.
    pub fn owns_table(&self, table: &str) -> bool {
        self.models.values().any(|m| m.table == table)
    }
}
