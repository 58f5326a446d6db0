//! Starts a real host on a free port with a throwaway plugins folder, and talks to it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The admin token every test host is started with (`PLUGHOST_ADMIN_TOKEN`); the
/// harness sends it on `/_admin` requests.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// The host binary under test.
pub const HOST: &str = env!("CARGO_BIN_EXE_host");

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A built fixture module folder (plugin.toml + .wasm), from `target/test-modules/NAME`.
pub fn fixture(name: &str) -> PathBuf {
    let dir = repo().join("target/test-modules").join(name);
    assert!(
        dir.join("plugin.toml").is_file(),
        "fixture module {name} is not built at {}; run scripts/test, which builds the fixture modules first",
        dir.display()
    );
    dir
}

/// Copies a fixture module folder (with its sub-folders) into `plugins/folder`.
pub fn install(plugins: &Path, fixture_name: &str, folder: &str) -> PathBuf {
    let to = plugins.join(folder);
    copy_tree(&fixture(fixture_name), &to);
    to
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        if path.is_dir() {
            copy_tree(&path, &to.join(entry.file_name()));
        } else {
            std::fs::copy(&path, to.join(entry.file_name())).unwrap();
        }
    }
}

/// Writes a file atomically (write, then rename), as deploy tools should.
pub fn write_atomic(path: &Path, bytes: &[u8]) {
    let tmp = path.with_file_name(format!(
        ".{}.tmp",
        path.file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// The single `.wasm` in a module folder.
pub fn wasm_in(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "wasm"))
        .expect("a .wasm in the folder")
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// A running host process; killed on drop.
pub struct Host {
    child: Child,
    pub base: String,
    pub plugins: PathBuf,
    logs: Arc<Mutex<Vec<String>>>,
    agent: ureq::Agent,
    _dir: Option<tempfile::TempDir>,
}

/// How to start a host.
pub struct HostOptions {
    pub config: Option<String>,
    pub cache_dir: PathBuf,
    /// Given to the host as PLUGHOST_ADMIN_TOKEN.
    pub admin_token: Option<String>,
}

impl Default for HostOptions {
    fn default() -> Self {
        HostOptions {
            config: None,
            cache_dir: repo().join("target/test-cache"),
            admin_token: Some(ADMIN_TOKEN.into()),
        }
    }
}

impl Host {
    /// A host over a new plugins folder holding the given fixtures (fixture, folder).
    pub fn with_modules(modules: &[(&str, &str)]) -> Host {
        Host::with_options(modules, HostOptions::default())
    }

    /// Same, with options.
    pub fn with_options(modules: &[(&str, &str)], options: HostOptions) -> Host {
        let dir = tempfile::tempdir().unwrap();
        let plugins = dir.path().join("plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        for (fixture, folder) in modules {
            install(&plugins, fixture, folder);
        }
        let config = options.config.as_ref().map(|text| {
            let path = dir.path().join("host.toml");
            std::fs::write(&path, text).unwrap();
            path
        });
        let mut host = Host::launch(
            &plugins,
            config.as_deref(),
            &options.cache_dir,
            options.admin_token.as_deref(),
        );
        host._dir = Some(dir);
        host
    }

    /// Starts `host run` on a free port and waits until it listens.
    pub fn start(plugins: &Path, config: Option<&Path>, cache_dir: &Path) -> Host {
        Host::launch(plugins, config, cache_dir, Some(ADMIN_TOKEN))
    }

    /// Same, with the admin token to give it (none: the admin API is not served).
    pub fn launch(
        plugins: &Path,
        config: Option<&Path>,
        cache_dir: &Path,
        admin_token: Option<&str>,
    ) -> Host {
        if let Some(config) = config {
            assign_folders_by_manifest(config, plugins);
        }
        let mut cmd = Command::new(HOST);
        cmd.args([
            "run",
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--plugins",
        ])
        .arg(plugins)
        .arg("--cache-dir")
        .arg(cache_dir)
        .env("RUST_LOG", "info,wasmtime=warn,cranelift=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
        if let Some(config) = config {
            cmd.arg("--config").arg(config);
        }
        cmd.env_remove("PLUGHOST_ADMIN_TOKEN");
        if let Some(token) = admin_token {
            cmd.env("PLUGHOST_ADMIN_TOKEN", token);
        }
        let mut child = cmd.spawn().expect("spawn host");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("listening on http://") {
                    let addr: String = line[at + 20..].chars().take_while(|c| *c != '"').collect();
                    let _ = tx.send(addr);
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(180)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "host did not start listening; its log:\n{}",
                    logs.lock().unwrap().join("\n")
                );
            }
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Host {
            child,
            base: format!("http://{addr}"),
            plugins: plugins.to_path_buf(),
            logs,
            agent,
            _dir: None,
        }
    }

    /// `GET path`.
    /// Asks the host to stop, as a service manager would (SIGTERM).
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    pub fn get(&self, path: &str) -> Reply {
        self.request("GET", path, &[], Vec::new())
    }

    /// Any request.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Reply {
        self.try_request(method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {path} failed: {e}"))
    }

    /// Any request, transport errors returned. `/_admin` requests carry the admin token
    /// unless they name an `authorization` of their own.
    pub fn try_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Reply, ureq::Error> {
        let bearer = format!("Bearer {ADMIN_TOKEN}");
        let mut headers = headers.to_vec();
        if path.starts_with("/_admin")
            && !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        {
            headers.push(("authorization", &bearer));
        }
        self.send(method, path, &headers, body)
    }

    /// A request exactly as given, as a stranger would send it (no admin token added).
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Reply, ureq::Error> {
        let mut builder = ureq::http::Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let mut response = self.agent.run(builder.body(body).unwrap())?;
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_string()))
            .collect();
        let status = response.status().as_u16();
        let body = response.body_mut().read_to_string()?;
        Ok(Reply {
            status,
            headers,
            body,
        })
    }

    /// Sends raw bytes (a request head, then `body`) on a new connection and returns the
    /// status and the whole answer. Write errors are ignored: the host may answer and close
    /// before the body is sent, which is what some tests check.
    pub fn raw(&self, head: &str, body: &[u8]) -> (u16, String) {
        use std::io::{Read, Write};
        let mut stream =
            std::net::TcpStream::connect(self.base.trim_start_matches("http://")).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.write_all(head.as_bytes()).unwrap();
        let _ = stream.write_all(body);
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, answer)
    }

    /// Log lines so far, parsed.
    pub fn logs(&self) -> Vec<Value> {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The host's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Raw log text so far.
    pub fn log_text(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }

    /// Waits until some log line satisfies `pred`.
    pub fn wait_for_log(&self, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        let start = Instant::now();
        loop {
            if let Some(line) = self.logs().into_iter().find(|l| pred(l)) {
                return line;
            }
            assert!(
                start.elapsed() < timeout,
                "no such log line within {timeout:?}; log:\n{}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Polls `path` until `pred` holds for its reply.
    pub fn wait_until(
        &self,
        path: &str,
        timeout: Duration,
        pred: impl Fn(&Reply) -> bool,
    ) -> Reply {
        let start = Instant::now();
        loop {
            let reply = self.get(path);
            if pred(&reply) {
                return reply;
            }
            assert!(
                start.elapsed() < timeout,
                "{path} never satisfied the condition; last: {reply:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until the admin API reports a load error for `folder`, and returns it.
    pub fn wait_for_error(&self, folder: &str) -> String {
        let start = Instant::now();
        loop {
            if let Some(e) = self.status_of(folder)["last_error"].as_str() {
                return e.to_string();
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "no error reported for {folder}: {}",
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The admin API's status of one folder.
    pub fn status_of(&self, folder: &str) -> Value {
        let all = self.get("/_admin/modules").json();
        all.as_array()
            .unwrap()
            .iter()
            .find(|m| m["folder"] == folder)
            .cloned()
            .unwrap_or(Value::Null)
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Plays the operator for fixtures whose manifests name a tenant: adds each such folder
/// to `modules` of that tenant in host.toml, unless some tenant's globs claim it already.
/// (The host itself never takes a tenant from a manifest.)
pub fn assign_folders_by_manifest(config: &Path, plugins: &Path) {
    let text = std::fs::read_to_string(config).unwrap();
    let mut table: toml::Table = toml::from_str(&text).unwrap();
    let Some(tenants) = table.get_mut("tenants").and_then(|t| t.as_table_mut()) else {
        return;
    };
    let Ok(entries) = std::fs::read_dir(plugins) else {
        return;
    };
    let mut changed = false;
    for entry in entries.filter_map(Result::ok) {
        let folder = entry.file_name().to_string_lossy().into_owned();
        let Ok(manifest) = std::fs::read_to_string(entry.path().join("plugin.toml")) else {
            continue;
        };
        let Ok(manifest) = toml::from_str::<toml::Table>(&manifest) else {
            continue;
        };
        let Some(tenant) = manifest.get("tenant").and_then(|t| t.as_str()) else {
            continue;
        };
        let claimed = tenants.values().any(|t| {
            t.get("modules")
                .and_then(|m| m.as_array())
                .is_some_and(|globs| {
                    globs
                        .iter()
                        .filter_map(|g| g.as_str())
                        .any(|g| plughost::config::scope::glob_matches(g, &folder))
                })
        });
        if claimed {
            continue;
        }
        let Some(section) = tenants.get_mut(tenant).and_then(|t| t.as_table_mut()) else {
            continue;
        };
        let modules = section
            .entry("modules")
            .or_insert_with(|| toml::Value::Array(Vec::new()));
        if let Some(list) = modules.as_array_mut() {
            list.push(toml::Value::String(folder));
            changed = true;
        }
    }
    if changed {
        std::fs::write(config, toml::to_string(&table).unwrap()).unwrap();
    }
}

/// A log line's message.
pub fn message(line: &Value) -> &str {
    line["message"].as_str().unwrap_or_default()
}
