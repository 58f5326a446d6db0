//! The {{name}} module: notes kept with the ORM.

use plughost_sdk::http::{Request, Response, Router};
use plughost_sdk::orm::{Query, Repository};
use plughost_sdk::{Error, Result};
use serde_json::Value;

struct Module;

impl plughost_sdk::Module for Module {
    fn routes(router: Router) -> Router {
        router
            .get("/notes", list)
            .post("/notes", create)
            .get("/notes/{id}", show)
    }
}

fn notes() -> Repository<Value> {
    Repository::new("note")
}

fn list(_: Request) -> Result<Response> {
    let rows = notes().find_many(&Query::new().order_by("id"))?;
    Ok(Response::json_value(&rows))
}

fn create(request: Request) -> Result<Response> {
    let note: Value = request.json()?;
    let created = notes().create(&note)?;
    Ok(Response::json_value(&created).with_status(201))
}

fn show(request: Request) -> Result<Response> {
    let id = request.param("id").unwrap_or_default();
    let id: i64 = id
        .parse()
        .map_err(|_| Error::NotFound(format!("no note {id}")))?;
    match notes().find_by_id(id)? {
        Some(note) => Ok(Response::json_value(&note)),
        None => Err(Error::NotFound(format!("no note {id}"))),
    }
}

plughost_sdk::export_module!(Module);
