//! The queue capability through a real module and host, on SQLite and PostgreSQL
//! (`queue::SCENARIO::on_sqlite`, `…::on_postgres`; the queue refuses MariaDB).

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{
    Database, Host, HostBuilder, Plugins, Reply, edit_manifest, every_database, unique_tenant,
};

every_database!(
    only [sqlite, postgres]:
    a_job_runs_once_with_its_payload_and_attempt_numbers,
    failed_attempts_back_off_then_become_dead_letters_that_can_be_re_driven,
    a_delay_is_honoured,
    jobs_of_failed_invocations_or_rolled_back_transactions_are_never_enqueued,
    jobs_survive_a_restart_and_a_kill_mid_job,
    a_slow_queue_does_not_hold_up_another,
    dispatching_outside_the_grant_or_a_bad_payload_is_refused,
);

/// A plugins folder with queue-probe in a tenant of its own (returned) on `db`: retries
/// back off from 200 ms, workers poll every 50 ms, and queue `slow` runs one job at a time.
fn queue(db: Database) -> (Plugins, String) {
    let tenant = unique_tenant("q");
    let plugins = HostBuilder::new()
        .database(db)
        .host_toml("[queue]\nbackoff-base-ms = 200\npoll-ms = 50\n\n[queue.queues]\nslow = 1\n")
        .tenant(&tenant, &["orm", "queue"])
        .module_in("queue-probe", "queue-probe", &tenant)
        .build();
    (plugins, tenant)
}

fn dispatch(host: &Host, spec: Value) -> Reply {
    host.request(
        "POST",
        "/queue-probe/dispatch",
        &[],
        spec.to_string().into_bytes(),
    )
}

fn dispatch_one(host: &Host, payload: Value, extra: Value) -> String {
    let mut job = json!({"queue": "work", "payload": payload});
    if let (Some(job), Some(extra)) = (job.as_object_mut(), extra.as_object()) {
        job.extend(extra.clone());
    }
    let reply = dispatch(host, json!({"jobs": [job]}));
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.json()["ids"][0].as_str().unwrap().to_string()
}

fn runs(host: &Host, job: &str) -> Vec<Value> {
    let all = host.get("/queue-probe/runs").json();
    all.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["job_id"] == job)
        .cloned()
        .collect()
}

fn wait_runs(host: &Host, job: &str, n: usize, within: Duration) -> Vec<Value> {
    host.eventually(&format!("{n} runs of job {job}"), within, || {
        let got = runs(host, job);
        if got.len() >= n {
            Ok(got)
        } else {
            Err(format!("{} runs", got.len()))
        }
    })
}

fn queues(host: &Host) -> Value {
    host.get("/_admin/queues").json()
}

fn millis(row: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(row["created_at"].as_str().unwrap())
        .unwrap()
        .timestamp_millis()
}

fn a_job_runs_once_with_its_payload_and_attempt_numbers(db: Database) {
    let (q, tenant) = queue(db);
    let host = q.start();
    let id = dispatch_one(&host, json!({"n": 1}), json!({}));
    let got = wait_runs(&host, &id, 1, Duration::from_secs(10));
    assert_eq!(
        (
            got[0]["attempt"].clone(),
            got[0]["max_attempts"].clone(),
            got[0]["outcome"].clone()
        ),
        (json!(1), json!(3), json!("ok"))
    );
    assert_eq!(got[0]["last_error"], Value::Null);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(runs(&host, &id).len(), 1, "a job that succeeded runs once");
    assert!(
        queues(&host)["depths"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["tenant"] != tenant.as_str()),
        "done jobs leave the table"
    );
}

fn failed_attempts_back_off_then_become_dead_letters_that_can_be_re_driven(db: Database) {
    let (q, _) = queue(db);
    let host = q.start();
    let id = dispatch_one(&host, json!({"fail_times": 3}), json!({"max_attempts": 3}));
    let got = wait_runs(&host, &id, 3, Duration::from_secs(10));
    let attempts: Vec<i64> = got.iter().map(|r| r["attempt"].as_i64().unwrap()).collect();
    assert_eq!(attempts, [1, 2, 3]);
    assert_eq!(got[1]["last_error"], "internal: failing attempt 1");
    assert_eq!(got[2]["last_error"], "internal: failing attempt 2");
    let (first, second) = (
        millis(&got[1]) - millis(&got[0]),
        millis(&got[2]) - millis(&got[1]),
    );
    assert!(first >= 190, "1st backoff {first} ms");
    assert!(second >= 390, "2nd backoff doubles: {second} ms");

    let dead = host.eventually(
        "the job to become a dead letter",
        Duration::from_secs(5),
        || {
            queues(&host)["dead"]
                .as_array()
                .unwrap()
                .iter()
                .find(|d| d["id"] == id.as_str())
                .cloned()
        },
    );
    assert_eq!(dead["attempts"], 3);
    assert_eq!(dead["last_error"], "internal: failing attempt 3");
    let (ok, listed) = q.cli(&["queue", "dead"]);
    assert!(
        ok && listed.contains(&id) && listed.contains("failing attempt 3"),
        "{listed}"
    );

    let (ok, out) = q.cli(&["queue", "retry", &id]);
    assert!(ok, "{out}");
    let got = wait_runs(&host, &id, 4, Duration::from_secs(10));
    assert_eq!(
        (got[3]["attempt"].clone(), got[3]["outcome"].clone()),
        (json!(1), json!("ok"))
    );
    let (ok, out) = q.cli(&["queue", "retry", &id]);
    assert!(!ok && out.contains("no dead job"), "{out}");

    // The admin API re-drives too.
    let other = dispatch_one(&host, json!({"fail_times": 1}), json!({"max_attempts": 1}));
    wait_runs(&host, &other, 1, Duration::from_secs(10));
    host.eventually(
        "the admin API to re-drive the dead job",
        Duration::from_secs(5),
        || {
            let reply = host.request(
                "POST",
                &format!("/_admin/queues/dead/{other}/retry"),
                &[],
                Vec::new(),
            );
            if reply.status == 200 {
                Ok(())
            } else {
                Err(reply.body)
            }
        },
    );
    assert_eq!(
        wait_runs(&host, &other, 2, Duration::from_secs(10))[1]["outcome"],
        "ok"
    );
}

fn a_delay_is_honoured(db: Database) {
    let (q, _) = queue(db);
    let host = q.start();
    let before = chrono::Utc::now().timestamp_millis();
    let id = dispatch_one(&host, json!({}), json!({"delay_ms": 1000}));
    let got = wait_runs(&host, &id, 1, Duration::from_secs(10));
    let waited = millis(&got[0]) - before;
    assert!((1000..2500).contains(&waited), "ran after {waited} ms");
}

fn jobs_of_failed_invocations_or_rolled_back_transactions_are_never_enqueued(db: Database) {
    let (q, _) = queue(db);
    let host = q.start();
    let one = |n: i64| json!([{"queue": "work", "payload": {"n": n}}]);
    let ids = |reply: Reply| -> Vec<String> {
        reply.json()["ids"]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    assert_eq!(
        dispatch(&host, json!({"jobs": one(1), "then": "error"})).status,
        400
    );
    let rolled_back = ids(dispatch(&host, json!({"jobs": one(2), "tx": "rollback"})));
    let committed = ids(dispatch(&host, json!({"jobs": one(3), "tx": "commit"})));
    assert_eq!(
        dispatch(
            &host,
            json!({"jobs": one(4), "tx": "open", "then": "error"})
        )
        .status,
        400
    );
    let open_ok = ids(dispatch(&host, json!({"jobs": one(5), "tx": "open"})));
    wait_runs(&host, &committed[0], 1, Duration::from_secs(10));
    wait_runs(&host, &open_ok[0], 1, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(300));
    let all = host.get("/queue-probe/runs").json();
    assert_eq!(
        all.as_array().unwrap().len(),
        2,
        "only the committed jobs ran: {all}"
    );
    assert!(runs(&host, &rolled_back[0]).is_empty());
    let notes = host.get("/queue-probe/notes").json();
    assert_eq!(
        notes.as_array().unwrap().len(),
        2,
        "each committed job came with its note"
    );
}

fn jobs_survive_a_restart_and_a_kill_mid_job(db: Database) {
    let (q, _) = queue(db);
    let host = q.start();
    let later = dispatch_one(&host, json!({}), json!({"delay_ms": 1200}));
    let busy = dispatch_one(&host, json!({"spin_ms": 800}), json!({}));
    let started = wait_runs(&host, &busy, 1, Duration::from_secs(10));
    assert_eq!(started[0]["outcome"], "started");
    drop(host); // SIGKILL, mid-job
    let host = q.start();
    let got = wait_runs(&host, &later, 1, Duration::from_secs(10));
    assert_eq!(
        got[0]["outcome"], "ok",
        "the delayed job survived the restart"
    );
    // The killed attempt's lease (deadline 1.5 s + 2 s) ends, and the job runs again.
    let got = wait_runs(&host, &busy, 3, Duration::from_secs(15));
    assert_eq!(got[1]["attempt"], 2, "{got:?}");
    assert_eq!(got[2]["outcome"], "ok");
}

fn a_slow_queue_does_not_hold_up_another(db: Database) {
    let (q, _) = queue(db);
    let host = q.start();
    let slow = dispatch(
        &host,
        json!({"jobs": [
            {"queue": "slow", "payload": {"spin_ms": 1000}},
            {"queue": "slow", "payload": {"spin_ms": 1000}},
        ]}),
    );
    assert_eq!(slow.status, 200);
    let slow_ids = slow.json()["ids"].clone();
    wait_runs(
        &host,
        slow_ids[0].as_str().unwrap(),
        1,
        Duration::from_secs(10),
    );
    let start = Instant::now();
    let fast = dispatch_one(&host, json!({}), json!({}));
    wait_runs(&host, &fast, 1, Duration::from_secs(10));
    assert!(
        start.elapsed() < Duration::from_millis(900),
        "the fast queue waited {:?}",
        start.elapsed()
    );
    assert!(
        runs(&host, slow_ids[1].as_str().unwrap()).is_empty(),
        "slow runs one at a time (concurrency 1)"
    );
}

fn dispatching_outside_the_grant_or_a_bad_payload_is_refused(db: Database) {
    let (q, _) = queue(db);
    edit_manifest(
        &q.module("queue-probe"),
        "queue = [\"*\"]",
        "queue = [\"work\", \"slow\"]",
    );
    let host = q.start();
    let reply = dispatch(
        &host,
        json!({"jobs": [{"queue": "billing", "payload": {}}]}),
    );
    assert_eq!(reply.status, 403, "{}", reply.body);
    assert!(reply.body.contains("queue: 'billing'"), "{}", reply.body);
    let reply = dispatch(&host, json!({"jobs": [{"queue": "work", "raw": "{oops"}]}));
    assert_eq!(reply.status, 400);
    assert!(reply.body.contains("not JSON"), "{}", reply.body);
    let reply = dispatch(
        &host,
        json!({"jobs": [{"queue": "work", "payload": "x".repeat(70_000)}]}),
    );
    assert_eq!(reply.status, 400);
    let reply = dispatch(
        &host,
        json!({"jobs": [{"queue": "Bad Name", "payload": {}}]}),
    );
    assert_eq!(reply.status, 400);
    let reply = dispatch(
        &host,
        json!({"jobs": [{"queue": "work", "payload": {}, "max_attempts": 0}]}),
    );
    assert_eq!(reply.status, 400);
}
