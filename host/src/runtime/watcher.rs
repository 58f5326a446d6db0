//! Hot swap: watches the plugins folder and reloads the module folders that change.
//! Events are gathered for a short quiet period so a file written in several steps
//! is loaded once.

use std::collections::BTreeSet;
use std::path::{Component, Path};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use notify::event::{MetadataKind, ModifyKind};
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use super::registry::ModuleRegistry;

/// Quiet time after the last change before reloading.
const SETTLE: Duration = Duration::from_millis(75);

/// Keeps the watch alive; dropping it stops hot swap.
pub struct PluginWatcher {
    _watcher: notify::RecommendedWatcher,
}

/// Starts watching the registry's plugins folder.
pub fn watch(registry: Arc<ModuleRegistry>) -> anyhow::Result<PluginWatcher> {
    let root = registry
        .plugins_dir()
        .canonicalize()
        .with_context(|| format!("cannot watch {}", registry.plugins_dir().display()))?;
    let (tx, rx) = mpsc::unbounded_channel::<String>();
    let watched = root.clone();
    let mut watcher =
        notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
            Ok(event) if is_change(&event.kind) => {
                for path in &event.paths {
                    if let Some(folder) = folder_of(&watched, path) {
                        let _ = tx.send(folder);
                    }
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("plugin folder watch error: {e}"),
        })
        .context("cannot create the plugin folder watcher")?;
    watcher
        .watch(&root, RecursiveMode::Recursive)
        .with_context(|| format!("cannot watch {}", root.display()))?;
    tokio::spawn(reload_changed(registry, rx));
    tracing::info!(dir = %root.display(), "watching for module changes");
    Ok(PluginWatcher { _watcher: watcher })
}

async fn reload_changed(registry: Arc<ModuleRegistry>, mut rx: mpsc::UnboundedReceiver<String>) {
    while let Some(first) = rx.recv().await {
        let mut folders = BTreeSet::from([first]);
        while let Ok(Some(folder)) = tokio::time::timeout(SETTLE, rx.recv()).await {
            folders.insert(folder);
        }
        for folder in folders {
            registry.reload(&folder).await;
        }
    }
}

/// Whether an event is a change of content or names (a write, create, rename, removal):
/// opening and reading files, the host's own included, is not.
pub fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(_) => false,
        EventKind::Modify(ModifyKind::Metadata(MetadataKind::AccessTime)) => false,
        EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) | EventKind::Any => true,
        EventKind::Other => false,
    }
}

/// The plugin folder a changed path belongs to (its first component under the root).
fn folder_of(root: &Path, path: &Path) -> Option<String> {
    let rest = path.strip_prefix(root).ok()?;
    match rest.components().next()? {
        Component::Normal(name) => {
            let name = name.to_str()?;
            (!name.starts_with('.')).then(|| name.to_string())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_not_changes_and_writes_renames_and_removals_are() {
        use notify::event::{
            AccessKind, AccessMode, CreateKind, DataChange, RemoveKind, RenameMode,
        };
        assert!(!is_change(&EventKind::Access(AccessKind::Open(
            AccessMode::Read
        ))));
        assert!(!is_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        assert!(!is_change(&EventKind::Modify(ModifyKind::Metadata(
            MetadataKind::AccessTime
        ))));
        assert!(is_change(&EventKind::Modify(ModifyKind::Data(
            DataChange::Any
        ))));
        assert!(is_change(&EventKind::Modify(ModifyKind::Name(
            RenameMode::To
        ))));
        assert!(is_change(&EventKind::Create(CreateKind::File)));
        assert!(is_change(&EventKind::Remove(RemoveKind::Folder)));
    }

    #[test]
    fn a_change_is_attributed_to_its_top_level_folder() {
        let root = Path::new("/p");
        assert_eq!(
            folder_of(root, Path::new("/p/hello/hello.wasm")).as_deref(),
            Some("hello")
        );
        assert_eq!(
            folder_of(root, Path::new("/p/hello")).as_deref(),
            Some("hello")
        );
        assert_eq!(folder_of(root, Path::new("/p")), None);
        assert_eq!(folder_of(root, Path::new("/p/.tmp/x")), None);
        assert_eq!(folder_of(root, Path::new("/elsewhere/x")), None);
    }
}
