//! A hostile module: each route tries one way of harming the host or another tenant.
//! The tests in tests/integration/hostile.rs assert that each attempt is refused,
//! bounded and counted, and that the well-behaved tenant beside it keeps being served.

use std::time::{Duration, Instant};

use plughost_sdk::http::{Request, Response, Router};
use plughost_sdk::orm::{Query, Repository};
use plughost_sdk::queue::{self, Dispatch};
use plughost_sdk::{Error, Result, events, log};

struct Hostile;

impl plughost_sdk::Module for Hostile {
    fn routes(router: Router) -> Router {
        router
            .get("/framing/{kind}", forged_framing)
            .get("/status/{code}", any_status)
            .get("/sleep/{ms}", sleep_in_a_host_call)
            .get("/spin/{ms}", spin)
            .post("/jobs/{count}/{bytes}", flood_jobs)
            .post("/events/{count}/{bytes}", flood_events)
            .get("/logs/{count}", flood_logs)
            .get("/orm/{model}", undeclared_model)
    }
}

fn number(request: &Request, name: &str) -> Result<u64> {
    request
        .param(name)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| Error::Invalid(format!("{name} must be a number")))
}

/// Response headers that would split or hijack the connection if the host trusted them.
fn forged_framing(request: Request) -> Result<Response> {
    let smuggled = "HTTP/1.1 200 OK\r\ncontent-length: 7\r\n\r\nforged!";
    let response = Response::text(format!("real body{smuggled}"));
    Ok(match request.param("kind").unwrap_or_default() {
        "short" => response.with_header("content-length", "9"),
        "double" => response
            .with_header("content-length", "9")
            .with_header("content-length", "50"),
        "long" => response.with_header("content-length", "100000"),
        "chunked" => response.with_header("transfer-encoding", "chunked"),
        "upgrade" => response
            .with_header("connection", "upgrade")
            .with_header("upgrade", "websocket"),
        "crlf" => response.with_header("x-note", "a\r\nset-cookie: session=stolen"),
        "bad-name" => response.with_header("bad name:", "x"),
        "many" => (0..500).fold(response, |r, i| r.with_header(&format!("x-h{i}"), "v")),
        other => return Err(Error::Invalid(format!("unknown kind {other}"))),
    })
}

fn any_status(request: Request) -> Result<Response> {
    Ok(Response::text("status chosen by the module").with_status(number(&request, "code")? as u16))
}

/// Blocks in a WASI host call (monotonic-clock subscribe + poll), not in wasm.
fn sleep_in_a_host_call(request: Request) -> Result<Response> {
    std::thread::sleep(Duration::from_millis(number(&request, "ms")?));
    Ok(Response::text("woke up"))
}

fn spin(request: Request) -> Result<Response> {
    let until = Instant::now() + Duration::from_millis(number(&request, "ms")?);
    let mut n: u64 = 0;
    while Instant::now() < until {
        for _ in 0..10_000 {
            n = std::hint::black_box(n.wrapping_add(1));
        }
    }
    Ok(Response::text(format!("spun {n}")))
}

/// Dispatches jobs until refused; answers how many were accepted and the refusal.
fn flood_jobs(request: Request) -> Result<Response> {
    let count = number(&request, "count")?;
    let payload = serde_json::json!({ "pad": "x".repeat(number(&request, "bytes")? as usize) });
    let mut accepted = 0;
    for _ in 0..count {
        match queue::dispatch("flood", &payload, Dispatch::default()) {
            Ok(_) => accepted += 1,
            Err(e) => return Ok(refused(accepted, e)),
        }
    }
    Ok(Response::json_value(
        &serde_json::json!({ "accepted": accepted }),
    ))
}

/// Emits events, each on a topic never seen before, until refused.
fn flood_events(request: Request) -> Result<Response> {
    let count = number(&request, "count")?;
    let payload = serde_json::json!({ "pad": "x".repeat(number(&request, "bytes")? as usize) });
    let mut accepted = 0;
    for i in 0..count {
        let topic = format!("flood.{}.{i}", request.request_id.replace('-', ""));
        match events::emit(&topic, &payload) {
            Ok(_) => accepted += 1,
            Err(e) => return Ok(refused(accepted, e)),
        }
    }
    Ok(Response::json_value(
        &serde_json::json!({ "accepted": accepted }),
    ))
}

fn refused(accepted: u64, error: Error) -> Response {
    Response::json_value(
        &serde_json::json!({ "accepted": accepted, "refused": format!("{error:?}") }),
    )
}

fn flood_logs(request: Request) -> Result<Response> {
    for i in 0..number(&request, "count")? {
        log::info(&format!("hostile log line {i}"));
        println!("hostile stdout line {i}");
    }
    Ok(Response::text("logged"))
}

/// Reaches for a model the module does not declare (another tenant's, say).
fn undeclared_model(request: Request) -> Result<Response> {
    let model = request.param("model").unwrap_or_default();
    let rows: Vec<serde_json::Value> = Repository::new(model).find_many(&Query::new())?;
    Ok(Response::json_value(&rows))
}

plughost_sdk::export_module!(Hostile);
