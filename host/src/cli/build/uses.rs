//! What a module's sources use, recorded in its component. A Python component imports every
//! capability interface of the SDK's world whatever its code calls, so its imports cannot
//! tell `host check` what the module needs; `host build` scans the sources for the SDK's
//! capability modules and writes their names into a custom section, `plughost-uses`, which
//! `host check` reads instead of the imports.

use std::collections::BTreeSet;
use std::path::Path;

/// The custom section's name.
pub const SECTION: &str = "plughost-uses";

/// The SDK modules that are capabilities (the Python SDK's `plughost.NAME`).
const CAPABILITY_MODULES: &[&str] = &[
    "config", "orm", "events", "queue", "ws", "storage", "mail", "log",
];

/// Largest source file scanned; bigger ones are data, not code.
const MAX_SOURCE_BYTES: u64 = 4 << 20;

/// The capabilities the Python sources under `dir` import from the SDK:
/// `from plughost import orm, events`, `import plughost.orm`, `from plughost.ws import …`.
pub fn python(dir: &Path) -> BTreeSet<&'static str> {
    let mut used = BTreeSet::new();
    for file in python_files(dir, 0) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        used.extend(python_imports(&text));
    }
    used
}

/// The `.py` files beneath `dir`, at most 8 folders deep.
fn python_files(dir: &Path, depth: usize) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return files;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        // Hidden folders, caches and environments hold no module code.
        if name.starts_with('.')
            || ["__pycache__", "site-packages", "venv", "node_modules"].contains(&name.as_str())
        {
            continue;
        }
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() && depth < 8 {
            files.extend(python_files(&path, depth + 1));
        } else if kind.is_file()
            && name.ends_with(".py")
            && entry.metadata().is_ok_and(|m| m.len() <= MAX_SOURCE_BYTES)
        {
            files.push(path);
        }
    }
    files
}

/// The SDK capability modules one Python source imports.
fn python_imports(text: &str) -> BTreeSet<&'static str> {
    let mut used = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("plughost") {
        let after = &rest[at + "plughost".len()..];
        rest = after;
        // `plughost.orm` (import plughost.orm, from plughost.orm import …, plughost.orm.x)
        if let Some(module) = after.strip_prefix('.') {
            let name: String = module
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            used.extend(capability(&name));
            continue;
        }
        // `from plughost import a, b as c` or `from plughost import (a,\n b)`
        let Some(list) = after.trim_start_matches([' ', '\t']).strip_prefix("import") else {
            continue;
        };
        let list = list.trim_start();
        let names = match list.strip_prefix('(') {
            Some(inner) => inner.split(')').next().unwrap_or_default(),
            None => list.lines().next().unwrap_or_default(),
        };
        for item in names.split(',') {
            let name = item.split_whitespace().next().unwrap_or_default();
            used.extend(capability(name));
        }
    }
    used
}

fn capability(module: &str) -> Option<&'static str> {
    CAPABILITY_MODULES.iter().copied().find(|c| *c == module)
}

/// Appends the `plughost-uses` custom section to the component at `path`.
pub fn record(path: &Path, used: &BTreeSet<&str>) -> anyhow::Result<()> {
    let payload = used.iter().copied().collect::<Vec<_>>().join(",");
    let mut body = leb128(SECTION.len());
    body.extend_from_slice(SECTION.as_bytes());
    body.extend_from_slice(payload.as_bytes());
    let mut section = vec![0u8];
    section.extend(leb128(body.len()));
    section.extend(body);
    use std::io::Write as _;
    let mut file = std::fs::OpenOptions::new().append(true).open(path)?;
    file.write_all(&section)?;
    Ok(())
}

fn leb128(mut value: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_import_form_of_the_sdk_is_found_and_nothing_else() {
        let source = r#"
from plughost import Request, Response, Router, orm
from plughost import (
    events as ev,
    queue,
)
import plughost.ws
from plughost.storage import put
x = plughost.mail.send  # attribute use
# a comment naming plughost but no module
import plughostile
from plughost import configuration
"#;
        let found: Vec<_> = python_imports(source).into_iter().collect();
        assert_eq!(
            found,
            ["events", "mail", "orm", "queue", "storage", "ws"],
            "{found:?}"
        );
        assert!(python_imports("from plughost import Router\n").is_empty());
    }
}
