//! The jobs table, `plughost_jobs`, in the host's database: insert, claim (with a lease, so a
//! job whose host died runs again), complete, fail (retry later or dead letter), list and
//! re-drive dead letters, and queue depths.

use serde::Serialize;

use super::NewJob;
use crate::capabilities::orm::OrmError;
use crate::capabilities::orm::backend::{Pool, Target};
use crate::capabilities::orm::model::{ColumnKind, FieldType};
use crate::capabilities::orm::sql::{Dialect, Statement};
use crate::capabilities::orm::value::SqlValue;

/// The jobs table.
pub const JOBS_TABLE: &str = "plughost_jobs";

/// A claimed attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedJob {
    /// Id.
    pub id: String,
    /// Queue.
    pub queue: String,
    /// JSON text.
    pub payload: String,
    /// This attempt, from 1.
    pub attempt: u32,
    /// Attempts it may have.
    pub max_attempts: u32,
    /// Why the previous attempt failed.
    pub last_error: Option<String>,
}

/// A dead letter, as `host queue dead` and the admin API list it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DeadJob {
    /// Id.
    pub id: String,
    /// Tenant.
    pub tenant: String,
    /// Queue.
    pub queue: String,
    /// JSON text.
    pub payload: String,
    /// Attempts made.
    pub attempts: u32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// The dispatching module.
    pub source: String,
}

/// Jobs of one queue by state.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QueueDepth {
    /// Tenant.
    pub tenant: String,
    /// Queue.
    pub queue: String,
    /// `ready`, `running` or `dead`.
    pub state: String,
    /// How many.
    pub jobs: u64,
}

/// `text` cut to at most `limit` bytes (on a character boundary), saying how long it was.
pub fn shorten(text: String, limit: usize) -> String {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len())
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn text(s: &str) -> SqlValue {
    SqlValue::Text(s.to_string())
}

fn int(i: i64) -> SqlValue {
    SqlValue::Int(i)
}

fn ph(dialect: Dialect, n: usize) -> String {
    dialect.placeholder(n)
}

/// Creates the table and its index if missing.
pub async fn ensure_table(pool: &Pool) -> Result<(), OrmError> {
    let dialect = pool.dialect();
    if dialect == Dialect::MySql {
        return Err(OrmError::Invalid(
            "the queue needs SQLite or PostgreSQL; MySQL/MariaDB is not supported for jobs yet"
                .into(),
        ));
    }
    let table = dialect.quote(JOBS_TABLE);
    let create = format!(
        "CREATE TABLE IF NOT EXISTS {table} (id VARCHAR(64) PRIMARY KEY, tenant VARCHAR(191) NOT NULL, \
         queue VARCHAR(191) NOT NULL, payload TEXT NOT NULL, state VARCHAR(16) NOT NULL, \
         attempt BIGINT NOT NULL, max_attempts BIGINT NOT NULL, run_at BIGINT NOT NULL, \
         locked_until BIGINT NOT NULL, last_error TEXT, source VARCHAR(191) NOT NULL, \
         created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)"
    );
    let index = format!(
        "CREATE INDEX IF NOT EXISTS plughost_jobs_due ON {table} (tenant, queue, state, run_at)"
    );
    for sql in [create, index] {
        if pool.run(&sql).await.is_err() {
            // Two hosts creating it at once: PostgreSQL's catalog race; it exists now.
            pool.run(&sql).await?;
        }
    }
    Ok(())
}

/// Inserts a job, ready after its delay.
pub async fn insert(target: Target<'_>, job: &NewJob) -> Result<(), OrmError> {
    let dialect = match &target {
        Target::Pool(p) => p.dialect(),
        Target::Transaction(t) => t.dialect(),
    };
    let now = now_ms();
    let params = vec![
        text(&job.id),
        text(&job.tenant),
        text(&job.queue),
        text(&job.payload),
        int(job.max_attempts as i64),
        int(now + job.delay_ms as i64),
        text(&job.source),
        int(now),
    ];
    let sql = format!(
        "INSERT INTO {} (id, tenant, queue, payload, state, attempt, max_attempts, run_at, locked_until, \
         last_error, source, created_at, updated_at) VALUES ({}, {}, {}, {}, 'ready', 0, {}, {}, 0, NULL, {}, {}, {})",
        dialect.quote(JOBS_TABLE),
        ph(dialect, 1),
        ph(dialect, 2),
        ph(dialect, 3),
        ph(dialect, 4),
        ph(dialect, 5),
        ph(dialect, 6),
        ph(dialect, 7),
        ph(dialect, 8),
        ph(dialect, 8)
    );
    // PostgreSQL may reuse a numbered parameter; elsewhere each `?` needs its own value.
    let mut params = params;
    if dialect != Dialect::Postgres {
        params.push(int(now));
    }
    target.execute(&Statement { sql, params }).await?;
    Ok(())
}

/// Claims up to `limit` due jobs of a queue (ready and due, or running with an expired
/// lease), marking them running until `lease_ms` from now.
pub async fn claim(
    pool: &Pool,
    tenant: &str,
    queue: &str,
    limit: usize,
    lease_ms: i64,
) -> Result<Vec<ClaimedJob>, OrmError> {
    let dialect = pool.dialect();
    let now = now_ms();
    let skip_locked = if dialect == Dialect::Postgres {
        " FOR UPDATE SKIP LOCKED"
    } else {
        ""
    };
    let sql = format!(
        "UPDATE {t} SET state = 'running', attempt = attempt + 1, locked_until = {p1}, updated_at = {p2} \
         WHERE id IN (SELECT id FROM {t} WHERE tenant = {p3} AND queue = {p4} AND \
         ((state = 'ready' AND run_at <= {p5}) OR (state = 'running' AND locked_until < {p6})) \
         ORDER BY run_at LIMIT {limit}{skip_locked}) \
         RETURNING id, payload, attempt, max_attempts, last_error",
        t = dialect.quote(JOBS_TABLE),
        p1 = ph(dialect, 1),
        p2 = ph(dialect, 2),
        p3 = ph(dialect, 3),
        p4 = ph(dialect, 4),
        p5 = ph(dialect, 5),
        p6 = ph(dialect, 6),
    );
    let statement = Statement {
        sql,
        params: vec![
            int(now + lease_ms),
            int(now),
            text(tenant),
            text(queue),
            int(now),
            int(now),
        ],
    };
    let t = ColumnKind::Field(FieldType::Text);
    let i = ColumnKind::Field(FieldType::Integer);
    let rows = Target::Pool(pool)
        .fetch(&statement, &[t, t, i, i, t])
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| match <[SqlValue; 5]>::try_from(row).ok()? {
            [
                SqlValue::Text(id),
                SqlValue::Text(payload),
                SqlValue::Int(attempt),
                SqlValue::Int(max),
                last,
            ] => Some(ClaimedJob {
                id,
                queue: queue.to_string(),
                payload,
                attempt: attempt as u32,
                max_attempts: max as u32,
                last_error: match last {
                    SqlValue::Text(e) => Some(e),
                    _ => None,
                },
            }),
            _ => None,
        })
        .collect())
}

/// A finished job leaves the table.
pub async fn complete(pool: &Pool, id: &str) -> Result<(), OrmError> {
    let dialect = pool.dialect();
    let statement = Statement {
        sql: format!(
            "DELETE FROM {} WHERE id = {}",
            dialect.quote(JOBS_TABLE),
            ph(dialect, 1)
        ),
        params: vec![text(id)],
    };
    Target::Pool(pool).execute(&statement).await?;
    Ok(())
}

/// An attempt that never ran (its tenant was at its quota): ready again at `run_at`,
/// without counting the attempt.
pub async fn release(pool: &Pool, id: &str, run_at: i64) -> Result<(), OrmError> {
    let dialect = pool.dialect();
    let statement = Statement {
        sql: format!(
            "UPDATE {} SET state = 'ready', attempt = attempt - 1, run_at = {}, locked_until = 0, \
             updated_at = {} WHERE id = {}",
            dialect.quote(JOBS_TABLE),
            ph(dialect, 1),
            ph(dialect, 2),
            ph(dialect, 3)
        ),
        params: vec![int(run_at), int(now_ms()), text(id)],
    };
    Target::Pool(pool).execute(&statement).await?;
    Ok(())
}

/// A failed attempt: ready again at `retry_at`, or dead when `retry_at` is none.
pub async fn fail(
    pool: &Pool,
    id: &str,
    error: &str,
    retry_at: Option<i64>,
) -> Result<(), OrmError> {
    let dialect = pool.dialect();
    let state = if retry_at.is_some() { "ready" } else { "dead" };
    let statement = Statement {
        sql: format!(
            "UPDATE {} SET state = {}, run_at = {}, last_error = {}, locked_until = 0, updated_at = {} WHERE id = {}",
            dialect.quote(JOBS_TABLE),
            ph(dialect, 1),
            ph(dialect, 2),
            ph(dialect, 3),
            ph(dialect, 4),
            ph(dialect, 5)
        ),
        params: vec![
            text(state),
            int(retry_at.unwrap_or(0)),
            text(error),
            int(now_ms()),
            text(id),
        ],
    };
    Target::Pool(pool).execute(&statement).await?;
    Ok(())
}

/// Every dead letter, oldest first.
pub async fn dead(pool: &Pool) -> Result<Vec<DeadJob>, OrmError> {
    let dialect = pool.dialect();
    let statement = Statement {
        sql: format!(
            "SELECT id, tenant, queue, payload, attempt, last_error, source FROM {} \
             WHERE state = 'dead' ORDER BY updated_at, id",
            dialect.quote(JOBS_TABLE)
        ),
        params: Vec::new(),
    };
    let t = ColumnKind::Field(FieldType::Text);
    let i = ColumnKind::Field(FieldType::Integer);
    let rows = Target::Pool(pool)
        .fetch(&statement, &[t, t, t, t, i, t, t])
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| match <[SqlValue; 7]>::try_from(row).ok()? {
            [
                SqlValue::Text(id),
                SqlValue::Text(tenant),
                SqlValue::Text(queue),
                SqlValue::Text(payload),
                SqlValue::Int(attempts),
                last,
                SqlValue::Text(source),
            ] => Some(DeadJob {
                id,
                tenant,
                queue,
                // A mail's payload carries the whole message: list its head only.
                payload: shorten(payload, super::MAX_PAYLOAD),
                attempts: attempts as u32,
                last_error: match last {
                    SqlValue::Text(e) => Some(e),
                    _ => None,
                },
                source,
            }),
            _ => None,
        })
        .collect())
}

/// Re-drives a dead letter: ready now, with its attempts counted from zero again.
/// Whether there was such a dead job.
pub async fn retry(pool: &Pool, id: &str) -> Result<bool, OrmError> {
    let dialect = pool.dialect();
    let now = now_ms();
    let statement = Statement {
        sql: format!(
            "UPDATE {} SET state = 'ready', attempt = 0, run_at = {}, updated_at = {} WHERE id = {} AND state = 'dead'",
            dialect.quote(JOBS_TABLE),
            ph(dialect, 1),
            ph(dialect, 2),
            ph(dialect, 3)
        ),
        params: vec![int(now), int(now), text(id)],
    };
    Ok(Target::Pool(pool).execute(&statement).await?.rows_affected > 0)
}

/// Jobs of `tenant` waiting to run or running (not dead): what its quota bounds.
pub async fn waiting(target: Target<'_>, tenant: &str) -> Result<u64, OrmError> {
    let dialect = match &target {
        Target::Pool(p) => p.dialect(),
        Target::Transaction(t) => t.dialect(),
    };
    let statement = Statement {
        sql: format!(
            "SELECT COUNT(*) FROM {} WHERE tenant = {} AND state IN ('ready', 'running')",
            dialect.quote(JOBS_TABLE),
            ph(dialect, 1)
        ),
        params: vec![text(tenant)],
    };
    let i = ColumnKind::Field(FieldType::Integer);
    let rows = target.fetch(&statement, &[i]).await?;
    match rows.into_iter().next().and_then(|r| r.into_iter().next()) {
        Some(SqlValue::Int(n)) => Ok(n.max(0) as u64),
        _ => Ok(0),
    }
}

/// Jobs per tenant, queue and state.
pub async fn depths(pool: &Pool) -> Result<Vec<QueueDepth>, OrmError> {
    let dialect = pool.dialect();
    let statement = Statement {
        sql: format!(
            "SELECT tenant, queue, state, COUNT(*) FROM {} GROUP BY tenant, queue, state ORDER BY tenant, queue, state",
            dialect.quote(JOBS_TABLE)
        ),
        params: Vec::new(),
    };
    let t = ColumnKind::Field(FieldType::Text);
    let i = ColumnKind::Field(FieldType::Integer);
    let rows = Target::Pool(pool).fetch(&statement, &[t, t, t, i]).await?;
    Ok(rows
        .into_iter()
        .filter_map(|row| match <[SqlValue; 4]>::try_from(row).ok()? {
            [
                SqlValue::Text(tenant),
                SqlValue::Text(queue),
                SqlValue::Text(state),
                SqlValue::Int(n),
            ] => Some(QueueDepth {
                tenant,
                queue,
                state,
                jobs: n as u64,
            }),
            _ => None,
        })
        .collect())
}
