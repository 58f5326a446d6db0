//! `host new NAME --lang rust|python|c|js|go`: a module folder that builds and runs unchanged.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};

use crate::config::Manifest;
use crate::config::manifest::{MANIFEST_FILE, is_identifier};

/// Arguments of `host new`.
#[derive(Args)]
pub struct NewArgs {
    /// Module name: letters, digits, '-' and '_'. It also becomes the HTTP prefix `/NAME`.
    pub name: String,
    /// Language of the module.
    #[arg(long, value_enum)]
    pub lang: Lang,
    /// Parent folder of the new module folder.
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
}

/// Module languages with a template.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Lang {
    /// Rust with guest-sdk/rust (wit-bindgen).
    Rust,
    /// Python with guest-sdk/python (componentize-py).
    Python,
    /// C with guest-sdk/c (zig cc).
    C,
    /// JavaScript with guest-sdk/js (componentize-js).
    Js,
    /// Go with guest-sdk/go (go build, GOOS=wasip1).
    Go,
}

/// Writes the template.
pub fn run(args: NewArgs) -> anyhow::Result<()> {
    check_name(&args.name)?;
    let dir = args.dir.join(&args.name);
    if dir.exists() {
        bail!(
            "{} already exists; choose another name or --dir",
            dir.display()
        );
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(dir.join("plugin.toml"), manifest(&args.name))?;
    match args.lang {
        Lang::Rust => write_rust(&dir, &args.name)?,
        Lang::Python => std::fs::write(dir.join("app.py"), PYTHON_APP)?,
        Lang::C => std::fs::write(dir.join("app.c"), C_APP)?,
        Lang::Js => std::fs::write(dir.join("app.js"), JS_APP)?,
        Lang::Go => std::fs::write(dir.join("app.go"), GO_APP)?,
    }
    let parent = args.dir.display();
    println!("created {}", dir.display());
    println!("next: host build {parent} && host run --plugins {parent}/plugins");
    println!("then: curl localhost:8080/{}/Ada", args.name);
    Ok(())
}

/// Refuses a name the host could never load (the same checks as loading its manifest:
/// a prefix under `/_` is the host's own), or that the languages' package names refuse.
fn check_name(name: &str) -> anyhow::Result<()> {
    if !is_identifier(name) {
        bail!("'{name}' is not a valid module name; use letters, digits, '-' and '_'");
    }
    if let Err(error) = Manifest::parse(&manifest(name), Path::new(MANIFEST_FILE)) {
        bail!("'{name}' cannot be a module name: {error}");
    }
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        bail!(
            "'{name}' cannot be a module name: it must start with a letter (it also names the \
             module's Rust crate or Python package)"
        );
    }
    Ok(())
}

fn manifest(name: &str) -> String {
    format!(
        r#"name = "{name}"
version = "0.1.0"
tenant = "default"

[http]
prefix = "/{name}"
routes = [{{ method = "GET", path = "/{{name}}" }}]

# Capabilities the module asks for, e.g. config keys it reads:
# [capabilities]
# config = ["greeting"]

# Per-invocation limits (defaults: 5000 ms, 64 MiB):
# [limits]
# deadline-ms = 5000
# memory-mib = 64
"#
    )
}

fn write_rust(dir: &Path, name: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir.join("src"))?;
    let cargo = format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
crate-type = ["cdylib"]

[dependencies]
# `host build` supplies the SDK matching the host binary (guest-sdk/rust/README.md).
plughost-sdk = "{version}"

# A workspace of its own, so it builds wherever it is placed.
[workspace]
"#,
        version = env!("CARGO_PKG_VERSION")
    );
    std::fs::write(dir.join("Cargo.toml"), cargo)?;
    std::fs::write(dir.join("src/lib.rs"), RUST_LIB.replace("{module}", name))?;
    Ok(())
}

const RUST_LIB: &str = r#"//! The {module} module: `GET /{module}/{name}` answers a greeting.

use plughost_sdk::http::{Request, Response, Router};

struct Module;

impl plughost_sdk::Module for Module {
    fn routes(router: Router) -> Router {
        router.get("/{name}", greet)
    }
}

fn greet(request: Request) -> plughost_sdk::Result<Response> {
    let name = request.param("name").unwrap_or("world");
    Ok(Response::text(format!("Hello, {name}! ({module})")))
}

plughost_sdk::export_module!(Module);
"#;

const PYTHON_APP: &str = r#""""A module: GET /<prefix>/{name} answers a greeting."""

from plughost import Request, Response, Router

router = Router()


@router.get("/{name}")
def greet(request: Request) -> Response:
    return Response.text(f"Hello, {request.param('name')}! (python)")


HttpHandler = router.handler()
"#;

const C_APP: &str = r#"/* A module: GET /<prefix>/{name} answers a greeting.
 *
 * plughost.h (guest-sdk/c) comes with `host build`; what the SDK returns lives until the
 * handler returns, so nothing here is freed. */
#include "plughost.h"

static ph_response *greet(const ph_request *request) {
    return ph_response_text(ph_format("Hello, %s! (c)", ph_request_param(request, "name")));
}

PH_ROUTES(
    PH_GET("/{name}", greet)
)
"#;

const JS_APP: &str = r#"// A module: GET /<prefix>/{name} answers a greeting.
// `plughost` (guest-sdk/js) comes with `host build`; see the README's JavaScript section.

import { Response, Router } from 'plughost';

const router = new Router();

router.get('/{name}', (request) => Response.text(`Hello, ${request.param('name')}! (js)`));

export const httpHandler = router.handler();
"#;

const GO_APP: &str = r#"// A module: GET /<prefix>/{name} answers a greeting.
//
// The package plughost (guest-sdk/go) comes with `host build`, which also supplies func
// main: register the handlers in init. See the README's Go section.
package main

import "plughost"

func greet(request *plughost.Request) (*plughost.Response, error) {
	return plughost.Text("Hello, " + request.Param("name") + "! (go)"), nil
}

func init() {
	plughost.Routes(plughost.NewRouter().Get("/{name}", greet))
}
"#;
