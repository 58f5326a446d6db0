//! The todo example's public contract (routes, fields, statuses), on SQLite and PostgreSQL.

use serde_json::{Value, json};

use crate::harness::{Database, Host, HostBuilder, Reply, every_database, unique_tenant};

every_database!(only [sqlite, postgres]: the_todo_example_keeps_its_contract);
every_database!(only [sqlite, postgres]: db_seed_fills_empty_tables_once_through_the_models_checks);

fn send(host: &Host, method: &str, path: &str, body: &str) -> Reply {
    host.request(
        method,
        path,
        &[("content-type", "application/json")],
        body.as_bytes().to_vec(),
    )
}

fn the_todo_example_keeps_its_contract(db: Database) {
    // The example uses the default tenant; a tenant of its own keeps runs apart on a shared server.
    let tenant = unique_tenant("todo");
    let todo = HostBuilder::new()
        .database(db)
        .tenant(&tenant, &["orm"])
        .module_in("todo", "todo", &tenant)
        .build();
    let host = todo.start();
    let reply = send(&host, "POST", "/todos", r#"{"title": "Buy milk"}"#);
    assert_eq!(reply.status, 201, "{}", reply.body);
    let milk = reply.json();
    assert_eq!(milk["title"], "Buy milk");
    assert_eq!(milk["done"], false);
    assert!(milk["created_at"].is_string() && milk["updated_at"].is_string());
    let id = milk["id"].as_i64().unwrap();
    assert_eq!(
        reply.header("location"),
        Some(format!("/todos/{id}").as_str())
    );

    for i in 0..24 {
        let body = json!({"title": format!("task {i}"), "done": i % 2 == 0}).to_string();
        assert_eq!(send(&host, "POST", "/todos", &body).status, 201);
    }
    let page = host.get("/todos?done=true&page=2&limit=10").json();
    assert_eq!(
        (
            page["total"].clone(),
            page["page"].clone(),
            page["limit"].clone(),
            page["total_pages"].clone()
        ),
        (json!(12), json!(2), json!(10), json!(2))
    );
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    assert!(
        page["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["done"] == true)
    );
    let all = host.get("/todos").json();
    assert_eq!(
        (all["total"].clone(), all["limit"].clone()),
        (json!(25), json!(20))
    );

    let reply = send(&host, "PATCH", &format!("/todos/{id}"), r#"{"done": true}"#);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()["done"], true);
    assert_eq!(reply.json()["title"], "Buy milk");
    assert_eq!(host.get(&format!("/todos/{id}")).json()["done"], true);

    for (method, path, body) in [
        ("POST", "/todos", "{not json"),
        ("POST", "/todos", r#"{"done": true}"#),
        ("POST", "/todos", r#"{"title": ""}"#),
        ("POST", "/todos", r#"{"title": 5}"#),
        ("POST", "/todos", r#"{"title": "x", "priority": 1}"#),
        ("PATCH", "/todos/1", r#"{"done": "yes"}"#),
        ("GET", "/todos?done=maybe", ""),
        ("GET", "/todos?page=0", ""),
    ] {
        let reply = send(&host, method, path, body);
        assert_eq!(reply.status, 400, "{method} {path} {body}: {}", reply.body);
        assert!(
            !reply.json()["error"]["message"]
                .as_str()
                .unwrap()
                .is_empty()
        );
    }
    for (method, path) in [
        ("GET", "/todos/999"),
        ("PATCH", "/todos/999"),
        ("DELETE", "/todos/999"),
        ("GET", "/todos/abc"),
    ] {
        let reply = send(&host, method, path, r#"{"done": true}"#);
        assert_eq!(reply.status, 404, "{method} {path}: {}", reply.body);
    }
    let reply = send(&host, "DELETE", &format!("/todos/{id}"), "");
    assert_eq!(reply.status, 204);
    assert_eq!(host.get(&format!("/todos/{id}")).status, 404);

    drop(host);
    let host = todo.start();
    let after: Value = host.get("/todos").json();
    assert_eq!(after["total"], 24, "data survives a host restart");
}

fn db_seed_fills_empty_tables_once_through_the_models_checks(db: Database) {
    let tenant = unique_tenant("seed");
    let todo = HostBuilder::new()
        .database(db)
        .tenant(&tenant, &["orm"])
        .module_in("todo", "todo", &tenant)
        .build();
    let seed = todo.module("todo").join("seed");
    std::fs::create_dir_all(&seed).unwrap();

    // A row the model refuses fails the seed, naming the row, and inserts nothing.
    std::fs::write(
        seed.join("todo.json"),
        r#"[{"title": "Water the plants"}, {"title": "Call Ada", "colour": "red"}]"#,
    )
    .unwrap();
    let (success, out) = todo.cli(&["db", "seed"]);
    assert!(!success, "{out}");
    assert!(out.contains("seed/todo.json row 2"), "{out}");
    assert!(out.contains("colour"), "{out}");

    std::fs::write(
        seed.join("todo.json"),
        r#"[{"title": "Water the plants"}, {"title": "Call Ada", "done": true}]"#,
    )
    .unwrap();
    let (success, out) = todo.cli(&["db", "seed"]);
    assert!(success, "{out}");
    assert!(out.contains("seeded    todo todo: 2 row(s)"), "{out}");
    let (success, again) = todo.cli(&["db", "seed"]);
    assert!(success, "{again}");
    assert!(again.contains("0 seed row(s) inserted"), "{again}");
    assert!(again.contains("already holds 2 row(s)"), "{again}");

    let host = todo.start();
    let all = host.get("/todos").json();
    assert_eq!(all["total"], 2, "{all}");
    let titles: Vec<&str> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].as_str().unwrap())
        .collect();
    assert!(titles.contains(&"Call Ada") && titles.contains(&"Water the plants"));
    drop(host);

    std::fs::write(seed.join("ghost.json"), r#"[{"name": "boo"}]"#).unwrap();
    let (success, out) = todo.cli(&["db", "seed"]);
    assert!(!success, "{out}");
    assert!(out.contains("[models.ghost]"), "{out}");
}
