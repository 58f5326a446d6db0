//! plugin.toml: any text parses to a validated manifest or to an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let path = std::path::Path::new("plugins/fuzz/plugin.toml");
    if let Ok(manifest) = plughost::config::Manifest::parse(text, path) {
        assert!(plughost::config::manifest::is_identifier(&manifest.name));
    }
});
