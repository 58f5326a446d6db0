//! Files over HTTP: the bytes in storage, a row per file in the ORM, a mail on request.
//!
//! ```text
//! host build examples/files && host run --plugins examples/files/plugins
//! curl -X PUT --data-binary @report.pdf -H 'content-type: application/pdf' \
//!     'localhost:8080/files/reports/q3.pdf?notify=ada@example.com'
//! curl localhost:8080/files/reports/q3.pdf -o q3.pdf   # small: the bytes; large: a redirect
//! curl 'localhost:8080/files?prefix=reports/'
//! curl -X DELETE localhost:8080/files/reports/q3.pdf
//! ```
//!
//! The upload's row and its mail share one ORM transaction: the mail goes out only if the
//! row commits.

use plughost_sdk::http::{Request, Response, Router};
use plughost_sdk::mail::Mail;
use plughost_sdk::orm::{self, Query, Repository};
use plughost_sdk::storage::{self, Put};
use plughost_sdk::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// A row of `uploads`.
#[derive(Serialize, Deserialize)]
struct Upload {
    #[serde(skip_serializing)]
    id: Option<i64>,
    /// The object's key.
    path: String,
    size: i64,
    content_type: String,
    notify: Option<String>,
}

/// Objects up to this size are answered directly; larger ones by a redirect to a URL the
/// host serves (with ranges), so they never pass through the module.
const DIRECT_BYTES: u64 = 4 << 20;
/// Files up to this size are attached to the mail; larger ones are linked.
const ATTACH_BYTES: usize = 5 << 20;
/// How long a redirect's URL stays valid.
const URL_SECONDS: u32 = 600;

struct Files;

impl plughost_sdk::Module for Files {
    fn routes(router: Router) -> Router {
        router
            .get("/", list)
            .put("/{*key}", store)
            .get("/{*key}", fetch)
            .delete("/{*key}", remove)
    }
}

fn key(request: &Request) -> String {
    request.param("key").unwrap_or_default().to_string()
}

fn uploads() -> Repository<Upload> {
    Repository::new("upload")
}

fn store(request: Request) -> Result<Response> {
    let key = key(&request);
    let content_type = request
        .header("content-type")
        .unwrap_or("application/octet-stream")
        .to_string();
    let notify = request.query_param("notify");
    let info = storage::put(&key, &request.body, Put::new().content_type(&content_type))?;
    orm::transaction(|| {
        let rows = uploads();
        if let Some(old) = rows.find_one(&Query::new().filter("path", &key))? {
            rows.delete(old.id.unwrap_or_default())?;
        }
        rows.create(&Upload {
            id: None,
            path: key.clone(),
            size: info.size as i64,
            content_type: content_type.clone(),
            notify: notify.clone(),
        })?;
        if let Some(address) = &notify {
            notification(address, &key, &content_type, &request.body)?;
        }
        Ok(())
    })?;
    Ok(Response::json_value(&json!({ "key": key, "size": info.size })).with_status(201))
}

/// The mail to `address` about `key`: the file attached, or a link when it is large.
fn notification(address: &str, key: &str, content_type: &str, body: &[u8]) -> Result<()> {
    let name = key.rsplit('/').next().unwrap_or(key);
    let mail = Mail::to(address).subject(&format!("New file: {key}"));
    let mail = if body.len() <= ATTACH_BYTES {
        mail.text(&format!("{key} ({} bytes) is attached.", body.len()))
            .attach(name, content_type, body.to_vec())
    } else {
        let url = storage::publish(key, 7 * 24 * 3600)?;
        mail.text(&format!(
            "{key} ({} bytes) can be downloaded for 7 days at {url}",
            body.len()
        ))
    };
    mail.send()?;
    Ok(())
}

fn fetch(request: Request) -> Result<Response> {
    let key = key(&request);
    let info = storage::head(&key)?;
    if info.size > DIRECT_BYTES {
        let url = storage::publish(&key, URL_SECONDS)?;
        return Ok(Response::status(302).with_header("location", &url));
    }
    Ok(Response::status(200)
        .with_header("content-type", &info.content_type)
        .with_header("etag", &format!("\"{}\"", info.etag))
        .with_body(storage::get(&key)?))
}

fn list(request: Request) -> Result<Response> {
    let prefix = request.query_param("prefix").unwrap_or_default();
    let mut keys = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = storage::list(&prefix, cursor.as_deref(), 1000)?;
        keys.extend(page.objects.into_iter().map(|o| o.key));
        match page.next_cursor {
            Some(next) if keys.len() < 10_000 => cursor = Some(next),
            _ => break,
        }
    }
    Ok(Response::json_value(
        &json!({ "prefix": prefix, "keys": keys }),
    ))
}

fn remove(request: Request) -> Result<Response> {
    let key = key(&request);
    if !storage::delete(&key)? {
        return Err(Error::NotFound(format!("no file at '{key}'")));
    }
    let rows = uploads();
    if let Some(row) = rows.find_one(&Query::new().filter("path", &key))? {
        rows.delete(row.id.unwrap_or_default())?;
    }
    Ok(Response::status(204))
}

plughost_sdk::export_module!(Files);
