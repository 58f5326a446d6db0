//! The Rust hello module: `GET /hello-rust/{name}` answers `Hello, {name}! (rust)`.
//!
//! Build and run from the repository root:
//!     host build examples/hello && host run --plugins examples/hello/plugins
//!     curl localhost:8080/hello-rust/Ada

use plughost_sdk::http::{Request, Response, Router};

struct Hello;

impl plughost_sdk::Module for Hello {
    fn routes(router: Router) -> Router {
        router.get("/{name}", greet)
    }
}

fn greet(request: Request) -> plughost_sdk::Result<Response> {
    let name = request.param("name").unwrap_or("world");
    Ok(Response::text(format!("Hello, {name}! (rust)")))
}

plughost_sdk::export_module!(Hello);
