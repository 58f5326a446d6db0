//! `host dev [DIR]`: builds every module source under DIR into DIR/plugins, serves them, and
//! watches the sources: a module whose files change is rebuilt and hot-swapped by the
//! server's own plugin watcher. A failed build prints its errors once, in a few short lines,
//! and the previous version keeps serving.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args;
use notify::{RecursiveMode, Watcher};

use super::build::{self, How, Source};
use super::run::{self, RunArgs};

/// Quiet time after the last source change before rebuilding: an editor's save is
/// several events.
const SETTLE: Duration = Duration::from_millis(50);

/// Arguments of `host dev`.
#[derive(Args)]
pub struct DevArgs {
    /// Folder holding the module sources (as for `host build`); built modules go to DIR/plugins.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Address to listen on (overrides host.toml); default 127.0.0.1:8080.
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Database for the orm capability (overrides host.toml); default: an SQLite file
    /// DIR/data/plughost.db.
    #[arg(long, env = "PLUGHOST_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Where compiled code is cached (overrides host.toml).
    #[arg(long, env = "PLUGHOST_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
}

/// Builds, serves and watches until Ctrl-C.
pub fn run(args: DevArgs) -> anyhow::Result<()> {
    let dir = std::path::absolute(&args.dir)
        .with_context(|| format!("cannot resolve {}", args.dir.display()))?;
    let sources = build::find_all(&dir)?;
    if sources.is_empty() {
        bail!(
            "no module sources under {}: create one with `host new NAME --lang rust|python|c|js|go`",
            dir.display()
        );
    }
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins)
        .with_context(|| format!("cannot create {}", plugins.display()))?;
    let mut builder = Builder::new(&dir, &plugins);
    for source in &sources {
        builder.build(source, "first build");
    }
    let dev_sources = python_sources(&sources);
    let _watch = watch_sources(builder)?;
    let run_args = RunArgs {
        plugins,
        config: None,
        listen: args.listen,
        database_url: args.database_url,
        backplane: None,
        cache_dir: args.cache_dir,
        admin_token: None,
    };
    run::run_with(run_args, |config| config.dev_sources = dev_sources)
}

/// The Python modules by name with their source folders: the host mounts each into its
/// instances, which import the files afresh, so an edit answers before its rebuild is done.
fn python_sources(sources: &[Source]) -> BTreeMap<String, PathBuf> {
    sources
        .iter()
        .filter(|s| s.is_python())
        .filter_map(|s| {
            let manifest = crate::config::Manifest::load(&s.dir).ok()?;
            Some((manifest.name, s.dir.clone()))
        })
        .collect()
}

/// Builds modules into the plugins folder, remembering each one's last errors so a
/// failure that repeats is not printed again in full.
struct Builder {
    root: PathBuf,
    plugins: PathBuf,
    how: How,
    last_errors: BTreeMap<PathBuf, String>,
}

impl Builder {
    fn new(root: &Path, plugins: &Path) -> Builder {
        Builder {
            root: root.to_path_buf(),
            plugins: plugins.to_path_buf(),
            how: How {
                dev: true,
                ..How::for_root(root, true)
            },
            last_errors: BTreeMap::new(),
        }
    }

    /// Builds one module; the server's plugin watcher swaps it in once its files land.
    fn build(&mut self, source: &Source, why: &str) {
        let started = Instant::now();
        let name = source.dir.file_name().unwrap_or_default().to_string_lossy();
        eprintln!("dev: {name}: {why}");
        match build::build_one(source, &self.plugins, &self.how) {
            Ok(build::Outcome::UpToDate) => {
                self.last_errors.remove(&source.dir);
            }
            Ok(build::Outcome::Built) => {
                self.last_errors.remove(&source.dir);
                eprintln!(
                    "dev: {name} built in {:.1} s; the server swaps it in",
                    started.elapsed().as_secs_f64()
                );
            }
            Err(error) => {
                let text = format!("{error:#}");
                if self.last_errors.get(&source.dir) == Some(&text) {
                    eprintln!(
                        "dev: {name} still fails with the same errors; the previous version keeps serving"
                    );
                } else {
                    eprintln!(
                        "dev: {name} failed to build; the previous version keeps serving:\n{}",
                        error.root_cause()
                    );
                    self.last_errors.insert(source.dir.clone(), text);
                }
            }
        }
    }

    /// Rebuilds the modules the changed `paths` belong to (new module folders included).
    fn rebuild(&mut self, paths: &BTreeSet<PathBuf>) {
        let sources = match build::find_all(&self.root) {
            Ok(sources) => sources,
            Err(e) => {
                eprintln!("dev: cannot look for module sources: {e:#}");
                return;
            }
        };
        for source in sources {
            let changed: Vec<&PathBuf> = paths
                .iter()
                .filter(|p| p.starts_with(&source.dir))
                .collect();
            let Some(first) = changed.first() else {
                continue;
            };
            let shown = first.strip_prefix(&source.dir).unwrap_or(first).display();
            let why = match changed.len() {
                1 => format!("{shown} changed"),
                n => format!("{shown} and {} more changed", n - 1),
            };
            self.build(&source, &why);
        }
    }
}

/// Watches `builder`'s root on a thread of its own; dropping the watcher stops it.
fn watch_sources(mut builder: Builder) -> anyhow::Result<notify::RecommendedWatcher> {
    let (tx, rx) = mpsc::channel::<PathBuf>();
    let root = builder.root.clone();
    let watched = root.clone();
    let mut watcher =
        notify::recommended_watcher(move |event: notify::Result<notify::Event>| match event {
            Ok(event) if crate::runtime::watcher::is_change(&event.kind) => {
                for path in event.paths {
                    if is_source(&watched, &path) {
                        let _ = tx.send(path);
                    }
                }
            }
            Ok(_) => {}
            Err(e) => eprintln!("dev: source watch error: {e}"),
        })
        .context("cannot create the source watcher")?;
    watcher
        .watch(&root, RecursiveMode::Recursive)
        .with_context(|| format!("cannot watch {}", root.display()))?;
    std::thread::Builder::new()
        .name("dev-rebuild".into())
        .spawn(move || {
            while let Ok(first) = rx.recv() {
                let mut paths = BTreeSet::from([first]);
                while let Ok(path) = rx.recv_timeout(SETTLE) {
                    paths.insert(path);
                }
                builder.rebuild(&paths);
            }
        })
        .context("cannot start the rebuild thread")?;
    eprintln!("dev: watching {} for source changes", root.display());
    Ok(watcher)
}

/// Whether a changed path is a module's source: not build output, dependencies or a
/// hidden file (version control, an editor's swap file).
fn is_source(root: &Path, path: &Path) -> bool {
    let Ok(rest) = path.strip_prefix(root) else {
        return false;
    };
    rest.components().all(|part| {
        let name = part.as_os_str().to_str().unwrap_or(".");
        !name.starts_with('.') && !name.ends_with('~') && !build::SKIP.contains(&name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_output_dependencies_and_hidden_files_are_not_sources() {
        let root = Path::new("/w");
        assert!(is_source(root, Path::new("/w/hello/src/lib.rs")));
        assert!(is_source(root, Path::new("/w/hello/app.py")));
        assert!(!is_source(root, Path::new("/w/target/release/x.wasm")));
        assert!(!is_source(root, Path::new("/w/plugins/hello/hello.wasm")));
        assert!(!is_source(root, Path::new("/w/hello/__pycache__/app.pyc")));
        assert!(!is_source(root, Path::new("/w/hello/.app.py.swp")));
        assert!(!is_source(root, Path::new("/w/hello/app.py~")));
        assert!(!is_source(root, Path::new("/w/.git/index")));
        assert!(!is_source(root, Path::new("/elsewhere/app.py")));
    }
}
