//! hello-rust with warm-instance reuse on (see its plugin.toml): `GET /hello-rust-warm/{name}`
//! answers `Hello, {name}! (rust)`, as hello-rust does. The code needs nothing for reuse;
//! only what it keeps in statics lives across the requests one instance serves.

use plughost_sdk::http::{Request, Response, Router};

struct HelloWarm;

impl plughost_sdk::Module for HelloWarm {
    fn routes(router: Router) -> Router {
        router.get("/{name}", |request: Request| {
            let name = request.param("name").unwrap_or("world");
            Ok(Response::text(format!("Hello, {name}! (rust)")))
        })
    }
}

plughost_sdk::export_module!(HelloWarm);
