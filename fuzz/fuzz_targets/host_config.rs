//! host.toml: any text parses to a validated configuration or to an error, never a panic;
//! tenant assignment of any folder name answers one tenant or an error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &str)| {
    let (text, folder) = input;
    if let Ok(config) = plughost::config::HostConfig::parse(text) {
        if let Ok(tenant) = config.tenant_of(folder) {
            assert!(config.tenants.contains_key(tenant));
        }
    }
});
