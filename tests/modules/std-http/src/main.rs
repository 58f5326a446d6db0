//! An unmodified `wasi:http/incoming-handler` component, written as for `wasmtime serve`:
//! it sees the full request path and answers every path under its prefix.
//!
//! - `GET /std-http/hello/{name}`: `Hello, {name}! (wasi:http)`, with the path it saw in
//!   `x-seen-path` and the query in `x-seen-query`;
//! - `POST /std-http/echo`: the request body back;
//! - `GET /std-http/stream?kib=N`: N KiB streamed in 16 KiB writes;
//! - `GET /std-http/fetch?url=URL`: an outgoing GET; its status and body, or the error;
//! - `GET /std-http/count`: how many requests this instance has served;
//! - `GET /std-http/panic`, `/spin`, `/grow`: a trap, an endless loop, 200 MB of memory;
//! - `GET /std-http/bad-status`: a response whose status is 101 (an upgrade);
//! - `GET /std-http/many-headers`: a response with 150 headers;
//! - `GET /std-http/config/{key}`, `/std-http/config-all`: `wasi:config/store`;
//! - `GET /std-http/log?message=M`: `wasi:logging` at warn, context `std-http`.

use std::sync::atomic::{AtomicU64, Ordering};

use wstd::http::body::Bytes;
use wstd::http::{Body, Client, Error, Request, Response, StatusCode};

mod standard {
    pub mod config {
        wit_bindgen::generate!({
            path: "../../../host/wit-standard/config",
            world: "wasi:config/imports",
        });
    }
    pub mod logging {
        wit_bindgen::generate!({
            path: "../../../host/wit-standard/logging",
            world: "wasi:logging/imports",
        });
    }
}

use standard::config::wasi::config::store;
use standard::logging::wasi::logging::logging;

static SERVED: AtomicU64 = AtomicU64::new(0);

#[wstd::http_server]
async fn main(request: Request<Body>) -> Result<Response<Body>, Error> {
    let served = SERVED.fetch_add(1, Ordering::Relaxed) + 1;
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or_default().to_string();
    let rest = path.strip_prefix("/std-http").unwrap_or(&path).to_string();
    match rest.as_str() {
        "/echo" => Ok(Response::new(request.into_body())),
        "/stream" => stream(&query),
        "/fetch" => fetch(&query).await,
        "/count" => text(200, served.to_string()),
        "/config-all" => match store::get_all() {
            Ok(all) => text(200, format!("{all:?}")),
            Err(error) => text(500, format!("{error:?}")),
        },
        "/log" => {
            let message = param(&query, "message").unwrap_or_default();
            logging::log(logging::Level::Warn, "std-http", &message);
            text(200, "logged".into())
        }
        "/panic" => panic!("the std-http fixture panics on purpose"),
        "/spin" =>
        {
            #[allow(clippy::empty_loop)]
            loop {}
        }
        "/grow" => {
            let big = vec![7u8; 200 << 20];
            text(200, big.iter().map(|b| *b as u64).sum::<u64>().to_string())
        }
        "/many-headers" => {
            let mut response = Response::builder();
            for i in 0..150 {
                response = response.header(format!("x-h{i}"), "v");
            }
            Ok(response.body(Body::from("flood".to_string()))?)
        }
        "/bad-status" => Ok(Response::builder()
            .status(101)
            .body(Body::from("upgrade?".to_string()))?),
        _ if rest.starts_with("/config/") => match store::get(&rest["/config/".len()..]) {
            Ok(Some(value)) => text(200, value),
            Ok(None) => text(404, "no such key".into()),
            Err(error) => text(403, format!("{error:?}")),
        },
        _ if rest.starts_with("/hello/") => {
            let name = &rest["/hello/".len()..];
            Ok(Response::builder()
                .header("content-type", "text/plain; charset=utf-8")
                .header("x-seen-path", path.as_str())
                .header("x-seen-query", query.as_str())
                .body(Body::from(format!("Hello, {name}! (wasi:http)")))?)
        }
        _ => text(404, format!("std-http has nothing at {path}")),
    }
}

fn text(status: u16, body: String) -> Result<Response<Body>, Error> {
    Ok(Response::builder()
        .status(StatusCode::from_u16(status)?)
        .header("content-type", "text/plain; charset=utf-8")
        .body(Body::from(body))?)
}

/// `kib` KiB of the letters `a..=z` repeated, written 16 KiB at a time.
fn stream(query: &str) -> Result<Response<Body>, Error> {
    let kib: usize = param(query, "kib")
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let chunks = (0..kib.div_ceil(16)).map(move |i| {
        let len = ((kib - i * 16).min(16)) << 10;
        let bytes: Vec<u8> = (0..len)
            .map(|j| b'a' + ((i * (16 << 10) + j) % 26) as u8)
            .collect();
        Bytes::from(bytes)
    });
    Ok(Response::new(Body::from_stream(
        futures_lite::stream::iter(chunks),
    )))
}

async fn fetch(query: &str) -> Result<Response<Body>, Error> {
    let Some(url) = param(query, "url") else {
        return text(400, "fetch needs ?url=".into());
    };
    let request = Request::get(url.as_str()).body(Body::empty())?;
    match Client::new().send(request).await {
        Ok(response) => {
            let status = response.status().as_u16();
            let body = response.into_body().str_contents().await?.to_string();
            text(200, format!("{status} {body}"))
        }
        Err(error) => text(502, format!("outgoing request failed: {error:?}")),
    }
}

fn param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| percent_decode(value))
    })
}

fn percent_decode(value: &str) -> String {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&value[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
