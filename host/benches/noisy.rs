//! The noisy neighbour: tenant B's hello latency idle, then while tenant A floods a
//! spinning route on 64 connections, in one run, with tenant quotas as host.toml sets them
//! by default and, for comparison, with A's quota opened to its 64 connections.
//!
//!     cargo bench -p host --bench noisy        (scripts/bench runs it)
//!
//! Needs `target/release/host` and the `hello-rust` and `hostile` fixtures in
//! target/test-modules (scripts/bench builds them). The host runs as its own process; the
//! clients run here, on the same 2 cores.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const FLOOD_CONNECTIONS: usize = 64;
const SAMPLES: usize = 2_000;
/// Each flood request spins this long (its deadline is 1 s).
const SPIN_MS: u64 = 50;

fn main() -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let host_bin = root.join("target/release/host");
    let modules = root.join("target/test-modules");
    anyhow::ensure!(
        host_bin.is_file() && modules.join("hostile").is_dir(),
        "build first: scripts/bench"
    );
    for (label, attacker) in [
        ("default quotas (max-concurrent 8)", ""),
        ("attacker quota opened to 64", "max-concurrent = 64\n"),
    ] {
        let host = start(&host_bin, &modules, attacker)?;
        let idle = latencies(SAMPLES);
        let flood = Flood::start();
        std::thread::sleep(Duration::from_millis(500));
        let loaded = latencies(SAMPLES);
        let flooded = flood.stop();
        drop(host);
        println!(
            "{label}: victim hello idle p50 {:.2} ms p99 {:.2} ms; under flood p50 {:.2} ms \
             p99 {:.2} ms ({:.1}x idle p99); attacker answered {} requests ({} refused 429)",
            idle.0,
            idle.1,
            loaded.0,
            loaded.1,
            loaded.1 / idle.1,
            flooded.0,
            flooded.1
        );
    }
    Ok(())
}

/// The host, killed on drop; its scratch folder goes with it.
struct Host(Child, #[allow(dead_code)] tempfile::TempDir);

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(host_bin: &Path, modules: &Path, attacker: &str) -> anyhow::Result<Host> {
    let scratch = tempfile::tempdir()?;
    let plugins = scratch.path().join("plugins");
    for module in ["hello-rust", "hostile"] {
        copy_tree(&modules.join(module), &plugins.join(module))?;
    }
    let config = format!(
        "[tenants.victim]\nmodules = [\"hello-rust\"]\n\n[tenants.attacker]\nmodules = [\"hostile\"]\n\
         max-waiting = 1000\n{attacker}[tenants.attacker.allow]\nqueue = true\nevents = true\norm = true\n"
    );
    std::fs::write(scratch.path().join("host.toml"), config)?;
    let child = Command::new(host_bin)
        .args(["run", "--listen", "127.0.0.1:18191", "--plugins"])
        .arg(&plugins)
        .arg("--config")
        .arg(scratch.path().join("host.toml"))
        .arg("--cache-dir")
        .arg(modules.join("../bench-cache"))
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let host = Host(child, scratch);
    let agent = agent();
    let started = Instant::now();
    while agent
        .get(url("/hello-rust/Ada"))
        .call()
        .map(|r| r.status().as_u16())
        .ok()
        != Some(200)
    {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "the host did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(host)
}

fn copy_tree(from: &Path, to: &PathBuf) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

fn url(path: &str) -> String {
    format!("http://127.0.0.1:18191{path}")
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// p50 and p99 of `samples` sequential hello requests on one keep-alive connection, in ms.
fn latencies(samples: usize) -> (f64, f64) {
    let agent = agent();
    let mut took: Vec<f64> = (0..samples)
        .map(|_| {
            let started = Instant::now();
            let reply = agent.get(url("/hello-rust/Ada")).call().expect("hello");
            assert_eq!(reply.status(), 200);
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    took.sort_by(f64::total_cmp);
    (took[samples / 2], took[samples * 99 / 100])
}

/// The attacker's 64 connections, each requesting the spinning route back to back.
struct Flood {
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicU64>,
    refused: Arc<AtomicU64>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Flood {
    fn start() -> Flood {
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicU64::new(0));
        let refused = Arc::new(AtomicU64::new(0));
        let threads = (0..FLOOD_CONNECTIONS)
            .map(|_| {
                let (stop, answered, refused) = (stop.clone(), answered.clone(), refused.clone());
                std::thread::spawn(move || {
                    let agent = agent();
                    while !stop.load(Ordering::Relaxed) {
                        match agent.get(url(&format!("/hostile/spin/{SPIN_MS}"))).call() {
                            Ok(r) if r.status() == 429 => {
                                refused.fetch_add(1, Ordering::Relaxed);
                                std::thread::sleep(Duration::from_millis(5));
                            }
                            Ok(_) => {
                                answered.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(_) => std::thread::sleep(Duration::from_millis(5)),
                        }
                    }
                })
            })
            .collect();
        Flood {
            stop,
            answered,
            refused,
            threads,
        }
    }

    fn stop(self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            let _ = t.join();
        }
        (
            self.answered.load(Ordering::Relaxed),
            self.refused.load(Ordering::Relaxed),
        )
    }
}
