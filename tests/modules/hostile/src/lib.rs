//! A hostile module: each route tries one way of harming the host or another tenant.
//! The tests in tests/integration/hostile.rs assert that each attempt is refused,
//! bounded and counted, and that the well-behaved tenant beside it keeps being served.

use std::time::{Duration, Instant};

use plughost_sdk::http::{Request, Response, Router};
use plughost_sdk::mail::Mail;
use plughost_sdk::orm::{Query, Repository};
use plughost_sdk::queue::{self, Dispatch};
use plughost_sdk::storage::{self, Put};
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
            .post("/storage/{attack}", storage_attack)
            .post("/mail/{attack}", mail_attack)
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

/// One attack on storage; the host's refusal comes back as the answer.
fn storage_attack(request: Request) -> Result<Response> {
    let attack = request.param("attack").unwrap_or_default().to_string();
    match attack.as_str() {
        "metadata-count" => {
            let mut put = Put::new();
            for i in 0..33 {
                put = put.metadata(&format!("m{i}"), "x");
            }
            storage::put("flood", b"x", put)?;
        }
        "metadata-bytes" => {
            let big = "x".repeat(5000);
            storage::put(
                "flood",
                b"x",
                Put::new().metadata("a", &big).metadata("b", &big),
            )?;
        }
        "metadata-newline" => {
            storage::put(
                "flood",
                b"x",
                Put::new().metadata("a", "x\r\nSet-Cookie: s=1"),
            )?;
        }
        "content-type" => {
            storage::put(
                "flood",
                b"x",
                Put::new().content_type("text/html\r\nSet-Cookie: s=1"),
            )?;
        }
        "oversized-put" => {
            storage::put("big", &vec![0u8; (64 << 20) + 1], Put::new())?;
        }
        "oversized-append" => {
            let upload = storage::begin_upload("big", Put::new())?;
            upload.append(&vec![0u8; (64 << 20) + 1])?;
        }
        "open-uploads" => {
            // Kept open: each handle holds a temporary file until the invocation ends.
            let mut open = Vec::new();
            for i in 0..17 {
                open.push(storage::begin_upload(&format!("u{i}"), Put::new())?);
            }
        }
        "publish-forever" => {
            storage::put("public", b"x", Put::new())?;
            storage::publish("public", u32::MAX)?;
        }
        "read-whole-huge" => {
            write_huge()?;
            storage::get("huge")?;
        }
        "read-whole-huge-with-info" => {
            write_huge()?;
            storage::read("huge")?;
        }
        _ => return Err(Error::NotFound(format!("no storage attack '{attack}'"))),
    }
    Ok(Response::text("the host let it through"))
}

/// An object one byte over what a single read may return (64 MiB), unless it is there.
fn write_huge() -> Result<()> {
    if storage::exists("huge")? {
        return Ok(());
    }
    let upload = storage::begin_upload("huge", Put::new())?;
    let piece = vec![7u8; 8 << 20];
    for _ in 0..8 {
        upload.append(&piece)?;
    }
    upload.append(b"!")?;
    upload.commit()?;
    Ok(())
}

/// One attack on mail; `/mail/budget/{n}` sends n messages of 70 KB and answers how many
/// were accepted.
fn mail_attack(request: Request) -> Result<Response> {
    let attack = request.param("attack").unwrap_or_default().to_string();
    match attack.as_str() {
        "spoof" => {
            Mail::to("user@victim.example")
                .from("ceo@victim.example")
                .subject("Wire the money")
                .text("now")
                .send()?;
        }
        "recipients" => {
            let mut mail = Mail::to("r0@victim.example");
            for i in 1..51 {
                mail = mail.and_to(&format!("r{i}@victim.example"));
            }
            mail.subject("spam").text("x").send()?;
        }
        "injection" => {
            Mail::to("user@victim.example")
                .subject("hi\r\nBcc: everyone@victim.example")
                .text("x")
                .send()?;
        }
        "budget" => {
            let mut accepted = 0;
            for _ in 0..20 {
                let sent = Mail::to("user@victim.example")
                    .subject("bulk")
                    .text("x")
                    .attach("pad.bin", "application/octet-stream", vec![b'x'; 70_000])
                    .send();
                match sent {
                    Ok(_) => accepted += 1,
                    Err(e) => return Ok(refused(accepted, e)),
                }
            }
            return Ok(Response::json_value(
                &serde_json::json!({ "accepted": accepted }),
            ));
        }
        _ => return Err(Error::NotFound(format!("no mail attack '{attack}'"))),
    }
    Ok(Response::text("the host let it through"))
}
