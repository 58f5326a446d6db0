//! A syntax check of a Python module's files, by the CPython that componentize-py embeds
//! (3.14): the machine's own interpreter may be older and refuse newer syntax, or be
//! missing. The checker is a small component componentize-py builds once into the host's
//! cache folder; after that, a check answers in well under a second, before the ~10 s a
//! build takes.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use sha2::{Digest as _, Sha256};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::sdk_files;
use crate::runtime::compile_cache::{CompileCache, hex};

const WIT: &str = "package plughost:pycheck@0.1.0;

world checker {
  export check: func(files: list<tuple<string, string>>) -> list<string>;
}
";

const APP: &str = r#"import wit_world


class WitWorld(wit_world.WitWorld):
    def check(self, files):
        errors = []
        for name, text in files:
            try:
                compile(text, name, "exec", dont_inherit=True)
            except SyntaxError as error:
                errors.append(f"{name}:{error.lineno}: {error.msg}")
        return errors
"#;

/// Each syntax error in the module's `.py` files, as `app.py:9: expected ':'`. A checker
/// that cannot be built or run is no reason to stop the build: componentize-py reports the
/// same errors, only later.
pub fn syntax_errors(dir: &Path, componentize: &Path) -> Vec<String> {
    match check(dir, componentize) {
        Ok(errors) => errors,
        Err(e) => {
            eprintln!("(skipping the quick syntax check: {e:#})");
            Vec::new()
        }
    }
}

fn check(dir: &Path, componentize: &Path) -> anyhow::Result<Vec<String>> {
    let files = python_files(dir)?;
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let wasm = checker(componentize)?;
    let engine =
        Engine::new(Config::new().wasm_component_model(true)).map_err(anyhow::Error::from)?;
    let bytes = std::fs::read(&wasm)?;
    let cache = CompileCache::new(&engine, sdk_files::cache_root().join("tools/compiled"));
    let digest = Sha256::digest(&bytes);
    let component = match cache.load(&engine, &digest) {
        Some(component) => component,
        None => cache.compile(&engine, "the Python syntax checker", &bytes, &digest)?,
    };
    run(&engine, &component, files)
}

/// What the checker's instance sees: WASI with nothing granted.
struct Checker {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for Checker {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

fn run(
    engine: &Engine,
    component: &Component,
    files: Vec<(String, String)>,
) -> anyhow::Result<Vec<String>> {
    let mut linker = Linker::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(anyhow::Error::from)?;
    let state = Checker {
        wasi: WasiCtxBuilder::new().build(),
        table: ResourceTable::new(),
    };
    let mut store = Store::new(engine, state);
    let instance = linker
        .instantiate(&mut store, component)
        .map_err(anyhow::Error::from)?;
    let check = instance
        .get_typed_func::<(Vec<(String, String)>,), (Vec<String>,)>(&mut store, "check")
        .map_err(anyhow::Error::from)?;
    let (errors,) = check
        .call(&mut store, (files,))
        .map_err(anyhow::Error::from)?;
    Ok(errors)
}

/// The checker component, built by componentize-py on first use into the host's cache,
/// named by componentize-py's version and the checker's own source.
fn checker(componentize: &Path) -> anyhow::Result<PathBuf> {
    let version = Command::new(componentize)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    let key = hex(&Sha256::digest(format!("{version}\n{WIT}\n{APP}").as_bytes())[..8]);
    let wasm = sdk_files::cache_root()
        .join("tools")
        .join(format!("pycheck-{key}.wasm"));
    if wasm.is_file() {
        return Ok(wasm);
    }
    eprintln!("building the Python syntax checker (once)");
    let work = super::tempfile_dir()?;
    std::fs::create_dir_all(work.join("wit"))?;
    std::fs::write(work.join("wit/checker.wit"), WIT)?;
    std::fs::write(work.join("pycheck.py"), APP)?;
    let staged = work.join("pycheck.wasm");
    let output = Command::new(componentize)
        .env("RUST_BACKTRACE", "0")
        .arg("-d")
        .arg(work.join("wit"))
        .args(["-w", "checker", "componentize", "pycheck", "-p"])
        .arg(&work)
        .arg("-o")
        .arg(&staged)
        .output()
        .with_context(|| format!("cannot run {}", componentize.display()))?;
    if !output.status.success() {
        let _ = std::fs::remove_dir_all(&work);
        bail!(
            "componentize-py could not build it: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    std::fs::create_dir_all(wasm.parent().unwrap_or(Path::new(".")))?;
    std::fs::rename(&staged, &wasm).or_else(|_| std::fs::copy(&staged, &wasm).map(drop))?;
    let _ = std::fs::remove_dir_all(&work);
    Ok(wasm)
}

/// The module's `.py` files (not build output, dependencies or hidden files) as (path
/// relative to the module folder, text).
fn python_files(dir: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let mut files = Vec::new();
    super::source_files(dir, dir, &mut files)?;
    files.sort();
    files
        .into_iter()
        .filter(|relative| relative.extension().is_some_and(|e| e == "py"))
        .map(|relative| {
            let path = dir.join(&relative);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            Ok((relative.display().to_string(), text))
        })
        .collect()
}
