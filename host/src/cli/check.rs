//! `host check DIR`: validates each module's manifest against the host configuration
//! and each component's imports and exports against what the host provides and grants.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::bail;
use clap::Args;
use wit_parser::{Resolve, WorldId, WorldItem, WorldKey};

use crate::capabilities;
use crate::config::manifest::MANIFEST_FILE;
use crate::runtime::loader;

/// Arguments of `host check`.
#[derive(Args)]
pub struct CheckArgs {
    /// A plugins folder (or a single module folder).
    pub dir: PathBuf,
    /// Host configuration; default: host.toml beside the plugins folder, if any.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

/// What checking one module found.
#[derive(Default)]
struct Findings {
    errors: Vec<String>,
    warnings: Vec<String>,
}

/// Checks every module folder and fails when any has errors.
pub fn run(args: CheckArgs) -> anyhow::Result<()> {
    let config = super::run::load_config(args.config.as_deref(), &args.dir)?;
    let folders = module_folders(&args.dir)?;
    if folders.is_empty() {
        bail!(
            "no module folders (with {MANIFEST_FILE}) in {}",
            args.dir.display()
        );
    }
    let mut failed = 0;
    for dir in folders {
        let findings = check_module(&config, &dir);
        let label = dir.display();
        for w in &findings.warnings {
            println!("warning: {label}: {w}");
        }
        for e in &findings.errors {
            println!("error: {label}: {e}");
        }
        if findings.errors.is_empty() {
            println!("ok: {label}");
        } else {
            failed += 1;
        }
    }
    if failed > 0 {
        bail!("{failed} module(s) have errors");
    }
    Ok(())
}

fn module_folders(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if dir.join(MANIFEST_FILE).is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    let mut folders: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(MANIFEST_FILE).is_file())
        .collect();
    folders.sort();
    Ok(folders)
}

fn check_module(config: &crate::config::HostConfig, dir: &Path) -> Findings {
    let mut findings = Findings::default();
    let files = match loader::read_files(dir, config) {
        Ok(files) => files,
        Err(e) => {
            findings.errors.push(e.to_string());
            return findings;
        }
    };
    let context = match loader::context(
        config,
        crate::capabilities::ALL,
        dir,
        &files.manifest,
        Arc::default(),
    ) {
        Ok(c) => c,
        Err(e) => {
            findings.errors.push(e.to_string());
            return findings;
        }
    };
    for model in crate::capabilities::orm::schema_of(&context)
        .models
        .values()
    {
        if let Err(denied) = context.grant.check("orm", &model.table) {
            findings.warnings.push(format!(
                "model '{}' will not be migrated and its calls will be denied: {denied}",
                model.name
            ));
        }
    }
    let (resolve, world) = match wit_component::decode(&files.bytes) {
        Ok(wit_component::DecodedWasm::Component(resolve, world)) => (resolve, world),
        Ok(_) => {
            findings.errors.push(format!(
                "{} is a WIT package, not a component",
                files.component_path.display()
            ));
            return findings;
        }
        Err(e) => {
            findings.errors.push(format!(
                "{} is not a valid component: {e:#}",
                files.component_path.display()
            ));
            return findings;
        }
    };
    let imports = interface_names(&resolve, world, true);
    // componentize-js imports every interface of the world and StarlingMonkey's WASI
    // (filesystem included) whatever the module calls: those imports say nothing about it.
    let javascript = built_by_componentize_js(&files.bytes);
    // Nor do a Python component's: `host build` recorded what its sources use instead.
    let recorded = recorded_uses(&files.bytes);
    for import in &imports {
        if let Some(capability) = capabilities::for_interface(import) {
            if javascript {
                continue;
            }
            if let Some(used) = &recorded
                && !used.iter().any(|u| u == capability.name)
            {
                continue;
            }
        }
        check_import(import, &context.grant, &mut findings);
    }
    // Go's runtime (package os) and Python's import wasi:filesystem and wasi:sockets in
    // every module, whether the module opens files or not: for them, that says nothing.
    if !javascript && recorded.is_none() && !built_by_go(&files.bytes) {
        findings.warnings.extend(wasi_without_resources(&imports));
    }
    let exports = interface_names(&resolve, world, false);
    let manifest = &files.manifest;
    // (the manifest relies on it, the export, what relies on it)
    let handlers = crate::capabilities::ALL
        .iter()
        .filter_map(|c| c.handler.as_ref())
        .map(|h| ((h.declared)(manifest), h.export, h.declared_by));
    let needed = [(manifest.http.is_some(), "http-handler", "[http] routes")]
        .into_iter()
        .chain(handlers);
    // An unmodified wasi:http component serves [http] with the standard export.
    let standard = exports.iter().any(|e| {
        e.starts_with("wasi:http/incoming-handler@0.2") || e.starts_with("wasi:http/handler@0.3")
    });
    for (relied_on, export, section) in needed {
        let prefix = format!("plughost:platform/{export}@");
        let served = exports.iter().any(|e| e.starts_with(&prefix))
            || (export == "http-handler" && standard);
        if relied_on && !served {
            findings.errors.push(format!(
                "declares {section} but the component does not export plughost:platform/{export}; \
                 build it with a guest SDK (the Rust SDK targets the `service` world, which has every handler)"
            ));
        }
    }
    findings
}

fn check_import(name: &str, grant: &crate::runtime::Grant, findings: &mut Findings) {
    if let Some(capability) = capabilities::for_interface(name) {
        if !capability.always_granted && !grant.has(capability.name) {
            findings.warnings.push(format!(
                "imports {name}, but its grant has no '{}' capability: every call will be denied \
                 (request it under [capabilities] and allow it for the tenant)",
                capability.name
            ));
        }
        return;
    }
    if name.starts_with("wasi:") {
        return; // Linked with nothing granted: no dirs, env or sockets.
    }
    let type_only = [
        "plughost:platform/types@",
        "plughost:platform/http-types@",
        "plughost:platform/event-types@",
        "plughost:platform/job-types@",
        "plughost:platform/ws-types@",
    ];
    if type_only.iter().any(|prefix| name.starts_with(prefix)) {
        return;
    }
    findings
        .errors
        .push(format!("imports {name}, which this host does not provide"));
}

/// One warning for the WASI packages the host links with nothing behind them (no
/// preopened folders, no network) that the component imports, whether the module calls
/// them or its language runtime does (a C module's preview-1 adapter brings those its
/// libc calls, e.g. `wasi:filesystem` for fopen): every such call fails. The other WASI
/// imports (stdio into the log, clocks, random, an empty environment) work and say nothing.
fn wasi_without_resources(imports: &[String]) -> Option<String> {
    let empty: Vec<&str> = ["wasi:filesystem", "wasi:sockets"]
        .into_iter()
        .filter(|package| {
            imports
                .iter()
                .any(|i| i.strip_prefix(package).is_some_and(|r| r.starts_with('/')))
        })
        .collect();
    if empty.is_empty() {
        return None;
    }
    Some(format!(
        "imports {}: modules get no folders and no network, so opening a file or a socket fails \
         (keep files with the storage capability)",
        empty.join(" and ")
    ))
}

/// Whether the component holds a core module linked by Go, which gives every module a
/// `go:buildid` custom section (the name, after its length byte).
fn built_by_go(component: &[u8]) -> bool {
    component
        .windows(11)
        .any(|w| w == b"\x0ago:buildid".as_slice())
}

/// Whether the component's own `producers` section (a custom section at the top level)
/// says componentize-js made it.
fn built_by_componentize_js(component: &[u8]) -> bool {
    custom_section(component, "producers").is_some_and(|content| {
        content
            .windows(b"ComponentizeJS".len())
            .any(|w| w == b"ComponentizeJS")
    })
}

/// The capabilities `host build` found the sources using (`build/uses.rs`), for languages
/// whose components import every capability interface; `None` when not recorded.
fn recorded_uses(component: &[u8]) -> Option<Vec<String>> {
    let payload = custom_section(component, super::build::uses::SECTION)?;
    let text = std::str::from_utf8(payload).ok()?;
    Some(
        text.split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
    )
}

/// The payload of the component's own custom section `name` (at the top level, not one of
/// a nested module's).
fn custom_section<'a>(component: &'a [u8], name: &str) -> Option<&'a [u8]> {
    fn leb128(bytes: &[u8], at: &mut usize) -> Option<usize> {
        let mut value = 0usize;
        for shift in (0..35).step_by(7) {
            let byte = *bytes.get(*at)?;
            *at += 1;
            value |= usize::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }
    let mut at = 8; // magic and version
    while at < component.len() {
        let id = component[at];
        at += 1;
        let size = leb128(component, &mut at)?;
        let section = component.get(at..at.saturating_add(size))?;
        at += size;
        if id != 0 {
            continue;
        }
        let mut name_at = 0;
        let name_len = leb128(section, &mut name_at)?;
        if section.get(name_at..name_at + name_len) == Some(name.as_bytes()) {
            return Some(&section[name_at + name_len..]);
        }
    }
    None
}

/// Imported (or exported) interface names of a world, with package and version.
fn interface_names(resolve: &Resolve, world: WorldId, imports: bool) -> Vec<String> {
    let world = &resolve.worlds[world];
    let items = if imports {
        &world.imports
    } else {
        &world.exports
    };
    items
        .iter()
        .map(|(key, item)| match (key, item) {
            (_, WorldItem::Interface { id, .. }) => resolve
                .id_of(*id)
                .unwrap_or_else(|| resolve.name_world_key(key)),
            (WorldKey::Name(name), _) => name.clone(),
            (key, _) => resolve.name_world_key(key),
        })
        .collect()
}
