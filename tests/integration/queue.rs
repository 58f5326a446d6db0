//! The queue capability through a real module and host, on SQLite and PostgreSQL
//! (`queue::sqlite::…`, `queue::postgres::…`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::databases::Backend;
use crate::harness::{Host, Reply, install, repo};

/// Runs each listed scenario as one test per backend.
macro_rules! on_queue_backends {
    ($($scenario:ident),* $(,)?) => {
        mod sqlite { $( #[test] fn $scenario() { super::$scenario(super::Backend::Sqlite) } )* }
        mod postgres { $( #[test] fn $scenario() { super::$scenario(super::Backend::Postgres) } )* }
    };
}

on_queue_backends!(
    a_job_runs_once_with_its_payload_and_attempt_numbers,
    failed_attempts_back_off_then_become_dead_letters_that_can_be_re_driven,
    a_delay_is_honoured,
    jobs_of_failed_invocations_or_rolled_back_transactions_are_never_enqueued,
    jobs_survive_a_restart_and_a_kill_mid_job,
    a_slow_queue_does_not_hold_up_another,
    dispatching_outside_the_grant_or_a_bad_payload_is_refused,
);

/// A plugins folder with queue-probe in a tenant of its own, and its database.
struct Queue {
    dir: tempfile::TempDir,
    url: String,
    tenant: String,
    backend: Backend,
}

impl Queue {
    fn new(backend: Backend) -> Queue {
        let dir = tempfile::tempdir().unwrap();
        let tenant = format!("q{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let url = backend
            .server_url()
            .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("data/q.db").display()));
        let q = Queue {
            dir,
            url,
            tenant,
            backend,
        };
        std::fs::write(
            q.dir.path().join("host.toml"),
            format!(
                "[database]\nurl = \"{}\"\n\n[queue]\nbackoff-base-ms = 200\npoll-ms = 50\n\n\
                 [queue.queues]\nslow = 1\n\n[tenants.{}.allow]\norm = true\nqueue = true\n",
                q.url, q.tenant
            ),
        )
        .unwrap();
        let folder = install(&q.plugins(), "queue-probe", "queue-probe");
        q.edit(
            &folder,
            "version = \"0.1.0\"",
            &format!("version = \"0.1.0\"\ntenant = \"{}\"", q.tenant),
        );
        q
    }

    fn plugins(&self) -> PathBuf {
        self.dir.path().join("plugins")
    }

    fn edit(&self, folder: &std::path::Path, from: &str, to: &str) {
        let path = folder.join("plugin.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{from}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    }

    fn start(&self) -> Host {
        Host::start(
            &self.plugins(),
            Some(&self.dir.path().join("host.toml")),
            &repo().join("target/test-cache"),
        )
    }

    fn cli(&self, args: &[&str]) -> (bool, String) {
        let out = std::process::Command::new(crate::harness::HOST)
            .arg("queue")
            .args(args)
            .arg("--plugins")
            .arg(self.plugins())
            .arg("--config")
            .arg(self.dir.path().join("host.toml"))
            .output()
            .unwrap();
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        if self.backend != Backend::Postgres {
            return;
        }
        let sql = format!(
            "DROP SCHEMA IF EXISTS \"tenant_{t}\" CASCADE; DELETE FROM plughost_jobs WHERE tenant = '{t}'; \
             DELETE FROM plughost_models WHERE tenant = '{t}';",
            t = self.tenant
        );
        crate::databases::cleanup_postgres(&self.url, sql);
    }
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
    let start = Instant::now();
    loop {
        let got = runs(host, job);
        if got.len() >= n {
            return got;
        }
        assert!(
            start.elapsed() < within,
            "job {job}: {} of {n} runs; log:\n{}",
            got.len(),
            host.log_text()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn queues(host: &Host) -> Value {
    host.get("/_admin/queues").json()
}

fn millis(row: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(row["created_at"].as_str().unwrap())
        .unwrap()
        .timestamp_millis()
}

fn a_job_runs_once_with_its_payload_and_attempt_numbers(backend: Backend) {
    let q = Queue::new(backend);
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
            .all(|d| d["tenant"] != q.tenant.as_str()),
        "done jobs leave the table"
    );
}

fn failed_attempts_back_off_then_become_dead_letters_that_can_be_re_driven(backend: Backend) {
    let q = Queue::new(backend);
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

    let start = Instant::now();
    let dead = loop {
        let dead: Vec<Value> = queues(&host)["dead"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["id"] == id.as_str())
            .cloned()
            .collect();
        if !dead.is_empty() {
            break dead[0].clone();
        }
        assert!(start.elapsed() < Duration::from_secs(5), "never dead");
        std::thread::sleep(Duration::from_millis(25));
    };
    assert_eq!(dead["attempts"], 3);
    assert_eq!(dead["last_error"], "internal: failing attempt 3");
    let (ok, listed) = q.cli(&["dead"]);
    assert!(
        ok && listed.contains(&id) && listed.contains("failing attempt 3"),
        "{listed}"
    );

    let (ok, out) = q.cli(&["retry", &id]);
    assert!(ok, "{out}");
    let got = wait_runs(&host, &id, 4, Duration::from_secs(10));
    assert_eq!(
        (got[3]["attempt"].clone(), got[3]["outcome"].clone()),
        (json!(1), json!("ok"))
    );
    let (ok, out) = q.cli(&["retry", &id]);
    assert!(!ok && out.contains("no dead job"), "{out}");

    // The admin API re-drives too.
    let other = dispatch_one(&host, json!({"fail_times": 1}), json!({"max_attempts": 1}));
    wait_runs(&host, &other, 1, Duration::from_secs(10));
    let start = Instant::now();
    loop {
        let reply = host.request(
            "POST",
            &format!("/_admin/queues/dead/{other}/retry"),
            &[],
            Vec::new(),
        );
        if reply.status == 200 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(5), "{}", reply.body);
        std::thread::sleep(Duration::from_millis(25));
    }
    assert_eq!(
        wait_runs(&host, &other, 2, Duration::from_secs(10))[1]["outcome"],
        "ok"
    );
}

fn a_delay_is_honoured(backend: Backend) {
    let q = Queue::new(backend);
    let host = q.start();
    let before = chrono::Utc::now().timestamp_millis();
    let id = dispatch_one(&host, json!({}), json!({"delay_ms": 1000}));
    let got = wait_runs(&host, &id, 1, Duration::from_secs(10));
    let waited = millis(&got[0]) - before;
    assert!((1000..2500).contains(&waited), "ran after {waited} ms");
}

fn jobs_of_failed_invocations_or_rolled_back_transactions_are_never_enqueued(backend: Backend) {
    let q = Queue::new(backend);
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

fn jobs_survive_a_restart_and_a_kill_mid_job(backend: Backend) {
    let q = Queue::new(backend);
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

fn a_slow_queue_does_not_hold_up_another(backend: Backend) {
    let q = Queue::new(backend);
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

fn dispatching_outside_the_grant_or_a_bad_payload_is_refused(backend: Backend) {
    let q = Queue::new(backend);
    let folder = q.plugins().join("queue-probe");
    q.edit(&folder, "queue = [\"*\"]", "queue = [\"work\", \"slow\"]");
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
