//! An unmodified `wasi:http/handler@0.3.0` (WASI 0.3) component, written as for
//! `wasmtime serve`: it sees the full request path and answers every path under its prefix.
//!
//! - `GET /std-http-p3/hello/{name}`: `Hello, {name}! (wasi:http p3)`, with the path it saw in
//!   `x-seen-path` and the query in `x-seen-query`;
//! - `POST /std-http-p3/echo`: the request body back, streamed;
//! - `GET /std-http-p3/stream?kib=N`: N KiB written in 16 KiB chunks after the response;
//! - `GET /std-http-p3/count`: how many requests this instance has served;
//! - `GET /std-http-p3/panic`, `/spin`, `/grow`: a trap, an endless loop, 200 MB of memory;
//! - `GET /std-http-p3/bad-status`: a response whose status is 101 (an upgrade);
//! - `GET /std-http-p3/many-headers`: a response with 150 headers;
//! - `GET /std-http-p3/error`: the handler answers with a wasi:http error code;
//! - `GET /std-http-p3/fetch?url=URL`: an outgoing GET through `wasi:http/client`.
//! - `GET /std-http-p3/reach?port=N`: what the WASI 0.3 interfaces give it: environment
//!   variables, preopened folders, a TCP connection to 127.0.0.1:N, a name lookup.

use std::sync::atomic::{AtomicU64, Ordering};

use wasip3::http::types::{ErrorCode, Fields, Method, Request, Response, Scheme};
use wasip3::{wit_bindgen, wit_future, wit_stream};

wasip3::http::service::export!(Component);

static SERVED: AtomicU64 = AtomicU64::new(0);

struct Component;

impl wasip3::exports::http::handler::Guest for Component {
    async fn handle(request: Request) -> Result<Response, ErrorCode> {
        let served = SERVED.fetch_add(1, Ordering::Relaxed) + 1;
        let target = request.get_path_with_query().unwrap_or_default();
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let rest = path.strip_prefix("/std-http-p3").unwrap_or(path);
        match rest {
            "/echo" => echo(request),
            "/stream" => stream(query),
            "/count" => text(200, served.to_string(), &[]),
            "/panic" => panic!("the std-http-p3 fixture panics on purpose"),
            "/spin" =>
            {
                #[allow(clippy::empty_loop)]
                loop {}
            }
            "/grow" => {
                let big = vec![7u8; 200 << 20];
                text(
                    200,
                    big.iter().map(|b| *b as u64).sum::<u64>().to_string(),
                    &[],
                )
            }
            "/bad-status" => text(101, "upgrade?".into(), &[]),
            "/many-headers" => {
                let names: Vec<String> = (0..150).map(|i| format!("x-h{i}")).collect();
                let headers: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
                text(200, "flood".into(), &headers)
            }
            "/error" => Err(ErrorCode::InternalError(Some("asked to fail".into()))),
            "/fetch" => fetch(query).await,
            "/reach" => reach(query).await,
            _ => match rest.strip_prefix("/hello/") {
                Some(name) => text(
                    200,
                    format!("Hello, {name}! (wasi:http p3)"),
                    &[("x-seen-path", path), ("x-seen-query", query)],
                ),
                None => text(404, format!("no route for {path}"), &[]),
            },
        }
    }
}

/// A response with `body` written after the handler returns, as WASI 0.3 components do.
fn text(status: u16, body: String, headers: &[(&str, &str)]) -> Result<Response, ErrorCode> {
    streamed(status, headers, vec![body.into_bytes()])
}

fn streamed(
    status: u16,
    headers: &[(&str, &str)],
    chunks: Vec<Vec<u8>>,
) -> Result<Response, ErrorCode> {
    let fields = Fields::new();
    for (name, value) in headers {
        fields
            .append(name, value.as_bytes())
            .map_err(|e| ErrorCode::InternalError(Some(format!("header {name}: {e:?}"))))?;
    }
    let (mut body_tx, body_rx) = wit_stream::new();
    let (trailers_tx, trailers_rx) = wit_future::new(|| Ok(None));
    let (response, _sent) = Response::new(fields, Some(body_rx), trailers_rx);
    drop(trailers_tx);
    response
        .set_status_code(status)
        .map_err(|()| ErrorCode::InternalError(Some(format!("status {status} refused"))))?;
    wit_bindgen::spawn_local(async move {
        for chunk in chunks {
            let left = body_tx.write_all(chunk).await;
            if !left.is_empty() {
                return;
            }
        }
    });
    Ok(response)
}

fn echo(request: Request) -> Result<Response, ErrorCode> {
    let (_done_tx, done_rx) = wit_future::new(|| Ok(()));
    let (mut incoming, _trailers) = Request::consume_body(request, done_rx);
    let (mut body_tx, body_rx) = wit_stream::new();
    let (trailers_tx, trailers_rx) = wit_future::new(|| Ok(None));
    let (response, _sent) = Response::new(Fields::new(), Some(body_rx), trailers_rx);
    drop(trailers_tx);
    wit_bindgen::spawn_local(async move {
        loop {
            let (status, chunk) = incoming.read(Vec::with_capacity(16 << 10)).await;
            if chunk.is_empty() && !matches!(status, wit_bindgen::StreamResult::Complete(_)) {
                return;
            }
            if !body_tx.write_all(chunk).await.is_empty() {
                return;
            }
        }
    });
    Ok(response)
}

fn stream(query: &str) -> Result<Response, ErrorCode> {
    let kib: usize = param(query, "kib")
        .and_then(|k| k.parse().ok())
        .unwrap_or(64);
    let chunks = (0..kib.div_ceil(16))
        .map(|i| vec![b'a' + (i % 26) as u8; (kib - i * 16).min(16) << 10])
        .collect();
    streamed(200, &[], chunks)
}

async fn fetch(query: &str) -> Result<Response, ErrorCode> {
    let Some(url) = param(query, "url") else {
        return text(400, "fetch needs ?url=".into(), &[]);
    };
    let url = url.replace("%3A", ":");
    let Ok(uri) = url.parse::<http::Uri>() else {
        return text(400, format!("not a URL: {url}"), &[]);
    };
    let (request, _sent) = Request::new(Fields::new(), None, wit_future::new(|| Ok(None)).1, None);
    let _ = request.set_method(&Method::Get);
    let _ = request.set_scheme(Some(&match uri.scheme_str() {
        Some("https") => Scheme::Https,
        _ => Scheme::Http,
    }));
    let _ = request.set_authority(uri.authority().map(|a| a.as_str()));
    let _ = request.set_path_with_query(uri.path_and_query().map(|p| p.as_str()));
    match wasip3::http::client::send(request).await {
        Ok(response) => {
            let status = response.get_status_code();
            let (_done_tx, done_rx) = wit_future::new(|| Ok(()));
            let (body, _trailers) = Response::consume_body(response, done_rx);
            let bytes = body.collect().await;
            text(
                200,
                format!("{status} {}", String::from_utf8_lossy(&bytes)),
                &[],
            )
        }
        Err(code) => text(502, format!("{code:?}"), &[]),
    }
}

fn param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// `env=N dirs=N tcp=RESULT dns=RESULT`: a host that grants nothing answers 0, 0 and two
/// errors.
async fn reach(query: &str) -> Result<Response, ErrorCode> {
    use wasip3::sockets::types::{IpAddressFamily, IpSocketAddress, Ipv4SocketAddress, TcpSocket};
    let env = wasip3::cli::environment::get_environment().len();
    let dirs = wasip3::filesystem::preopens::get_directories().len();
    let port: u16 = param(query, "port").and_then(|p| p.parse().ok()).unwrap_or(80);
    let tcp = match TcpSocket::create(IpAddressFamily::Ipv4) {
        Err(e) => format!("create:{e:?}"),
        Ok(socket) => {
            let address = IpSocketAddress::Ipv4(Ipv4SocketAddress {
                port,
                address: (127, 0, 0, 1),
            });
            match socket.connect(address).await {
                Ok(()) => "connected".to_string(),
                Err(e) => format!("{e:?}"),
            }
        }
    };
    let dns = match wasip3::sockets::ip_name_lookup::resolve_addresses("localhost".into()).await {
        Ok(addresses) => format!("resolved:{}", addresses.len()),
        Err(e) => format!("{e:?}"),
    };
    text(200, format!("env={env} dirs={dirs} tcp={tcp} dns={dns}"), &[])
}
