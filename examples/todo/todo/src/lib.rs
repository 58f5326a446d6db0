//! A todo list as a JSON REST API over one ORM model (`[models.todo]` in plugin.toml).
//!
//! ```text
//! host build examples/todo && host run --plugins examples/todo/plugins
//! curl -X POST localhost:8080/todos -d '{"title": "Buy milk"}'
//! curl 'localhost:8080/todos?done=false&page=1&limit=10'
//! curl -X PATCH localhost:8080/todos/1 -d '{"done": true}'
//! curl -X DELETE localhost:8080/todos/1
//! ```

use plughost_sdk::http::{Request, Response, Router};
use plughost_sdk::orm::{Query, Repository};
use plughost_sdk::{Error, Result};
use serde::{Deserialize, Serialize};

/// A row of `todos`.
#[derive(Serialize, Deserialize)]
struct Todo {
    id: i64,
    title: String,
    done: bool,
    created_at: String,
    updated_at: String,
}

/// What `POST /todos` accepts.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTodo {
    title: String,
    #[serde(default)]
    done: bool,
}

/// What `PATCH /todos/{id}` accepts: any of the fields.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TodoChanges {
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    done: Option<bool>,
}

const DEFAULT_LIMIT: u64 = 20;
const MAX_LIMIT: u64 = 100;

struct Todos;

impl plughost_sdk::Module for Todos {
    fn routes(router: Router) -> Router {
        router
            .get("/", list)
            .post("/", create)
            .get("/{id}", show)
            .patch("/{id}", update)
            .delete("/{id}", remove)
    }
}

fn todos() -> Repository<Todo> {
    Repository::new("todo")
}

/// `GET /todos?done=true&page=2&limit=10`: one page, oldest first.
fn list(request: Request) -> Result<Response> {
    let mut query = Query::new().order_by("id");
    if let Some(done) = request.query_param("done") {
        let done: bool = done
            .parse()
            .map_err(|_| Error::Invalid(format!("done must be true or false, not '{done}'")))?;
        query = query.filter("done", done);
    }
    let page = number(&request, "page", 1)?;
    let limit = number(&request, "limit", DEFAULT_LIMIT)?;
    if page == 0 || limit == 0 || limit > MAX_LIMIT {
        return Err(Error::Invalid(format!(
            "page must be 1 or more and limit between 1 and {MAX_LIMIT}"
        )));
    }
    Ok(Response::json_value(
        &todos().paginate(&query, page, limit)?,
    ))
}

/// `POST /todos` with `{"title": "...", "done": false}`: 201 and the new todo.
fn create(request: Request) -> Result<Response> {
    let new: NewTodo = request.json()?;
    check_title(&new.title)?;
    let todo = todos().create(&new)?;
    let location = format!("/todos/{}", todo.id);
    Ok(Response::json_value(&todo)
        .with_status(201)
        .with_header("location", &location))
}

/// `GET /todos/{id}`.
fn show(request: Request) -> Result<Response> {
    let id = id(&request)?;
    let todo = todos().find_by_id(id)?.ok_or_else(|| missing(id))?;
    Ok(Response::json_value(&todo))
}

/// `PATCH /todos/{id}` with any of `title`, `done`.
fn update(request: Request) -> Result<Response> {
    let id = id(&request)?;
    let changes: TodoChanges = request.json()?;
    if let Some(title) = &changes.title {
        check_title(title)?;
    }
    let todo = todos().update(id, &changes)?.ok_or_else(|| missing(id))?;
    Ok(Response::json_value(&todo))
}

/// `DELETE /todos/{id}`: 204.
fn remove(request: Request) -> Result<Response> {
    let id = id(&request)?;
    if !todos().delete(id)? {
        return Err(missing(id));
    }
    Ok(Response::status(204))
}

fn id(request: &Request) -> Result<i64> {
    let raw = request.param("id").unwrap_or_default();
    raw.parse()
        .map_err(|_| Error::NotFound(format!("no todo with id '{raw}'")))
}

fn number(request: &Request, name: &str, default: u64) -> Result<u64> {
    match request.query_param(name) {
        None => Ok(default),
        Some(text) => text
            .parse()
            .map_err(|_| Error::Invalid(format!("{name} must be a positive number, not '{text}'"))),
    }
}

fn check_title(title: &str) -> Result<()> {
    if title.trim().is_empty() {
        return Err(Error::Invalid("title must not be empty".into()));
    }
    Ok(())
}

fn missing(id: i64) -> Error {
    Error::NotFound(format!("no todo with id {id}"))
}

plughost_sdk::export_module!(Todos);
