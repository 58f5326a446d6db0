//! Starts a real host on a free port with a throwaway plugins folder, and talks to it.
//!
//! The kit, at the end of the file: [`HostBuilder`] writes a plugins folder and its host.toml
//! (modules, tenants, a database) and starts hosts over it ([`Plugins`], which also runs the
//! CLI and cleans a shared database up); [`eventually`] waits for a condition;
//! `every_database!` runs a scenario once per database.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
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
    /// The folder the host was built over, when it owns it (`HostBuilder::start`); dropped
    /// after the process is killed.
    folder: Option<Plugins>,
    dir: Option<Arc<tempfile::TempDir>>,
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
        let mut builder = HostBuilder {
            host_toml: options.config,
            cache_dir: options.cache_dir,
            admin_token: options.admin_token,
            ..HostBuilder::new()
        };
        for (fixture, folder) in modules {
            builder = builder.module(fixture, folder);
        }
        builder.start()
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
        // The host's own default filter: what a user sees is what the tests read.
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
        if let Some(config) = config {
            cmd.arg("--config").arg(config);
        }
        cmd.env_remove("PLUGHOST_ADMIN_TOKEN");
        if let Some(token) = admin_token {
            cmd.env("PLUGHOST_ADMIN_TOKEN", token);
        }
        Host::attach(cmd, plugins)
    }

    /// Spawns `cmd` (a `host` command that serves, stderr piped) and waits until it listens.
    pub fn attach(mut cmd: Command, plugins: &Path) -> Host {
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
            folder: None,
            dir: None,
        }
    }

    /// Asks the host to stop, as a service manager would (SIGTERM).
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// `GET path`.
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

    /// Polls `check` until it holds, as [`eventually`] does; a timeout's message ends with
    /// this host's log.
    pub fn eventually<C: Condition>(
        &self,
        what: &str,
        within: Duration,
        check: impl FnMut() -> C,
    ) -> C::Value {
        poll(what, within, check, || {
            format!("; the host's log:\n{}", self.log_text())
        })
    }

    /// Waits until some log line satisfies `pred`.
    pub fn wait_for_log(&self, timeout: Duration, pred: impl Fn(&Value) -> bool) -> Value {
        self.eventually("a matching log line", timeout, || {
            self.logs().into_iter().find(|l| pred(l))
        })
    }

    /// Polls `path` until `pred` holds for its reply.
    pub fn wait_until(
        &self,
        path: &str,
        timeout: Duration,
        pred: impl Fn(&Reply) -> bool,
    ) -> Reply {
        self.eventually(&format!("{path} to satisfy the condition"), timeout, || {
            let reply = self.get(path);
            if pred(&reply) {
                Ok(reply)
            } else {
                Err(format!("{reply:?}"))
            }
        })
    }

    /// Waits until the admin API reports a load error for `folder`, and returns it.
    pub fn wait_for_error(&self, folder: &str) -> String {
        self.eventually(
            &format!("a load error reported for {folder}"),
            Duration::from_secs(10),
            || {
                self.status_of(folder)["last_error"]
                    .as_str()
                    .map(str::to_string)
            },
        )
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
        if std::thread::panicking() {
            // A failed test shows what its host said: a flaky failure in CI is otherwise
            // a status code without a cause.
            let logs = self.logs.lock().unwrap_or_else(|e| e.into_inner());
            let tail = &logs[logs.len().saturating_sub(60)..];
            eprintln!("--- the host's last {} log lines ---", tail.len());
            for line in tail {
                eprintln!("{line}");
            }
        }
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

// The kit: a plugins folder and its host (`HostBuilder`), on a database (`Database`,
// `every_database!`), waited on (`eventually`) and driven through the CLI (`Plugins::cli`).

/// A database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Database {
    Sqlite,
    Postgres,
    MariaDb,
}

impl Database {
    /// The server's URL (`PLUGHOST_TEST_POSTGRES_URL` / `PLUGHOST_TEST_MARIADB_URL`
    /// override the machine's defaults); SQLite has none, it uses a file in the test's folder.
    pub fn server_url(self) -> Option<String> {
        let (var, default) = match self {
            Database::Sqlite => return None,
            Database::Postgres => (
                "PLUGHOST_TEST_POSTGRES_URL",
                "postgres://postgres@127.0.0.1:5432/test",
            ),
            Database::MariaDb => (
                "PLUGHOST_TEST_MARIADB_URL",
                "mysql://root@127.0.0.1:3306/test",
            ),
        };
        Some(std::env::var(var).unwrap_or_else(|_| default.to_string()))
    }
}

/// Runs each listed scenario, a `fn scenario(db: Database)` of the calling module, as one
/// test per database: module `scenario` with the tests `on_sqlite`, `on_postgres` and
/// `on_mariadb` (`orm::data_survives_a_host_restart::on_postgres`). `only [sqlite, postgres]:`
/// before the list narrows the databases.
///
/// The names carry the database on purpose: `scripts/test` skips the tests named
/// `*postgres*` / `*mariadb*` when that server does not answer, and fails instead under
/// `PLUGHOST_REQUIRE_DATABASES=1` (CI); the tests themselves never skip.
macro_rules! every_database {
    (only $databases:tt: $($scenario:ident),+ $(,)?) => {
        $( $crate::harness::every_database!(@scenario $scenario $databases); )+
    };
    ($($scenario:ident),+ $(,)?) => {
        $crate::harness::every_database!(only [sqlite, postgres, mariadb]: $($scenario),+);
    };
    (@scenario $scenario:ident [$($database:ident),+]) => {
        mod $scenario {
            $( $crate::harness::every_database!(@test $scenario $database); )+
        }
    };
    (@test $scenario:ident sqlite) => {
        #[test]
        fn on_sqlite() {
            super::$scenario($crate::harness::Database::Sqlite)
        }
    };
    (@test $scenario:ident postgres) => {
        #[test]
        fn on_postgres() {
            super::$scenario($crate::harness::Database::Postgres)
        }
    };
    (@test $scenario:ident mariadb) => {
        #[test]
        fn on_mariadb() {
            super::$scenario($crate::harness::Database::MariaDb)
        }
    };
}
pub(crate) use every_database;

/// A tenant name no other test uses, on this run or an earlier one on a shared server:
/// `prefix` and ten hex digits.
pub fn unique_tenant(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

/// Builds a throwaway plugins folder and its host.toml, then starts hosts over it:
///
/// ```ignore
/// let tenant = unique_tenant("q");
/// let plugins = HostBuilder::new()
///     .database(db)
///     .host_toml("[queue]\npoll-ms = 50\n")
///     .tenant(&tenant, &["orm", "queue"])
///     .module_in("queue-probe", "queue-probe", &tenant)
///     .build();
/// let host = plugins.start();
/// ```
///
/// host.toml holds the `host_toml` text, then `[database]`, then the tenants; without any
/// of them the host runs with no host.toml at all.
pub struct HostBuilder {
    steps: Vec<Step>,
    host_toml: Option<String>,
    tenants: Vec<Tenant>,
    database: Option<Database>,
    cache_dir: PathBuf,
    admin_token: Option<String>,
}

/// What `build` does to the plugins folder, in order.
enum Step {
    Install {
        fixture: String,
        folder: String,
        tenant: Option<String>,
    },
    Edit {
        folder: String,
        from: String,
        to: String,
    },
}

/// A `[tenants.NAME]` section.
struct Tenant {
    name: String,
    modules: Vec<String>,
    allow: Vec<String>,
}

impl HostBuilder {
    /// No modules, no host.toml, the shared compilation cache, the test admin token.
    pub fn new() -> HostBuilder {
        HostBuilder {
            steps: Vec::new(),
            host_toml: None,
            tenants: Vec::new(),
            database: None,
            cache_dir: repo().join("target/test-cache"),
            admin_token: Some(ADMIN_TOKEN.into()),
        }
    }

    /// Installs fixture module `fixture` as folder `folder`.
    pub fn module(mut self, fixture: &str, folder: &str) -> HostBuilder {
        self.steps.push(Step::Install {
            fixture: fixture.into(),
            folder: folder.into(),
            tenant: None,
        });
        self
    }

    /// Same, in tenant `tenant` (declared with [`HostBuilder::tenant`]): host.toml assigns
    /// the folder to it, and the manifest names it (`tenant = …`, which the host checks).
    pub fn module_in(mut self, fixture: &str, folder: &str, tenant: &str) -> HostBuilder {
        self.steps.push(Step::Install {
            fixture: fixture.into(),
            folder: folder.into(),
            tenant: Some(tenant.into()),
        });
        self.assign(tenant, &[folder])
    }

    /// Replaces the first `from` (which must be there) with `to` in the plugin.toml of
    /// `folder`, an installed module.
    pub fn edit(mut self, folder: &str, from: &str, to: &str) -> HostBuilder {
        self.steps.push(Step::Edit {
            folder: folder.into(),
            from: from.into(),
            to: to.into(),
        });
        self
    }

    /// Adds `text` to host.toml, as it is.
    pub fn host_toml(mut self, text: &str) -> HostBuilder {
        let all = self.host_toml.get_or_insert_with(String::new);
        all.push_str(text);
        all.push('\n');
        self
    }

    /// Declares tenant `name`, allowed every scope of the capabilities `allow`. On a
    /// database server the tenant's schema or tables and its rows in the host's tables are
    /// dropped with the folder, so name it with [`unique_tenant`] there.
    pub fn tenant(mut self, name: &str, allow: &[&str]) -> HostBuilder {
        self.tenants.push(Tenant {
            name: name.into(),
            modules: Vec::new(),
            allow: allow.iter().map(|c| c.to_string()).collect(),
        });
        self
    }

    /// Assigns `folders` (installed now or later) to tenant `tenant`.
    pub fn assign(mut self, tenant: &str, folders: &[&str]) -> HostBuilder {
        let section = self
            .tenants
            .iter_mut()
            .find(|t| t.name == tenant)
            .unwrap_or_else(|| panic!("tenant {tenant} is not declared"));
        for folder in folders {
            if !section.modules.iter().any(|m| m == folder) {
                section.modules.push(folder.to_string());
            }
        }
        self
    }

    /// The `[database]` of the host: a file in the folder for SQLite, the shared server
    /// otherwise (see [`HostBuilder::tenant`] for keeping tests apart there).
    pub fn database(mut self, database: Database) -> HostBuilder {
        self.database = Some(database);
        self
    }

    /// Writes the plugins folder and host.toml.
    pub fn build(self) -> Plugins {
        let dir = tempfile::tempdir().unwrap();
        let plugins = dir.path().join("plugins");
        std::fs::create_dir_all(&plugins).unwrap();
        for step in &self.steps {
            match step {
                Step::Install {
                    fixture,
                    folder,
                    tenant,
                } => {
                    let installed = install(&plugins, fixture, folder);
                    if let Some(tenant) = tenant {
                        claim_tenant(&installed, tenant);
                    }
                }
                Step::Edit { folder, from, to } => {
                    edit_manifest(&plugins.join(folder), from, to);
                }
            }
        }
        let database = self.database.map(|database| {
            let url = database.server_url().unwrap_or_else(|| {
                format!("sqlite://{}", dir.path().join("data/plughost.db").display())
            });
            (database, url)
        });
        let mut text = self.host_toml;
        if let Some((_, url)) = &database {
            let text = text.get_or_insert_with(String::new);
            text.push_str(&format!("[database]\nurl = \"{url}\"\n\n"));
        }
        for tenant in &self.tenants {
            let text = text.get_or_insert_with(String::new);
            text.push_str(&format!("[tenants.{}]\n", tenant.name));
            if !tenant.modules.is_empty() {
                let globs: Vec<String> =
                    tenant.modules.iter().map(|m| format!("\"{m}\"")).collect();
                text.push_str(&format!("modules = [{}]\n", globs.join(", ")));
            }
            text.push_str(&format!("[tenants.{}.allow]\n", tenant.name));
            for capability in &tenant.allow {
                text.push_str(&format!("{capability} = true\n"));
            }
            text.push('\n');
        }
        let config = text.map(|text| {
            let path = dir.path().join("host.toml");
            std::fs::write(&path, text).unwrap();
            path
        });
        Plugins {
            plugins,
            config,
            database,
            tenants: self.tenants.into_iter().map(|t| t.name).collect(),
            cache_dir: self.cache_dir,
            admin_token: self.admin_token,
            dir: Arc::new(dir),
        }
    }

    /// Builds, and starts a host that owns the folder (dropped with it).
    pub fn start(self) -> Host {
        let plugins = self.build();
        let mut host = plugins.start();
        host.folder = Some(plugins);
        host
    }
}

/// Adds `tenant = "TENANT"` to a module's manifest, after its name.
fn claim_tenant(module: &Path, tenant: &str) {
    let path = module.join("plugin.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, with_tenant(&text, tenant)).unwrap();
}

/// A manifest's text with `tenant = "TENANT"` after its name.
fn with_tenant(manifest: &str, tenant: &str) -> String {
    let mut lines: Vec<String> = manifest.lines().map(str::to_string).collect();
    let name = lines
        .iter()
        .position(|l| l.starts_with("name ="))
        .expect("a manifest names its module");
    lines.insert(name + 1, format!("tenant = \"{tenant}\""));
    lines.join("\n") + "\n"
}

/// Replaces the first `from` (which must be there) with `to` in the plugin.toml of the
/// module folder `dir`, atomically, so that a running host sees a new version whole.
pub fn edit_manifest(dir: &Path, from: &str, to: &str) {
    let path = dir.join("plugin.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{from} not in {}", path.display());
    write_atomic(&path, text.replacen(from, to, 1).as_bytes());
}

/// A plugins folder with its host.toml and database, from [`HostBuilder::build`]; hosts
/// started over it must be dropped first. Dropping it deletes the folder and, on a database
/// server, the data of its tenants.
pub struct Plugins {
    plugins: PathBuf,
    config: Option<PathBuf>,
    database: Option<(Database, String)>,
    tenants: Vec<String>,
    cache_dir: PathBuf,
    admin_token: Option<String>,
    /// Shared with each host started over it, so `builder.build().start()` keeps the
    /// folder as long as the host runs (a dropped folder looks like removed modules).
    dir: Arc<tempfile::TempDir>,
}

impl Plugins {
    /// Starts a host over the folder (again, after a host was dropped: a restart).
    pub fn start(&self) -> Host {
        let mut host = Host::launch(
            &self.plugins,
            self.config.as_deref(),
            &self.cache_dir,
            self.admin_token.as_deref(),
        );
        host.dir = Some(self.dir.clone());
        host
    }

    /// The plugins folder.
    pub fn path(&self) -> &Path {
        &self.plugins
    }

    /// host.toml.
    pub fn config(&self) -> &Path {
        self.config.as_deref().expect("the folder has a host.toml")
    }

    /// The folder of module `folder`.
    pub fn module(&self, folder: &str) -> PathBuf {
        self.plugins.join(folder)
    }

    /// The database URL the host is given.
    pub fn database_url(&self) -> &str {
        &self.database.as_ref().expect("a database").1
    }

    /// Installs fixture `fixture` as folder `folder` now (a running host sees it), its
    /// manifest claiming tenant `tenant` and with each `(from, to)` of `edits` replaced, in
    /// one write; host.toml assigns the folder to the tenant unless some tenant's globs
    /// claim it already (a running host reads host.toml only when it starts).
    pub fn install_in(
        &self,
        fixture: &str,
        folder: &str,
        tenant: &str,
        edits: &[(&str, &str)],
    ) -> PathBuf {
        let dir = install(&self.plugins, fixture, folder);
        let path = dir.join("plugin.toml");
        let mut text = with_tenant(&std::fs::read_to_string(&path).unwrap(), tenant);
        for (from, to) in edits {
            assert!(text.contains(from), "{from} not in {}", path.display());
            text = text.replacen(from, to, 1);
        }
        write_atomic(&path, text.as_bytes());
        assign_folders_by_manifest(self.config(), &self.plugins);
        dir
    }

    /// Runs the host CLI, `host ARGS --plugins FOLDER --config HOST_TOML`; returns whether it
    /// succeeded and its stdout then stderr.
    pub fn cli(&self, args: &[&str]) -> (bool, String) {
        let mut command = Command::new(HOST);
        command.args(args).arg("--plugins").arg(&self.plugins);
        if let Some(config) = &self.config {
            command.arg("--config").arg(config);
        }
        let output = command.output().expect("run the host CLI");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.success(), text)
    }
}

impl Drop for Plugins {
    fn drop(&mut self) {
        if let Some((database, url)) = &self.database
            && let Err(e) = forget_tenants(*database, url, &self.tenants)
        {
            eprintln!("could not drop the test tenants {:?}: {e}", self.tenants);
        }
    }
}

/// The host's own tables that keep rows per tenant.
const CONTROL_TABLES: [&str; 3] = ["plughost_models", "plughost_migrations", "plughost_jobs"];

/// Drops the tenants' schemas (PostgreSQL) or tables (MariaDB) and their rows in the host's
/// tables from a shared server (tenant names are generated, safe to inline). A statement
/// that fails (a table the run never created) does not stop the others.
fn forget_tenants(database: Database, url: &str, tenants: &[String]) -> Result<(), sqlx::Error> {
    use sqlx::Connection;
    if tenants.is_empty() {
        return Ok(());
    }
    let list = tenants
        .iter()
        .map(|t| format!("'{t}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let forget =
        CONTROL_TABLES.map(|table| format!("DELETE FROM {table} WHERE tenant IN ({list})"));
    block_on(async {
        match database {
            Database::Sqlite => {}
            Database::Postgres => {
                let mut c = sqlx::PgConnection::connect(url).await?;
                let drops = tenants
                    .iter()
                    .map(|t| format!("DROP SCHEMA IF EXISTS \"tenant_{t}\" CASCADE"));
                for sql in drops.chain(forget) {
                    let _ = sqlx::raw_sql(&sql).execute(&mut c).await;
                }
            }
            Database::MariaDb => {
                let mut c = sqlx::MySqlConnection::connect(url).await?;
                for t in tenants {
                    let tables: Vec<String> = sqlx::query_scalar(
                        "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
                         WHERE table_schema = DATABASE() AND table_name LIKE CONCAT(?, '\\_\\_%')",
                    )
                    .bind(t)
                    .fetch_all(&mut c)
                    .await?;
                    for table in tables {
                        let _ = sqlx::raw_sql(&format!("DROP TABLE IF EXISTS `{table}`"))
                            .execute(&mut c)
                            .await;
                    }
                }
                for sql in forget {
                    let _ = sqlx::raw_sql(&sql).execute(&mut c).await;
                }
            }
        }
        Ok(())
    })
}

/// Runs a future to completion on a runtime of its own (for direct database checks).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// What an [`eventually`] check returns: `true`, `Some(value)` or `Ok(value)` once the
/// condition holds; before, `false`, `None` or `Err(what it saw)`, named on a timeout.
pub trait Condition {
    type Value;
    fn holds(self) -> Result<Self::Value, Option<String>>;
}

impl Condition for bool {
    type Value = ();
    fn holds(self) -> Result<(), Option<String>> {
        if self { Ok(()) } else { Err(None) }
    }
}

impl<T> Condition for Option<T> {
    type Value = T;
    fn holds(self) -> Result<T, Option<String>> {
        self.ok_or(None)
    }
}

impl<T, E: std::fmt::Display> Condition for Result<T, E> {
    type Value = T;
    fn holds(self) -> Result<T, Option<String>> {
        self.map_err(|e| Some(e.to_string()))
    }
}

/// Polls `check` every 20 ms until it holds, and returns its value; after `within`, fails
/// the test with "gave up waiting for `what` after …" and the last thing `check` saw.
pub fn eventually<C: Condition>(
    what: &str,
    within: Duration,
    check: impl FnMut() -> C,
) -> C::Value {
    poll(what, within, check, String::new)
}

fn poll<C: Condition>(
    what: &str,
    within: Duration,
    mut check: impl FnMut() -> C,
    context: impl FnOnce() -> String,
) -> C::Value {
    let start = Instant::now();
    loop {
        match check().holds() {
            Ok(value) => return value,
            Err(seen) => {
                if start.elapsed() >= within {
                    let seen = seen.map(|s| format!("; last: {s}")).unwrap_or_default();
                    panic!(
                        "gave up waiting for {what} after {within:?}{seen}{}",
                        context()
                    );
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A real SMTP server (aiosmtpd, `tests/smtp/server.py`) on a free port, saving each
/// message it accepts as `NNNN.eml` with its envelope in `NNNN.json`; stopped on drop.
pub struct SmtpServer {
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: tempfile::TempDir,
    child: std::process::Child,
}

impl SmtpServer {
    /// A server that accepts every message.
    pub fn start() -> SmtpServer {
        SmtpServer::answering(None)
    }

    /// A server that answers every DATA with `answer` (e.g. `"550 5.7.1 no"`), if given.
    pub fn answering(answer: Option<&str>) -> SmtpServer {
        SmtpServer::with_args(
            answer
                .map(|a| vec!["--answer".to_string(), a.to_string()])
                .unwrap_or_default(),
        )
    }

    /// A server requiring STARTTLS with `cert`/`key` and the login `user`/`password`.
    pub fn secured(cert: &Path, key: &Path, user: &str, password: &str) -> SmtpServer {
        SmtpServer::with_args(vec![
            "--tls-cert".into(),
            cert.display().to_string(),
            "--tls-key".into(),
            key.display().to_string(),
            "--auth".into(),
            format!("{user}:{password}"),
        ])
    }

    /// A server speaking TLS from the first byte (SMTPS) with `cert`/`key`.
    pub fn implicit_tls(cert: &Path, key: &Path) -> SmtpServer {
        SmtpServer::with_args(vec![
            "--tls-cert".into(),
            cert.display().to_string(),
            "--tls-key".into(),
            key.display().to_string(),
            "--implicit-tls".into(),
        ])
    }

    fn with_args(args: Vec<String>) -> SmtpServer {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut command = Command::new(repo().join(".venv/bin/python"));
        command
            .arg(repo().join("tests/smtp/server.py"))
            .args(["--port", &port.to_string(), "--dir"])
            .arg(dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        command.args(&args);
        let mut child = command
            .spawn()
            .expect("start tests/smtp/server.py (scripts/setup installs aiosmtpd into .venv)");
        let mut ready = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().unwrap()),
            &mut ready,
        )
        .unwrap();
        assert_eq!(ready.trim(), "ready", "the SMTP server did not start");
        SmtpServer { port, dir, child }
    }

    /// host.toml's `[mail.smtp]` for this server.
    pub fn host_toml(&self) -> String {
        format!(
            "[mail.smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n",
            self.port
        )
    }

    /// The messages received so far, in order: (envelope, parsed message).
    pub fn received(&self) -> Vec<(Value, Value)> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|eml| {
                let envelope = std::fs::read_to_string(eml.with_extension("json")).unwrap();
                (serde_json::from_str(&envelope).unwrap(), parse_eml(eml))
            })
            .collect()
    }

    /// How many DATA commands it refused.
    pub fn refusals(&self) -> usize {
        std::fs::read(self.dir.path().join("refused")).map_or(0, |r| r.len())
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A message file parsed by Python's e-mail parser (`tests/smtp/parse.py`): `headers`
/// (lower-case names) and `parts` (`content_type`, `filename`, decoded `content`).
pub fn parse_eml(path: &Path) -> Value {
    let output = Command::new(repo().join(".venv/bin/python"))
        .arg(repo().join("tests/smtp/parse.py"))
        .arg(path)
        .output()
        .expect("run tests/smtp/parse.py");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// The `.eml` files the host wrote to `data/outbox` beside the plugins folder `plugins`
/// (where mail goes without SMTP settings), in name (time) order.
pub fn outbox_files(plugins: &Path) -> Vec<PathBuf> {
    let outbox = plugins.parent().unwrap().join("data/outbox");
    let mut files: Vec<PathBuf> = std::fs::read_dir(outbox)
        .map(|dir| dir.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "eml"));
    files.sort();
    files
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A real S3-compatible server (moto's server mode, `.venv/bin/moto_server`, which
/// scripts/setup installs) on a free port; it starts empty and is stopped on drop.
/// Moto takes any credentials.
#[allow(dead_code, reason = "for the S3 storage tests to come")]
pub struct S3Server {
    /// Its port on 127.0.0.1.
    pub port: u16,
    child: std::process::Child,
}

impl S3Server {
    /// Starts the server and waits until it answers.
    pub fn start() -> S3Server {
        let server = repo().join(".venv/bin/moto_server");
        assert!(
            server.is_file(),
            "{} is missing: run scripts/setup, which installs moto[server] into .venv",
            server.display()
        );
        let port = free_port();
        let child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", server.display()));
        let mut s3 = S3Server { port, child };
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = s3.child.try_wait() {
                panic!("moto_server exited at start ({status}); try scripts/setup");
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "moto_server did not answer on port {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        s3
    }

    /// Its URL, for host.toml's `endpoint`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates `bucket` (3 to 63 lower-case letters, digits, `-` and `.`: moto checks
    /// names as S3 does); creating it again is fine.
    pub fn create_bucket(&self, bucket: &str) {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .new_agent();
        let reply = agent
            .put(format!("{}/{bucket}", self.endpoint()))
            .send_empty()
            .expect("moto answers a bucket creation");
        let status = reply.status().as_u16();
        // 409: the bucket is already there (BucketAlreadyOwnedByYou).
        assert!(
            status == 200 || status == 409,
            "creating bucket {bucket} on moto: HTTP {status}"
        );
    }

    /// host.toml's `[storage.s3]` for `bucket` on this server, which this creates.
    pub fn host_toml(&self, bucket: &str) -> String {
        self.create_bucket(bucket);
        format!(
            "[storage.s3]\nbucket = \"{bucket}\"\nendpoint = \"{}\"\nregion = \"us-east-1\"\n\
             access-key-id = \"test\"\nsecret-access-key = \"test\"\nallow-http = true\n",
            self.endpoint()
        )
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where a storage scenario keeps its objects: the local folder, or a bucket on a moto
/// server of its own.
pub enum StorageBackend {
    /// `data/storage` beside the plugins folder.
    Local,
    /// A bucket on this S3 server.
    S3(S3Server),
}

impl StorageBackend {
    /// A bucket on a fresh moto server.
    pub fn s3() -> StorageBackend {
        StorageBackend::S3(S3Server::start())
    }

    /// The host.toml text that selects this backend (append it after any `[storage]` keys).
    pub fn host_toml(&self) -> String {
        match self {
            StorageBackend::Local => String::new(),
            StorageBackend::S3(server) => server.host_toml("plughost-tests"),
        }
    }

    /// Whether objects are files on this machine (escape and leftover checks apply).
    pub fn is_local(&self) -> bool {
        matches!(self, StorageBackend::Local)
    }
}

/// Runs each storage scenario `fn name(backend: StorageBackend)` twice: as `name::on_local`
/// and `name::on_s3` (a moto server per test, installed by scripts/setup).
macro_rules! every_storage_backend {
    ($($scenario:ident),+ $(,)?) => {
        $(
            mod $scenario {
                #[test]
                fn on_local() {
                    super::$scenario($crate::harness::StorageBackend::Local)
                }
                #[test]
                fn on_s3() {
                    super::$scenario($crate::harness::StorageBackend::s3())
                }
            }
        )+
    };
}
pub(crate) use every_storage_backend;

/// `host build` of `examples/hello/NAME` copied into a folder outside the repository, with
/// no `.venv` on PATH and the test run's own host cache (`target/plughost-home`, kept, so
/// later runs reuse the tools the host installed there): the folder and the output.
pub fn build_hello_without_the_repositorys_tools(name: &str) -> (tempfile::TempDir, Output) {
    let dir = tempfile::tempdir().unwrap();
    let module = dir.path().join(name);
    std::fs::create_dir_all(&module).unwrap();
    for entry in std::fs::read_dir(repo().join("examples/hello").join(name)).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, module.join(path.file_name().unwrap())).unwrap();
        }
    }
    let path: Vec<String> = std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .filter(|p| !p.contains(".venv"))
        .map(str::to_string)
        .collect();
    let out = Command::new(HOST)
        .args(["build", "."])
        .current_dir(dir.path())
        .env("PATH", path.join(":"))
        .env("PLUGHOST_HOME", repo().join("target/plughost-home"))
        .output()
        .unwrap();
    (dir, out)
}
