//! Test fixture: sends the message described by the request.
//!
//! `POST /send` with `{"to", "cc", "bcc", "from", "reply_to", "subject", "text", "html",
//! "attachments": [{"name", "content_type", "content"}], "headers": [[name, value]],
//! "count": N, "tx": "none"|"commit"|"rollback", "then": "ok"|"error"}` sends the message
//! (N times), inside an ORM transaction that also writes a note when `tx` says so, then
//! answers `{"ids": [...]}` or fails when `then` is `error`. An attachment's `content` is
//! text, or `{"repeat": "x", "times": N}`.

use plughost_sdk::http::{Request, Response, Router};
use plughost_sdk::mail::Mail;
use plughost_sdk::orm::{self, Query, Repository};
use plughost_sdk::{Error, Result};
use serde_json::{Value, json};

struct MailProbe;

impl plughost_sdk::Module for MailProbe {
    fn routes(router: Router) -> Router {
        router.post("/send", send).get("/notes", |_| {
            let notes = Repository::<Value>::new("note").find_many(&Query::new())?;
            Ok(Response::json_value(&json!({ "notes": notes })))
        })
    }
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

fn message(spec: &Value) -> Mail {
    let to = strings(&spec["to"]);
    let mut mail = Mail::to(to.first().map_or("", String::as_str));
    for address in to.iter().skip(1) {
        mail = mail.and_to(address);
    }
    for address in strings(&spec["cc"]) {
        mail = mail.cc(&address);
    }
    for address in strings(&spec["bcc"]) {
        mail = mail.bcc(&address);
    }
    if let Some(from) = spec["from"].as_str() {
        mail = mail.from(from);
    }
    if let Some(reply_to) = spec["reply_to"].as_str() {
        mail = mail.reply_to(reply_to);
    }
    mail = mail.subject(spec["subject"].as_str().unwrap_or_default());
    if let Some(text) = spec["text"].as_str() {
        mail = mail.text(text);
    }
    if let Some(html) = spec["html"].as_str() {
        mail = mail.html(html);
    }
    for attachment in spec["attachments"].as_array().into_iter().flatten() {
        let content = match &attachment["content"] {
            Value::String(text) => text.as_bytes().to_vec(),
            repeat => repeat["repeat"]
                .as_str()
                .unwrap_or("x")
                .repeat(repeat["times"].as_u64().unwrap_or(1) as usize)
                .into_bytes(),
        };
        mail = mail.attach(
            attachment["name"].as_str().unwrap_or_default(),
            attachment["content_type"].as_str().unwrap_or_default(),
            content,
        );
    }
    for header in spec["headers"].as_array().into_iter().flatten() {
        mail = mail.header(
            header[0].as_str().unwrap_or_default(),
            header[1].as_str().unwrap_or_default(),
        );
    }
    mail
}

fn send_all(spec: &Value) -> Result<Vec<String>> {
    let count = spec["count"].as_u64().unwrap_or(1);
    (0..count).map(|_| message(spec).send()).collect()
}

fn note(text: &str) -> Result<()> {
    Repository::<Value>::new("note").create(&json!({ "text": text }))?;
    Ok(())
}

fn send(request: Request) -> Result<Response> {
    let spec: Value = request.json()?;
    let ids = match spec["tx"].as_str().unwrap_or("none") {
        "commit" => {
            orm::begin()?;
            note("sent in a transaction")?;
            send_all(&spec)?
        }
        "rollback" => {
            let outcome = orm::transaction(|| {
                note("rolled back")?;
                send_all(&spec)?;
                Err::<(), _>(Error::Invalid("rolling back on purpose".into()))
            });
            if outcome.is_ok() {
                return Err(Error::Internal("the transaction did not roll back".into()));
            }
            Vec::new()
        }
        _ => send_all(&spec)?,
    };
    if spec["then"] == "error" {
        return Err(Error::Internal("failing on purpose after sending".into()));
    }
    Ok(Response::json_value(&json!({ "ids": ids })).with_status(201))
}

plughost_sdk::export_module!(MailProbe);
