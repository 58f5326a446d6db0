//! Test fixture: drives every orm operation from JSON requests, so integration tests can
//! exercise the capability through a real module on each backend.
//!
//! `POST /orm/call` runs one operation: `{"op", "model", "id", "values", "query", "page", "limit"}`
//! where `query` is `{"filters": {field: value}, "order": [[field, "asc"|"desc"]], "limit",
//! "offset", "include_deleted"}`. `POST /orm/batch` runs `{"ops": [...]}` in order, inside a
//! transaction when `"tx": true`, then ends as `"end"` says: `ok`, `error`, `trap`, `commit`
//! or `rollback`.

use plughost_sdk::http::{Request, Response, Router};
use plughost_sdk::orm::{self, Query, Repository};
use plughost_sdk::{Error, Result};
use serde_json::{Value, json};

struct OrmProbe;

impl plughost_sdk::Module for OrmProbe {
    fn routes(router: Router) -> Router {
        router.post("/call", call).post("/batch", batch)
    }
}

fn body(request: &Request) -> Result<Value> {
    serde_json::from_slice(&request.body)
        .map_err(|e| Error::Invalid(format!("body is not JSON: {e}")))
}

fn call(request: Request) -> Result<Response> {
    let result = run(&body(&request)?)?;
    Ok(Response::json(json!({ "result": result }).to_string()))
}

fn batch(request: Request) -> Result<Response> {
    let spec = body(&request)?;
    if spec["tx"] == true {
        orm::begin()?;
    }
    let mut results = Vec::new();
    for op in spec["ops"].as_array().cloned().unwrap_or_default() {
        results.push(run(&op)?);
    }
    match spec["end"].as_str().unwrap_or("ok") {
        "error" => return Err(Error::Invalid("the batch asked to fail".into())),
        "trap" => panic!("the batch asked to trap"),
        "commit" => plughost_sdk::bindings::plughost::platform::orm::commit()?,
        "rollback" => plughost_sdk::bindings::plughost::platform::orm::rollback()?,
        _ => {}
    }
    Ok(Response::json(json!({ "results": results }).to_string()))
}

fn query(spec: &Value) -> Query {
    let mut q = Query::new();
    if let Some(filters) = spec["filters"].as_object() {
        for (field, value) in filters {
            q = q.filter(field, value);
        }
    }
    for key in spec["order"].as_array().cloned().unwrap_or_default() {
        let field = key[0].as_str().unwrap_or_default();
        q = if key[1] == "desc" {
            q.order_by_desc(field)
        } else {
            q.order_by(field)
        };
    }
    if let Some(n) = spec["limit"].as_u64() {
        q = q.limit(n);
    }
    if let Some(n) = spec["offset"].as_u64() {
        q = q.offset(n);
    }
    if spec["include_deleted"] == true {
        q = q.include_deleted();
    }
    q
}

fn run(op: &Value) -> Result<Value> {
    let model = op["model"].as_str().unwrap_or_default();
    let repo = Repository::<Value>::new(model);
    let id = op["id"].as_i64().unwrap_or_default();
    let q = query(&op["query"]);
    Ok(match op["op"].as_str().unwrap_or_default() {
        "find-many" => json!(repo.find_many(&q)?),
        "find-one" => json!(repo.find_one(&q)?),
        "find-by-id" => json!(repo.find_by_id(id)?),
        "create" => repo.create(&op["values"])?,
        "update" => json!(repo.update(id, &op["values"])?),
        "delete" => json!(repo.delete(id)?),
        "count" => json!(repo.count(&q)?),
        "paginate" => {
            let page = op["page"].as_u64().unwrap_or(1);
            let limit = op["limit"].as_u64().unwrap_or(10);
            json!(repo.paginate(&q, page, limit)?)
        }
        "increment" => {
            // A read-modify-write: safe only inside a transaction.
            let field = op["field"].as_str().unwrap_or("a");
            let row = repo
                .find_by_id(id)?
                .ok_or_else(|| Error::NotFound(format!("no {model} {id}")))?;
            let next = row[field].as_i64().unwrap_or(0) + 1;
            json!(repo.update(id, &json!({ field: next }))?)
        }
        "create-raw" => {
            // Values as the module sends them, unchecked, to prove the host checks them.
            let text = op["text"].as_str().unwrap_or_default();
            let row = plughost_sdk::bindings::plughost::platform::orm::create(model, text)?;
            serde_json::from_str(&row).unwrap_or(Value::Null)
        }
        other => return Err(Error::Invalid(format!("unknown op '{other}'"))),
    })
}

plughost_sdk::export_module!(OrmProbe);
