//! ORM throughput: create and find-by-id through the todo module (a full invocation: fresh
//! instance, JSON in and out), through the ORM layer alone (host-side, no wasm), and as the
//! same statements issued directly with sqlx, on SQLite and PostgreSQL, in one run.
//!
//!     cargo bench -p host --bench orm        (scripts/bench runs it)
//!
//! Needs the todo module built in target/test-modules (scripts/bench or scripts/test), and
//! PostgreSQL on 127.0.0.1:5432 (`PLUGHOST_BENCH_POSTGRES_URL` overrides; skipped if down).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use plughost::capabilities::orm::backend::{Pool, Target};
use plughost::capabilities::orm::repository::Repository;
use plughost::config::HostConfig;
use plughost::runtime::bindings::GuestRequest;
use plughost::runtime::module::ModuleMetrics;
use plughost::runtime::{LoadedModule, Runtime, loader};
use serde_json::json;

/// Operations per measurement, split over `CONCURRENCY` tasks.
const OPS: usize = 4_000;
const CONCURRENCY: usize = 4;
const ROUNDS: usize = 5;

fn main() -> anyhow::Result<()> {
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-modules");
    anyhow::ensure!(
        modules.join("todo").is_dir(),
        "build the modules first: scripts/bench"
    );
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let scratch = tempfile::tempdir()?;
    let sqlite = format!("sqlite://{}", scratch.path().join("bench.db").display());
    tokio.block_on(bench_backend("sqlite", &sqlite, &modules, scratch.path()))?;
    let postgres = match std::env::var("PLUGHOST_BENCH_POSTGRES_URL") {
        Ok(url) => url,
        Err(_) if std::net::TcpStream::connect("127.0.0.1:5432").is_ok() => {
            "postgres://postgres@127.0.0.1:5432/test".into()
        }
        Err(_) => {
            println!("postgres: skipped (nothing answers on 127.0.0.1:5432)");
            return Ok(());
        }
    };
    tokio.block_on(bench_backend(
        "postgres",
        &postgres,
        &modules,
        scratch.path(),
    ))?;
    Ok(())
}

/// Everything one backend's measurements need.
#[derive(Clone)]
struct Setup {
    runtime: Arc<Runtime>,
    module: Arc<LoadedModule>,
    tenant: String,
}

async fn setup(url: &str, modules: &Path, scratch: &Path) -> anyhow::Result<Setup> {
    let tenant = format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let dir: PathBuf = scratch.join(&tenant);
    std::fs::create_dir_all(&dir)?;
    for file in ["plugin.toml", "todo.wasm"] {
        std::fs::copy(modules.join("todo").join(file), dir.join(file))?;
    }
    let manifest = std::fs::read_to_string(dir.join("plugin.toml"))?;
    std::fs::write(
        dir.join("plugin.toml"),
        manifest.replacen(
            "version = ",
            &format!("tenant = \"{tenant}\"\nversion = "),
            1,
        ),
    )?;
    let config: HostConfig = toml::from_str(&format!(
        "[server]\ncache-dir = \"{}\"\n[database]\nurl = \"{url}\"\n[tenants.{tenant}]\nmodules = [\"*\"]\n[tenants.{tenant}.allow]\norm = true\n",
        scratch.join("cache").display()
    ))?;
    let runtime = Runtime::new(Arc::new(config), plughost::capabilities::ALL)?;
    let files = loader::read_files(&dir, runtime.config())?;
    let module =
        Arc::new(loader::load(&runtime, &dir, files, Arc::new(ModuleMetrics::default())).await?);
    Ok(Setup {
        runtime,
        module,
        tenant,
    })
}

async fn bench_backend(
    name: &str,
    url: &str,
    modules: &Path,
    scratch: &Path,
) -> anyhow::Result<()> {
    let setup = setup(url, modules, scratch).await?;
    let pool = setup
        .runtime
        .capability::<plughost::capabilities::orm::OrmStore>()
        .expect("the orm capability")
        .pool()
        .await
        .map_err(anyhow::Error::msg)?
        .clone();
    let direct_table = direct_table(&pool, &setup.tenant).await?;
    let mut ratios: Vec<[f64; 4]> = Vec::new();
    for round in 1..=ROUNDS {
        let (p, t) = (pool.clone(), direct_table.clone());
        let (direct_create, direct_ids) = measure(move |i| direct_create(&p, &t, i)).await?;
        let (p, s) = (pool.clone(), setup.clone());
        let (orm_create, orm_ids) = measure(move |i| orm_create(&p, &s, i)).await?;
        let s = setup.clone();
        let (module_create, module_ids) = measure(move |i| module_create(&s, i)).await?;
        let (p, t) = (pool.clone(), direct_table.clone());
        let (direct_find, _) = measure(move |i| direct_find(&p, &t, direct_ids[i])).await?;
        let (p, s) = (pool.clone(), setup.clone());
        let (orm_find, _) = measure(move |i| orm_find(&p, &s, orm_ids[i])).await?;
        let s = setup.clone();
        let (module_find, _) = measure(move |i| module_find(&s, module_ids[i])).await?;
        println!(
            "{name} round {round}: create/s direct={direct_create:.0} orm={orm_create:.0} module={module_create:.0} | \
             find-by-id/s direct={direct_find:.0} orm={orm_find:.0} module={module_find:.0}"
        );
        ratios.push([
            orm_create / direct_create,
            module_create / direct_create,
            orm_find / direct_find,
            module_find / direct_find,
        ]);
    }
    let median = |k: usize| {
        let mut v: Vec<f64> = ratios.iter().map(|r| r[k]).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "{name} median ratio to direct sqlx: create orm={:.2}x module={:.2}x | find-by-id orm={:.2}x module={:.2}x",
        median(0),
        median(1),
        median(2),
        median(3)
    );
    cleanup(&pool, &setup.tenant, &direct_table).await;
    Ok(())
}

/// Runs `OPS` operations on `CONCURRENCY` workers, each taking every `CONCURRENCY`th
/// index in turn; returns ops/s and each operation's id.
async fn measure<F, Fut>(op: F) -> anyhow::Result<(f64, Vec<i64>)>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<i64>> + Send + 'static,
{
    let op = Arc::new(op);
    let start = Instant::now();
    let workers: Vec<_> = (0..CONCURRENCY)
        .map(|k| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut done = Vec::new();
                for i in (k..OPS).step_by(CONCURRENCY) {
                    done.push((i, op(i).await?));
                }
                anyhow::Ok(done)
            })
        })
        .collect();
    let mut ids = vec![0; OPS];
    for worker in workers {
        for (i, id) in worker.await?? {
            ids[i] = id;
        }
    }
    Ok((OPS as f64 / start.elapsed().as_secs_f64(), ids))
}

async fn direct_table(pool: &Pool, tenant: &str) -> anyhow::Result<String> {
    let table = format!("{tenant}_direct");
    let sql = match pool {
        Pool::Sqlite(_) => format!(
            "CREATE TABLE \"{table}\" (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT, done INTEGER DEFAULT 0, created_at TEXT, updated_at TEXT)"
        ),
        Pool::Postgres(_) => format!(
            "CREATE TABLE \"{table}\" (id BIGSERIAL PRIMARY KEY, title VARCHAR(255), done BOOLEAN DEFAULT FALSE, created_at TIMESTAMPTZ, updated_at TIMESTAMPTZ)"
        ),
        Pool::MySql(_) => anyhow::bail!("the benchmark covers SQLite and PostgreSQL"),
    };
    Target::Pool(pool).execute_script(&sql).await?;
    Ok(table)
}

/// The statements the ORM issues for create, written by hand with sqlx.
fn direct_create(
    pool: &Pool,
    table: &str,
    i: usize,
) -> impl std::future::Future<Output = anyhow::Result<i64>> + Send + use<> {
    let pool = pool.clone();
    let sql = format!(
        "INSERT INTO \"{table}\" (title, done, created_at, updated_at) VALUES ({}) RETURNING id, title, done, created_at, updated_at",
        pool.dialect().placeholders(4)
    );
    async move {
        let now = chrono::Utc::now();
        let title = format!("task {i}");
        Ok(match &pool {
            Pool::Sqlite(p) => {
                let stamp = now.to_rfc3339();
                let row: (i64, String, bool, String, String) = sqlx::query_as(&sql)
                    .bind(title)
                    .bind(false)
                    .bind(&stamp)
                    .bind(&stamp)
                    .fetch_one(p)
                    .await?;
                row.0
            }
            Pool::Postgres(p) => {
                let row: (
                    i64,
                    String,
                    bool,
                    chrono::DateTime<chrono::Utc>,
                    chrono::DateTime<chrono::Utc>,
                ) = sqlx::query_as(&sql)
                    .bind(title)
                    .bind(false)
                    .bind(now)
                    .bind(now)
                    .fetch_one(p)
                    .await?;
                row.0
            }
            Pool::MySql(_) => unreachable!(),
        })
    }
}

fn direct_find(
    pool: &Pool,
    table: &str,
    id: i64,
) -> impl std::future::Future<Output = anyhow::Result<i64>> + Send + use<> {
    let pool = pool.clone();
    let sql = format!(
        "SELECT id, title, done, created_at, updated_at FROM \"{table}\" WHERE id = {}",
        pool.dialect().placeholders(1)
    );
    async move {
        Ok(match &pool {
            Pool::Sqlite(p) => {
                let row: (i64, String, bool, String, String) =
                    sqlx::query_as(&sql).bind(id).fetch_one(p).await?;
                row.0
            }
            Pool::Postgres(p) => {
                let row: (
                    i64,
                    String,
                    bool,
                    chrono::DateTime<chrono::Utc>,
                    chrono::DateTime<chrono::Utc>,
                ) = sqlx::query_as(&sql).bind(id).fetch_one(p).await?;
                row.0
            }
            Pool::MySql(_) => unreachable!(),
        })
    }
}

/// The ORM layer alone: JSON values checked against the model, SQL built, row to JSON.
fn orm_create(
    pool: &Pool,
    setup: &Setup,
    i: usize,
) -> impl std::future::Future<Output = anyhow::Result<i64>> + Send + use<> {
    let pool = pool.clone();
    let module = setup.module.clone();
    async move {
        let schema = plughost::capabilities::orm::schema_of(&module.context);
        let repo = Repository {
            model: &schema.models["todo"],
            namespace: &schema.namespace,
            dialect: pool.dialect(),
        };
        let row = repo
            .create(Target::Pool(&pool), &json!({"title": format!("task {i}")}))
            .await?;
        Ok(row["id"].as_i64().unwrap_or_default())
    }
}

fn orm_find(
    pool: &Pool,
    setup: &Setup,
    id: i64,
) -> impl std::future::Future<Output = anyhow::Result<i64>> + Send + use<> {
    let pool = pool.clone();
    let module = setup.module.clone();
    async move {
        let schema = plughost::capabilities::orm::schema_of(&module.context);
        let repo = Repository {
            model: &schema.models["todo"],
            namespace: &schema.namespace,
            dialect: pool.dialect(),
        };
        let row = repo.find_by_id(Target::Pool(&pool), id).await?;
        anyhow::ensure!(row.is_some(), "row {id} missing");
        Ok(id)
    }
}

fn request(method: &str, route: &str, id: Option<i64>, body: &str) -> GuestRequest {
    GuestRequest {
        method: method.into(),
        path: id.map_or("/todos".into(), |id| format!("/todos/{id}")),
        route: route.into(),
        params: id
            .map(|id| vec![("id".into(), id.to_string())])
            .unwrap_or_default(),
        query: String::new(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.as_bytes().to_vec(),
        request_id: "bench".into(),
    }
}

/// A full invocation of the todo module: fresh instance, request in, JSON out.
fn module_create(
    setup: &Setup,
    i: usize,
) -> impl std::future::Future<Output = anyhow::Result<i64>> + Send + use<> {
    let (runtime, module) = (setup.runtime.clone(), setup.module.clone());
    async move {
        let body = json!({"title": format!("task {i}")}).to_string();
        let response = module
            .handle_http(&runtime, &request("POST", "/", None, &body))
            .await?
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        anyhow::ensure!(response.status == 201, "status {}", response.status);
        let row: serde_json::Value = serde_json::from_slice(&response.body)?;
        Ok(row["id"].as_i64().unwrap_or_default())
    }
}

fn module_find(
    setup: &Setup,
    id: i64,
) -> impl std::future::Future<Output = anyhow::Result<i64>> + Send + use<> {
    let (runtime, module) = (setup.runtime.clone(), setup.module.clone());
    async move {
        let response = module
            .handle_http(&runtime, &request("GET", "/{id}", Some(id), ""))
            .await?
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        anyhow::ensure!(response.status == 200, "status {}", response.status);
        Ok(id)
    }
}

async fn cleanup(pool: &Pool, tenant: &str, direct: &str) {
    let sql = match pool {
        Pool::Postgres(_) => format!(
            "DROP SCHEMA IF EXISTS \"tenant_{tenant}\" CASCADE; DROP TABLE IF EXISTS \"{direct}\"; \
             DELETE FROM plughost_models WHERE tenant = '{tenant}';"
        ),
        _ => return,
    };
    let _ = Target::Pool(pool).execute_script(&sql).await;
}
