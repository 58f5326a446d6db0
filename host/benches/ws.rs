//! WebSockets at scale, the host against a plain tokio-tungstenite server in the same run:
//! memory per idle connection (10,000 of them), a broadcast to all of them (p50/p99
//! delivery), and echo messages/s through a module's `on-message` vs the plain server.
//!
//!     cargo bench -p host --bench ws        (scripts/bench runs it)
//!
//! Needs `target/release/host` and the `ws-echo` fixture in target/test-modules
//! (scripts/bench builds both). Each server runs as its own process, so its memory is its own.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::TcpStream;
use tokio::sync::{Mutex, mpsc};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const CONNECTIONS: usize = 10_000;
const BROADCAST_ROUNDS: usize = 5;
const ECHO_CLIENTS: usize = 32;
const ECHOES_PER_CLIENT: usize = 1_000;
const ECHO_ROUNDS: usize = 5;

type Client = WebSocketStream<MaybeTlsStream<TcpStream>>;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--plain-server") {
        return plain_server(&args[2]);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let host_bin = root.join("target/release/host");
    let fixture = root.join("target/test-modules/ws-echo");
    anyhow::ensure!(
        host_bin.is_file() && fixture.is_dir(),
        "build first: scripts/bench"
    );
    let scratch = tempfile::tempdir()?;
    let plugins = scratch.path().join("plugins/ws-echo");
    std::fs::create_dir_all(&plugins)?;
    for file in ["plugin.toml", "ws_echo.wasm"] {
        std::fs::copy(fixture.join(file), plugins.join(file))?;
    }
    std::fs::write(
        scratch.path().join("host.toml"),
        "[ws]\nrate-per-second = 1000000.0\nburst = 1000000.0\nidle-secs = 600\nsend-queue = 64\n",
    )?;
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut host = Command::new(&host_bin)
        .args(["run", "--listen", "127.0.0.1:18181", "--plugins"])
        .arg(scratch.path().join("plugins"))
        .arg("--config")
        .arg(scratch.path().join("host.toml"))
        .arg("--cache-dir")
        .arg(root.join("target/bench-cache"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()?;
    let mut plain = Command::new(std::env::current_exe()?)
        .args(["--plain-server", "127.0.0.1:18182"])
        .stdout(Stdio::null())
        .spawn()?;
    let outcome = tokio.block_on(compare(
        ("host", host.id(), "ws://127.0.0.1:18181/echo"),
        ("plain", plain.id(), "ws://127.0.0.1:18182/"),
    ));
    for server in [&mut host, &mut plain] {
        let _ = server.kill();
        let _ = server.wait();
    }
    outcome
}

/// A server under test: its name, process id and WebSocket URL.
type Server = (&'static str, u32, &'static str);

/// Memory and broadcast on each server in turn (10,000 connections each), then echo rounds
/// alternating host and plain, so that both see the same machine; the median ratio counts.
async fn compare(host: Server, plain: Server) -> anyhow::Result<()> {
    let host_memory = memory_and_broadcast(host).await?;
    let plain_memory = memory_and_broadcast(plain).await?;
    let mut ratios = Vec::new();
    for round in 1..=ECHO_ROUNDS {
        let host_rate = echo(host.2).await?;
        let plain_rate = echo(plain.2).await?;
        println!(
            "echo round {round}, {ECHO_CLIENTS} clients x {ECHOES_PER_CLIENT} messages: host {host_rate:.0}/s, plain {plain_rate:.0}/s = {:.2}x",
            host_rate / plain_rate
        );
        ratios.push(host_rate / plain_rate);
    }
    ratios.sort_by(f64::total_cmp);
    println!(
        "ratios: memory per idle connection {:.2}x the plain server's; echo {:.2}x the plain server's messages/s (median of {ECHO_ROUNDS} rounds)",
        host_memory / plain_memory,
        ratios[ratios.len() / 2]
    );
    Ok(())
}

/// Opens 10,000 idle connections, reports the server's memory per connection (returned),
/// then times broadcasts to all of them.
async fn memory_and_broadcast((name, pid, url): Server) -> anyhow::Result<f64> {
    wait_until_listening(url).await?;
    let before = rss_bytes(pid)?;
    let mut clients = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS / 250 {
        let batch = futures_util::future::try_join_all((0..250).map(|_| connect(url))).await?;
        clients.extend(batch);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_bytes(pid)?;
    let per_connection = after.saturating_sub(before) as f64 / CONNECTIONS as f64;
    println!(
        "{name}: {CONNECTIONS} idle connections, server memory {:.1} MiB -> {:.1} MiB = {:.1} KiB per connection",
        before as f64 / 1048576.0,
        after as f64 / 1048576.0,
        per_connection / 1024.0
    );
    broadcast(name, &mut clients).await?;
    drop(clients);
    // Let the server let go of 10,000 sockets before the next measurement.
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(per_connection)
}

async fn connect(url: &str) -> anyhow::Result<Client> {
    Ok(tokio_tungstenite::connect_async(url).await?.0)
}

async fn wait_until_listening(url: &str) -> anyhow::Result<()> {
    let start = Instant::now();
    while connect(url).await.is_err() {
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(60),
            "{url} never answered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// One client sends a broadcast, `BROADCAST_ROUNDS` times; every other client, already
/// waiting on its socket, times each arrival from the moment the frame was sent.
async fn broadcast(name: &str, clients: &mut Vec<Client>) -> anyhow::Result<()> {
    let rounds: usize = std::env::var("BROADCAST_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(BROADCAST_ROUNDS);
    let mut sender = clients.pop().expect("clients");
    let arrivals = Arc::new(Arrivals::new(clients.len()));
    let readers: Vec<_> = clients
        .drain(..)
        .enumerate()
        .map(|(slot, mut client)| {
            let arrivals = arrivals.clone();
            tokio::spawn(async move {
                while let Some(Ok(message)) = client.next().await {
                    let Ok(text) = message.to_text() else {
                        continue;
                    };
                    if let Some(round) = round_of(text) {
                        arrivals.record(slot, round);
                    }
                }
            })
        })
        .collect();
    // Let every reader reach its first read before the clock starts.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let total = readers.len();
    let mut samples = Vec::with_capacity(total * rounds);
    let mut worst = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let frame = format!(r#"{{"event":"broadcast","data":{{"round":{round}}}}}"#);
        let sent = arrivals.start(round);
        sender.send(Message::text(frame)).await?;
        let complete = tokio::time::timeout(Duration::from_secs(30), arrivals.all.notified());
        let _ = complete.await;
        let mut this_round = arrivals.latencies(sent);
        anyhow::ensure!(
            this_round.len() == total,
            "round {round}: only {} of {total} clients got the broadcast",
            this_round.len()
        );
        this_round.sort();
        worst.push(format!("{:.0}", percentile(&this_round, 99) * 1e3));
        samples.extend(this_round);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    for reader in readers {
        reader.abort();
    }
    samples.sort();
    println!(
        "{name}: broadcast to {total} clients, {rounds} rounds: p50={:.1}ms p99={:.1}ms (p99 per round, ms: {})",
        percentile(&samples, 50) * 1e3,
        percentile(&samples, 99) * 1e3,
        worst.join(" ")
    );
    Ok(())
}

/// Arrival times of the current round, one slot per client: a reader stores its time and
/// counts itself without waking anyone, and only the last one wakes the timer task, so the
/// measuring costs the shared cores as little as possible.
struct Arrivals {
    base: Instant,
    round: AtomicUsize,
    /// Nanoseconds since `base`; 0 = not arrived this round.
    at: Vec<AtomicU64>,
    arrived: AtomicUsize,
    all: tokio::sync::Notify,
}

impl Arrivals {
    fn new(clients: usize) -> Arrivals {
        Arrivals {
            base: Instant::now(),
            round: AtomicUsize::new(usize::MAX),
            at: (0..clients).map(|_| AtomicU64::new(0)).collect(),
            arrived: AtomicUsize::new(0),
            all: tokio::sync::Notify::new(),
        }
    }

    /// Clears the slots for `round`; returns the send time.
    fn start(&self, round: usize) -> Instant {
        for slot in &self.at {
            slot.store(0, Ordering::Relaxed);
        }
        self.arrived.store(0, Ordering::SeqCst);
        self.round.store(round, Ordering::SeqCst);
        Instant::now()
    }

    fn record(&self, slot: usize, round: usize) {
        if round != self.round.load(Ordering::SeqCst) {
            return;
        }
        let nanos = self.base.elapsed().as_nanos() as u64;
        self.at[slot].store(nanos.max(1), Ordering::Relaxed);
        if self.arrived.fetch_add(1, Ordering::AcqRel) + 1 == self.at.len() {
            self.all.notify_one();
        }
    }

    /// Each arrived client's delay after `sent`.
    fn latencies(&self, sent: Instant) -> Vec<Duration> {
        let sent = sent.duration_since(self.base).as_nanos() as u64;
        self.at
            .iter()
            .map(|slot| slot.load(Ordering::Relaxed))
            .filter(|&at| at != 0)
            .map(|at| Duration::from_nanos(at.saturating_sub(sent)))
            .collect()
    }
}

/// The round number in a broadcast frame `{"event":"broadcast","data":{"round":N}}`, found
/// without a JSON parser so that the clients, on the same cores, cost the servers little.
fn round_of(text: &str) -> Option<usize> {
    let rest = text.split_once(r#""round":"#)?.1;
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..digits].parse().ok()
}

/// The `p`th percentile of sorted durations, in seconds.
fn percentile(sorted: &[Duration], p: usize) -> f64 {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)].as_secs_f64()
}

/// Clients each send echoes one after another; messages answered per second.
async fn echo(url: &str) -> anyhow::Result<f64> {
    let mut clients = Vec::new();
    for _ in 0..ECHO_CLIENTS {
        clients.push(connect(url).await?);
    }
    let start = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|mut client| {
            tokio::spawn(async move {
                for i in 0..ECHOES_PER_CLIENT {
                    let frame = format!(r#"{{"event":"echo","data":{{"i":{i}}}}}"#);
                    client.send(Message::text(frame)).await?;
                    while let Some(message) = client.next().await {
                        if message?.to_text().is_ok_and(|t| t.contains("\"echo\"")) {
                            break;
                        }
                    }
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok((ECHO_CLIENTS * ECHOES_PER_CLIENT) as f64 / start.elapsed().as_secs_f64())
}

fn rss_bytes(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmRSS for {pid}"))?;
    Ok(kib * 1024)
}

/// The baseline: a plain tokio-tungstenite server with the same two events (echo to the
/// sender, broadcast to everyone), no modules, no checks.
fn plain_server(addr: &str) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let peers: Arc<Mutex<Vec<mpsc::Sender<String>>>> = Arc::default();
        loop {
            let (stream, _) = listener.accept().await?;
            let peers = peers.clone();
            tokio::spawn(async move {
                let Ok(socket) = tokio_tungstenite::accept_async(stream).await else {
                    return;
                };
                let (mut sink, mut source) = socket.split();
                let (tx, mut rx) = mpsc::channel::<String>(64);
                peers.lock().await.push(tx.clone());
                tokio::spawn(async move {
                    while let Some(text) = rx.recv().await {
                        if sink.send(Message::text(text)).await.is_err() {
                            break;
                        }
                    }
                });
                while let Some(Ok(message)) = source.next().await {
                    let Ok(text) = message.to_text() else {
                        continue;
                    };
                    let Ok(frame) = serde_json::from_str::<serde_json::Value>(text) else {
                        continue;
                    };
                    let out = serde_json::json!({"event": frame["event"], "data": frame["data"]})
                        .to_string();
                    if frame["event"] == "broadcast" {
                        for peer in peers.lock().await.iter() {
                            let _ = peer.try_send(out.clone());
                        }
                    } else {
                        let _ = tx.send(out).await;
                    }
                }
            });
        }
    })
}
