//! The three ORM backends as test fixtures: a host whose orm-probe module lives in a
//! tenant of its own (a fresh PostgreSQL schema or table prefix), dropped afterwards.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::harness::{HOST, Host, Reply, install, repo};

/// A database the ORM suites run against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    MariaDb,
}

impl Backend {
    /// The server's URL (`PLUGHOST_TEST_POSTGRES_URL` / `PLUGHOST_TEST_MARIADB_URL`
    /// override the machine's defaults); SQLite uses a file in the test's folder.
    pub fn server_url(self) -> Option<String> {
        let (var, default) = match self {
            Backend::Sqlite => return None,
            Backend::Postgres => (
                "PLUGHOST_TEST_POSTGRES_URL",
                "postgres://postgres@127.0.0.1:5432/test",
            ),
            Backend::MariaDb => (
                "PLUGHOST_TEST_MARIADB_URL",
                "mysql://root@127.0.0.1:3306/test",
            ),
        };
        Some(std::env::var(var).unwrap_or_else(|_| default.to_string()))
    }
}

/// A plugins folder with the orm-probe module in a new tenant, and its database.
pub struct OrmFixture {
    pub backend: Backend,
    pub tenant: String,
    pub dir: tempfile::TempDir,
    pub url: String,
}

impl OrmFixture {
    /// A new tenant on `backend` with orm-probe installed as folder `orm-probe`.
    pub fn new(backend: Backend) -> OrmFixture {
        let dir = tempfile::tempdir().unwrap();
        let tenant = format!("t{}", &uuid_like()[..10]);
        let url = backend.server_url().unwrap_or_else(|| {
            format!("sqlite://{}", dir.path().join("data/plughost.db").display())
        });
        let fixture = OrmFixture {
            backend,
            tenant,
            dir,
            url,
        };
        std::fs::create_dir_all(fixture.plugins()).unwrap();
        std::fs::write(
            fixture.dir.path().join("host.toml"),
            format!(
                "[database]\nurl = \"{}\"\n\n[tenants.{t}]\nmodules = [\"orm-probe\", \"squatter\"]\n\
                 [tenants.{t}.allow]\norm = true\nconfig = true\n\n\
                 [tenants.{t}b]\nmodules = [\"neighbour\"]\n[tenants.{t}b.allow]\norm = true\n",
                fixture.url,
                t = fixture.tenant
            ),
        )
        .unwrap();
        fixture.add_module("orm-probe", "orm-probe", "/orm", &fixture.tenant.clone());
        fixture
    }

    /// The plugins folder.
    pub fn plugins(&self) -> PathBuf {
        self.dir.path().join("plugins")
    }

    /// The host.toml path.
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("host.toml")
    }

    /// Installs orm-probe again as module `name` at `prefix` in `tenant`.
    pub fn add_module(&self, folder: &str, name: &str, prefix: &str, tenant: &str) -> PathBuf {
        let dir = install(&self.plugins(), "orm-probe", folder);
        let manifest = std::fs::read_to_string(dir.join("plugin.toml")).unwrap();
        let manifest = manifest
            .replace(
                "name = \"orm-probe\"",
                &format!("name = \"{name}\"\ntenant = \"{tenant}\""),
            )
            .replace("prefix = \"/orm\"", &format!("prefix = \"{prefix}\""));
        std::fs::write(dir.join("plugin.toml"), manifest).unwrap();
        crate::harness::assign_folders_by_manifest(&self.config(), &self.plugins());
        dir
    }

    /// Starts a host over the folder.
    pub fn start(&self) -> Host {
        Host::start(
            &self.plugins(),
            Some(&self.config()),
            &repo().join("target/test-cache"),
        )
    }

    /// Runs `host db ARGS` on this folder and database; returns (success, stdout+stderr).
    pub fn db(&self, args: &[&str]) -> (bool, String) {
        let output = Command::new(HOST)
            .arg("db")
            .args(args)
            .arg("--plugins")
            .arg(self.plugins())
            .arg("--config")
            .arg(self.config())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.success(), text)
    }

    /// Runs SQL directly on the database (for checks the module cannot make); `{t}` is
    /// replaced with the physical name prefix of the tenant's table `t`.
    pub fn sql_count(&self, table: &str) -> Result<i64, String> {
        let sql = format!("SELECT COUNT(*) FROM {}", self.physical(table));
        runtime().block_on(async {
            use sqlx::Connection;
            let count = match self.backend {
                Backend::Sqlite => {
                    let mut c = sqlx::SqliteConnection::connect(&self.url)
                        .await
                        .map_err(|e| e.to_string())?;
                    sqlx::query_scalar::<_, i64>(&sql).fetch_one(&mut c).await
                }
                Backend::Postgres => {
                    let mut c = sqlx::PgConnection::connect(&self.url)
                        .await
                        .map_err(|e| e.to_string())?;
                    sqlx::query_scalar::<_, i64>(&sql).fetch_one(&mut c).await
                }
                Backend::MariaDb => {
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
            Backend::Postgres => format!("\"tenant_{}\".\"{table}\"", self.tenant),
            Backend::Sqlite => format!("\"{}__{table}\"", self.tenant),
            Backend::MariaDb => format!("`{}__{table}`", self.tenant),
        }
    }

    /// Drops the test's tenants from a shared server.
    fn drop_tenants(&self) -> Result<(), sqlx::Error> {
        use sqlx::Connection;
        let tenants = [self.tenant.clone(), format!("{}b", self.tenant)];
        runtime().block_on(async {
            match self.backend {
                Backend::Sqlite => {}
                Backend::Postgres => {
                    let mut c = sqlx::PgConnection::connect(&self.url).await?;
                    for t in &tenants {
                        sqlx::raw_sql(&format!("DROP SCHEMA IF EXISTS \"tenant_{t}\" CASCADE")).execute(&mut c).await?;
                    }
                    sqlx::raw_sql(&forget_sql(&tenants)).execute(&mut c).await?;
                }
                Backend::MariaDb => {
                    let mut c = sqlx::MySqlConnection::connect(&self.url).await?;
                    for t in &tenants {
                        let tables: Vec<String> = sqlx::query_scalar(
                            "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
                             WHERE table_schema = DATABASE() AND table_name LIKE CONCAT(?, '\\_\\_%')",
                        )
                        .bind(t)
                        .fetch_all(&mut c)
                        .await?;
                        for table in tables {
                            sqlx::raw_sql(&format!("DROP TABLE IF EXISTS `{table}`")).execute(&mut c).await?;
                        }
                    }
                    sqlx::raw_sql(&forget_sql(&tenants)).execute(&mut c).await?;
                }
            }
            Ok(())
        })
    }
}

impl Drop for OrmFixture {
    fn drop(&mut self) {
        if let Err(e) = self.drop_tenants() {
            eprintln!("could not drop the test tenant {}: {e}", self.tenant);
        }
    }
}

/// Deletes the tenants' control rows (tenant names are generated hex, safe to inline).
fn forget_sql(tenants: &[String]) -> String {
    let list = tenants
        .iter()
        .map(|t| format!("'{t}'"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "DELETE FROM plughost_models WHERE tenant IN ({list}); \
         DELETE FROM plughost_migrations WHERE tenant IN ({list});"
    )
}

/// Runs a cleanup script on a PostgreSQL server, ignoring failures (the data is throwaway).
pub fn cleanup_postgres(url: &str, script: String) {
    let url = url.to_string();
    let _ = runtime().block_on(async move {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(&url).await?;
        sqlx::raw_sql(&script).execute(&mut c).await
    });
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn uuid_like() -> String {
    uuid::Uuid::new_v4().simple().to_string()
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

/// Replaces text in a module's manifest (used to make a new version).
pub fn edit_manifest(dir: &Path, from: &str, to: &str) {
    let path = dir.join("plugin.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{from} not in {}", path.display());
    crate::harness::write_atomic(&path, text.replacen(from, to, 1).as_bytes());
}
