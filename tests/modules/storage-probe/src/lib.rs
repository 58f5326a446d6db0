//! Test fixture: every storage call behind a route, the key taken as the module got it.
//!
//! `PUT /objects/{*key}` stores the body (content type from the request, metadata from
//! `x-meta-NAME` headers) and answers the object's info; `GET /objects/{*key}` answers the
//! bytes (`?start=&end=` for a range); `DELETE`, `/head`, `/exists`, `/list?prefix=&cursor=
//! &limit=`, `POST /copy?source=&target=`; `PUT /raw?key=` stores under a key given in the
//! query, undecoded by the router (for escape attempts). Large objects: `POST /generate?
//! key=&size=&piece=&seed=` writes `size` bytes of a known pattern in pieces, `GET /verify?key=
//! &piece=` reads them back by ranges and checks every byte, `POST /abandon?key=&size=`
//! appends and drops the upload uncommitted. `GET /publish/{*key}?seconds=` answers the
//! object's URL. `GET /served/{*key}` answers with the object streamed by the host.

use plughost_sdk::Result;
use plughost_sdk::http::{Request, Response, Router};
use plughost_sdk::storage::{self, ObjectInfo, Put};
use serde_json::{Value, json};

struct StorageProbe;

impl plughost_sdk::Module for StorageProbe {
    fn routes(router: Router) -> Router {
        router
            .put("/objects/{*key}", |r| put(&r, key(&r)))
            .put("/raw", |r| {
                put(&r, r.query_param("key").unwrap_or_default())
            })
            .get("/objects/{*key}", get)
            .get("/bytes/{*key}", bytes)
            .delete("/objects/{*key}", |r| {
                let deleted = storage::delete(&key(&r))?;
                Ok(Response::json_value(&json!({ "deleted": deleted })))
            })
            .get("/head/{*key}", |r| {
                Ok(Response::json_value(&info(&storage::head(&key(&r))?)))
            })
            .get("/exists/{*key}", |r| {
                let exists = storage::exists(&key(&r))?;
                Ok(Response::json_value(&json!({ "exists": exists })))
            })
            .get("/list", list)
            // No storage call: what an invocation costs alone (the benchmark's floor).
            .get("/nothing", |_| Ok(Response::text("")))
            .get("/served/{*key}", |r| {
                Ok(Response::object(&key(&r)).with_header("cache-control", "no-store"))
            })
            .post("/generate", generate)
            .get("/verify", verify)
            .post("/abandon", |r| {
                let upload = storage::begin_upload(&param(&r, "key"), Put::new())?;
                upload.append(&pattern(0, number(&r, "size", 1024) as usize))?;
                Ok(Response::json_value(
                    &json!({ "written": upload.written() }),
                ))
            })
            .get("/publish/{*key}", |r| {
                let seconds = number(&r, "seconds", 60) as u32;
                let url = storage::publish(&key(&r), seconds)?;
                Ok(Response::json_value(&json!({ "url": url })))
            })
            .post("/copy", |r| {
                let source = r.query_param("source").unwrap_or_default();
                let target = r.query_param("target").unwrap_or_default();
                Ok(Response::json_value(&info(&storage::copy(
                    &source, &target,
                )?)))
            })
    }
}

fn param(request: &Request, name: &str) -> String {
    request.query_param(name).unwrap_or_default()
}

fn number(request: &Request, name: &str, default: u64) -> u64 {
    request
        .query_param(name)
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// The bytes at `offset..offset + len` of the pattern: byte `i` is `i % 251`.
fn pattern(offset: u64, len: usize) -> Vec<u8> {
    (offset..offset + len as u64)
        .map(|i| (i % 251) as u8)
        .collect()
}

fn generate(request: Request) -> Result<Response> {
    let size = number(&request, "size", 0);
    let piece = number(&request, "piece", 1 << 20).max(1);
    // Another seed, other bytes at every offset (verify knows seed 0 only).
    let seed = number(&request, "seed", 0);
    let upload = storage::begin_upload(&param(&request, "key"), Put::new())?;
    let mut at = 0;
    while at < size {
        let len = piece.min(size - at);
        upload.append(&pattern(at + seed, len as usize))?;
        at += len;
    }
    Ok(Response::json_value(&info(&upload.commit()?)).with_status(201))
}

fn verify(request: Request) -> Result<Response> {
    let key = param(&request, "key");
    let piece = number(&request, "piece", 1 << 20).max(1);
    let size = storage::head(&key)?.size;
    let mut at = 0;
    while at < size {
        let end = (at + piece).min(size);
        let bytes = storage::get_range(&key, at, Some(end))?;
        if bytes != pattern(at, (end - at) as usize) {
            return Ok(Response::json_value(&json!({ "ok": false, "at": at })));
        }
        at = end;
    }
    Ok(Response::json_value(&json!({ "ok": true, "size": size })))
}

fn key(request: &Request) -> String {
    request.param("key").unwrap_or_default().to_string()
}

fn put(request: &Request, key: String) -> Result<Response> {
    let mut options = Put::new();
    if let Some(content_type) = request.header("content-type") {
        options = options.content_type(content_type);
    }
    for (name, value) in &request.headers {
        if let Some(meta) = name.strip_prefix("x-meta-") {
            options = options.metadata(meta, value);
        }
    }
    let stored = storage::put(&key, &request.body, options)?;
    Ok(Response::json_value(&info(&stored)).with_status(201))
}

fn get(request: Request) -> Result<Response> {
    let key = key(&request);
    let start = request.query_param("start").and_then(|s| s.parse().ok());
    let end = request.query_param("end").and_then(|s| s.parse().ok());
    // `read`: the bytes and the content type in one call.
    let object = match start {
        Some(start) => storage::read_range(&key, start, end)?,
        None => storage::read(&key)?,
    };
    Ok(Response::status(200)
        .with_header("content-type", &object.info.content_type)
        .with_header("etag", &object.info.etag)
        .with_body(object.bytes))
}

/// `get`: the bytes alone.
fn bytes(request: Request) -> Result<Response> {
    let key = key(&request);
    let start = request.query_param("start").and_then(|s| s.parse().ok());
    let end = request.query_param("end").and_then(|s| s.parse().ok());
    let bytes = match start {
        Some(start) => storage::get_range(&key, start, end)?,
        None => storage::get(&key)?,
    };
    Ok(Response::status(200).with_body(bytes))
}

fn list(request: Request) -> Result<Response> {
    let prefix = request.query_param("prefix").unwrap_or_default();
    let cursor = request.query_param("cursor");
    let limit = request
        .query_param("limit")
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let page = storage::list(&prefix, cursor.as_deref(), limit)?;
    let keys: Vec<&str> = page.objects.iter().map(|o| o.key.as_str()).collect();
    Ok(Response::json_value(
        &json!({ "keys": keys, "next_cursor": page.next_cursor }),
    ))
}

fn info(info: &ObjectInfo) -> Value {
    json!({
        "key": info.key, "size": info.size, "content_type": info.content_type,
        "etag": info.etag, "modified_ms": info.modified_ms, "metadata": info.metadata,
    })
}

plughost_sdk::export_module!(StorageProbe);
