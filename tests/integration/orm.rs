//! The orm capability through a real module and a real host, the same suite on SQLite,
//! PostgreSQL and MariaDB (`orm::SCENARIO::on_sqlite`, `…::on_postgres`, `…::on_mariadb`).

use std::time::Duration;

use serde_json::{Value, json};

use crate::databases::{OrmFixture, batch, call, call_at, count, create, ok};
use crate::harness::{Database, edit_manifest, every_database};

every_database!(
    every_field_type_round_trips_through_create_find_update_and_delete,
    find_many_filters_orders_limits_and_offsets,
    paginate_reports_data_total_page_limit_and_total_pages,
    soft_delete_hides_rows_and_timestamps_track_changes,
    a_transaction_rolls_back_on_trap_and_error_and_commits_on_success,
    sql_in_values_and_filters_is_stored_and_matched_literally,
    bad_input_gets_an_error_naming_model_and_field_and_writes_nothing,
    a_module_reaches_only_its_own_models_and_tenants_are_separated,
    a_new_field_in_a_swapped_version_adds_its_column_and_keeps_old_rows,
    a_type_change_is_refused_and_the_old_version_keeps_serving,
    manual_migrations_apply_roll_back_and_report_status,
    migrate_before_the_first_start_creates_the_model_tables_and_indexes_need_no_placeholder,
    concurrent_writers_lose_no_update_they_were_told_succeeded,
    data_survives_a_host_restart,
);

every_database!(only [postgres]:
    database_notices_are_not_logged_as_the_hosts_information,
);

fn item() -> Value {
    json!({
        "name": "apple",
        "qty": 3,
        "price": 1.25,
        "active": false,
        "born": "2026-01-02",
        "seen_at": "2026-11-23T10:00:00.5+02:00",
        "meta": {"tags": ["red", "fruit"], "n": 1},
        "body": "x".repeat(10_000),
    })
}

fn every_field_type_round_trips_through_create_find_update_and_delete(backend: Database) {
    let fx = OrmFixture::new(backend);
    let host = fx.start();
    let created = ok(&host, create("item", item()));
    let id = created["id"].as_i64().expect("a generated id");
    assert_eq!(created["name"], "apple");
    assert_eq!(created["qty"], 3);
    assert_eq!(created["price"], 1.25);
    assert_eq!(created["active"], false);
    assert_eq!(created["born"], "2026-01-02");
    assert_eq!(created["seen_at"], "2026-11-23T08:00:00.500000Z");
    assert_eq!(created["meta"], json!({"tags": ["red", "fruit"], "n": 1}));
    assert_eq!(created["body"].as_str().unwrap().len(), 10_000);

    let found = ok(
        &host,
        json!({"op": "find-by-id", "model": "item", "id": id}),
    );
    assert_eq!(found, created);
    let one = ok(
        &host,
        json!({"op": "find-one", "model": "item", "query": {"filters": {"born": "2026-01-02"}}}),
    );
    assert_eq!(one["id"], id);

    let updated = ok(
        &host,
        json!({"op": "update", "model": "item", "id": id, "values": {"qty": 4, "meta": null}}),
    );
    assert_eq!(updated["qty"], 4);
    assert_eq!(updated["meta"], Value::Null);
    assert_eq!(
        updated["name"], "apple",
        "a partial update keeps the other fields"
    );
    let missing = ok(
        &host,
        json!({"op": "update", "model": "item", "id": id + 1000, "values": {"qty": 1}}),
    );
    assert_eq!(missing, Value::Null);

    let defaults = ok(&host, create("item", json!({"name": "pear"})));
    assert_eq!(defaults["qty"], 0);
    assert_eq!(defaults["active"], true);
    assert_eq!(defaults["price"], Value::Null);
    assert_eq!(count(&host, "item"), 2);

    assert_eq!(
        ok(&host, json!({"op": "delete", "model": "item", "id": id})),
        true
    );
    assert_eq!(
        ok(&host, json!({"op": "delete", "model": "item", "id": id})),
        false
    );
    assert_eq!(
        ok(
            &host,
            json!({"op": "find-by-id", "model": "item", "id": id})
        ),
        Value::Null
    );
    assert_eq!(count(&host, "item"), 1);
}

fn find_many_filters_orders_limits_and_offsets(backend: Database) {
    let fx = OrmFixture::new(backend);
    let host = fx.start();
    for (text, a, b) in [
        ("x", 1, 10),
        ("y", 2, 10),
        ("x", 3, 20),
        ("z", 4, 20),
        ("x", 5, 10),
    ] {
        ok(&host, create("note", json!({"text": text, "a": a, "b": b})));
    }
    ok(&host, create("note", json!({"a": 6})));
    let ids = |rows: Value| -> Vec<i64> {
        rows.as_array()
            .unwrap()
            .iter()
            .map(|r| r["a"].as_i64().unwrap())
            .collect()
    };
    let find = |query: Value| {
        ok(
            &host,
            json!({"op": "find-many", "model": "note", "query": query}),
        )
    };
    assert_eq!(ids(find(json!({"filters": {"text": "x"}}))), [1, 3, 5]);
    assert_eq!(
        ids(find(json!({"filters": {"text": "x", "b": 10}}))),
        [1, 5]
    );
    assert_eq!(ids(find(json!({"filters": {"text": null}}))), [6]);
    // Empty values sort as the smallest, on every backend.
    assert_eq!(
        ids(find(json!({"order": [["text", "asc"]], "limit": 1}))),
        [6]
    );
    assert_eq!(
        ids(find(json!({"order": [["b", "desc"]], "offset": 5}))),
        [6]
    );
    assert_eq!(
        ids(find(
            json!({"order": [["b", "desc"], ["a", "desc"]], "limit": 3})
        )),
        [4, 3, 5]
    );
    assert_eq!(
        ids(find(
            json!({"order": [["a", "asc"]], "limit": 2, "offset": 2})
        )),
        [3, 4]
    );
    assert_eq!(
        ids(find(json!({"order": [["a", "asc"]], "offset": 4}))),
        [5, 6]
    );
    let reply = call(
        &host,
        json!({"op": "find-many", "model": "note", "query": {"order": [["colour", "asc"]]}}),
    );
    assert_eq!(reply.status, 400);
    assert!(reply.body.contains("colour"), "{}", reply.body);
    let counted = ok(
        &host,
        json!({"op": "count", "model": "note", "query": {"filters": {"b": 20}}}),
    );
    assert_eq!(counted, 2);
}

fn paginate_reports_data_total_page_limit_and_total_pages(backend: Database) {
    let fx = OrmFixture::new(backend);
    let host = fx.start();
    let ops: Vec<Value> = (1..=25)
        .map(|a| create("note", json!({"a": a, "b": a % 2})))
        .collect();
    assert_eq!(batch(&host, json!({"tx": true, "ops": ops})).status, 200);
    let page = |p: u64, limit: u64, filters: Value| {
        ok(
            &host,
            json!({"op": "paginate", "model": "note", "page": p, "limit": limit,
            "query": {"filters": filters, "order": [["a", "asc"]]}}),
        )
    };
    let second = page(2, 10, json!({}));
    assert_eq!(
        (
            second["total"].clone(),
            second["page"].clone(),
            second["limit"].clone(),
            second["total_pages"].clone()
        ),
        (json!(25), json!(2), json!(10), json!(3))
    );
    let a: Vec<i64> = second["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["a"].as_i64().unwrap())
        .collect();
    assert_eq!(a, (11..=20).collect::<Vec<_>>());
    assert_eq!(page(3, 10, json!({}))["data"].as_array().unwrap().len(), 5);
    assert_eq!(page(4, 10, json!({}))["data"].as_array().unwrap().len(), 0);
    let odd = page(1, 5, json!({"b": 1}));
    assert_eq!(
        (odd["total"].clone(), odd["total_pages"].clone()),
        (json!(13), json!(3))
    );
    let exact = page(1, 25, json!({}));
    assert_eq!(exact["total_pages"], 1);
    for (p, limit) in [(0, 10), (1, 0), (1, 1001)] {
        let reply = call(
            &host,
            json!({"op": "paginate", "model": "note", "page": p, "limit": limit}),
        );
        assert_eq!(reply.status, 400, "page {p} limit {limit}: {}", reply.body);
    }
}

fn soft_delete_hides_rows_and_timestamps_track_changes(backend: Database) {
    let fx = OrmFixture::new(backend);
    let host = fx.start();
    let row = ok(&host, create("item", json!({"name": "kept"})));
    let id = row["id"].as_i64().unwrap();
    assert_eq!(row["created_at"], row["updated_at"]);
    assert_eq!(row["deleted_at"], Value::Null);
    std::thread::sleep(Duration::from_millis(20));
    let updated = ok(
        &host,
        json!({"op": "update", "model": "item", "id": id, "values": {"qty": 9}}),
    );
    assert_eq!(updated["created_at"], row["created_at"]);
    assert!(
        updated["updated_at"].as_str() > row["updated_at"].as_str(),
        "{updated}"
    );
    ok(&host, create("item", json!({"name": "other"})));

    assert_eq!(
        ok(&host, json!({"op": "delete", "model": "item", "id": id})),
        true
    );
    assert_eq!(
        ok(
            &host,
            json!({"op": "find-by-id", "model": "item", "id": id})
        ),
        Value::Null
    );
    assert_eq!(count(&host, "item"), 1);
    let live = ok(
        &host,
        json!({"op": "find-many", "model": "item", "query": {}}),
    );
    assert_eq!(live.as_array().unwrap().len(), 1);
    let all = ok(
        &host,
        json!({"op": "find-many", "model": "item", "query": {"include_deleted": true, "filters": {"name": "kept"}}}),
    );
    assert!(all[0]["deleted_at"].is_string(), "{all}");
    let update_deleted = ok(
        &host,
        json!({"op": "update", "model": "item", "id": id, "values": {"qty": 1}}),
    );
    assert_eq!(
        update_deleted,
        Value::Null,
        "a soft-deleted row cannot be updated"
    );
    assert_eq!(
        fx.sql_count("items").unwrap(),
        2,
        "the row is still in the table"
    );
}

fn a_transaction_rolls_back_on_trap_and_error_and_commits_on_success(backend: Database) {
    let fx = OrmFixture::new(backend);
    let host = fx.start();
    let two = || {
        vec![
            create("note", json!({"a": 1})),
            create("note", json!({"a": 2})),
        ]
    };
    let reply = batch(&host, json!({"tx": true, "ops": two(), "end": "trap"}));
    assert_eq!(reply.status, 500, "{}", reply.body);
    assert_eq!(count(&host, "note"), 0, "a trap rolls back");
    let reply = batch(&host, json!({"tx": true, "ops": two(), "end": "error"}));
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert_eq!(count(&host, "note"), 0, "an error result rolls back");
    assert_eq!(
        batch(&host, json!({"tx": true, "ops": two(), "end": "rollback"})).status,
        200
    );
    assert_eq!(count(&host, "note"), 0, "an explicit rollback rolls back");
    let failing = vec![
        create("note", json!({"a": 1})),
        create("note", json!({"a": "not a number"})),
    ];
    assert_eq!(
        batch(&host, json!({"tx": true, "ops": failing})).status,
        400
    );
    assert_eq!(
        count(&host, "note"),
        0,
        "a failed operation's error rolls back the first"
    );
    assert_eq!(
        batch(&host, json!({"tx": true, "ops": two(), "end": "ok"})).status,
        200
    );
    assert_eq!(count(&host, "note"), 2, "success commits");
    assert_eq!(
        batch(&host, json!({"tx": true, "ops": two(), "end": "commit"})).status,
        200
    );
    assert_eq!(count(&host, "note"), 4, "an explicit commit commits");
    let reply = batch(&host, json!({"tx": false, "ops": two(), "end": "error"}));
    assert_eq!(reply.status, 400);
    assert_eq!(
        count(&host, "note"),
        6,
        "outside a transaction each write stands"
    );
}

fn sql_in_values_and_filters_is_stored_and_matched_literally(backend: Database) {
    let fx = OrmFixture::new(backend);
    let host = fx.start();
    let attacks = [
        "' OR 1=1 --",
        "x'; DROP TABLE items; --",
        "\"; DELETE FROM notes; --",
        "\\'; --",
    ];
    for name in attacks {
        let row = ok(&host, create("item", json!({"name": name})));
        assert_eq!(row["name"], name);
    }
    ok(&host, create("item", json!({"name": "innocent"})));
    for name in attacks {
        let found = ok(
            &host,
            json!({"op": "find-many", "model": "item", "query": {"filters": {"name": name}}}),
        );
        assert_eq!(found.as_array().unwrap().len(), 1, "{name}");
        assert_eq!(found[0]["name"], name);
    }
    assert_eq!(count(&host, "item"), 5, "nothing was dropped or deleted");
    for field in ["name; DROP TABLE items", "name\" = name OR \"1", "1=1 --"] {
        let reply = call(
            &host,
            json!({"op": "find-many", "model": "item", "query": {"filters": {field: "x"}}}),
        );
        assert_eq!(reply.status, 400, "{field}: {}", reply.body);
        let reply = call(
            &host,
            json!({"op": "find-many", "model": "item", "query": {"order": [[field, "asc"]]}}),
        );
        assert_eq!(reply.status, 400, "{field}: {}", reply.body);
        let reply = call(&host, create("item", json!({"name": "n", field: 1})));
        assert_eq!(reply.status, 400, "{field}: {}", reply.body);
    }
    let reply = call(
        &host,
        create("items; DROP TABLE items", json!({"name": "n"})),
    );
    assert_eq!(reply.status, 403);
    assert_eq!(fx.sql_count("items").unwrap(), 5);
}

fn bad_input_gets_an_error_naming_model_and_field_and_writes_nothing(backend: Database) {
    let fx = OrmFixture::new(backend);
    let host = fx.start();
    let cases = [
        (
            create("item", json!({"name": "a", "qty": "three"})),
            "field 'qty': expected an integer but got a string",
        ),
        (
            create("item", json!({"name": "a", "qty": 1.5})),
            "field 'qty'",
        ),
        (
            create("item", json!({"name": "a", "active": "yes"})),
            "field 'active'",
        ),
        (
            create("item", json!({"name": "a", "born": "02/01/2026"})),
            "field 'born'",
        ),
        (
            create("item", json!({"name": "a", "seen_at": "yesterday"})),
            "field 'seen_at'",
        ),
        (
            create("item", json!({"name": "a".repeat(256)})),
            "longer than 255",
        ),
        (
            create("item", json!({"qty": 1})),
            "model 'item', field 'name': is required",
        ),
        (
            create("item", json!({"name": null})),
            "field 'name': is required",
        ),
        (
            create("item", json!({"name": "a", "colour": "red"})),
            "model 'item' has no field 'colour'",
        ),
        (
            create("item", json!({"name": "a", "id": 7})),
            "field 'id': is set by the host",
        ),
        (
            create(
                "item",
                json!({"name": "a", "created_at": "2026-01-01T00:00:00Z"}),
            ),
            "field 'created_at'",
        ),
        (
            create("item", json!(["name", "a"])),
            "must be a JSON object",
        ),
        (
            json!({"op": "create-raw", "model": "item", "text": "{not json"}),
            "not valid JSON",
        ),
        (
            json!({"op": "find-many", "model": "item", "query": {"filters": {"qty": "x"}}}),
            "field 'qty'",
        ),
    ];
    for (op, expected) in cases {
        let reply = call(&host, op.clone());
        assert_eq!(reply.status, 400, "{op}: {}", reply.body);
        let message = reply.json()["error"]["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(message.contains(expected), "{op}: {message}");
    }
    let row = ok(&host, create("item", json!({"name": "ok"})));
    let reply = call(
        &host,
        json!({"op": "update", "model": "item", "id": row["id"], "values": {"name": null}}),
    );
    assert_eq!(reply.status, 400, "{}", reply.body);
    let reply = call(
        &host,
        json!({"op": "update", "model": "item", "id": row["id"], "values": {"qty": 2, "active": "no"}}),
    );
    assert_eq!(reply.status, 400, "{}", reply.body);
    let after = ok(
        &host,
        json!({"op": "find-by-id", "model": "item", "id": row["id"]}),
    );
    assert_eq!(after["qty"], 0, "a rejected update writes no field");
    assert_eq!(
        fx.sql_count("items").unwrap(),
        1,
        "only the valid create was written"
    );
}

fn a_module_reaches_only_its_own_models_and_tenants_are_separated(backend: Database) {
    let fx = OrmFixture::new(backend);
    let other_tenant = format!("{}b", fx.tenant);
    fx.add_module("neighbour", "neighbour", "/neighbour", &other_tenant);
    let host = fx.start();
    let reply = call(&host, create("user", json!({"name": "x"})));
    assert_eq!(reply.status, 403);
    assert!(
        reply.body.contains("model 'user' is not declared"),
        "{}",
        reply.body
    );
    let reply = call(&host, create("secret", json!({"value": "x"})));
    assert_eq!(reply.status, 403);
    assert!(reply.body.contains("secrets"), "{}", reply.body);

    ok(&host, create("item", json!({"name": "mine"})));
    let theirs = call_at(&host, "/neighbour", json!({"op": "count", "model": "item"}));
    assert_eq!(
        theirs.json()["result"],
        0,
        "another tenant's same-named table is its own"
    );
    call_at(
        &host,
        "/neighbour",
        create("item", json!({"name": "theirs"})),
    );
    let mine = ok(
        &host,
        json!({"op": "find-many", "model": "item", "query": {}}),
    );
    assert_eq!(mine.as_array().unwrap().len(), 1);
    assert_eq!(mine[0]["name"], "mine");

    // A second module in the same tenant cannot take over the first one's table.
    let dir = fx.add_module("squatter", "squatter", "/squatter", &fx.tenant);
    let _ = dir;
    let error = host.wait_for_error("squatter");
    assert!(error.contains("belongs to module 'orm-probe'"), "{error}");
    assert_eq!(count(&host, "item"), 1);
}

fn a_new_field_in_a_swapped_version_adds_its_column_and_keeps_old_rows(backend: Database) {
    let fx = OrmFixture::new(backend);
    let host = fx.start();
    let old = ok(&host, create("note", json!({"text": "before", "a": 1})));
    edit_manifest(
        &fx.plugins().join("orm-probe"),
        "fields.b = { type = \"integer\" }",
        "fields.b = { type = \"integer\" }\nfields.colour = { type = \"string\", default = \"blue\" }",
    );
    let reply = host.eventually("the new field to appear", Duration::from_secs(10), || {
        let reply = call(
            &host,
            create("note", json!({"text": "after", "colour": "red"})),
        );
        if reply.status == 200 {
            Ok(reply)
        } else {
            Err(reply.body)
        }
    });
    assert_eq!(reply.json()["result"]["colour"], "red");
    let before = ok(
        &host,
        json!({"op": "find-by-id", "model": "note", "id": old["id"]}),
    );
    assert_eq!(before["text"], "before");
    assert_eq!(before["a"], 1);
    assert_eq!(
        before["colour"], "blue",
        "existing rows get the new column's default"
    );

    // Removing the field again keeps its column and warns.
    edit_manifest(
        &fx.plugins().join("orm-probe"),
        "\nfields.colour = { type = \"string\", default = \"blue\" }",
        "",
    );
    host.wait_for_log(Duration::from_secs(10), |l| {
        crate::harness::message(l).contains("keeps column 'colour'")
    });
    assert_eq!(count(&host, "note"), 2);
}

fn a_type_change_is_refused_and_the_old_version_keeps_serving(backend: Database) {
    let fx = OrmFixture::new(backend);
    let host = fx.start();
    ok(&host, create("note", json!({"a": 1})));
    edit_manifest(
        &fx.plugins().join("orm-probe"),
        "fields.a = { type = \"integer\" }",
        "fields.a = { type = \"string\" }",
    );
    let error = host.wait_for_error("orm-probe");
    assert!(
        error.contains("changes field 'a' from integer to string"),
        "{error}"
    );
    assert!(error.contains("manual migration"), "{error}");
    let row = ok(&host, create("note", json!({"a": 2})));
    assert_eq!(
        row["a"], 2,
        "the old version still serves with the old type"
    );
}

fn manual_migrations_apply_roll_back_and_report_status(backend: Database) {
    let fx = OrmFixture::new(backend);
    let host = fx.start();
    host.wait_for_log(Duration::from_secs(10), |l| {
        crate::harness::message(l).contains("2 manual migration(s) pending")
    });
    drop(host);
    let (success, status) = fx.db(&["status"]);
    assert!(success, "{status}");
    assert!(
        status.contains("create_audit_log") && status.contains("pending"),
        "{status}"
    );
    assert!(
        fx.sql_count("audit_log").is_err(),
        "no table before migrating"
    );

    let (success, out) = fx.db(&["migrate"]);
    assert!(success, "{out}");
    assert!(out.contains("2 migration(s) applied"), "{out}");
    assert_eq!(fx.sql_count("audit_log").unwrap(), 1);
    let (_, status) = fx.db(&["status"]);
    assert!(!status.contains("pending"), "{status}");
    let (_, again) = fx.db(&["migrate"]);
    assert!(again.contains("0 migration(s) applied"), "{again}");

    let (success, out) = fx.db(&["rollback"]);
    assert!(success, "{out}");
    assert!(out.contains("add_audit_level"), "newest first: {out}");
    let (_, status) = fx.db(&["status"]);
    assert_eq!(status.matches("pending").count(), 1, "{status}");
    let (success, out) = fx.db(&["rollback", "--steps", "5"]);
    assert!(success, "{out}");
    assert!(out.contains("1 migration(s) rolled back"), "{out}");
    assert!(
        fx.sql_count("audit_log").is_err(),
        "the table is gone after rolling back"
    );

    // A migration naming a table outside the grant is refused before it runs.
    let migrations = fx.plugins().join("orm-probe/migrations");
    std::fs::write(
        migrations.join("0003_steal.up.sql"),
        "DELETE FROM {{users}};",
    )
    .unwrap();
    std::fs::write(migrations.join("0003_steal.down.sql"), "SELECT 1;").unwrap();
    let (success, out) = fx.db(&["migrate"]);
    assert!(!success, "{out}");
    assert!(out.contains("users"), "{out}");
}

fn migrate_before_the_first_start_creates_the_model_tables_and_indexes_need_no_placeholder(
    backend: Database,
) {
    let fx = OrmFixture::new(backend);
    let migrations = fx.plugins().join("orm-probe/migrations");
    // An index on a model's table: the table comes from [models], which only the host's
    // automatic migration creates; `host db migrate` must make it first.
    std::fs::write(
        migrations.join("0003_note_index.up.sql"),
        "CREATE INDEX note_a_idx ON {{notes}} (a);",
    )
    .unwrap();
    // The index is named bare: on PostgreSQL it lives in the tenant's schema, which the
    // host puts first on the search path; MariaDB names it by its table.
    let drop = match backend {
        Database::MariaDb => "DROP INDEX note_a_idx ON {{notes}};",
        _ => "DROP INDEX note_a_idx;",
    };
    std::fs::write(migrations.join("0003_note_index.down.sql"), drop).unwrap();

    let (success, out) = fx.db(&["migrate"]);
    assert!(success, "{out}");
    assert!(out.contains("3 migration(s) applied"), "{out}");
    let (success, out) = fx.db(&["rollback"]);
    assert!(success, "{out}");
    assert!(out.contains("note_index"), "{out}");
    let (success, out) = fx.db(&["migrate"]);
    assert!(success, "the index can be made again: {out}");

    // The host then starts on that database and serves the model.
    let host = fx.start();
    ok(&host, create("note", json!({"a": 7})));
    assert_eq!(count(&host, "note"), 1);
}

fn concurrent_writers_lose_no_update_they_were_told_succeeded(backend: Database) {
    let fx = OrmFixture::new(backend);
    let host = fx.start();
    let counter = ok(&host, create("note", json!({"a": 0})));
    let id = counter["id"].as_i64().unwrap();
    let run_all = |n: usize, op: &(dyn Fn(usize) -> (String, Value) + Sync)| -> usize {
        std::thread::scope(|s| {
            let workers: Vec<_> = (0..n)
                .map(|i| {
                    let (path, body) = op(i);
                    let host = &host;
                    s.spawn(move || {
                        let reply = host.request("POST", &path, &[], body.to_string().into_bytes());
                        assert!(
                            reply.status == 200 || reply.status == 500,
                            "{}: {}",
                            reply.status,
                            reply.body
                        );
                        usize::from(reply.status == 200)
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).sum()
        })
    };
    // Read-modify-write in a transaction, many at once: a conflicting one may be refused
    // (and says so), but every one that answered 200 is in the final value.
    let increment =
        json!({"tx": true, "ops": [{"op": "increment", "model": "note", "id": id, "field": "a"}]});
    let succeeded = run_all(24, &|_| ("/orm/batch".into(), increment.clone()));
    assert!(succeeded > 0, "no increment succeeded");
    let row = ok(
        &host,
        json!({"op": "find-by-id", "model": "note", "id": id}),
    );
    assert_eq!(
        row["a"].as_i64().unwrap(),
        succeeded as i64,
        "{backend:?}: {row}"
    );
    let created = run_all(20, &|i| {
        ("/orm/call".into(), create("note", json!({"a": 1000 + i})))
    });
    assert_eq!(created, 20, "every concurrent create succeeds");
    assert_eq!(count(&host, "note"), 21);
}

fn data_survives_a_host_restart(backend: Database) {
    let fx = OrmFixture::new(backend);
    let host = fx.start();
    let row = ok(&host, create("item", item()));
    drop(host);
    let host = fx.start();
    let found = ok(
        &host,
        json!({"op": "find-by-id", "model": "item", "id": row["id"]}),
    );
    assert_eq!(found, row);
}

fn database_notices_are_not_logged_as_the_hosts_information(backend: Database) {
    let fx = OrmFixture::new(backend);
    let (success, out) = fx.db(&["migrate"]);
    assert!(success, "{out}");
    // A second start finds the tables: PostgreSQL answers `CREATE … IF NOT EXISTS` with a
    // NOTICE ("already exists, skipping"), which is the database talking, not news.
    drop(fx.start());
    let host = fx.start();
    ok(&host, create("note", json!({"a": 1})));
    drop(host);
    let (success, out) = fx.db(&["migrate"]);
    assert!(success, "{out}");
    let host = fx.start();
    let log = host.log_text();
    assert!(
        !log.contains("already exists, skipping"),
        "PostgreSQL NOTICEs reached the log: {log}"
    );
}
