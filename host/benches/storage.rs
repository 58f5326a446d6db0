//! Storage and mail throughput, each against what the host does it with, in one run:
//!
//! - storage put and get of 4 KiB objects (ops/s, `SMALL_OPS` operations on `CONCURRENCY`
//!   tasks, `SMALL_ROUNDS` rounds) and 64 MiB objects (MB/s, `LARGE_ROUNDS` rounds, one
//!   at a time) through a full invocation of the `storage-probe` fixture (`PUT` and `GET
//!   /objects/{*key}`: fresh instance, body in, the host's temp file, `sync_data` and
//!   rename, bytes out), against `tokio::fs::write` of a fresh file, the same plus
//!   `sync_data` and a rename (what durability costs), and `tokio::fs::read`;
//! - mails/s handed to a local SMTP server (`tests/smtp/server.py`, aiosmtpd) by the
//!   `mail-probe` fixture (`POST /send`, 50 messages per invocation, queued on the
//!   durable queue and delivered by the host's delivery loop), timed from the first send
//!   until the server has saved every message, against lettre's pooled SMTP transport
//!   sending the same number of pre-built messages from `MAIL_CONNECTIONS` tasks, and a bare
//!   SMTP client on `MAIL_CONNECTIONS` connections that frames messages as lettre does, with
//!   Nagle's algorithm on (as lettre) and off (`TCP_NODELAY`): what the exchange costs.
//!
//!     cargo bench -p host --bench storage        (scripts/bench runs it)
//!
//! Needs the `storage-probe` and `mail-probe` fixtures built in target/test-modules
//! (scripts/bench or scripts/test), and `.venv/bin/python` with aiosmtpd (scripts/setup)
//! for the mail figures (skipped without it).

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lettre::message::Message;
use lettre::transport::smtp::PoolConfig;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use plughost::config::HostConfig;
use plughost::runtime::bindings::GuestRequest;
use plughost::runtime::module::ModuleMetrics;
use plughost::runtime::{LoadedModule, ModuleRegistry, Runtime, loader};
use serde_json::json;

const SMALL: usize = 4 * 1024;
const SMALL_OPS: usize = 2_000;
const SMALL_ROUNDS: usize = 3;
const LARGE: usize = 64 << 20;
const LARGE_ROUNDS: usize = 8;
const CONCURRENCY: usize = 4;
const MAILS: usize = 2_000;
const MAILS_PER_INVOCATION: usize = 50;
const MAIL_ROUNDS: usize = 3;
/// SMTP connections, for the host (its default) and for the baselines alike.
const POOL_SIZE: u32 = 8;
const MAIL_CONNECTIONS: usize = POOL_SIZE as usize;

fn main() -> anyhow::Result<()> {
    let modules = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-modules");
    for fixture in ["storage-probe", "mail-probe"] {
        anyhow::ensure!(
            modules.join(fixture).is_dir(),
            "build the modules first: scripts/bench"
        );
    }
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let scratch = tempfile::tempdir()?;
    // `PLUGHOST_BENCH_ONLY=storage` or `=mail` runs one half (e.g. under `perf record`).
    let only = std::env::var("PLUGHOST_BENCH_ONLY").unwrap_or_default();
    if only != "mail" {
        tokio.block_on(storage(&modules, scratch.path()))?;
    }
    if only == "storage" {
        return Ok(());
    }
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    if !python.is_file() {
        println!("mail: skipped (no .venv/bin/python with aiosmtpd: run scripts/setup)");
        return Ok(());
    }
    tokio.block_on(mail(&python, &modules, scratch.path()))
}

/// A copy of fixture `name` in `folder`, its manifest assigned to `tenant` and `edit`ed.
fn install(
    modules: &Path,
    name: &str,
    folder: &Path,
    tenant: &str,
    edit: (&str, &str),
) -> anyhow::Result<()> {
    std::fs::create_dir_all(folder)?;
    for entry in std::fs::read_dir(modules.join(name))? {
        let entry = entry?;
        std::fs::copy(entry.path(), folder.join(entry.file_name()))?;
    }
    let manifest = std::fs::read_to_string(folder.join("plugin.toml"))?;
    anyhow::ensure!(manifest.contains(edit.0), "{name}: no '{}'", edit.0);
    let manifest = manifest
        .replacen(
            "version = ",
            &format!("tenant = \"{tenant}\"\nversion = "),
            1,
        )
        .replacen(edit.0, edit.1, 1);
    std::fs::write(folder.join("plugin.toml"), manifest)?;
    Ok(())
}

fn new_tenant() -> String {
    format!("bench{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
}

/// Flushes every dirty page, so one measurement does not pay for another's writeback.
fn sync_disks() {
    let _ = std::process::Command::new("sync").status();
}

/// Runs `ops` operations on `CONCURRENCY` tasks, each taking every `CONCURRENCY`th index
/// in turn; returns the seconds they took together.
async fn timed<F, Fut>(ops: usize, concurrency: usize, op: F) -> anyhow::Result<f64>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let op = Arc::new(op);
    let start = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|k| {
            let op = op.clone();
            tokio::spawn(async move {
                for i in (k..ops).step_by(concurrency) {
                    op(i).await?;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for worker in workers {
        worker.await??;
    }
    Ok(start.elapsed().as_secs_f64())
}

// ---------------------------------------------------------------- storage

#[derive(Clone)]
struct Probe {
    runtime: Arc<Runtime>,
    module: Arc<LoadedModule>,
}

async fn storage_probe(modules: &Path, scratch: &Path) -> anyhow::Result<Probe> {
    let tenant = new_tenant();
    let dir = scratch.join("storage-probe");
    // 64 MiB bodies: the request, the bytes read back and the response fit in 256 MiB.
    install(
        modules,
        "storage-probe",
        &dir,
        &tenant,
        (
            "[capabilities]",
            "[limits]\nmemory-mib = 256\ndeadline-ms = 60000\n\n[capabilities]",
        ),
    )?;
    let config: HostConfig = toml::from_str(&format!(
        "[server]\ncache-dir = \"{}\"\n[storage]\nroot = \"{}\"\n\
         [tenants.{tenant}]\nmodules = [\"*\"]\n[tenants.{tenant}.allow]\nstorage = true\n",
        scratch.join("cache").display(),
        scratch.join("storage").display()
    ))?;
    let runtime = Runtime::new(Arc::new(config), plughost::capabilities::ALL)?;
    let files = loader::read_files(&dir, runtime.config())?;
    let module =
        Arc::new(loader::load(&runtime, &dir, files, Arc::new(ModuleMetrics::default())).await?);
    Ok(Probe { runtime, module })
}

fn object_request(method: &str, key: &str, body: Vec<u8>) -> GuestRequest {
    GuestRequest {
        method: method.into(),
        path: format!("/storage-probe/objects/{key}"),
        route: "/objects/{*key}".into(),
        params: vec![("key".into(), key.into())],
        query: String::new(),
        headers: vec![("content-type".into(), "application/octet-stream".into())],
        body,
        request_id: "bench".into(),
    }
}

/// `PUT /objects/KEY` with `data` (copied into the request, as the server does).
async fn module_put(probe: &Probe, key: &str, data: &[u8]) -> anyhow::Result<()> {
    let request = object_request("PUT", key, data.to_vec());
    let response = probe
        .module
        .handle_http(&probe.runtime, &request)
        .await?
        .map_err(|e| anyhow::anyhow!("put {key}: {e:?}"))?;
    anyhow::ensure!(
        response.status == 201,
        "put {key}: status {}",
        response.status
    );
    Ok(())
}

/// `GET /objects/KEY`, checked to answer `size` bytes.
/// `GET /served/KEY`: the module answers naming the object and the host streams it, as
/// the server does for `x-plughost-object`; the body collected as a client receives it.
async fn module_streamed(probe: &Probe, key: &str, size: usize) -> anyhow::Result<()> {
    use http_body_util::BodyExt;
    use plughost::capabilities::storage::{Objects, signed};
    let mut request = object_request("GET", key, Vec::new());
    request.path = format!("/storage-probe/served/{key}");
    request.route = "/served/{*key}".into();
    let response = probe
        .module
        .handle_http(&probe.runtime, &request)
        .await?
        .map_err(|e| anyhow::anyhow!("served {key}: {e:?}"))?;
    let name = response
        .headers
        .iter()
        .find(|(n, _)| n == signed::OBJECT_HEADER)
        .map(|(_, v)| v.clone())
        .ok_or_else(|| anyhow::anyhow!("served {key}: no {} header", signed::OBJECT_HEADER))?;
    let objects = probe
        .runtime
        .capability::<Objects>()
        .expect("the storage capability");
    let headers = axum::http::HeaderMap::new();
    let streamed =
        signed::module_object(objects, &probe.module.context, &name, &headers, false).await;
    // Frame by frame, as a server writes them to a socket: nothing gathers them.
    let mut body = streamed.into_body();
    let mut received = 0;
    while let Some(frame) = body.frame().await {
        received += frame?.data_ref().map_or(0, |data| data.len());
    }
    anyhow::ensure!(received == size, "served {key}: {received} bytes");
    Ok(())
}

/// `GET /nothing`: an invocation without a storage call, the floor of every module measure.
async fn module_nothing(probe: &Probe) -> anyhow::Result<()> {
    let mut request = object_request("GET", "", Vec::new());
    request.path = "/storage-probe/nothing".into();
    request.route = "/nothing".into();
    request.params.clear();
    let response = probe
        .module
        .handle_http(&probe.runtime, &request)
        .await?
        .map_err(|e| anyhow::anyhow!("nothing: {e:?}"))?;
    anyhow::ensure!(
        response.status == 200,
        "nothing: status {}",
        response.status
    );
    Ok(())
}

async fn module_get(probe: &Probe, key: &str, size: usize) -> anyhow::Result<()> {
    let request = object_request("GET", key, Vec::new());
    let response = probe
        .module
        .handle_http(&probe.runtime, &request)
        .await?
        .map_err(|e| anyhow::anyhow!("get {key}: {e:?}"))?;
    anyhow::ensure!(
        response.status == 200 && response.body.len() == size,
        "get {key}: status {}, {} bytes",
        response.status,
        response.body.len()
    );
    Ok(())
}

/// `tokio::fs::write` of a fresh file.
async fn plain_write(path: PathBuf, data: Arc<Vec<u8>>) -> anyhow::Result<()> {
    tokio::fs::write(&path, data.as_slice()).await?;
    Ok(())
}

/// The same, aside, then `sync_data` and a rename into place: what the host does.
async fn durable_write(dir: PathBuf, name: String, data: Arc<Vec<u8>>) -> anyhow::Result<()> {
    let aside = dir.join(format!("{name}.tmp"));
    tokio::fs::write(&aside, data.as_slice()).await?;
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .open(&aside)
        .await?;
    file.sync_data().await?;
    drop(file);
    tokio::fs::rename(&aside, dir.join(name)).await?;
    Ok(())
}

async fn plain_read(path: PathBuf, size: usize) -> anyhow::Result<()> {
    let bytes = tokio::fs::read(&path).await?;
    anyhow::ensure!(
        bytes.len() == size,
        "{}: {} bytes",
        path.display(),
        bytes.len()
    );
    Ok(())
}

/// `tokio::fs::File` read to the end in pieces of the host's streaming size into one
/// buffer, as a server streaming a file to a socket reads it.
async fn piece_read(path: PathBuf, size: usize) -> anyhow::Result<()> {
    use tokio::io::AsyncReadExt;
    let mut file = tokio::fs::File::open(&path).await?;
    let mut buffer = vec![0; 4 << 20];
    let mut total = 0;
    loop {
        let n = file.read(&mut buffer).await?;
        if n == 0 {
            break;
        }
        total += n;
    }
    anyhow::ensure!(total == size, "{}: {total} bytes", path.display());
    Ok(())
}

/// The five measures of one size, in seconds: write, write+sync+rename, module put,
/// read, module get.
#[derive(Default, Clone, Copy)]
struct Times {
    write: f64,
    durable: f64,
    put: f64,
    read: f64,
    /// `tokio::fs::File` read in 4 MiB pieces.
    read_pieces: f64,
    get: f64,
    /// The module answers with the object's name; the host streams it.
    streamed: f64,
    /// An invocation that makes no storage call (4 KiB rounds only).
    nothing: f64,
}

/// One round: `ops` operations of each kind on `data`, `concurrency` at a time.
async fn storage_round(
    probe: &Probe,
    base: &Path,
    round: usize,
    ops: usize,
    concurrency: usize,
    data: &Arc<Vec<u8>>,
) -> anyhow::Result<Times> {
    let size = data.len();
    let dir = base.join(format!("{size}-{round}"));
    std::fs::create_dir_all(dir.join("plain"))?;
    std::fs::create_dir_all(dir.join("durable"))?;
    let mut times = Times::default();

    sync_disks();
    let (d, plain) = (data.clone(), dir.join("plain"));
    times.write = timed(ops, concurrency, move |i| {
        plain_write(plain.join(i.to_string()), d.clone())
    })
    .await?;

    sync_disks();
    let (d, durable) = (data.clone(), dir.join("durable"));
    times.durable = timed(ops, concurrency, move |i| {
        durable_write(durable.clone(), i.to_string(), d.clone())
    })
    .await?;

    sync_disks();
    let (d, p) = (data.clone(), probe.clone());
    times.put = timed(ops, concurrency, move |i| {
        let (d, p) = (d.clone(), p.clone());
        async move { module_put(&p, &format!("s{size}/r{round}/{i}"), &d).await }
    })
    .await?;

    sync_disks();
    let durable = dir.join("durable");
    times.read = timed(ops, concurrency, move |i| {
        plain_read(durable.join(i.to_string()), size)
    })
    .await?;

    let durable = dir.join("durable");
    times.read_pieces = timed(ops, concurrency, move |i| {
        piece_read(durable.join(i.to_string()), size)
    })
    .await?;

    let p = probe.clone();
    times.get = timed(ops, concurrency, move |i| {
        let p = p.clone();
        async move { module_get(&p, &format!("s{size}/r{round}/{i}"), size).await }
    })
    .await?;

    let p = probe.clone();
    times.streamed = timed(ops, concurrency, move |i| {
        let p = p.clone();
        async move { module_streamed(&p, &format!("s{size}/r{round}/{i}"), size).await }
    })
    .await?;

    if ops > 1 {
        let p = probe.clone();
        times.nothing = timed(ops, concurrency, move |_| {
            let p = p.clone();
            async move { module_nothing(&p).await }
        })
        .await?;
    }
    Ok(times)
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

async fn storage(modules: &Path, scratch: &Path) -> anyhow::Result<()> {
    let probe = storage_probe(modules, scratch).await?;
    let base = scratch.join("baseline");
    let pattern = |size: usize| Arc::new((0..size).map(|i| (i % 251) as u8).collect::<Vec<u8>>());

    // 4 KiB: ops/s, every measure's rounds; ratios are the median of the rounds' ratios.
    let small = pattern(SMALL);
    module_put(&probe, "warm-up", &small).await?;
    module_get(&probe, "warm-up", SMALL).await?;
    let mut rounds = Vec::new();
    for round in 1..=SMALL_ROUNDS {
        let t = storage_round(&probe, &base, round, SMALL_OPS, CONCURRENCY, &small).await?;
        let rate = |s: f64| SMALL_OPS as f64 / s;
        println!(
            "storage 4KiB round {round} ({SMALL_OPS} ops, {CONCURRENCY} tasks): put/s write={:.0} \
             write+sync+rename={:.0} module={:.0} | get/s read={:.0} module={:.0} streamed={:.0} \
             | invocations/s with no storage call={:.0}",
            rate(t.write),
            rate(t.durable),
            rate(t.put),
            rate(t.read),
            rate(t.get),
            rate(t.streamed),
            rate(t.nothing)
        );
        rounds.push(t);
    }
    let ratio = |f: fn(&Times) -> f64| median(rounds.iter().map(f).collect());
    println!(
        "storage 4KiB median ratio module/baseline: put vs write={:.2}x put vs write+sync+rename={:.2}x \
         | get vs read={:.2}x, streamed vs read={:.2}x (goal >= 0.5x) \
         | an invocation alone vs read={:.2}x (the ceiling of any module get)",
        ratio(|t| t.write / t.put),
        ratio(|t| t.durable / t.put),
        ratio(|t| t.read / t.get),
        ratio(|t| t.read / t.streamed),
        ratio(|t| t.read / t.nothing)
    );

    // 64 MiB: MB/s over all rounds, one operation at a time.
    let large = pattern(LARGE);
    let mut total = Times::default();
    let mut rounds = Vec::new();
    for round in 1..=LARGE_ROUNDS {
        let t = storage_round(&probe, &base, round, 1, 1, &large).await?;
        let rate = |s: f64| LARGE as f64 / 1e6 / s;
        println!(
            "storage 64MiB round {round}: put MB/s write={:.0} write+sync+rename={:.0} module={:.0} \
             | get MB/s read={:.0} read in pieces={:.0} module={:.0} streamed={:.0}",
            rate(t.write),
            rate(t.durable),
            rate(t.put),
            rate(t.read),
            rate(t.read_pieces),
            rate(t.get),
            rate(t.streamed)
        );
        total.write += t.write;
        total.read_pieces += t.read_pieces;
        total.durable += t.durable;
        total.put += t.put;
        total.read += t.read;
        total.get += t.get;
        total.streamed += t.streamed;
        rounds.push(t);
    }
    let rate = |s: f64| (LARGE * LARGE_ROUNDS) as f64 / 1e6 / s;
    println!(
        "storage 64MiB over {LARGE_ROUNDS} rounds: put MB/s write={:.0} write+sync+rename={:.0} \
         module={:.0} | get MB/s read={:.0} read in pieces={:.0} module={:.0} streamed={:.0}",
        rate(total.write),
        rate(total.durable),
        rate(total.put),
        rate(total.read),
        rate(total.read_pieces),
        rate(total.get),
        rate(total.streamed)
    );
    println!(
        "storage 64MiB ratio module/baseline (all rounds): put vs write={:.2}x put vs \
         write+sync+rename={:.2}x | get vs read={:.2}x, streamed vs read={:.2}x, streamed vs read in \
         pieces={:.2}x (goal >= 0.8x); per-round medians {:.2}x {:.2}x | {:.2}x",
        total.write / total.put,
        total.durable / total.put,
        total.read / total.get,
        total.read / total.streamed,
        total.read_pieces / total.streamed,
        ratio_of(&rounds, |t| t.write / t.put),
        ratio_of(&rounds, |t| t.durable / t.put),
        ratio_of(&rounds, |t| t.read / t.get)
    );
    Ok(())
}

fn ratio_of(rounds: &[Times], f: fn(&Times) -> f64) -> f64 {
    median(rounds.iter().map(f).collect())
}

// ---------------------------------------------------------------- mail

/// `tests/smtp/server.py` on a free port, saving each message as `NNNN.eml` in `dir`.
struct SmtpServer {
    port: u16,
    dir: PathBuf,
    child: std::process::Child,
}

impl SmtpServer {
    fn start(python: &Path, dir: PathBuf) -> anyhow::Result<SmtpServer> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/smtp/server.py");
        let mut child = std::process::Command::new(python)
            .arg(script)
            .args(["--port", &port.to_string(), "--dir"])
            .arg(&dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()?;
        let mut ready = String::new();
        std::io::BufReader::new(child.stdout.take().expect("piped")).read_line(&mut ready)?;
        let server = SmtpServer { port, dir, child };
        anyhow::ensure!(ready.trim() == "ready", "the SMTP server did not start");
        Ok(server)
    }

    /// Messages saved so far.
    fn saved(&self) -> usize {
        std::fs::read_dir(&self.dir).map_or(0, |entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
                .count()
        })
    }

    /// Waits until `count` messages are saved; the time it took from `start`. The server
    /// numbers messages in the order it accepts them and saves one at a time, so the
    /// `count`th file there means all are: one `stat` per poll instead of a listing.
    async fn wait_for(&self, count: usize, start: Instant) -> anyhow::Result<f64> {
        let last = self.dir.join(format!("{count:04}.eml"));
        while !last.exists() {
            anyhow::ensure!(
                start.elapsed() < Duration::from_secs(600),
                "only {} of {count} messages arrived",
                self.saved()
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let elapsed = start.elapsed().as_secs_f64();
        anyhow::ensure!(
            self.saved() == count,
            "{} messages saved, not {count}",
            self.saved()
        );
        Ok(elapsed)
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A runtime and registry serving the mail-probe module, delivering to `smtp`.
async fn mail_host(
    modules: &Path,
    scratch: &Path,
    smtp: &SmtpServer,
) -> anyhow::Result<(Arc<Runtime>, Arc<ModuleRegistry>, Arc<LoadedModule>)> {
    let tenant = new_tenant();
    let plugins = scratch.join("mail-plugins");
    install(
        modules,
        "mail-probe",
        &plugins.join("mail-probe"),
        &tenant,
        ("[capabilities]", "[capabilities]"),
    )?;
    let config: HostConfig = toml::from_str(&format!(
        "[server]\ncache-dir = \"{}\"\n[database]\nurl = \"sqlite://{}\"\n[queue]\npoll-ms = 20\n\
         [mail]\nper-minute = 1000000\nmax-attempts = 1\n\
         [mail.smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\npool-size = {POOL_SIZE}\n\
         [tenants.{tenant}]\nmodules = [\"*\"]\n[tenants.{tenant}.allow]\nmail = true\norm = true\n",
        scratch.join("cache").display(),
        scratch.join("bench.db").display(),
        smtp.port
    ))?;
    let runtime = Runtime::new(Arc::new(config), plughost::capabilities::ALL)?;
    // The registry runs the capabilities' phases: *serving* starts the delivery loop.
    let registry = ModuleRegistry::new(runtime.clone(), plugins);
    registry.load_all().await?;
    let module = registry
        .snapshot()
        .by_name("mail-probe")
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("the mail-probe module did not load"))?;
    Ok((runtime, registry, module))
}

/// `POST /send` of `count` messages in one invocation.
async fn module_send(runtime: &Runtime, module: &LoadedModule, count: usize) -> anyhow::Result<()> {
    let body = json!({"to": ["a@example.com"], "subject": "s", "text": "x", "count": count});
    let request = GuestRequest {
        method: "POST".into(),
        path: "/mail-probe/send".into(),
        route: "/send".into(),
        params: Vec::new(),
        query: String::new(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_string().into_bytes(),
        request_id: "bench".into(),
    };
    let response = module
        .handle_http(runtime, &request)
        .await?
        .map_err(|e| anyhow::anyhow!("send: {e:?}"))?;
    anyhow::ensure!(response.status == 201, "send: status {}", response.status);
    Ok(())
}

/// A bare SMTP client on one connection, to tell what the exchange itself costs. It frames
/// a message as lettre 0.11 does: the body in one write, `\r\n.\r\n` in a second one
/// before reading the answer; with Nagle's algorithm on (lettre does not set
/// `TCP_NODELAY`) that second write waits for the server's delayed ACK of the first.
struct BareSmtp {
    stream: tokio::io::BufReader<tokio::net::TcpStream>,
}

impl BareSmtp {
    async fn connect(port: u16, nodelay: bool) -> anyhow::Result<BareSmtp> {
        let stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        stream.set_nodelay(nodelay)?;
        let mut client = BareSmtp {
            stream: tokio::io::BufReader::new(stream),
        };
        client.reply("220").await?;
        client.command("EHLO bench\r\n", "250").await?;
        Ok(client)
    }

    /// Reads one reply (all its lines) and checks its code.
    async fn reply(&mut self, code: &str) -> anyhow::Result<()> {
        use tokio::io::AsyncBufReadExt;
        let mut line = String::new();
        loop {
            line.clear();
            anyhow::ensure!(
                self.stream.read_line(&mut line).await? > 0,
                "the SMTP server closed the connection"
            );
            anyhow::ensure!(
                line.starts_with(code),
                "SMTP: expected {code}, got {line:?}"
            );
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok(());
            }
        }
    }

    async fn write(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        use tokio::io::AsyncWriteExt;
        self.stream.get_mut().write_all(bytes).await?;
        Ok(())
    }

    async fn command(&mut self, command: &str, code: &str) -> anyhow::Result<()> {
        self.write(command.as_bytes()).await?;
        self.reply(code).await
    }

    async fn send(
        &mut self,
        envelope: &lettre::address::Envelope,
        eml: &[u8],
    ) -> anyhow::Result<()> {
        let from = envelope.from().map(ToString::to_string).unwrap_or_default();
        self.command(&format!("MAIL FROM:<{from}>\r\n"), "250")
            .await?;
        for to in envelope.to() {
            self.command(&format!("RCPT TO:<{to}>\r\n"), "250").await?;
        }
        self.command("DATA\r\n", "354").await?;
        self.write(eml).await?;
        self.write(b"\r\n.\r\n").await?;
        self.reply("250").await
    }
}

/// `MAILS` pre-built messages over `MAIL_CONNECTIONS` bare connections; mails/s until saved.
async fn bare_round(smtp: &SmtpServer, nodelay: bool, expected: &mut usize) -> anyhow::Result<f64> {
    let messages = Arc::new(prebuilt(MAILS)?);
    let port = smtp.port;
    let start = Instant::now();
    let workers: Vec<_> = (0..MAIL_CONNECTIONS)
        .map(|k| {
            let messages = messages.clone();
            tokio::spawn(async move {
                let mut client = BareSmtp::connect(port, nodelay).await?;
                for i in (k..MAILS).step_by(MAIL_CONNECTIONS) {
                    client.send(&messages[i].0, &messages[i].1).await?;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for worker in workers {
        worker.await??;
    }
    *expected += MAILS;
    Ok(MAILS as f64 / smtp.wait_for(*expected, start).await?)
}

/// What the module's messages look like, built once, with their envelopes.
fn prebuilt(count: usize) -> anyhow::Result<Vec<(lettre::address::Envelope, Vec<u8>)>> {
    (0..count)
        .map(|_| {
            let message = Message::builder()
                .from("Shop <noreply@shop.example>".parse()?)
                .to("a@example.com".parse()?)
                .subject("s")
                .body(String::from("x"))?;
            Ok((message.envelope().clone(), message.formatted()))
        })
        .collect()
}

async fn mail(python: &Path, modules: &Path, scratch: &Path) -> anyhow::Result<()> {
    let smtp = SmtpServer::start(python, scratch.join("smtp"))?;
    let (runtime, _registry, module) = mail_host(modules, scratch, &smtp).await?;
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(smtp.port)
        .pool_config(PoolConfig::new().max_size(POOL_SIZE))
        .build();
    let transport = Arc::new(transport);

    // Warm up both: connections opened, the module compiled and its tables made.
    let mut expected = 0;
    for (envelope, bytes) in prebuilt(8)? {
        transport.send_raw(&envelope, &bytes).await?;
    }
    module_send(&runtime, &module, 8).await?;
    expected += 16;
    smtp.wait_for(expected, Instant::now()).await?;

    let mut ratios = Vec::new();
    for round in 1..=MAIL_ROUNDS {
        let messages = Arc::new(prebuilt(MAILS)?);
        let t = transport.clone();
        let start = Instant::now();
        timed(MAILS, MAIL_CONNECTIONS, move |i| {
            let (t, m) = (t.clone(), messages.clone());
            async move {
                t.send_raw(&m[i].0, &m[i].1).await?;
                Ok(())
            }
        })
        .await?;
        expected += MAILS;
        let lettre = MAILS as f64 / smtp.wait_for(expected, start).await?;

        let (r, m) = (runtime.clone(), module.clone());
        let start = Instant::now();
        let invocations = MAILS / MAILS_PER_INVOCATION;
        let queued = timed(invocations, CONCURRENCY, move |_| {
            let (r, m) = (r.clone(), m.clone());
            async move { module_send(&r, &m, MAILS_PER_INVOCATION).await }
        })
        .await?;
        expected += MAILS;
        let host = MAILS as f64 / smtp.wait_for(expected, start).await?;
        let nagle = bare_round(&smtp, false, &mut expected).await?;
        let nodelay = bare_round(&smtp, true, &mut expected).await?;
        println!(
            "mail round {round} ({MAILS} messages, {MAIL_CONNECTIONS} connections): lettre direct={lettre:.0}/s \
             module={host:.0}/s (all {invocations} invocations returned after {queued:.2}s) = {:.2}x | \
             bare client, lettre's framing: Nagle on={nagle:.0}/s TCP_NODELAY={nodelay:.0}/s",
            host / lettre
        );
        ratios.push([host / lettre, host / nodelay]);
    }
    println!(
        "mail median ratio module/lettre: {:.2}x (mails/s handed to the SMTP server); \
         module/bare client with TCP_NODELAY: {:.2}x",
        median(ratios.iter().map(|r| r[0]).collect()),
        median(ratios.iter().map(|r| r[1]).collect())
    );
    Ok(())
}
