//! The WIT and the Python SDK, embedded so `host build` and `host new` work from anywhere.

use std::path::Path;

/// The WIT package the guests target.
pub const WIT: &[(&str, &str)] = &[
    ("world.wit", include_str!("../../../wit/world.wit")),
    ("types.wit", include_str!("../../../wit/types.wit")),
    ("log.wit", include_str!("../../../wit/log.wit")),
    ("config.wit", include_str!("../../../wit/config.wit")),
    ("http.wit", include_str!("../../../wit/http.wit")),
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
];

/// The world every module targets.
pub const WORLD: &str = "plughost:platform/module@0.1.0";

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
