//! Compiled components on disk, keyed by the component's hash and the engine's
//! compatibility hash (wasmtime version and settings), so restarts do not recompile.

use std::hash::{Hash, Hasher};
use std::path::PathBuf;

use anyhow::Context as _;
use wasmtime::Engine;
use wasmtime::component::Component;

/// A directory of precompiled components.
pub struct CompileCache {
    dir: PathBuf,
    engine_key: String,
}

impl CompileCache {
    /// A cache in `dir` for code compiled by `engine`.
    pub fn new(engine: &Engine, dir: PathBuf) -> CompileCache {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        CompileCache {
            dir,
            engine_key: format!("{:016x}", hasher.finish()),
        }
    }

    /// The cached compilation of the component whose SHA-256 is `digest`, if there is a
    /// usable one.
    pub fn load(&self, engine: &Engine, digest: &[u8]) -> Option<Component> {
        let path = self.path(digest);
        if !path.exists() {
            return None;
        }
        match deserialize_file(engine, &path) {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!(path = %path.display(), "recompiling: the cached code is unusable: {e:#}");
                None
            }
        }
    }

    /// Compiles module `name`'s component `bytes` (SHA-256 `digest`) and stores the result.
    pub fn compile(
        &self,
        engine: &Engine,
        name: &str,
        bytes: &[u8],
        digest: &[u8],
    ) -> anyhow::Result<Component> {
        // A Python or JavaScript component takes seconds: say so, or a first start looks hung.
        let started = std::time::Instant::now();
        tracing::info!(
            module = name,
            kib = bytes.len() / 1024,
            "compiling the component (not in the compile cache yet)"
        );
        let compiled = engine.precompile_component(bytes)?;
        tracing::info!(
            module = name,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "compiled the component"
        );
        let path = self.path(digest);
        if let Err(e) = self.store(&path, &compiled) {
            tracing::warn!(path = %path.display(), "cannot cache compiled code: {e:#}");
        }
        deserialize(engine, &compiled)
    }

    fn path(&self, digest: &[u8]) -> PathBuf {
        self.dir
            .join(format!("{}-{}.cwasm", hex(digest), self.engine_key))
    }

    fn store(&self, path: &std::path::Path, compiled: &[u8]) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        // Write then rename, so a concurrent reader never sees half a file.
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, compiled)?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    }
}

#[allow(unsafe_code)]
fn deserialize_file(engine: &Engine, path: &std::path::Path) -> anyhow::Result<Component> {
    // SAFETY: the file was written by `store` from `Engine::precompile_component` output of an
    // engine with the same compatibility hash (part of its name), inside the host's own
    // cache directory; wasmtime still checks its header and version before use.
    Ok(unsafe { Component::deserialize_file(engine, path)? })
}

#[allow(unsafe_code)]
fn deserialize(engine: &Engine, compiled: &[u8]) -> anyhow::Result<Component> {
    // SAFETY: `compiled` came from `Engine::precompile_component` on this very engine.
    Ok(unsafe { Component::deserialize(engine, compiled)? })
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Cranelift's incremental cache on disk: compiled functions by the hash of their input.
/// Python and JavaScript components carry the same interpreter, so a second one, or a
/// rebuild after an edit (which changes the snapshot, not the interpreter's code),
/// compiles only what differs.
#[derive(Debug)]
pub struct FunctionCache {
    dir: PathBuf,
}

impl FunctionCache {
    /// A cache of compiled functions in `dir`.
    pub fn new(dir: PathBuf) -> FunctionCache {
        FunctionCache { dir }
    }

    fn path(&self, key: &[u8]) -> PathBuf {
        use sha2::Digest as _;
        let name = hex(&sha2::Sha256::digest(key));
        self.dir.join(&name[..2]).join(&name[2..])
    }
}

impl wasmtime::CacheStore for FunctionCache {
    fn get(&self, key: &[u8]) -> Option<std::borrow::Cow<'_, [u8]>> {
        std::fs::read(self.path(key)).ok().map(Into::into)
    }

    fn insert(&self, key: &[u8], value: Vec<u8>) -> bool {
        let path = self.path(key);
        let Some(parent) = path.parent() else {
            return false;
        };
        // Write then rename: a concurrent compile never reads half an entry.
        let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(parent).is_ok()
            && std::fs::write(&tmp, value).is_ok()
            && std::fs::rename(&tmp, &path).is_ok()
    }
}
