// Routes of the probe fixture, shared by `probe` and `probe-alt` (which differ only in
// `VARIANT`, so hot-swap tests can tell two builds apart).

use plughost_sdk::http::{Request, Response, Router};
use plughost_sdk::{Error, Result, config, log};

struct Probe;

impl plughost_sdk::Module for Probe {
    fn routes(router: Router) -> Router {
        router
            .any("/echo/{id}", echo)
            .get("/hello/{name}", hello)
            .get("/loop", endless_loop)
            .get("/alloc", allocate_without_bound)
            .get("/trap", trap)
            .get("/invalid", invalid)
            .get("/config/{key}", read_config)
            .get("/output", write_output)
            .get("/slow", slow)
            .get("/ambient", ambient_authority)
            .get("/count", count)
    }
}

/// Invocations this instance has served: always 1 with a fresh instance per invocation;
/// 1, 2, 3… with warm-instance reuse (`[instances] reuse`).
fn count(_: Request) -> Result<Response> {
    static SERVED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let served = SERVED.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    Ok(Response::text(format!("{served} ({VARIANT})")))
}

fn echo(request: Request) -> Result<Response> {
    let body = serde_json::json!({
        "method": request.method,
        "path": request.path,
        "route": request.route,
        "params": request.params,
        "query": request.query_pairs(),
        "headers": request.headers,
        "body": String::from_utf8_lossy(&request.body),
        "body_len": request.body.len(),
        "request_id": request.request_id,
    });
    Ok(Response::json(body.to_string()).with_header("x-probe", "echo"))
}

fn hello(request: Request) -> Result<Response> {
    Ok(Response::text(format!(
        "Hello, {}! ({VARIANT})",
        request.param("name").unwrap_or("?")
    )))
}

fn endless_loop(_: Request) -> Result<Response> {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

fn allocate_without_bound(_: Request) -> Result<Response> {
    let mut blocks: Vec<Vec<u8>> = Vec::new();
    loop {
        blocks.push(std::hint::black_box(vec![1u8; 1 << 20]));
    }
}

fn trap(_: Request) -> Result<Response> {
    panic!("probe trapped on purpose");
}

fn invalid(_: Request) -> Result<Response> {
    Err(Error::Invalid("the probe refuses this on purpose".into()))
}

fn read_config(request: Request) -> Result<Response> {
    let key = request.param("key").unwrap_or_default();
    match config::get(key)? {
        Some(value) => Ok(Response::text(value)),
        None => Err(Error::NotFound(format!("config key '{key}' is unset"))),
    }
}

fn slow(_: Request) -> Result<Response> {
    std::thread::sleep(std::time::Duration::from_millis(600));
    Ok(Response::text(format!("slow ({VARIANT})")))
}

/// Tries what a sandboxed module must not be able to do, and reports what happened.
fn ambient_authority(_: Request) -> Result<Response> {
    let env: Vec<String> = std::env::vars().map(|(k, _)| k).collect();
    let args = std::env::args().count();
    let root = std::fs::read_dir("/").map(|d| d.count()).map_err(|e| e.to_string());
    let passwd = std::fs::read_to_string("/etc/passwd").map(|_| ()).map_err(|e| e.to_string());
    let net = std::net::TcpStream::connect("127.0.0.1:5432").map(|_| ()).map_err(|e| e.to_string());
    let body = serde_json::json!({
        "env": env,
        "args": args,
        "read_dir_root": format!("{root:?}"),
        "read_passwd": format!("{passwd:?}"),
        "connect": format!("{net:?}"),
    });
    Ok(Response::json(body.to_string()))
}

fn write_output(request: Request) -> Result<Response> {
    println!("probe stdout line");
    eprintln!("probe stderr line");
    log::warn(&format!("probe log line for {}", request.request_id));
    Ok(Response::text("written"))
}

plughost_sdk::export_module!(Probe);
