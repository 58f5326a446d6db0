//! `host new NAME --lang rust|python|c|js|go [--template http|orm|events|queue|ws]`: a module
//! folder that builds and runs unchanged. The templates beyond `http` (Rust and Python) live
//! in `templates/LANG-TEMPLATE/`, with `{{name}}` standing for the module's name.

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
    /// What the module starts with (orm, events, queue and ws: Rust and Python).
    #[arg(long, value_enum, default_value_t = Template::Http)]
    pub template: Template,
    /// Parent folder of the new module folder.
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
}

/// Module languages with a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
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

/// What a new module starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Template {
    /// An HTTP route answering a greeting.
    Http,
    /// A JSON API over an ORM model (its table created on first load).
    Orm,
    /// Emits an event per request and handles the events it subscribes to.
    Events,
    /// Queues jobs on the durable queue and runs them.
    Queue,
    /// A WebSocket namespace that echoes and broadcasts.
    Ws,
}

/// A template's files: (path in the module folder, text with `{{name}}`).
type Files = &'static [(&'static str, &'static str)];

/// The files of each Rust and Python template beyond `http`.
const TEMPLATES: &[(Lang, Template, Files)] = &[
    (
        Lang::Rust,
        Template::Orm,
        &[
            (
                "plugin.toml",
                include_str!("templates/rust-orm/plugin.toml"),
            ),
            ("src/lib.rs", include_str!("templates/rust-orm/src/lib.rs")),
        ],
    ),
    (
        Lang::Rust,
        Template::Events,
        &[
            (
                "plugin.toml",
                include_str!("templates/rust-events/plugin.toml"),
            ),
            (
                "src/lib.rs",
                include_str!("templates/rust-events/src/lib.rs"),
            ),
        ],
    ),
    (
        Lang::Rust,
        Template::Queue,
        &[
            (
                "plugin.toml",
                include_str!("templates/rust-queue/plugin.toml"),
            ),
            (
                "src/lib.rs",
                include_str!("templates/rust-queue/src/lib.rs"),
            ),
        ],
    ),
    (
        Lang::Rust,
        Template::Ws,
        &[
            ("plugin.toml", include_str!("templates/rust-ws/plugin.toml")),
            ("src/lib.rs", include_str!("templates/rust-ws/src/lib.rs")),
        ],
    ),
    (
        Lang::Python,
        Template::Orm,
        &[
            (
                "plugin.toml",
                include_str!("templates/python-orm/plugin.toml"),
            ),
            ("app.py", include_str!("templates/python-orm/app.py")),
        ],
    ),
    (
        Lang::Python,
        Template::Events,
        &[
            (
                "plugin.toml",
                include_str!("templates/python-events/plugin.toml"),
            ),
            ("app.py", include_str!("templates/python-events/app.py")),
        ],
    ),
    (
        Lang::Python,
        Template::Queue,
        &[
            (
                "plugin.toml",
                include_str!("templates/python-queue/plugin.toml"),
            ),
            ("app.py", include_str!("templates/python-queue/app.py")),
        ],
    ),
    (
        Lang::Python,
        Template::Ws,
        &[
            (
                "plugin.toml",
                include_str!("templates/python-ws/plugin.toml"),
            ),
            ("app.py", include_str!("templates/python-ws/app.py")),
        ],
    ),
];

/// Writes the template.
pub fn run(args: NewArgs) -> anyhow::Result<()> {
    check_name(&args.name)?;
    let files = match args.template {
        Template::Http => None,
        template => Some(
            TEMPLATES
                .iter()
                .find(|(lang, t, _)| *lang == args.lang && *t == template)
                .map(|(_, _, files)| *files)
                .with_context(|| {
                    format!(
                        "the {} template exists for Rust and Python; for {} use --template http",
                        format!("{template:?}").to_lowercase(),
                        format!("{:?}", args.lang).to_lowercase(),
                    )
                })?,
        ),
    };
    let dir = args.dir.join(&args.name);
    if dir.exists() {
        bail!(
            "{} already exists; choose another name or --dir",
            dir.display()
        );
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    if let Some(files) = files {
        write_template(&dir, &args.name, args.lang, files)?;
        return next_steps(&dir, &args);
    }
    std::fs::write(dir.join("plugin.toml"), manifest(&args.name))?;
    match args.lang {
        Lang::Rust => write_rust(&dir, &args.name, false)?,
        Lang::Python => std::fs::write(dir.join("app.py"), PYTHON_APP)?,
        Lang::C => std::fs::write(dir.join("app.c"), C_APP)?,
        Lang::Js => std::fs::write(dir.join("app.js"), JS_APP)?,
        Lang::Go => std::fs::write(dir.join("app.go"), GO_APP)?,
    }
    next_steps(&dir, &args)
}

/// A template's files with the module's name filled in (and, for Rust, its Cargo.toml).
fn write_template(
    dir: &Path,
    name: &str,
    lang: Lang,
    files: &[(&str, &str)],
) -> anyhow::Result<()> {
    for (file, text) in files {
        let path = dir.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, text.replace("{{name}}", name))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if matches!(lang, Lang::Rust) {
        write_cargo_toml(dir, name, true)?;
    }
    Ok(())
}

fn next_steps(dir: &Path, args: &NewArgs) -> anyhow::Result<()> {
    let parent = args.dir.display();
    println!("created {}", dir.display());
    println!(
        "next: host dev {parent}   (or: host build {parent} && host run --plugins {parent}/plugins)"
    );
    let name = &args.name;
    match args.template {
        Template::Http => println!("then: curl localhost:8080/{name}/Ada"),
        Template::Orm => println!(
            "then: curl -d '{{\"text\": \"hi\"}}' localhost:8080/{name}/notes && curl localhost:8080/{name}/notes"
        ),
        Template::Events => println!(
            "then: curl -X POST localhost:8080/{name}/greet/Ada (the log shows the event handled)"
        ),
        Template::Queue => println!(
            "then: curl -d '{{\"task\": 1}}' localhost:8080/{name}/jobs (the log shows the job done)"
        ),
        Template::Ws => println!(
            "then: connect a WebSocket client to ws://localhost:8080/{name}/ws and send {{\"event\": \"echo\", \"data\": \"hi\"}}"
        ),
    }
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

fn write_rust(dir: &Path, name: &str, json: bool) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir.join("src"))?;
    write_cargo_toml(dir, name, json)?;
    std::fs::write(dir.join("src/lib.rs"), RUST_LIB.replace("{module}", name))?;
    Ok(())
}

/// The module crate's manifest: `plughost-sdk` by version (`host build` supplies it), and
/// serde_json when the template handles JSON.
fn write_cargo_toml(dir: &Path, name: &str, json: bool) -> anyhow::Result<()> {
    let serde_json = if json { "serde_json = \"1\"\n" } else { "" };
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
{serde_json}
# A workspace of its own, so it builds wherever it is placed.
[workspace]
"#,
        version = env!("CARGO_PKG_VERSION")
    );
    std::fs::write(dir.join("Cargo.toml"), cargo)?;
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
