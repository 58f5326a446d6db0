//! Events and jobs: events/s delivered to one module subscriber, emit-to-handled latency,
//! and durable jobs/s completed by a trivial job module on SQLite and PostgreSQL.
//!
//!     cargo bench -p host --bench bus        (scripts/bench runs it)
//!
//! Needs the `sink` fixture built in target/test-modules (scripts/bench or scripts/test);
//! PostgreSQL on 127.0.0.1:5432 for the PostgreSQL figures (skipped if down).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use plughost::capabilities::events::{Event, EventBus};
use plughost::capabilities::orm::OrmStore;
use plughost::capabilities::orm::backend::Target;
use plughost::capabilities::queue::{NewJob, QueueWorkers, store};
use plughost::config::HostConfig;
use plughost::runtime::{ModuleRegistry, Runtime};

const EVENTS: usize = 20_000;
const LATENCY_SAMPLES: usize = 2_000;
const JOBS: usize = 5_000;

fn main() -> anyhow::Result<()> {
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-modules");
    anyhow::ensure!(
        modules.join("sink").is_dir(),
        "build the modules first: scripts/bench"
    );
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let scratch = tempfile::tempdir()?;
    let sqlite = format!("sqlite://{}", scratch.path().join("bus.db").display());
    tokio.block_on(async {
        let (runtime, _registry, tenant) = host(&sqlite, &modules, scratch.path()).await?;
        events_per_second(&runtime, &tenant).await;
        latency(&runtime, &tenant).await;
        jobs_per_second("sqlite", &runtime, &tenant).await
    })?;
    if std::net::TcpStream::connect("127.0.0.1:5432").is_err() {
        println!("postgres: skipped (nothing answers on 127.0.0.1:5432)");
        return Ok(());
    }
    let postgres = "postgres://postgres@127.0.0.1:5432/test";
    tokio.block_on(async {
        let (runtime, _registry, tenant) = host(postgres, &modules, scratch.path()).await?;
        let result = jobs_per_second("postgres", &runtime, &tenant).await;
        let orm = orm_of(&runtime);
        let pool = orm.pool().await.map_err(anyhow::Error::msg)?;
        let cleanup = format!("DELETE FROM plughost_jobs WHERE tenant = '{tenant}'");
        let _ = Target::Pool(pool).execute_script(&cleanup).await;
        result
    })
}

/// A runtime and registry serving the sink module in a tenant of its own.
async fn host(
    url: &str,
    modules: &Path,
    scratch: &Path,
) -> anyhow::Result<(Arc<Runtime>, Arc<ModuleRegistry>, String)> {
    let tenant = format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let plugins = scratch.join(format!("{tenant}-plugins"));
    let folder = plugins.join("sink");
    std::fs::create_dir_all(&folder)?;
    std::fs::copy(modules.join("sink/sink.wasm"), folder.join("sink.wasm"))?;
    let manifest = std::fs::read_to_string(modules.join("sink/plugin.toml"))?;
    std::fs::write(
        folder.join("plugin.toml"),
        manifest.replacen(
            "version = ",
            &format!("tenant = \"{tenant}\"\nversion = "),
            1,
        ),
    )?;
    let config: HostConfig = toml::from_str(&format!(
        "[server]\ncache-dir = \"{}\"\n[database]\nurl = \"{url}\"\n[queue]\nconcurrency = 8\npoll-ms = 20\n\
         [tenants.{tenant}]\nmodules = [\"*\"]\n[tenants.{tenant}.allow]\nevents = true\nqueue = true\n",
        scratch.join("cache").display()
    ))?;
    let runtime = Runtime::new(Arc::new(config), plughost::capabilities::ALL)?;
    let registry = ModuleRegistry::new(runtime.clone(), plugins);
    registry.load_all().await?;
    anyhow::ensure!(
        registry.snapshot().modules().next().is_some(),
        "the sink module did not load"
    );
    Ok((runtime, registry, tenant))
}

fn event(i: usize) -> Event {
    Event {
        id: format!("e{i}"),
        topic: "bench.ping".into(),
        payload: "{\"i\":1}".into(),
        source: "bench".into(),
        time: "2026-11-23T00:00:00.000000Z".into(),
    }
}

async fn wait_delivered(runtime: &Runtime, target: u64) {
    let bus = bus_of(runtime);
    let metrics = bus.metrics();
    while metrics.delivered.load(Ordering::Relaxed) + metrics.failed.load(Ordering::Relaxed)
        < target
    {
        tokio::task::yield_now().await;
    }
}

async fn events_per_second(runtime: &Runtime, tenant: &str) {
    let start = Instant::now();
    for chunk in (0..EVENTS).collect::<Vec<_>>().chunks(100) {
        bus_of(runtime).publish(tenant, chunk.iter().map(|i| event(*i)).collect());
        // Keep at most a few thousand deliveries in flight, as a steady producer would.
        let published = chunk[chunk.len() - 1] as u64 + 1;
        if published > 2_000 {
            wait_delivered(runtime, published - 2_000).await;
        }
    }
    wait_delivered(runtime, EVENTS as u64).await;
    let elapsed = start.elapsed();
    let failed = bus_of(runtime).metrics().failed.load(Ordering::Relaxed);
    println!(
        "events: {EVENTS} delivered to one module subscriber in {:.2}s = {:.0} events/s (failed {failed})",
        elapsed.as_secs_f64(),
        EVENTS as f64 / elapsed.as_secs_f64()
    );
}

async fn latency(runtime: &Runtime, tenant: &str) {
    let mut samples = Vec::with_capacity(LATENCY_SAMPLES);
    let base = bus_of(runtime).metrics().delivered.load(Ordering::Relaxed);
    for i in 0..LATENCY_SAMPLES {
        let start = Instant::now();
        bus_of(runtime).publish(tenant, vec![event(i)]);
        wait_delivered(runtime, base + i as u64 + 1).await;
        samples.push(start.elapsed());
    }
    samples.sort();
    println!(
        "events: emit to handled by the subscriber, one at a time: p50={:.0}us p99={:.0}us ({LATENCY_SAMPLES} samples)",
        micros(samples[LATENCY_SAMPLES / 2]),
        micros(samples[LATENCY_SAMPLES * 99 / 100])
    );
}

async fn jobs_per_second(name: &str, runtime: &Runtime, tenant: &str) -> anyhow::Result<()> {
    let orm = orm_of(runtime);
    let pool = orm.pool().await.map_err(anyhow::Error::msg)?;
    let mut tx = pool.begin_bookkeeping().await?;
    for i in 0..JOBS {
        let job = NewJob {
            id: format!("{tenant}-{i}"),
            tenant: tenant.to_string(),
            queue: "bench".into(),
            payload: "{}".into(),
            delay_ms: 0,
            max_attempts: 3,
            source: "bench".into(),
        };
        store::insert(Target::Transaction(&mut tx), &job).await?;
    }
    tx.commit().await?;
    let start = Instant::now();
    queues_of(runtime).wake(tenant, "bench");
    loop {
        let depths = store::depths(pool).await?;
        let left: u64 = depths
            .iter()
            .filter(|d| d.tenant == tenant)
            .map(|d| d.jobs)
            .sum();
        if left == 0 {
            break;
        }
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(120),
            "{left} jobs never finished"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let elapsed = start.elapsed();
    println!(
        "jobs ({name}): {JOBS} durable jobs claimed, run and deleted in {:.2}s = {:.0} jobs/s",
        elapsed.as_secs_f64(),
        JOBS as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn orm_of(runtime: &Runtime) -> Arc<OrmStore> {
    runtime.capability().expect("the orm capability")
}

fn bus_of(runtime: &Runtime) -> Arc<EventBus> {
    runtime.capability().expect("the events capability")
}

fn queues_of(runtime: &Runtime) -> Arc<QueueWorkers> {
    runtime.capability().expect("the queue capability")
}
