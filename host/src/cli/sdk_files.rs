//! The WIT and the guest SDKs (Python, C, JavaScript, Go), embedded so `host build` and
//! `host new` work from anywhere.

use std::path::{Path, PathBuf};

use anyhow::Context as _;

/// The WIT package the guests target.
pub const WIT: &[(&str, &str)] = &[
    ("world.wit", include_str!("../../../wit/world.wit")),
    ("types.wit", include_str!("../../../wit/types.wit")),
    ("log.wit", include_str!("../../../wit/log.wit")),
    ("config.wit", include_str!("../../../wit/config.wit")),
    ("http.wit", include_str!("../../../wit/http.wit")),
    ("orm.wit", include_str!("../../../wit/orm.wit")),
    ("events.wit", include_str!("../../../wit/events.wit")),
    ("queue.wit", include_str!("../../../wit/queue.wit")),
    ("ws.wit", include_str!("../../../wit/ws.wit")),
    ("storage.wit", include_str!("../../../wit/storage.wit")),
    ("mail.wit", include_str!("../../../wit/mail.wit")),
];

/// The Python guest SDK package `plughost`.
pub const PYTHON_SDK: &[(&str, &str)] = &[
    (
        "plughost/__init__.py",
        include_str!("../../../guest-sdk/python/plughost/__init__.py"),
    ),
    (
        "plughost/http.py",
        include_str!("../../../guest-sdk/python/plughost/http.py"),
    ),
    (
        "plughost/config.py",
        include_str!("../../../guest-sdk/python/plughost/config.py"),
    ),
    (
        "plughost/log.py",
        include_str!("../../../guest-sdk/python/plughost/log.py"),
    ),
    (
        "plughost/events.py",
        include_str!("../../../guest-sdk/python/plughost/events.py"),
    ),
    (
        "plughost/queue.py",
        include_str!("../../../guest-sdk/python/plughost/queue.py"),
    ),
    (
        "plughost/orm.py",
        include_str!("../../../guest-sdk/python/plughost/orm.py"),
    ),
    (
        "plughost/ws.py",
        include_str!("../../../guest-sdk/python/plughost/ws.py"),
    ),
    (
        "plughost/storage.py",
        include_str!("../../../guest-sdk/python/plughost/storage.py"),
    ),
    (
        "plughost/mail.py",
        include_str!("../../../guest-sdk/python/plughost/mail.py"),
    ),
    (
        "plughost/_defaults.py",
        include_str!("../../../guest-sdk/python/plughost/_defaults.py"),
    ),
    (
        PYTHON_ENTRY_FILE,
        include_str!("../../../guest-sdk/python/plughost_component.py"),
    ),
    (
        "plughost_component_dev.py",
        include_str!("../../../guest-sdk/python/plughost_component_dev.py"),
    ),
];

/// The module componentize-py builds: the module's `app` plus defaults for the handlers it
/// does not define.
pub const PYTHON_ENTRY: &str = "plughost_component";
const PYTHON_ENTRY_FILE: &str = "plughost_component.py";

/// The module `host dev` builds instead: the same, and each instance imports the module's
/// files afresh from the folder the host mounts for it (guest-sdk/python/plughost_component_dev.py).
pub const PYTHON_DEV_ENTRY: &str = "plughost_component_dev";

/// The world Python modules are built for: every handler export (HTTP, events, jobs,
/// WebSockets); the host calls only those the manifest declares.
pub const PYTHON_WORLD: &str = "plughost:platform/service@0.1.0";

/// The C guest SDK: compiled with every C module, over bindings generated at build time.
pub const C_SDK: &[(&str, &str)] = &[
    (
        "plughost.h",
        include_str!("../../../guest-sdk/c/plughost.h"),
    ),
    (
        "plughost.c",
        include_str!("../../../guest-sdk/c/plughost.c"),
    ),
];

/// The world C modules are built for: every handler export, with the SDK's defaults for
/// the handlers a module does not define.
pub const C_WORLD: &str = "plughost:platform/service@0.1.0";

/// The JavaScript guest SDK package `plughost` (guest-sdk/js/src), bundled into every JS
/// module by esbuild.
pub const JS_SDK: &[(&str, &str)] = &[
    (
        "index.js",
        include_str!("../../../guest-sdk/js/src/index.js"),
    ),
    ("http.js", include_str!("../../../guest-sdk/js/src/http.js")),
    ("log.js", include_str!("../../../guest-sdk/js/src/log.js")),
    (
        "config.js",
        include_str!("../../../guest-sdk/js/src/config.js"),
    ),
    ("orm.js", include_str!("../../../guest-sdk/js/src/orm.js")),
    (
        "events.js",
        include_str!("../../../guest-sdk/js/src/events.js"),
    ),
    (
        "queue.js",
        include_str!("../../../guest-sdk/js/src/queue.js"),
    ),
    ("ws.js", include_str!("../../../guest-sdk/js/src/ws.js")),
    (
        "storage.js",
        include_str!("../../../guest-sdk/js/src/storage.js"),
    ),
    ("mail.js", include_str!("../../../guest-sdk/js/src/mail.js")),
    (
        "_defaults.js",
        include_str!("../../../guest-sdk/js/src/_defaults.js"),
    ),
    (
        JS_ENTRY,
        include_str!("../../../guest-sdk/js/src/component.js"),
    ),
];

/// The file esbuild starts from: the module's app (as `plughost-app`) plus defaults for the
/// handlers it does not export.
pub const JS_ENTRY: &str = "component.js";

/// The world JS modules are built for: every handler export, like Python's.
pub const JS_WORLD: &str = "plughost:platform/service@0.1.0";

/// The Go guest SDK (package `plughost`, guest-sdk/go/plughost) and the support package the
/// Go bindings use (`go.bytecodealliance.org/pkg` v0.4.0 from the wit-bindgen-go crate,
/// Apache-2.0 WITH LLVM-exception, guest-sdk/go/witpkg), compiled with every Go module.
pub const GO_SDK: &[(&str, &str)] = &[
    (
        "plughost.go",
        include_str!("../../../guest-sdk/go/plughost/plughost.go"),
    ),
    (
        "http.go",
        include_str!("../../../guest-sdk/go/plughost/http.go"),
    ),
    (
        "log.go",
        include_str!("../../../guest-sdk/go/plughost/log.go"),
    ),
    (
        "orm.go",
        include_str!("../../../guest-sdk/go/plughost/orm.go"),
    ),
    (
        "events.go",
        include_str!("../../../guest-sdk/go/plughost/events.go"),
    ),
    (
        "ws.go",
        include_str!("../../../guest-sdk/go/plughost/ws.go"),
    ),
    (
        "storage.go",
        include_str!("../../../guest-sdk/go/plughost/storage.go"),
    ),
    (
        "mail.go",
        include_str!("../../../guest-sdk/go/plughost/mail.go"),
    ),
    (
        "handlers.go",
        include_str!("../../../guest-sdk/go/plughost/handlers.go"),
    ),
    (
        "witpkg/go.mod",
        include_str!("../../../guest-sdk/go/witpkg/go.mod"),
    ),
    (
        "witpkg/LICENSE",
        include_str!("../../../guest-sdk/go/witpkg/LICENSE"),
    ),
    (
        "witpkg/README.md",
        include_str!("../../../guest-sdk/go/witpkg/README.md"),
    ),
    (
        "witpkg/wit/async/async.go",
        include_str!("../../../guest-sdk/go/witpkg/wit/async/async.go"),
    ),
    (
        "witpkg/wit/async/empty.s",
        include_str!("../../../guest-sdk/go/witpkg/wit/async/empty.s"),
    ),
    (
        "witpkg/wit/runtime/runtime.go",
        include_str!("../../../guest-sdk/go/witpkg/wit/runtime/runtime.go"),
    ),
    (
        "witpkg/wit/runtime/empty.s",
        include_str!("../../../guest-sdk/go/witpkg/wit/runtime/empty.s"),
    ),
    (
        "witpkg/wit/types/future.go",
        include_str!("../../../guest-sdk/go/witpkg/wit/types/future.go"),
    ),
    (
        "witpkg/wit/types/option.go",
        include_str!("../../../guest-sdk/go/witpkg/wit/types/option.go"),
    ),
    (
        "witpkg/wit/types/result.go",
        include_str!("../../../guest-sdk/go/witpkg/wit/types/result.go"),
    ),
    (
        "witpkg/wit/types/stream.go",
        include_str!("../../../guest-sdk/go/witpkg/wit/types/stream.go"),
    ),
    (
        "witpkg/wit/types/tuple.go",
        include_str!("../../../guest-sdk/go/witpkg/wit/types/tuple.go"),
    ),
    (
        "witpkg/wit/types/unit.go",
        include_str!("../../../guest-sdk/go/witpkg/wit/types/unit.go"),
    ),
];

/// The world Go modules are built for: every handler export, with the SDK's defaults for
/// the handlers a module does not register.
pub const GO_WORLD: &str = "plughost:platform/service@0.1.0";

/// The Rust guest SDK crate `plughost-sdk` (its WIT is [`WIT`], written to `wit/`).
pub const RUST_SDK: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../../../guest-sdk/rust/Cargo.toml"),
    ),
    (
        "README.md",
        include_str!("../../../guest-sdk/rust/README.md"),
    ),
    (
        "src/lib.rs",
        include_str!("../../../guest-sdk/rust/src/lib.rs"),
    ),
    (
        "src/config.rs",
        include_str!("../../../guest-sdk/rust/src/config.rs"),
    ),
    (
        "src/events.rs",
        include_str!("../../../guest-sdk/rust/src/events.rs"),
    ),
    (
        "src/http.rs",
        include_str!("../../../guest-sdk/rust/src/http.rs"),
    ),
    (
        "src/log.rs",
        include_str!("../../../guest-sdk/rust/src/log.rs"),
    ),
    (
        "src/mail.rs",
        include_str!("../../../guest-sdk/rust/src/mail.rs"),
    ),
    (
        "src/orm.rs",
        include_str!("../../../guest-sdk/rust/src/orm.rs"),
    ),
    (
        "src/queue.rs",
        include_str!("../../../guest-sdk/rust/src/queue.rs"),
    ),
    (
        "src/storage.rs",
        include_str!("../../../guest-sdk/rust/src/storage.rs"),
    ),
    (
        "src/ws.rs",
        include_str!("../../../guest-sdk/rust/src/ws.rs"),
    ),
];

/// A digest of every SDK file and WIT file this host carries: a build that used them is
/// stale when they change.
pub fn digest() -> [u8; 32] {
    use sha2::{Digest, Sha256};
    // Once per process: `host build` asks for every module it builds.
    static DIGEST: std::sync::OnceLock<[u8; 32]> = std::sync::OnceLock::new();
    *DIGEST.get_or_init(|| {
        let mut hasher = Sha256::new();
        for set in [WIT, RUST_SDK, PYTHON_SDK, C_SDK, JS_SDK, GO_SDK] {
            for (name, text) in set {
                hasher.update(name.as_bytes());
                hasher.update(text.as_bytes());
            }
        }
        hasher.finalize().into()
    })
}

/// The Rust SDK this host carries, written once to a folder of the user's cache named by
/// its version and content (`~/.cache/plughost/sdk/plughost-sdk-0.1.0-1a2b3c4d`), so every
/// module built by this host, wherever it lives, compiles against the matching SDK.
pub fn rust_sdk_dir() -> anyhow::Result<PathBuf> {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for (name, text) in RUST_SDK.iter().chain(WIT) {
        hasher.update(name.as_bytes());
        hasher.update(text.as_bytes());
    }
    let digest = crate::runtime::compile_cache::hex(&hasher.finalize()[..4]);
    let version = env!("CARGO_PKG_VERSION");
    let dir = cache_root()
        .join("sdk")
        .join(format!("plughost-sdk-{version}-{digest}"));
    if dir.join("Cargo.toml").is_file() {
        return Ok(dir);
    }
    // Written beside, then renamed: a concurrent build sees the whole crate or none of it.
    let staging = dir.with_extension(format!("writing-{}", std::process::id()));
    write_all(&staging, RUST_SDK)
        .and_then(|()| write_all(&staging.join("wit"), WIT))
        .with_context(|| format!("cannot write the Rust SDK to {}", staging.display()))?;
    if std::fs::rename(&staging, &dir).is_err() && !dir.join("Cargo.toml").is_file() {
        anyhow::bail!("cannot write the Rust SDK to {}", dir.display());
    }
    let _ = std::fs::remove_dir_all(&staging);
    Ok(dir)
}

/// Where the host keeps what it writes for builds: `$PLUGHOST_HOME`, else
/// `$XDG_CACHE_HOME/plughost`, else `~/.cache/plughost`.
pub fn cache_root() -> PathBuf {
    if let Some(home) = std::env::var_os("PLUGHOST_HOME") {
        return PathBuf::from(home);
    }
    if let Some(cache) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(cache).join("plughost");
    }
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(".cache/plughost"),
        None => std::env::temp_dir().join("plughost"),
    }
}

/// Writes `files` under `dir`.
pub fn write_all(dir: &Path, files: &[(&str, &str)]) -> std::io::Result<()> {
    for (name, text) in files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, text)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn files_in(dir: &Path, ext: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(ext))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn every_wit_file_and_python_sdk_file_is_embedded() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut wit: Vec<String> = super::WIT.iter().map(|(n, _)| n.to_string()).collect();
        wit.sort();
        assert_eq!(wit, files_in(&root.join("wit"), ".wit"));
        let mut py: Vec<String> = super::PYTHON_SDK
            .iter()
            .map(|(n, _)| n.to_string())
            .collect();
        py.sort();
        let python = root.join("guest-sdk/python");
        let mut on_disk: Vec<String> = files_in(&python.join("plughost"), ".py")
            .into_iter()
            .map(|n| format!("plughost/{n}"))
            .chain(files_in(&python, ".py"))
            .collect();
        on_disk.sort();
        assert_eq!(py, on_disk);
    }

    #[test]
    fn every_rust_sdk_file_is_embedded() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest-sdk/rust");
        let embedded: Vec<String> = super::RUST_SDK
            .iter()
            .filter_map(|(n, _)| n.strip_prefix("src/").map(str::to_string))
            .collect();
        let mut sorted = embedded.clone();
        sorted.sort();
        assert_eq!(sorted, files_in(&root.join("src"), ".rs"));
    }

    #[test]
    fn the_rust_sdk_asks_for_the_hosts_wit_bindgen() {
        let host = include_str!("../../Cargo.toml");
        let sdk = include_str!("../../../guest-sdk/rust/Cargo.toml");
        let version = |text: &str, name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|rest| rest.trim_start_matches(" = ").to_string())
        };
        assert_eq!(
            version(host, "wit-bindgen-core"),
            version(sdk, "wit-bindgen")
        );
        assert!(version(sdk, "wit-bindgen").is_some());
    }

    #[test]
    fn every_c_sdk_file_is_embedded() {
        let c = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest-sdk/c");
        let mut embedded: Vec<String> = super::C_SDK.iter().map(|(n, _)| n.to_string()).collect();
        embedded.sort();
        let mut on_disk: Vec<String> = files_in(&c, ".c")
            .into_iter()
            .chain(files_in(&c, ".h"))
            .collect();
        on_disk.sort();
        assert_eq!(embedded, on_disk);
    }

    /// Every file under `dir`, as paths relative to it.
    fn tree(dir: &Path, under: &str, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap().filter_map(|e| e.ok()) {
            let name = format!("{under}{}", entry.file_name().to_string_lossy());
            if entry.path().is_dir() {
                tree(&entry.path(), &format!("{name}/"), out);
            } else {
                out.push(name);
            }
        }
    }

    #[test]
    fn every_go_sdk_file_is_embedded() {
        let go = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest-sdk/go");
        let mut embedded: Vec<String> = super::GO_SDK.iter().map(|(n, _)| n.to_string()).collect();
        embedded.sort();
        let mut on_disk = Vec::new();
        tree(&go.join("plughost"), "", &mut on_disk);
        tree(&go.join("witpkg"), "witpkg/", &mut on_disk);
        on_disk.sort();
        assert_eq!(embedded, on_disk);
    }

    #[test]
    fn every_js_sdk_file_is_embedded() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest-sdk/js/src");
        let mut embedded: Vec<String> = super::JS_SDK.iter().map(|(n, _)| n.to_string()).collect();
        embedded.sort();
        assert_eq!(embedded, files_in(&src, ".js"));
    }
}
