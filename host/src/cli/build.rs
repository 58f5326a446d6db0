//! `host build [DIR]`: finds module sources under DIR (a folder with `plugin.toml` and
//! `Cargo.toml`, `app.py`, `app.c`, `app.js`/`app.ts` or `app.go`), builds each into a component, and
//! places it with its manifest in `DIR/plugins/NAME/`, where `host run --plugins DIR/plugins`
//! finds it.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use clap::Args;

use super::sdk_files;

mod c;
mod go;
mod js;
mod pycheck;
mod python;
mod tools;
pub mod uses;
use crate::config::Manifest;
use crate::config::manifest::MANIFEST_FILE;

/// Arguments of `host build`.
#[derive(Args)]
pub struct BuildArgs {
    /// Folder to search for module sources.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Where built modules go; default DIR/plugins.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// The languages `host build` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Language {
    Rust,
    Python,
    C,
    Js,
    Go,
}

/// How modules are built: where cargo puts its work, and whether errors are printed in
/// full (cargo's own output) or as a few short lines (`host dev`).
pub struct How {
    /// One cargo target folder for every Rust module of the build.
    pub target_dir: PathBuf,
    /// Short error lines instead of the tools' full output.
    pub compact: bool,
    /// For `host dev`: Python modules import their sources afresh from the folder the host
    /// mounts for them.
    pub dev: bool,
}

impl How {
    /// Builds for sources under `root`: cargo's target folder is `$CARGO_TARGET_DIR`, else
    /// `root/target`.
    pub fn for_root(root: &Path, compact: bool) -> How {
        let target_dir = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        let target_dir = std::path::absolute(&target_dir).unwrap_or(target_dir);
        How {
            target_dir,
            compact,
            dev: false,
        }
    }
}

/// A module's source folder and its language.
pub struct Source {
    /// The folder holding plugin.toml.
    pub dir: PathBuf,
    language: Language,
}

impl Source {
    /// Whether it is a Python module (`host dev` mounts its sources).
    pub fn is_python(&self) -> bool {
        self.language == Language::Python
    }
}

/// Folders never searched for sources.
pub const SKIP: &[&str] = &["target", "plugins", "node_modules", "__pycache__"];

/// Builds every module source under `args.dir`.
pub fn run(args: BuildArgs) -> anyhow::Result<()> {
    let out = args.out.clone().unwrap_or_else(|| args.dir.join("plugins"));
    let sources = find_all(&args.dir)?;
    if sources.is_empty() {
        bail!(
            "no module sources under {}: a module source is a folder with plugin.toml and Cargo.toml, app.py, app.c, app.js or app.go \
             (create one with `host new NAME --lang rust|python|c|js|go`)",
            args.dir.display()
        );
    }
    let how = How::for_root(&args.dir, false);
    for source in sources {
        build_one(&source, &out, &how)
            .with_context(|| format!("cannot build the module in {}", source.dir.display()))?;
    }
    Ok(())
}

/// Every module source under `dir`, in path order.
pub fn find_all(dir: &Path) -> anyhow::Result<Vec<Source>> {
    let mut found = Vec::new();
    find_sources(dir, &mut found)?;
    Ok(found
        .into_iter()
        .map(|(dir, language)| Source { dir, language })
        .collect())
}

fn find_sources(dir: &Path, found: &mut Vec<(PathBuf, Language)>) -> anyhow::Result<()> {
    if dir.join(MANIFEST_FILE).is_file() {
        if dir.join("Cargo.toml").is_file() {
            found.push((dir.to_path_buf(), Language::Rust));
            return Ok(());
        }
        if dir.join("app.py").is_file() {
            found.push((dir.to_path_buf(), Language::Python));
            return Ok(());
        }
        if dir.join("app.c").is_file() {
            found.push((dir.to_path_buf(), Language::C));
            return Ok(());
        }
        if js::entry_of(dir).is_some() {
            found.push((dir.to_path_buf(), Language::Js));
            return Ok(());
        }
        if dir.join("app.go").is_file() {
            found.push((dir.to_path_buf(), Language::Go));
            return Ok(());
        }
    }
    for entry in searched_folders(dir)? {
        find_sources(&entry, found)?;
    }
    Ok(())
}

/// The folders of `dir` a search for modules goes into, in name order: not hidden, not
/// build output or dependencies ([`SKIP`]).
pub fn searched_folders(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or(".");
            !name.starts_with('.') && !SKIP.contains(&name)
        })
        .collect();
    entries.sort();
    Ok(entries)
}

/// What [`build_one`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The component was built and placed.
    Built,
    /// Nothing changed since the last build into the same place: the component there is
    /// kept as it is, so a host loading it finds its compiled code in the compile cache.
    UpToDate,
}

/// The file beside a built component recording what it was built from.
const INPUTS_FILE: &str = ".build-inputs";

/// Builds `source` into `out/NAME/`: the component, then its migrations and static files,
/// then its manifest, each replaced whole so a running host never sees half a module.
/// Skipped when the sources, the SDKs and this host are what the last build used.
pub fn build_one(source: &Source, out: &Path, how: &How) -> anyhow::Result<Outcome> {
    let (dir, language) = (source.dir.as_path(), source.language);
    let manifest = Manifest::load(dir).map_err(anyhow::Error::msg)?;
    let target_dir = out.join(&manifest.name);
    std::fs::create_dir_all(&target_dir)
        .with_context(|| format!("cannot create {}", target_dir.display()))?;
    let wasm_name = manifest
        .component
        .clone()
        .unwrap_or_else(|| format!("{}.wasm", manifest.name.replace('-', "_")));
    let inputs = inputs_of(dir, language, how.dev)?;
    let stamp = target_dir.join(INPUTS_FILE);
    let unchanged = std::fs::read_to_string(&stamp).is_ok_and(|last| last == inputs)
        && target_dir.join(&wasm_name).is_file()
        && target_dir.join(MANIFEST_FILE).is_file();
    if unchanged {
        eprintln!(
            "{} is up to date in {}",
            manifest.name,
            target_dir.display()
        );
        return Ok(Outcome::UpToDate);
    }
    let staged = target_dir.join(format!(".{wasm_name}.building"));
    eprintln!(
        "building {} ({language:?}) from {}",
        manifest.name,
        dir.display()
    );
    match language {
        Language::Rust => build_rust(dir, &staged, how)?,
        Language::Python => python::build(dir, &staged, how)?,
        Language::C => c::build(dir, &staged)?,
        Language::Js => js::build(dir, &staged)?,
        Language::Go => go::build(dir, &staged)?,
    }
    // Component first, manifest last, each by rename: a running host sees whole files.
    std::fs::rename(&staged, target_dir.join(&wasm_name))?;
    std::fs::write(&stamp, &inputs)?;
    copy_migrations(dir, &target_dir)?;
    let manifest_tmp = target_dir.join(".plugin.toml.building");
    std::fs::copy(dir.join(MANIFEST_FILE), &manifest_tmp)?;
    std::fs::rename(&manifest_tmp, target_dir.join(MANIFEST_FILE))?;
    eprintln!("  -> {}", target_dir.join(&wasm_name).display());
    Ok(Outcome::Built)
}

/// A digest of everything a build reads: the module folder's files (not build output or
/// hidden files), the language, and this host with the SDKs and WIT it carries.
fn inputs_of(dir: &Path, language: Language, dev: bool) -> anyhow::Result<String> {
    use sha2::{Digest, Sha256};
    let mut files = Vec::new();
    source_files(dir, dir, &mut files)?;
    files.sort();
    let mut hasher = Sha256::new();
    hasher.update(format!(
        "{language:?} {} dev={dev}\n",
        env!("CARGO_PKG_VERSION")
    ));
    hasher.update(sdk_files::digest());
    for relative in files {
        let bytes = std::fs::read(dir.join(&relative))
            .with_context(|| format!("cannot read {}", dir.join(&relative).display()))?;
        hasher.update(relative.to_string_lossy().as_bytes());
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    Ok(crate::runtime::compile_cache::hex(&hasher.finalize()))
}

/// The files under `dir` (not hidden, not build output or dependencies), relative to `root`.
fn source_files(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let path = entry?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or(".");
        if name.starts_with('.') || SKIP.contains(&name) {
            continue;
        }
        if path.is_dir() {
            source_files(root, &path, out)?;
        } else if let Ok(relative) = path.strip_prefix(root) {
            out.push(relative.to_path_buf());
        }
    }
    Ok(())
}

/// Manual migrations (`migrations/`), seed data (`seed/`) and static files (`public/`)
/// travel with the module.
fn copy_migrations(dir: &Path, target_dir: &Path) -> anyhow::Result<()> {
    for folder in ["migrations", "seed", "public"] {
        copy_tree(&dir.join(folder), &target_dir.join(folder))?;
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(from) else {
        return Ok(());
    };
    std::fs::create_dir_all(to).with_context(|| format!("cannot create {}", to.display()))?;
    for entry in entries.filter_map(|e| e.ok()) {
        let path = entry.path();
        if path.is_dir() {
            copy_tree(&path, &to.join(entry.file_name()))?;
        } else {
            std::fs::copy(&path, to.join(entry.file_name()))
                .with_context(|| format!("cannot copy {}", path.display()))?;
        }
    }
    Ok(())
}

fn build_rust(dir: &Path, staged: &Path, how: &How) -> anyhow::Result<()> {
    ensure_wasm_target()?;
    let manifest = dir.join("Cargo.toml");
    let format = match how.compact {
        true => "--message-format=json-diagnostic-short",
        false => "--message-format=json-render-diagnostics",
    };
    let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo
        .args(["build", "--release", "--target", "wasm32-wasip2", format])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&how.target_dir);
    if let Some(sdk) = sdk_patch(&manifest)? {
        // The module names `plughost-sdk = "0.1.0"`: this host's own copy stands in for it.
        cargo.arg("--config").arg(format!(
            "patch.crates-io.plughost-sdk.path={:?}",
            sdk.display().to_string()
        ));
    }
    if how.compact {
        cargo.arg("--quiet").stderr(std::process::Stdio::piped());
    } else {
        cargo.stderr(std::process::Stdio::inherit());
    }
    let output = cargo
        .output()
        .context("cannot run cargo; is Rust installed?")?;
    if !output.status.success() {
        if how.compact {
            bail!("{}", compact_cargo_errors(&output.stdout, &output.stderr));
        }
        bail!("cargo build failed (see its output above)");
    }
    let wasm = built_cdylib(&output.stdout, &manifest)?;
    std::fs::copy(&wasm, staged).with_context(|| format!("cannot copy {}", wasm.display()))?;
    Ok(())
}

/// The folder standing in for `plughost-sdk` when the module asks for it by version (as
/// `host new` writes it): `$PLUGHOST_RUST_SDK` (a checkout's guest-sdk/rust), else the copy
/// this host carries. None when the module names its own path or git source.
fn sdk_patch(manifest: &Path) -> anyhow::Result<Option<PathBuf>> {
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    let parsed: toml::Table = toml::from_str(&text)
        .with_context(|| format!("{} is not valid TOML", manifest.display()))?;
    let by_version = match parsed
        .get("dependencies")
        .and_then(|d| d.get("plughost-sdk"))
    {
        Some(toml::Value::String(_)) => true,
        Some(toml::Value::Table(t)) => !t.contains_key("path") && !t.contains_key("git"),
        _ => false,
    };
    if !by_version {
        return Ok(None);
    }
    if let Some(explicit) = std::env::var_os("PLUGHOST_RUST_SDK") {
        return Ok(Some(PathBuf::from(explicit)));
    }
    sdk_files::rust_sdk_dir().map(Some)
}

/// The compiler's errors, one short line each (`src/lib.rs:9:5: error[E0308]: …`), from
/// cargo's JSON messages; else cargo's own error lines.
fn compact_cargo_errors(stdout: &[u8], stderr: &[u8]) -> String {
    let mut lines = Vec::new();
    for line in stdout.split(|b| *b == b'\n') {
        let Ok(msg) = serde_json::from_slice::<serde_json::Value>(line) else {
            continue;
        };
        let diagnostic = &msg["message"];
        if msg["reason"] != "compiler-message" || diagnostic["level"] != "error" {
            continue;
        }
        let rendered = diagnostic["rendered"].as_str().unwrap_or_default().trim();
        if !rendered.is_empty() && !rendered.contains("aborting due to") {
            lines.push(rendered.to_string());
        }
    }
    if lines.is_empty() {
        let stderr = String::from_utf8_lossy(stderr);
        lines.extend(
            stderr
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string),
        );
    }
    format!("cargo build failed:\n{}", lines.join("\n"))
}

/// The `.wasm` cargo reported for the package at `manifest`.
fn built_cdylib(messages: &[u8], manifest: &Path) -> anyhow::Result<PathBuf> {
    let manifest = manifest.canonicalize()?;
    for line in messages.split(|b| *b == b'\n') {
        let Ok(msg) = serde_json::from_slice::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact"
            || msg["manifest_path"].as_str().map(PathBuf::from) != Some(manifest.clone())
        {
            continue;
        }
        let files = msg["filenames"].as_array().cloned().unwrap_or_default();
        if let Some(wasm) = files
            .iter()
            .filter_map(|f| f.as_str())
            .find(|f| f.ends_with(".wasm"))
        {
            return Ok(PathBuf::from(wasm));
        }
    }
    bail!(
        "cargo built no .wasm for {}; the crate needs `crate-type = [\"cdylib\"]`",
        manifest.display()
    )
}

/// The wasm32-wasip2 target of the Rust toolchain cargo runs with, added with rustup when
/// missing (a module folder outside this repository uses the user's default toolchain).
fn ensure_wasm_target() -> anyhow::Result<()> {
    if wasm_target_installed()? {
        return Ok(());
    }
    eprintln!("installing the wasm32-wasip2 target: rustup target add wasm32-wasip2");
    let added = Command::new("rustup")
        .args(["target", "add", "wasm32-wasip2"])
        .status()
        .is_ok_and(|s| s.success());
    if !added || !wasm_target_installed()? {
        bail!(
            "the wasm32-wasip2 target is not installed and rustup could not add it; run `rustup target add wasm32-wasip2`"
        );
    }
    Ok(())
}

fn wasm_target_installed() -> anyhow::Result<bool> {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .context("cannot run rustc; is Rust installed (https://rustup.rs)?")?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    Ok(sysroot.join("lib/rustlib/wasm32-wasip2").is_dir())
}

/// A tool installed where scripts/setup or a user puts it, `relative` (`.venv/bin/go`)
/// beneath the source folder or one of its parents, then beneath the working folder or one
/// of its parents: each such file, nearest first.
pub(super) fn installed_above(dir: &Path, relative: &str) -> impl Iterator<Item = PathBuf> {
    let start = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let cwd = std::env::current_dir().unwrap_or_default();
    let found: Vec<PathBuf> = start
        .ancestors()
        .chain(cwd.ancestors())
        .map(|base| base.join(relative))
        .filter(|path| path.is_file())
        .collect();
    found.into_iter()
}

/// A fresh folder under the system's temporary folder.
pub(super) fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "plughost-build-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
