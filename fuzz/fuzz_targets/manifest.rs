//! plugin.toml: any text parses to a validated manifest or to an error, never a panic; and
//! every capability reads its section of a parsed manifest (ORM models, event patterns,
//! queue names, WebSocket namespaces and rules with their JSON schemas), as when the module
//! loads, to a module context or to an error, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use plughost::config::{HostConfig, Manifest};

fuzz_target!(|text: &str| {
    let dir = Path::new("plugins/fuzz");
    let Ok(manifest) = Manifest::parse(text, &dir.join("plugin.toml")) else {
        return;
    };
    assert!(plughost::config::manifest::is_identifier(&manifest.name));
    let host = HostConfig::default();
    let list = plughost::capabilities::ALL;
    if let Ok(context) =
        plughost::runtime::loader::context(&host, list, dir, &manifest, Default::default())
    {
        assert_eq!(context.name, manifest.name);
    }
});
