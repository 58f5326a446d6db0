//! The three ORM backends as test fixtures: a host whose orm-probe module lives in a
//! tenant of its own (a fresh PostgreSQL schema or table prefix), dropped afterwards.

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::harness::{Database, Host, HostBuilder, Plugins, Reply, block_on, unique_tenant};

/// A plugins folder with the orm-probe module in a new tenant, and its database.
pub struct OrmFixture {
    pub backend: Database,
    pub tenant: String,
    pub url: String,
    folder: Plugins,
}

impl OrmFixture {
    /// A new tenant on `backend` with orm-probe installed as folder `orm-probe`; a second
    /// tenant, `{tenant}b`, takes folder `neighbour`, and `squatter` is the first's too.
    pub fn new(backend: Database) -> OrmFixture {
        let tenant = unique_tenant("t");
        let neighbours = format!("{tenant}b");
        let folder = HostBuilder::new()
            .database(backend)
            .tenant(&tenant, &["orm", "config"])
            .tenant(&neighbours, &["orm"])
            .module_in("orm-probe", "orm-probe", &tenant)
            .assign(&tenant, &["squatter"])
            .assign(&neighbours, &["neighbour"])
            .build();
        OrmFixture {
            backend,
            url: folder.database_url().to_string(),
            tenant,
            folder,
        }
    }

    /// The plugins folder.
    pub fn plugins(&self) -> PathBuf {
        self.folder.path().to_path_buf()
    }

    /// The host.toml path.
    pub fn config(&self) -> PathBuf {
        self.folder.config().to_path_buf()
    }

    /// Installs orm-probe again as module `name` at `prefix` in `tenant`.
    pub fn add_module(&self, folder: &str, name: &str, prefix: &str, tenant: &str) -> PathBuf {
        let name = format!("name = \"{name}\"");
        let prefix = format!("prefix = \"{prefix}\"");
        self.folder.install_in(
            "orm-probe",
            folder,
            tenant,
            &[
                ("name = \"orm-probe\"", &name),
                ("prefix = \"/orm\"", &prefix),
            ],
        )
    }

    /// Starts a host over the folder.
    pub fn start(&self) -> Host {
        self.folder.start()
    }

    /// Runs `host db ARGS` on this folder and database; returns (success, stdout+stderr).
    pub fn db(&self, args: &[&str]) -> (bool, String) {
        self.folder.cli(&[&["db"], args].concat())
    }

    /// Counts the rows of the tenant's table `table` directly on the database (for checks
    /// the module cannot make).
    pub fn sql_count(&self, table: &str) -> Result<i64, String> {
        let sql = format!("SELECT COUNT(*) FROM {}", self.physical(table));
        block_on(async {
            use sqlx::Connection;
            let count = match self.backend {
                Database::Sqlite => {
                    let mut c = sqlx::SqliteConnection::connect(&self.url)
                        .await
                        .map_err(|e| e.to_string())?;
                    sqlx::query_scalar::<_, i64>(&sql).fetch_one(&mut c).await
                }
                Database::Postgres => {
                    let mut c = sqlx::PgConnection::connect(&self.url)
                        .await
                        .map_err(|e| e.to_string())?;
                    sqlx::query_scalar::<_, i64>(&sql).fetch_one(&mut c).await
                }
                Database::MariaDb => {
                    let mut c = sqlx::MySqlConnection::connect(&self.url)
                        .await
                        .map_err(|e| e.to_string())?;
                    sqlx::query_scalar::<_, i64>(&sql).fetch_one(&mut c).await
                }
            };
            count.map_err(|e| e.to_string())
        })
    }

    /// The quoted physical name of the tenant's `table`.
    pub fn physical(&self, table: &str) -> String {
        match self.backend {
            Database::Postgres => format!("\"tenant_{}\".\"{table}\"", self.tenant),
            Database::Sqlite => format!("\"{}__{table}\"", self.tenant),
            Database::MariaDb => format!("`{}__{table}`", self.tenant),
        }
    }
}

/// Calls one orm operation through the module: `POST {prefix}/call`.
pub fn call(host: &Host, op: Value) -> Reply {
    call_at(host, "/orm", op)
}

/// Same, on the module mounted at `prefix`.
pub fn call_at(host: &Host, prefix: &str, op: Value) -> Reply {
    host.request(
        "POST",
        &format!("{prefix}/call"),
        &[("content-type", "application/json")],
        op.to_string().into_bytes(),
    )
}

/// The `result` of a call that must succeed.
pub fn ok(host: &Host, op: Value) -> Value {
    let reply = call(host, op.clone());
    assert_eq!(reply.status, 200, "{op} failed: {}", reply.body);
    reply.json()["result"].clone()
}

/// Runs a batch: `POST /orm/batch`.
pub fn batch(host: &Host, spec: Value) -> Reply {
    host.request(
        "POST",
        "/orm/batch",
        &[("content-type", "application/json")],
        spec.to_string().into_bytes(),
    )
}

/// A create of model `model` with `values`.
pub fn create(model: &str, values: Value) -> Value {
    json!({"op": "create", "model": model, "values": values})
}

/// The number of live rows of `model`.
pub fn count(host: &Host, model: &str) -> i64 {
    ok(host, json!({"op": "count", "model": model}))
        .as_i64()
        .unwrap()
}
