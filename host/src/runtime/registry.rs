//! The module registry: which module version serves each plugin folder, swapped
//! atomically. Readers take a snapshot without locking; in-flight invocations keep
//! the version they started on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use arc_swap::ArcSwap;
use serde::Serialize;

use super::engine::Runtime;
use super::folder::ModuleFolder;
use super::loader::{self, LoadError};
use super::module::{LoadedModule, ModuleMetrics};
use crate::config::manifest::MANIFEST_FILE;

/// Modules serving now, by plugin folder name, with their HTTP mounts.
#[derive(Default)]
pub struct RoutingTable {
    modules: BTreeMap<String, Arc<LoadedModule>>,
    /// Longest prefix first.
    mounts: Vec<(String, Arc<LoadedModule>)>,
    /// Exact paths modules claim (WebSocket namespaces).
    claims: BTreeMap<String, Arc<LoadedModule>>,
}

impl RoutingTable {
    fn with(&self, folder: &str, module: Option<Arc<LoadedModule>>) -> RoutingTable {
        let mut modules = self.modules.clone();
        match module {
            Some(m) => modules.insert(folder.to_string(), m),
            None => modules.remove(folder),
        };
        let mut mounts: Vec<_> = modules
            .values()
            .filter_map(|m| {
                m.routes
                    .as_ref()
                    .map(|r| (r.prefix().to_string(), m.clone()))
            })
            .collect();
        mounts.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
        let claims = modules
            .values()
            .flat_map(|m| {
                m.context
                    .claims
                    .iter()
                    .map(|claim| (claim.path.clone(), m.clone()))
            })
            .collect();
        RoutingTable {
            modules,
            mounts,
            claims,
        }
    }

    /// The module mounted at the longest prefix of `path`, with the rest of the path.
    pub fn mount_for<'a>(&self, path: &'a str) -> Option<(&Arc<LoadedModule>, &'a str)> {
        self.mounts.iter().find_map(|(prefix, module)| {
            let rest = if prefix == "/" {
                Some(path)
            } else {
                path.strip_prefix(prefix.as_str())
            }?;
            match rest {
                "" => Some((module, "/")),
                r if r.starts_with('/') => Some((module, r)),
                _ => None,
            }
        })
    }

    /// The module that claims exactly `path` (a WebSocket namespace).
    pub fn namespace(&self, path: &str) -> Option<&Arc<LoadedModule>> {
        self.claims.get(path)
    }

    /// Every serving module.
    pub fn modules(&self) -> impl Iterator<Item = (&String, &Arc<LoadedModule>)> {
        self.modules.iter()
    }

    /// A module by name.
    pub fn by_name(&self, name: &str) -> Option<&Arc<LoadedModule>> {
        self.modules.values().find(|m| m.name() == name)
    }

    /// Why `module` (for `folder`) may not serve beside the modules serving now: names,
    /// HTTP prefixes and WebSocket namespaces are owned. A prefix may not equal, contain or
    /// lie inside another module's prefix (path segment by segment), nor a namespace lie
    /// inside another module's prefix, so no module answers paths of another. The newcomer
    /// is refused; the module already serving never is.
    fn conflict(&self, folder: &str, module: &LoadedModule) -> Option<String> {
        let others = self
            .modules
            .iter()
            .filter(|(f, other)| f.as_str() != folder && other.source.dir != module.source.dir);
        let mine = module.routes.as_ref().map(|r| r.prefix());
        for (other_folder, other) in others {
            if other.name() == module.name() {
                return Some(format!(
                    "module name '{}' is already used by folder '{other_folder}'; rename one of them",
                    module.name()
                ));
            }
            let theirs = other.routes.as_ref().map(|r| r.prefix());
            if let (Some(mine), Some(theirs)) = (mine, theirs)
                && (path_within(mine, theirs) || path_within(theirs, mine))
            {
                return Some(format!(
                    "http.prefix '{mine}' overlaps prefix '{theirs}' of module '{}' (folder \
                     '{other_folder}'); a prefix may not equal, contain or lie inside another \
                     module's prefix: choose another http.prefix",
                    other.name()
                ));
            }
            let theirs_claims = &other.context.claims;
            if let Some(claim) = module.context.claims.iter().find(|claim| {
                theirs_claims.iter().any(|c| c.path == claim.path)
                    || theirs.is_some_and(|p| path_within(&claim.path, p))
            }) {
                return Some(format!(
                    "{} '{}' is already served by module '{}', or lies inside its prefix; \
                     choose another",
                    claim.kind,
                    claim.path,
                    other.name()
                ));
            }
            if let Some(mine) = mine
                && let Some(claim) = theirs_claims.iter().find(|c| path_within(&c.path, mine))
            {
                return Some(format!(
                    "http.prefix '{mine}' contains {} '{}' of module '{}'; choose another \
                     http.prefix",
                    claim.kind,
                    claim.path,
                    other.name()
                ));
            }
        }
        None
    }
}

/// Whether `path` equals `prefix` or lies below it, segment by segment (`/a/b` is within
/// `/a`, `/ab` is not; everything is within `/`).
fn path_within(path: &str, prefix: &str) -> bool {
    prefix == "/"
        || path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// What the registry knows of one plugin folder, for the admin API and logs.
#[derive(Debug, Clone, Serialize)]
pub struct ModuleStatus {
    /// Plugin folder name.
    pub folder: String,
    /// `serving`, `failed` (never loaded) or `removed`.
    pub state: &'static str,
    /// Name, version, tenant and prefix of the serving version.
    pub serving: Option<ServingVersion>,
    /// Why the last load failed, if it did (the previous version keeps serving).
    pub last_error: Option<String>,
    /// When the state last changed, seconds since the Unix epoch.
    pub changed_at: u64,
}

/// The version that serves a folder.
#[derive(Debug, Clone, Serialize)]
pub struct ServingVersion {
    /// Module name.
    pub name: String,
    /// Module version.
    pub version: String,
    /// Tenant.
    pub tenant: String,
    /// HTTP prefix.
    pub prefix: Option<String>,
    /// Granted capabilities and scopes.
    pub grant: BTreeMap<String, Vec<String>>,
    /// Counters.
    pub metrics: Arc<ModuleMetrics>,
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// A version was loaded and now serves.
    Swapped,
    /// The files did not change.
    Unchanged,
    /// The folder is gone; its module was unmounted.
    Removed,
    /// The new files failed; the previous version (if any) keeps serving.
    Failed(String),
}

/// All modules of one plugins folder.
pub struct ModuleRegistry {
    runtime: Arc<Runtime>,
    plugins_dir: PathBuf,
    table: ArcSwap<RoutingTable>,
    statuses: Mutex<BTreeMap<String, ModuleStatus>>,
    metrics: Mutex<BTreeMap<String, Arc<ModuleMetrics>>>,
    failed_fingerprints: Mutex<BTreeMap<String, String>>,
    /// What each folder's files looked like (names, sizes, times) when last read, so an
    /// unchanged folder is not read again.
    stamps: Mutex<BTreeMap<String, FolderStamp>>,
    reloading: tokio::sync::Mutex<()>,
}

/// Path, size, modification time and inode of each entry in a module folder and its
/// sub-folders (a component may sit in `build/`, and a file written in place changes no
/// folder's time); symlinks are described, not followed.
type FolderStamp = Vec<(PathBuf, u64, i64, i64, u64)>;

/// How deep and how many entries a stamp describes: a hostile folder with a million
/// files costs the host a bounded walk per change, not a million stats. Beyond the bound
/// a change deep in the tree is seen at the next change above it.
const STAMP_DEPTH: usize = 4;
const STAMP_ENTRIES: usize = 4096;

fn stamp_of(dir: &Path) -> Option<FolderStamp> {
    use std::os::unix::fs::MetadataExt as _;
    let mut stamp = FolderStamp::new();
    let mut pending = vec![(PathBuf::new(), 0)];
    while let Some((relative, depth)) = pending.pop() {
        let entries = std::fs::read_dir(dir.join(&relative));
        let entries = match entries {
            Ok(entries) => entries,
            Err(_) if depth > 0 => continue,
            Err(_) => return None,
        };
        for entry in entries.filter_map(Result::ok) {
            if stamp.len() >= STAMP_ENTRIES {
                break;
            }
            let Ok(m) = entry.metadata() else { continue };
            let path = relative.join(entry.file_name());
            if m.is_dir() && depth + 1 < STAMP_DEPTH {
                pending.push((path.clone(), depth + 1));
            }
            stamp.push((path, m.size(), m.mtime(), m.mtime_nsec(), m.ino()));
        }
    }
    stamp.sort();
    Some(stamp)
}

impl ModuleRegistry {
    /// An empty registry for `plugins_dir`.
    pub fn new(runtime: Arc<Runtime>, plugins_dir: PathBuf) -> Arc<ModuleRegistry> {
        Arc::new(ModuleRegistry {
            runtime,
            plugins_dir,
            table: ArcSwap::default(),
            statuses: Mutex::default(),
            metrics: Mutex::default(),
            failed_fingerprints: Mutex::default(),
            stamps: Mutex::default(),
            reloading: tokio::sync::Mutex::new(()),
        })
    }

    /// The runtime.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// The plugins folder.
    pub fn plugins_dir(&self) -> &Path {
        &self.plugins_dir
    }

    /// The modules serving now; cheap, lock-free.
    pub fn snapshot(&self) -> arc_swap::Guard<Arc<RoutingTable>> {
        self.table.load()
    }

    /// Loads every module folder; a folder that fails is reported and the rest still load.
    pub async fn load_all(&self) -> std::io::Result<()> {
        let mut folders: Vec<String> = std::fs::read_dir(&self.plugins_dir)?
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|name| !name.starts_with('.'))
            .collect();
        folders.sort();
        // A folder named like its module owns that name: loaded first, so a folder that
        // sorts earlier and claims the same name is the one refused, whatever the order.
        let (rightful, rest): (Vec<String>, Vec<String>) = folders
            .into_iter()
            .partition(|folder| self.declared_name(folder).as_deref() == Some(folder));
        for folder in rightful.into_iter().chain(rest) {
            self.reload(&folder).await;
        }
        Ok(())
    }

    /// The module name `folder`'s manifest declares, if it can be read.
    fn declared_name(&self, folder: &str) -> Option<String> {
        let dir = self.plugins_dir.join(folder);
        let text = ModuleFolder::open(&dir)
            .ok()?
            .read(MANIFEST_FILE, 1 << 20)
            .ok()?;
        #[derive(serde::Deserialize)]
        struct NameOnly {
            name: String,
        }
        let parsed: NameOnly = toml::from_str(std::str::from_utf8(&text).ok()?).ok()?;
        Some(parsed.name)
    }

    /// Brings one folder up to date: loads a new or changed module and swaps it in,
    /// unmounts a removed one, or keeps the old version when the new one fails.
    pub async fn reload(&self, folder: &str) -> ReloadOutcome {
        let _one_at_a_time = self.reloading.lock().await;
        let dir = self.plugins_dir.join(folder);
        if !dir.join(MANIFEST_FILE).is_file() {
            self.stamps.lock().unwrap().remove(folder);
            return self.remove(folder);
        }
        // Nothing read when nothing changed: a failing folder is read, and reported, once
        // per change.
        let stamp = stamp_of(&dir);
        {
            let mut stamps = self.stamps.lock().unwrap();
            if stamp.is_some() && stamps.get(folder) == stamp.as_ref() {
                return ReloadOutcome::Unchanged;
            }
            match stamp {
                Some(stamp) => stamps.insert(folder.to_string(), stamp),
                None => stamps.remove(folder),
            };
        }
        let files = match loader::read_files(&dir, self.runtime.config()) {
            Ok(files) => files,
            Err(e) => return self.fail(folder, e, None),
        };
        let serving = self.table.load().modules.get(folder).cloned();
        if let Some(serving) = serving
            .as_ref()
            .filter(|m| m.source.fingerprint == files.fingerprint)
        {
            // Back to the files that serve: whatever failed in between is no longer there.
            self.failed_fingerprints.lock().unwrap().remove(folder);
            if self.has_error(folder) {
                tracing::info!(module = %serving.name(), "the folder is back to the serving version");
                self.set_status(folder, "serving", Some(serving), None);
            }
            return ReloadOutcome::Unchanged;
        }
        if self.failed_fingerprints.lock().unwrap().get(folder) == Some(&files.fingerprint) {
            return ReloadOutcome::Unchanged;
        }
        let fingerprint = files.fingerprint.clone();
        let metrics = self.metrics_for(&files.manifest.name);
        let started = std::time::Instant::now();
        let module = match loader::load(&self.runtime, &dir, files, metrics).await {
            Ok(m) => Arc::new(m),
            Err(e) => return self.fail(folder, e, Some(fingerprint)),
        };
        let current = self.table.load_full();
        if let Some(conflict) = current.conflict(folder, &module) {
            return self.fail(
                folder,
                LoadError::Conflict(format!("{}: {conflict}", dir.display())),
                Some(fingerprint),
            );
        }
        self.table
            .store(Arc::new(current.with(folder, Some(module.clone()))));
        self.rebind_subscriptions();
        self.failed_fingerprints.lock().unwrap().remove(folder);
        let ctx = &module.context;
        tracing::info!(
            module = %ctx.name, tenant = %ctx.tenant, version = %ctx.version,
            prefix = module.routes.as_ref().map(|r| r.prefix()).unwrap_or("-"),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "{} module", if serving.is_some() { "swapped in" } else { "loaded" }
        );
        self.set_status(folder, "serving", Some(&module), None);
        ReloadOutcome::Swapped
    }

    fn remove(&self, folder: &str) -> ReloadOutcome {
        let current = self.table.load_full();
        let Some(module) = current.modules.get(folder) else {
            self.statuses.lock().unwrap().remove(folder);
            return ReloadOutcome::Unchanged;
        };
        tracing::info!(module = %module.name(), tenant = %module.context.tenant, "module removed; its routes are unmounted");
        self.table.store(Arc::new(current.with(folder, None)));
        self.rebind_subscriptions();
        self.set_status(folder, "removed", None, None);
        ReloadOutcome::Removed
    }

    fn fail(&self, folder: &str, error: LoadError, fingerprint: Option<String>) -> ReloadOutcome {
        let message = error.to_string();
        let serving = self.table.load().modules.get(folder).cloned();
        match &serving {
            Some(old) => tracing::error!(
                module = %old.name(), tenant = %old.context.tenant,
                "new version rejected; version {} keeps serving: {message}", old.context.version
            ),
            None => tracing::error!(folder, "module not loaded: {message}"),
        }
        if let Some(fp) = fingerprint {
            self.failed_fingerprints
                .lock()
                .unwrap()
                .insert(folder.to_string(), fp);
        }
        let state = if serving.is_some() {
            "serving"
        } else {
            "failed"
        };
        self.set_status(folder, state, serving.as_deref(), Some(message.clone()));
        ReloadOutcome::Failed(message)
    }

    /// Tells every capability the modules serving now: a swapped module receives events
    /// and jobs on its new version, a removed one no longer receives.
    fn rebind_subscriptions(&self) {
        let table = self.table.load();
        let modules: Vec<Arc<LoadedModule>> = table.modules().map(|(_, m)| m.clone()).collect();
        for (_, capability) in self.runtime.capabilities().iter() {
            capability.serving(&modules);
        }
    }

    fn metrics_for(&self, name: &str) -> Arc<ModuleMetrics> {
        self.metrics
            .lock()
            .unwrap()
            .entry(name.to_string())
            .or_default()
            .clone()
    }

    fn set_status(
        &self,
        folder: &str,
        state: &'static str,
        module: Option<&LoadedModule>,
        error: Option<String>,
    ) {
        let serving = module.map(|m| ServingVersion {
            name: m.context.name.clone(),
            version: m.context.version.clone(),
            tenant: m.context.tenant.clone(),
            prefix: m.routes.as_ref().map(|r| r.prefix().to_string()),
            grant: m.context.grant.summary(),
            metrics: m.context.metrics.clone(),
        });
        let changed_at = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let status = ModuleStatus {
            folder: folder.to_string(),
            state,
            serving,
            last_error: error,
            changed_at,
        };
        self.statuses
            .lock()
            .unwrap()
            .insert(folder.to_string(), status);
    }

    fn has_error(&self, folder: &str) -> bool {
        self.statuses
            .lock()
            .unwrap()
            .get(folder)
            .is_some_and(|s| s.last_error.is_some())
    }

    /// What is known of every folder.
    pub fn statuses(&self) -> Vec<ModuleStatus> {
        self.statuses.lock().unwrap().values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::path_within;

    #[test]
    fn prefixes_nest_by_whole_segments() {
        assert!(path_within("/vic-hello/Ada", "/vic-hello"));
        assert!(path_within("/vic-hello", "/vic-hello"));
        assert!(!path_within("/vic-hello-2", "/vic-hello"));
        assert!(!path_within("/vic", "/vic-hello"));
        assert!(path_within("/anything", "/"));
    }
}
