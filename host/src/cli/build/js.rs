//! `host build` of a JavaScript or TypeScript module (a folder with `plugin.toml` and
//! `app.js` or `app.ts`): esbuild bundles the app (TypeScript types stripped, the folder's
//! own imports and packages included) with the embedded JS SDK (`import … from 'plughost'`)
//! and its entry, which gives every handler the app does not export a default; then
//! componentize-js (StarlingMonkey) makes the bundle a component of the `service` world.
//! Both tools are npm packages pinned in guest-sdk/js (scripts/setup runs `npm ci` there).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};

use super::sdk_files;

/// The componentize-js version guest-sdk/js/package.json pins, named in the advice when the
/// tools are missing.
const COMPONENTIZE_JS_VERSION: &str = "0.23.0";

/// The entry file of a JS module, `app.js` or `app.ts`, if the folder has one.
pub(super) fn entry_of(dir: &Path) -> Option<PathBuf> {
    ["app.js", "app.ts"]
        .iter()
        .map(|name| dir.join(name))
        .find(|path| path.is_file())
}

/// Builds the JS module in `dir` into the component `staged`.
pub(super) fn build(dir: &Path, staged: &Path) -> anyhow::Result<()> {
    let app = entry_of(dir)
        .context("the folder has neither app.js nor app.ts")?
        .canonicalize()?;
    let tools = Tools::find(dir)?;
    // The tools run in the work folder: a relative `--out` would land there.
    let staged = std::path::absolute(staged)?;
    let work = super::tempfile_dir()?;
    let built = build_in(&work, &app, &tools, &staged);
    let _ = std::fs::remove_dir_all(&work);
    built
}

fn build_in(work: &Path, app: &Path, tools: &Tools, staged: &Path) -> anyhow::Result<()> {
    let wit = work.join("wit");
    let sdk = work.join("sdk");
    sdk_files::write_all(&wit, sdk_files::WIT)?;
    sdk_files::write_all(&sdk, sdk_files::JS_SDK)?;
    let bundle = work.join("bundle.js");
    let status = Command::new(&tools.esbuild)
        .arg(sdk.join(sdk_files::JS_ENTRY))
        .args([
            "--bundle",
            "--format=esm",
            "--platform=browser",
            "--log-level=warning",
            // The platform's interfaces are the component's imports, not files.
            "--external:plughost:platform/*",
        ])
        .arg(format!(
            "--alias:plughost={}",
            sdk.join("index.js").display()
        ))
        .arg(format!("--alias:plughost-app={}", app.display()))
        .arg(format!("--outfile={}", bundle.display()))
        .current_dir(work)
        .status()
        .with_context(|| {
            format!(
                "cannot run {} (is Node.js installed?)",
                tools.esbuild.display()
            )
        })?;
    if !status.success() {
        bail!(
            "esbuild could not bundle {} (see its output above)",
            app.display()
        );
    }
    let status = Command::new(&tools.componentize)
        .arg(&bundle)
        .arg("--wit")
        .arg(&wit)
        .args(["--world-name", sdk_files::JS_WORLD])
        // Without these the component imports wasi:http, which the host does not link.
        .args(["--disable", "http", "fetch-event"])
        .arg("--out")
        .arg(staged)
        .current_dir(work)
        .status()
        .with_context(|| {
            format!(
                "cannot run {} (is Node.js 20 or newer installed?)",
                tools.componentize.display()
            )
        })?;
    if !status.success() {
        bail!(
            "componentize-js failed on {} (see its output above; an exception thrown while \
             app.js loads shows there)",
            app.display()
        );
    }
    Ok(())
}

/// The npm tools a JS build runs.
struct Tools {
    componentize: PathBuf,
    esbuild: PathBuf,
}

impl Tools {
    /// `componentize-js` and `esbuild` on PATH, else in a `node_modules/.bin` (or
    /// `guest-sdk/js/node_modules/.bin`, where scripts/setup installs them) of the source
    /// folder, the current folder, or one of their parents, else the pinned versions the
    /// host installs into its cache folder.
    fn find(dir: &Path) -> anyhow::Result<Tools> {
        let find = |name: &str| -> Option<PathBuf> {
            if on_path(name) {
                return Some(PathBuf::from(name));
            }
            ["node_modules/.bin", "guest-sdk/js/node_modules/.bin"]
                .iter()
                .find_map(|bin| super::installed_above(dir, &format!("{bin}/{name}")).next())
        };
        let advice = format!(
            "run `npm ci --prefix guest-sdk/js` in the plughost repository (scripts/setup does it), \
             or `npm install @bytecodealliance/componentize-js@{COMPONENTIZE_JS_VERSION} esbuild` \
             beside the module; Node.js 20 or newer is needed"
        );
        if let (Some(componentize), Some(esbuild)) = (find("componentize-js"), find("esbuild")) {
            return Ok(Tools {
                componentize,
                esbuild,
            });
        }
        // Not on this machine: the pinned versions, installed by the host into its cache.
        let bin = super::tools::npm_tools()
            .with_context(|| format!("componentize-js and esbuild are not installed; {advice}"))?;
        Ok(Tools {
            componentize: bin.join("componentize-js"),
            esbuild: bin.join("esbuild"),
        })
    }
}

/// Whether a file `name` is in a folder of PATH.
fn on_path(name: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(name).is_file()))
}
