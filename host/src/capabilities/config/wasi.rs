//! `wasi:config/store`, the standard interface third-party components import, over the
//! same view as `config`: a key outside the grant is refused (counted and logged) as
//! `upstream("denied: …")`, and `get-all` returns only the keys the grant covers.

use super::host::ConfigView;

mod generated {
    wasmtime::component::bindgen!({
        path: "wit-standard/config",
        world: "wasi:config/imports",
    });
}

pub use generated::wasi::config::store;

impl store::Host for ConfigView<'_> {
    fn get(&mut self, key: String) -> Result<Option<String>, store::Error> {
        self.module
            .check("config", &key)
            .map_err(|denied| store::Error::Upstream(format!("denied: {denied}")))?;
        Ok(self.module.config.get(&key).cloned())
    }

    fn get_all(&mut self) -> Result<Vec<(String, String)>, store::Error> {
        let grant = &self.module.grant;
        Ok(self
            .module
            .config
            .iter()
            .filter(|(key, _)| grant.check("config", key).is_ok())
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect())
    }
}
