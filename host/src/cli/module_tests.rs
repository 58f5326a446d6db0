//! `host test [DIR]`: runs the modules' own tests against a real host. Every module source
//! under DIR is built into a throwaway plugins folder, its seed data goes into a throwaway
//! SQLite database, a `host run` serves them on a free port, and each case of each module's
//! `tests/*.toml` is sent over HTTP and its answer checked:
//!
//! ```toml
//! [[test]]
//! name = "a note is created"
//! method = "POST"                 # default GET
//! path = "/notes"                 # below the module's prefix
//! json = { text = "hi" }          # the request body as JSON (or body = "raw text")
//! status = 201                    # expected status (default: any 2xx)
//! contains = "hi"                 # the answer's body holds this text
//! json-includes = { text = "hi" } # the answer is JSON holding these fields
//! ```

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;
use serde::Deserialize;
use serde_json::Value;

use super::build::{self, How};
use crate::config::Manifest;

/// Arguments of `host test`.
#[derive(Args)]
pub struct TestArgs {
    /// Folder holding the module sources (as for `host build`).
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Only the cases whose name contains this text.
    pub filter: Option<String>,
}

/// How long the host may take to load the modules (a Python module's first compile is
/// tens of seconds on a small machine).
const STARTUP: Duration = Duration::from_secs(600);

/// One file of cases.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    #[serde(default)]
    test: Vec<Case>,
}

/// One request and what its answer must be.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Case {
    name: String,
    #[serde(default = "get")]
    method: String,
    path: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    body: Option<String>,
    json: Option<Value>,
    status: Option<u16>,
    contains: Option<String>,
    json_includes: Option<Value>,
}

fn get() -> String {
    "GET".into()
}

/// Builds, serves, runs the cases; fails when any case fails.
pub fn run(args: TestArgs) -> anyhow::Result<()> {
    let dir = std::path::absolute(&args.dir)?;
    let sources = build::find_all(&dir)?;
    if sources.is_empty() {
        bail!("no module sources under {}", dir.display());
    }
    let mut suites = Vec::new();
    for source in &sources {
        let manifest = Manifest::load(&source.dir).map_err(anyhow::Error::msg)?;
        for file in case_files(&source.dir)? {
            let text = std::fs::read_to_string(&file)?;
            let cases: CaseFile = toml::from_str(&text)
                .with_context(|| format!("{} is not a valid test file", file.display()))?;
            suites.push((manifest.clone(), file, cases.test));
        }
    }
    if suites.is_empty() {
        bail!(
            "no tests under {}: a module's tests are [[test]] cases in its tests/*.toml \
             (see `host test --help`)",
            dir.display()
        );
    }
    let work = build::tempfile_dir()?;
    let result = build_and_run(&dir, &sources, &work, &suites, args.filter.as_deref());
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn build_and_run(
    dir: &Path,
    sources: &[build::Source],
    work: &Path,
    suites: &[(Manifest, PathBuf, Vec<Case>)],
    filter: Option<&str>,
) -> anyhow::Result<()> {
    let plugins = work.join("plugins");
    let how = How::for_root(dir, true);
    for source in sources {
        build::build_one(source, &plugins, &how)
            .with_context(|| format!("cannot build the module in {}", source.dir.display()))?;
    }
    let database = format!("sqlite://{}", work.join("test.db").display());
    let exe = std::env::current_exe().context("cannot find the host binary")?;
    let seeded = Command::new(&exe)
        .args(["db", "seed", "--plugins"])
        .arg(&plugins)
        .args(["--database-url", &database])
        .output()?;
    if !seeded.status.success() {
        bail!(
            "cannot seed the test database:\n{}",
            String::from_utf8_lossy(&seeded.stderr)
        );
    }
    let server = Server::start(&exe, &plugins, &database)?;
    let (mut passed, mut failed) = (0, 0);
    for (manifest, file, cases) in suites {
        let prefix = manifest.http.as_ref().map(|h| h.prefix.as_str());
        let shown = file.strip_prefix(dir).unwrap_or(file).display();
        println!("\nrunning {} test(s) from {shown}", cases.len());
        for case in cases {
            if filter.is_some_and(|f| !case.name.contains(f)) {
                continue;
            }
            match check(&server, prefix.unwrap_or(""), case) {
                Ok(()) => {
                    println!("test {} ... ok", case.name);
                    passed += 1;
                }
                Err(why) => {
                    println!("test {} ... FAILED\n    {why}", case.name);
                    failed += 1;
                }
            }
        }
    }
    drop(server);
    let verdict = if failed == 0 { "ok" } else { "FAILED" };
    println!("\ntest result: {verdict}. {passed} passed; {failed} failed");
    if failed > 0 {
        bail!("{failed} test(s) failed");
    }
    Ok(())
}

/// `tests/*.toml` of a module source folder, in name order.
fn case_files(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let Ok(entries) = std::fs::read_dir(dir.join("tests")) else {
        return Ok(Vec::new());
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    Ok(files)
}

/// Sends the case's request and compares the answer; the difference when it fails.
fn check(server: &Server, prefix: &str, case: &Case) -> Result<(), String> {
    let path = format!("{}{}", prefix.trim_end_matches('/'), case.path);
    let mut request = ureq::http::Request::builder()
        .method(case.method.to_uppercase().as_str())
        .uri(format!("{}{path}", server.base));
    for (name, value) in &case.headers {
        request = request.header(name, value);
    }
    let body = match (&case.json, &case.body) {
        (Some(json), _) => {
            request = request.header("content-type", "application/json");
            json.to_string().into_bytes()
        }
        (None, Some(text)) => text.clone().into_bytes(),
        (None, None) => Vec::new(),
    };
    let request = request
        .body(body)
        .map_err(|e| format!("bad request: {e}"))?;
    let mut response = server
        .agent
        .run(request)
        .map_err(|e| format!("{} {path}: {e}", case.method))?;
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    let expected = match case.status {
        Some(wanted) => status == wanted,
        None => (200..300).contains(&status),
    };
    if !expected {
        let wanted = case.status.map_or("a 2xx".into(), |s| s.to_string());
        return Err(format!(
            "{} {path}: status {status}, expected {wanted}; body: {text}",
            case.method
        ));
    }
    if let Some(needle) = &case.contains
        && !text.contains(needle.as_str())
    {
        return Err(format!("the body does not contain {needle:?}: {text}"));
    }
    if let Some(wanted) = &case.json_includes {
        let got: Value = serde_json::from_str(&text)
            .map_err(|e| format!("the body is not JSON ({e}): {text}"))?;
        if !includes(&got, wanted) {
            return Err(format!("the JSON {got} does not include {wanted}"));
        }
    }
    Ok(())
}

/// Whether `got` holds everything in `wanted`: objects by their fields, arrays element by
/// element, anything else equal.
fn includes(got: &Value, wanted: &Value) -> bool {
    match (got, wanted) {
        (Value::Object(got), Value::Object(wanted)) => wanted
            .iter()
            .all(|(key, value)| got.get(key).is_some_and(|g| includes(g, value))),
        (Value::Array(got), Value::Array(wanted)) => {
            got.len() >= wanted.len() && wanted.iter().zip(got).all(|(w, g)| includes(g, w))
        }
        _ => got == wanted,
    }
}

/// A `host run` child serving the throwaway plugins folder.
struct Server {
    child: Child,
    base: String,
    agent: ureq::Agent,
}

impl Server {
    /// Starts it and waits until it listens; fails with the log's errors when a module
    /// did not load.
    fn start(exe: &Path, plugins: &Path, database: &str) -> anyhow::Result<Server> {
        let mut child = Command::new(exe)
            .args([
                "run",
                "--listen",
                "127.0.0.1:0",
                "--log-format",
                "json",
                "--plugins",
            ])
            .arg(plugins)
            .args(["--database-url", database])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot start the host")?;
        let stderr = child.stderr.take().context("no host log")?;
        let (tx, rx) = mpsc::channel::<Result<String, String>>();
        std::thread::spawn(move || {
            let mut errors = Vec::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let Ok(entry) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                let message = entry["message"].as_str().unwrap_or_default();
                if entry["level"] == "ERROR" {
                    errors.push(message.to_string());
                }
                if let Some(address) = message.strip_prefix("listening on ") {
                    let _ = tx.send(match errors.is_empty() {
                        true => Ok(address.to_string()),
                        false => Err(errors.join("\n")),
                    });
                }
            }
        });
        let base = match rx.recv_timeout(STARTUP) {
            Ok(Ok(base)) => base,
            Ok(Err(errors)) => {
                let _ = child.kill();
                bail!("the modules did not all load:\n{errors}");
            }
            Err(_) => {
                let _ = child.kill();
                bail!("the host did not start listening within {STARTUP:?}");
            }
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Ok(Server { child, base, agent })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn json_includes_compares_fields_and_elements_it_names() {
        let got =
            json!({"id": 1, "text": "hi", "tags": ["a", "b"], "owner": {"name": "Ada", "age": 36}});
        assert!(super::includes(&got, &json!({"text": "hi"})));
        assert!(super::includes(
            &got,
            &json!({"owner": {"name": "Ada"}, "tags": ["a"]})
        ));
        assert!(!super::includes(&got, &json!({"text": "bye"})));
        assert!(!super::includes(&got, &json!({"missing": null})));
    }
}
