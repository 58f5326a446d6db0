//! In-process benchmarks: instantiate+call of a module from its `InstancePre`, and the
//! time from writing a new `.wasm` to the new version answering over HTTP.
//!
//!     cargo bench -p host --bench invocation        (scripts/bench runs it)
//!
//! Needs the modules built by scripts/bench (or scripts/test) in target/test-modules.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use plughost::config::HostConfig;
use plughost::runtime::bindings::GuestRequest;
use plughost::runtime::module::ModuleMetrics;
use plughost::runtime::{ModuleRegistry, Runtime, loader, watcher};
use plughost::server::{HttpState, serve};

fn main() -> anyhow::Result<()> {
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-modules");
    anyhow::ensure!(
        modules.join("hello-rust").is_dir(),
        "build the modules first: scripts/bench"
    );
    let cache = tempfile::tempdir()?;
    let mut config = HostConfig::default();
    config.server.cache_dir = Some(cache.path().to_path_buf());
    let runtime = Runtime::new(Arc::new(config), plughost::capabilities::ALL)?;
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    tokio.block_on(instantiate_and_call(
        &runtime,
        &modules.join("hello-rust"),
        20_000,
    ))?;
    tokio.block_on(instantiate_and_call(
        &runtime,
        &modules.join("hello-py"),
        500,
    ))?;
    tokio.block_on(swap_latency(&runtime, &modules))?;
    Ok(())
}

async fn instantiate_and_call(
    runtime: &Arc<Runtime>,
    dir: &Path,
    rounds: usize,
) -> anyhow::Result<()> {
    let files = loader::read_files(dir, runtime.config())?;
    let module = loader::load(runtime, dir, files, Arc::new(ModuleMetrics::default())).await?;
    let request = GuestRequest {
        method: "GET".into(),
        path: "/x/Ada".into(),
        route: "/{name}".into(),
        params: vec![("name".into(), "Ada".into())],
        query: String::new(),
        headers: Vec::new(),
        body: Vec::new(),
        request_id: "bench".into(),
    };
    for _ in 0..rounds / 10 {
        module
            .handle_http(runtime, &request)
            .await?
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    }
    let mut samples = Vec::with_capacity(rounds);
    let all = Instant::now();
    for _ in 0..rounds {
        let start = Instant::now();
        let response = module
            .handle_http(runtime, &request)
            .await?
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        samples.push(start.elapsed());
        anyhow::ensure!(response.status == 200);
    }
    let total = all.elapsed();
    samples.sort();
    println!(
        "instantiate+call {:<11} rounds={rounds} p50={:.1}us p99={:.1}us mean={:.1}us ({:.0} calls/s on one thread)",
        module.name(),
        micros(samples[rounds / 2]),
        micros(samples[rounds * 99 / 100]),
        micros(total) / rounds as f64,
        rounds as f64 / total.as_secs_f64()
    );
    Ok(())
}

/// Writes alternating `.wasm` files into a served plugin folder and times each until the
/// new version's answer comes back over HTTP.
async fn swap_latency(runtime: &Arc<Runtime>, modules: &Path) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let folder = dir.path().join("swap");
    std::fs::create_dir_all(&folder)?;
    let probe = std::fs::read(wasm_in(&modules.join("probe")))?;
    let alternate = std::fs::read(wasm_in(&modules.join("probe-alt")))?;
    let manifest = std::fs::read_to_string(modules.join("probe/plugin.toml"))?;
    std::fs::write(
        folder.join("plugin.toml"),
        manifest.replace("prefix = \"/probe\"", "prefix = \"/swap\""),
    )?;
    std::fs::write(folder.join("m.wasm"), &probe)?;
    let registry = ModuleRegistry::new(runtime.clone(), dir.path().to_path_buf());
    registry.load_all().await?;
    let _watch = watcher::watch(registry.clone())?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/swap/hello/Ada", listener.local_addr()?);
    let state = Arc::new(HttpState {
        registry,
        runtime: runtime.clone(),
        body_limit: 1 << 20,
    });
    tokio::spawn(serve(listener, state, std::future::pending()));
    let wasm = folder.join("m.wasm");
    let samples = tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<Duration>> {
        let mut samples = Vec::new();
        for i in 0..20 {
            let (bytes, answer) = if i % 2 == 0 {
                (&alternate, "(probe-alt)")
            } else {
                (&probe, "(probe)")
            };
            let tmp = wasm.with_extension("tmp");
            std::fs::write(&tmp, bytes)?;
            let start = Instant::now();
            std::fs::rename(&tmp, &wasm)?;
            loop {
                let body = ureq::get(&url).call()?.body_mut().read_to_string()?;
                if body.ends_with(answer) {
                    break;
                }
                anyhow::ensure!(
                    start.elapsed() < Duration::from_secs(10),
                    "swap {i} never became visible"
                );
            }
            samples.push(start.elapsed());
        }
        Ok(samples)
    })
    .await??;
    let mut sorted = samples.clone();
    sorted.sort();
    println!(
        "swap visible after write   swaps={} p50={:.0}ms max={:.0}ms",
        sorted.len(),
        micros(sorted[sorted.len() / 2]) / 1000.0,
        micros(*sorted.last().unwrap()) / 1000.0
    );
    Ok(())
}

fn wasm_in(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "wasm"))
        .expect("a .wasm in the module folder")
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
