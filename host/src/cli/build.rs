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

/// Folders never searched for sources.
const SKIP: &[&str] = &["target", "plugins", "node_modules", "__pycache__"];

/// Builds every module source under `args.dir`.
pub fn run(args: BuildArgs) -> anyhow::Result<()> {
    let out = args.out.clone().unwrap_or_else(|| args.dir.join("plugins"));
    let mut sources = Vec::new();
    find_sources(&args.dir, &mut sources)?;
    if sources.is_empty() {
        bail!(
            "no module sources under {}: a module source is a folder with plugin.toml and Cargo.toml, app.py, app.c, app.js or app.go \
             (create one with `host new NAME --lang rust|python|c|js|go`)",
            args.dir.display()
        );
    }
    for (dir, language) in sources {
        build_one(&dir, language, &out)
            .with_context(|| format!("cannot build the module in {}", dir.display()))?;
    }
    Ok(())
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
    for entry in entries {
        find_sources(&entry, found)?;
    }
    Ok(())
}

fn build_one(dir: &Path, language: Language, out: &Path) -> anyhow::Result<()> {
    let manifest = Manifest::load(dir).map_err(anyhow::Error::msg)?;
    let target_dir = out.join(&manifest.name);
    std::fs::create_dir_all(&target_dir)
        .with_context(|| format!("cannot create {}", target_dir.display()))?;
    let wasm_name = manifest
        .component
        .clone()
        .unwrap_or_else(|| format!("{}.wasm", manifest.name.replace('-', "_")));
    let staged = target_dir.join(format!(".{wasm_name}.building"));
    eprintln!(
        "building {} ({language:?}) from {}",
        manifest.name,
        dir.display()
    );
    match language {
        Language::Rust => build_rust(dir, &staged)?,
        Language::Python => build_python(dir, &staged)?,
        Language::C => c::build(dir, &staged)?,
        Language::Js => js::build(dir, &staged)?,
        Language::Go => go::build(dir, &staged)?,
    }
    // Component first, manifest last, each by rename: a running host sees whole files.
    std::fs::rename(&staged, target_dir.join(&wasm_name))?;
    copy_migrations(dir, &target_dir)?;
    let manifest_tmp = target_dir.join(".plugin.toml.building");
    std::fs::copy(dir.join(MANIFEST_FILE), &manifest_tmp)?;
    std::fs::rename(&manifest_tmp, target_dir.join(MANIFEST_FILE))?;
    eprintln!("  -> {}", target_dir.join(&wasm_name).display());
    Ok(())
}

/// Manual migrations (`migrations/`) and static files (`public/`) travel with the module.
fn copy_migrations(dir: &Path, target_dir: &Path) -> anyhow::Result<()> {
    for folder in ["migrations", "public"] {
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

fn build_rust(dir: &Path, staged: &Path) -> anyhow::Result<()> {
    ensure_wasm_target()?;
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "--message-format=json-render-diagnostics",
        ])
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .stderr(std::process::Stdio::inherit())
        .output()
        .context("cannot run cargo; is Rust installed?")?;
    if !output.status.success() {
        bail!("cargo build failed (see its output above)");
    }
    let wasm = built_cdylib(&output.stdout, &dir.join("Cargo.toml"))?;
    std::fs::copy(&wasm, staged).with_context(|| format!("cannot copy {}", wasm.display()))?;
    Ok(())
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

fn ensure_wasm_target() -> anyhow::Result<()> {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .context("cannot run rustc")?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    if !sysroot.join("lib/rustlib/wasm32-wasip2").is_dir() {
        bail!(
            "the wasm32-wasip2 target is not installed; run `rustup target add wasm32-wasip2` (scripts/setup does it)"
        );
    }
    Ok(())
}

fn build_python(dir: &Path, staged: &Path) -> anyhow::Result<()> {
    let componentize = find_componentize_py(dir)?;
    let work = tempfile_dir()?;
    let wit = work.join("wit");
    let sdk = work.join("sdk");
    sdk_files::write_all(&wit, sdk_files::WIT)?;
    sdk_files::write_all(&sdk, sdk_files::PYTHON_SDK)?;
    let status = Command::new(&componentize)
        .arg("-d")
        .arg(&wit)
        .args(["-w", sdk_files::PYTHON_WORLD, "componentize"])
        .arg(sdk_files::PYTHON_ENTRY)
        .arg("-p")
        .arg(dir)
        .arg("-p")
        .arg(&sdk)
        .arg("-o")
        .arg(staged)
        .status()
        .with_context(|| format!("cannot run {}", componentize.display()))?;
    let _ = std::fs::remove_dir_all(&work);
    if !status.success() {
        bail!("componentize-py failed (see its output above)");
    }
    uses::record(staged, &uses::python(dir))
}

/// `componentize-py` on PATH, else in a `.venv` of the source folder or one of its parents
/// (scripts/setup installs it into the repository's `.venv`).
fn find_componentize_py(dir: &Path) -> anyhow::Result<PathBuf> {
    if Command::new("componentize-py")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Ok(PathBuf::from("componentize-py"));
    }
    if let Some(installed) = installed_above(dir, ".venv/bin/componentize-py").next() {
        return Ok(installed);
    }
    bail!(
        "componentize-py is not installed; run `pip install componentize-py==0.25.1` (scripts/setup does it)"
    )
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

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!(
        "plughost-build-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
