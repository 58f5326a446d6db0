//! Loads one module folder: manifest, grant, limits, component (compiled off the request
//! path, through the cache), pre-linking, routes, and a validating instantiation.
//! Every error names the file and says what to do.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use wasmtime::component::InstancePre;
use wasmtime_wasi_http::p2::bindings::ProxyIndices;
use wasmtime_wasi_http::p3::bindings::ServiceIndices;

use super::bindings::guest_exports;
use super::capability::{CapabilityDescriptor, configure, unknown};
use super::compile_cache::hex;
use super::engine::Runtime;
use super::extensions::ModuleParts;
use super::folder::ModuleFolder;
use super::grants::Grant;
use super::limits::InvocationLimits;
use super::module::{
    LoadedModule, ModuleContext, ModuleExports, ModuleMetrics, ModuleSource, StandardHttp,
};
use super::routes::ModuleRoutes;
use super::state::InvocationState;
use super::warm::WarmPool;
use crate::config::manifest::MANIFEST_FILE;
use crate::config::{HostConfig, Manifest};

/// Why a module folder could not be loaded.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LoadError {
    /// `plugin.toml` is missing, unreadable or invalid.
    #[error("{0}")]
    Manifest(String),
    /// The component file is missing, corrupt, or does not fit the host.
    #[error("{path}: {message}")]
    Component {
        /// The component file.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },
    /// The module conflicts with another loaded module.
    #[error("{0}")]
    Conflict(String),
    /// A capability's work at load failed (a model cannot be migrated: type change,
    /// foreign table, database down; the jobs table cannot be made).
    #[error("{path}: {message}")]
    Capability {
        /// The manifest.
        path: PathBuf,
        /// The capability's section, what is wrong and what to do.
        message: String,
    },
}

/// A module folder's files, read but not yet compiled.
pub struct ModuleFiles {
    /// The parsed manifest.
    pub manifest: Manifest,
    /// The component file.
    pub component_path: PathBuf,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// Hash of manifest and component.
    pub fingerprint: String,
}

/// Largest `plugin.toml` the host reads.
const MAX_MANIFEST_BYTES: u64 = 1 << 20;

/// Reads and validates a folder's manifest and component bytes. Both are opened beneath
/// the folder (no absolute paths, `..`, symlinks out, FIFOs or devices) with a size limit
/// checked before reading.
pub fn read_files(dir: &Path, host: &HostConfig) -> Result<ModuleFiles, LoadError> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let folder = ModuleFolder::open(dir)
        .map_err(|e| LoadError::Manifest(format!("{}: {e}", dir.display())))?;
    let manifest_text = folder
        .read(MANIFEST_FILE, MAX_MANIFEST_BYTES)
        .map_err(|e| LoadError::Manifest(format!("{}: {e}", manifest_path.display())))?;
    let manifest = Manifest::parse(&String::from_utf8_lossy(&manifest_text), &manifest_path)
        .map_err(LoadError::Manifest)?;
    let component_name = component_name(&folder, dir, &manifest)?;
    let component_path = dir.join(&component_name);
    let limit = host.limits.component_mib << 20;
    let bytes = folder
        .read(&component_name, limit)
        .map_err(|e| LoadError::Component {
            path: component_path.clone(),
            message: format!("{e}; set `component` in plugin.toml to a .wasm file of the folder"),
        })?;
    let mut hasher = Sha256::new();
    hasher.update(&manifest_text);
    hasher.update(&bytes);
    let fingerprint = hex(&hasher.finalize());
    Ok(ModuleFiles {
        manifest,
        component_path,
        bytes,
        fingerprint,
    })
}

/// The manifest's `component`, or the folder's only `.wasm` file.
fn component_name(
    folder: &ModuleFolder,
    dir: &Path,
    manifest: &Manifest,
) -> Result<String, LoadError> {
    if let Some(name) = &manifest.component {
        return Ok(name.clone());
    }
    let wasm = folder
        .files_ending_with(".wasm")
        .map_err(|e| LoadError::Manifest(format!("cannot list {}: {e}", dir.display())))?;
    match wasm.as_slice() {
        [one] => Ok(one.clone()),
        [] => Err(LoadError::Manifest(format!(
            "{}: no .wasm component in the folder; build the module (`host build`) or set `component`",
            dir.join(MANIFEST_FILE).display()
        ))),
        _ => Err(LoadError::Manifest(format!(
            "{}: several .wasm files in the folder; name the one to load with `component = \"...\"`",
            dir.join(MANIFEST_FILE).display()
        ))),
    }
}

/// Turns read files into a module ready to serve: resolves the grant, compiles,
/// pre-links, builds routes and instantiates once to validate.
pub async fn load(
    runtime: &Arc<Runtime>,
    dir: &Path,
    files: ModuleFiles,
    metrics: Arc<ModuleMetrics>,
) -> Result<LoadedModule, LoadError> {
    let context = Arc::new(context(
        runtime.config(),
        runtime.descriptors(),
        dir,
        &files.manifest,
        metrics,
    )?);
    let path = files.component_path.clone();
    let component_error = |message: String| LoadError::Component {
        path: path.clone(),
        message,
    };
    let rt = runtime.clone();
    let name = context.name.clone();
    let component = tokio::task::spawn_blocking(move || rt.compile(&name, &files.bytes))
        .await
        .map_err(|e| component_error(format!("compilation crashed: {e}")))?
        .map_err(|e| component_error(format!("not a valid WebAssembly component: {e:#}")))?;
    let instance_pre = runtime
        .linker_for(&component)
        .instantiate_pre(&component)
        .map_err(|e| {
            component_error(format!(
                "cannot be linked: {e:#}; it imports something this host does not provide"
            ))
        })?;
    let exports =
        exports(&instance_pre, runtime.descriptors(), &files.manifest).map_err(component_error)?;
    let routes = match &files.manifest.http {
        Some(http) => Some(ModuleRoutes::new(http).map_err(|e| {
            LoadError::Manifest(format!("{}: {e}", dir.join(MANIFEST_FILE).display()))
        })?),
        None => None,
    };
    let warm = WarmPool::for_settings(&files.manifest.instances, runtime.warm_pools());
    let module = LoadedModule {
        context,
        pre: instance_pre,
        exports,
        routes,
        source: ModuleSource {
            dir: dir.to_path_buf(),
            component: files.component_path,
            fingerprint: files.fingerprint,
        },
        warm,
    };
    module
        .validate(runtime)
        .await
        .map_err(|e| component_error(format!("failed its validating instantiation: {e}")))?;
    for (_, capability) in runtime.capabilities().iter() {
        capability
            .load(&module)
            .await
            .map_err(|message| LoadError::Capability {
                path: dir.join(MANIFEST_FILE),
                message,
            })?;
    }
    Ok(module)
}

/// Looks up the handlers the component exports; those its manifest relies on must be there.
fn exports(
    pre: &InstancePre<InvocationState>,
    list: &[CapabilityDescriptor],
    manifest: &Manifest,
) -> Result<ModuleExports, String> {
    let mut exports = ModuleExports {
        http: guest_exports::HttpHandler::new(pre).ok(),
        events: guest_exports::EventHandler::new(pre).ok(),
        jobs: guest_exports::JobHandler::new(pre).ok(),
        ws: guest_exports::WsHandler::new(pre).ok(),
        wasi_http: None,
    };
    if exports.http.is_none() {
        exports.wasi_http = ProxyIndices::new(pre)
            .map(StandardHttp::P2)
            .or_else(|_| ServiceIndices::new(pre).map(StandardHttp::P3))
            .ok();
    }
    standard_http(&exports, manifest)?;
    if manifest.http.is_some() && !exports.has("http-handler") && exports.wasi_http.is_none() {
        return Err(
            "declares [http] but exports neither plughost:platform/http-handler@0.1.0 (build \
             it with a guest SDK) nor wasi:http/incoming-handler@0.2.x or \
             wasi:http/handler@0.3.0 (a standard component)"
                .into(),
        );
    }
    let missing = list
        .iter()
        .filter_map(|c| c.handler.as_ref())
        .find(|h| (h.declared)(manifest) && !exports.has(h.export));
    if let Some(handler) = missing {
        return Err(format!(
            "declares {} but does not export plughost:platform/{}@0.1.0; \
             build it against the `service` world (the Rust SDK does)",
            handler.declared_by, handler.export
        ));
    }
    Ok(exports)
}

/// A standard `wasi:http` component answers every path under its prefix: it needs the
/// prefix, and routes or public files (which the host would match first) are refused.
fn standard_http(exports: &ModuleExports, manifest: &Manifest) -> Result<(), String> {
    if exports.wasi_http.is_none() {
        return Ok(());
    }
    let Some(http) = &manifest.http else {
        return Err(
            "is a wasi:http component (it exports wasi:http's handler) but its \
             manifest has no [http] section; add `[http]` with `prefix = \"/NAME\"`"
                .into(),
        );
    };
    if !http.routes.is_empty() || http.public.is_some() {
        return Err(
            "is a wasi:http component: it answers every path under its prefix itself; \
             remove `routes` and `public` from [http]"
                .into(),
        );
    }
    Ok(())
}

/// Resolves a manifest against the host configuration: tenant, grant, limits, config values.
pub fn context(
    host: &HostConfig,
    list: &[CapabilityDescriptor],
    dir: &Path,
    manifest: &Manifest,
    metrics: Arc<ModuleMetrics>,
) -> Result<ModuleContext, LoadError> {
    let manifest_path = dir.join(MANIFEST_FILE);
    let fail = |e: String| LoadError::Manifest(format!("{}: {e}", manifest_path.display()));
    for capability in manifest.capabilities.keys() {
        if !list.iter().any(|c| c.name == capability) {
            return Err(fail(unknown(list, capability)));
        }
    }
    let folder = dir
        .file_name()
        .and_then(|f| f.to_str())
        .ok_or_else(|| fail("the module folder's name is not UTF-8".into()))?;
    let tenant_name = host.tenant_of(folder).map_err(fail)?;
    if let Some(claimed) = &manifest.tenant
        && claimed != tenant_name
    {
        return Err(fail(format!(
            "the manifest says tenant '{claimed}' but host.toml assigns the folder '{folder}' to \
             tenant '{tenant_name}'; a module cannot choose its tenant: remove `tenant` from \
             plugin.toml or ask the operator to assign the folder to '{claimed}'"
        )));
    }
    let tenant = &host.tenants[tenant_name];
    let (grant, withheld) = Grant::resolve(&manifest.capabilities, tenant_name, tenant);
    for w in withheld {
        tracing::warn!(
            module = %manifest.name, tenant = %w.tenant,
            "the module requests '{}' but its tenant may not be granted it; its calls will be denied",
            w.capability
        );
    }
    let limits = InvocationLimits::resolve(&host.limits, &manifest.limits).map_err(fail)?;
    let mut config = manifest.config.clone();
    if let Some(overrides) = host.modules.get(&manifest.name) {
        config.extend(overrides.config.clone());
    }
    let mut context = ModuleContext {
        parts: ModuleParts::default(),
        claims: Vec::new(),
        name: manifest.name.clone(),
        version: manifest.version.clone(),
        tenant: tenant_name.to_string(),
        grant,
        config,
        limits,
        metrics,
        max_queued_jobs: tenant.max_queued_jobs,
        dev_sources: host.dev_sources.get(&manifest.name).cloned(),
    };
    configure(list, manifest, &mut context).map_err(fail)?;
    Ok(context)
}
