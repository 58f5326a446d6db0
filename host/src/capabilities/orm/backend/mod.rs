//! The databases behind the ORM: one file per backend (bind and decode of typed values,
//! connection options), sharing how a statement runs on a pool or in a transaction.

mod mysql;
mod postgres;
mod sqlite;

use super::model::ColumnKind;
use super::sql::{Dialect, Statement};
use super::value::SqlValue;
use crate::config::redact;

/// A row as typed values, in the statement's column order.
pub type Row = Vec<SqlValue>;

/// A connection pool to one of the supported databases.
#[derive(Debug, Clone)]
pub enum Pool {
    /// An SQLite file (the embedded default).
    Sqlite(sqlx::SqlitePool),
    /// PostgreSQL.
    Postgres(sqlx::PgPool),
    /// MySQL or MariaDB.
    MySql(sqlx::MySqlPool),
}

/// An open transaction; dropping it rolls back.
#[derive(Debug)]
pub enum Transaction {
    /// On SQLite.
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    /// On PostgreSQL.
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    /// On MySQL or MariaDB.
    MySql(sqlx::Transaction<'static, sqlx::MySql>),
}

/// What a write did.
#[derive(Debug, Clone, Copy)]
pub struct Written {
    /// Rows changed.
    pub rows_affected: u64,
    /// The id an INSERT generated, where the backend reports it (MySQL).
    pub last_insert_id: Option<i64>,
}

/// Where a statement runs.
pub enum Target<'a> {
    /// On any connection of the pool.
    Pool(&'a Pool),
    /// Inside the invocation's transaction.
    Transaction(&'a mut Transaction),
}

/// How long the first connection may take before the host says the database does not answer.
const FIRST_CONNECTION: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens (and drops) one connection first, so that a wrong host or port fails at once with
/// its cause (a pool would retry until its acquire timeout and report only that).
async fn reachable<C: sqlx::Connection>(
    attempt: impl Future<Output = Result<C, sqlx::Error>>,
) -> Result<(), sqlx::Error> {
    match tokio::time::timeout(FIRST_CONNECTION, attempt).await {
        Ok(connection) => connection?.close().await,
        Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no answer within {} s", FIRST_CONNECTION.as_secs()),
        ))),
    }
}

impl Pool {
    /// Runs one statement without parameters.
    pub async fn run(&self, sql: &str) -> Result<(), sqlx::Error> {
        let statement = Statement {
            sql: sql.to_string(),
            params: Vec::new(),
        };
        Target::Pool(self).execute(&statement).await?;
        Ok(())
    }

    /// Connects to `url` (`sqlite://…`, `postgres://…`, `mysql://…` or `mariadb://…`).
    pub async fn connect(url: &str) -> Result<Pool, String> {
        let scheme = url.split(':').next().unwrap_or_default();
        let result = match scheme {
            "sqlite" => sqlite::connect(url).await.map(Pool::Sqlite),
            "postgres" | "postgresql" => postgres::connect(url).await.map(Pool::Postgres),
            "mysql" | "mariadb" => {
                let url = url.replacen("mariadb:", "mysql:", 1);
                mysql::connect(&url).await.map(Pool::MySql)
            }
            _ => {
                return Err(format!(
                    "database URL '{}' is not sqlite://, postgres:// or mysql://; fix --database-url or [database] url in host.toml",
                    redact(url)
                ));
            }
        };
        result.map_err(|e| {
            format!(
                "cannot connect to {}: {e}; is the server running, and are the host, port, \
                 user and database in the URL right?",
                redact(url)
            )
        })
    }

    /// The SQL dialect.
    pub fn dialect(&self) -> Dialect {
        match self {
            Pool::Sqlite(_) => Dialect::Sqlite,
            Pool::Postgres(_) => Dialect::Postgres,
            Pool::MySql(_) => Dialect::MySql,
        }
    }

    /// Starts a serializable transaction, so a read-modify-write that raced another one
    /// fails (and is reported) instead of silently losing an update. SQLite takes the write
    /// lock at once (`BEGIN IMMEDIATE`), so writers queue rather than fail; PostgreSQL
    /// begins `SERIALIZABLE`; MySQL sessions are set to SERIALIZABLE when they connect.
    pub async fn begin(&self) -> Result<Transaction, sqlx::Error> {
        Ok(match self {
            Pool::Sqlite(p) => Transaction::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(p) => {
                Transaction::Postgres(p.begin_with("BEGIN ISOLATION LEVEL SERIALIZABLE").await?)
            }
            Pool::MySql(p) => Transaction::MySql(p.begin().await?),
        })
    }

    /// Starts a transaction at the database's default isolation, for the host's own
    /// bookkeeping (manual migrations), which must not fail on unrelated concurrent writes.
    pub async fn begin_bookkeeping(&self) -> Result<Transaction, sqlx::Error> {
        Ok(match self {
            Pool::Sqlite(p) => Transaction::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(p) => Transaction::Postgres(p.begin().await?),
            Pool::MySql(p) => Transaction::MySql(p.begin().await?),
        })
    }

    /// Closes every connection.
    pub async fn close(&self) {
        match self {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
            Pool::MySql(p) => p.close().await,
        }
    }
}

impl Transaction {
    /// The SQL dialect.
    pub fn dialect(&self) -> Dialect {
        match self {
            Transaction::Sqlite(_) => Dialect::Sqlite,
            Transaction::Postgres(_) => Dialect::Postgres,
            Transaction::MySql(_) => Dialect::MySql,
        }
    }

    /// Makes the transaction's writes permanent.
    pub async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Transaction::Sqlite(t) => t.commit().await,
            Transaction::Postgres(t) => t.commit().await,
            Transaction::MySql(t) => t.commit().await,
        }
    }

    /// Undoes the transaction's writes.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Transaction::Sqlite(t) => t.rollback().await,
            Transaction::Postgres(t) => t.rollback().await,
            Transaction::MySql(t) => t.rollback().await,
        }
    }
}

/// Runs `$body` with `$exec` bound to the target's executor and `$db` to the backend module.
macro_rules! on_target {
    ($target:expr, |$exec:ident, $db:ident| $body:expr) => {
        match $target {
            Target::Pool(Pool::Sqlite(p)) => {
                let $exec = p;
                use sqlite as $db;
                $body
            }
            Target::Pool(Pool::Postgres(p)) => {
                let $exec = p;
                use postgres as $db;
                $body
            }
            Target::Pool(Pool::MySql(p)) => {
                let $exec = p;
                use mysql as $db;
                $body
            }
            Target::Transaction(Transaction::Sqlite(t)) => {
                let $exec = &mut **t;
                use sqlite as $db;
                $body
            }
            Target::Transaction(Transaction::Postgres(t)) => {
                let $exec = &mut **t;
                use postgres as $db;
                $body
            }
            Target::Transaction(Transaction::MySql(t)) => {
                let $exec = &mut **t;
                use mysql as $db;
                $body
            }
        }
    };
}

impl Target<'_> {
    /// The same target for one more statement.
    pub fn reborrow(&mut self) -> Target<'_> {
        match self {
            Target::Pool(pool) => Target::Pool(pool),
            Target::Transaction(tx) => Target::Transaction(tx),
        }
    }

    /// Runs a query and decodes every row by the given column kinds.
    pub async fn fetch(
        self,
        statement: &Statement,
        kinds: &[ColumnKind],
    ) -> Result<Vec<Row>, sqlx::Error> {
        on_target!(self, |exec, db| {
            let query = statement
                .params
                .iter()
                .fold(sqlx::query(&statement.sql), db::bind);
            let rows = query.fetch_all(exec).await?;
            rows.iter()
                .map(|row| {
                    let columns = kinds.iter().enumerate();
                    columns.map(|(i, kind)| db::decode(row, i, *kind)).collect()
                })
                .collect()
        })
    }

    /// Runs a script of one or more statements without parameters (manual migrations).
    pub async fn execute_script(self, sql: &str) -> Result<(), sqlx::Error> {
        on_target!(self, |exec, db| {
            let _ = db::bind;
            sqlx::raw_sql(sql).execute(exec).await.map(drop)
        })
    }

    /// Runs a write.
    pub async fn execute(self, statement: &Statement) -> Result<Written, sqlx::Error> {
        on_target!(self, |exec, db| {
            let query = statement
                .params
                .iter()
                .fold(sqlx::query(&statement.sql), db::bind);
            let result = query.execute(exec).await?;
            Ok(db::written(&result))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_unknown_scheme_says_which_are_supported() {
        let err = Pool::connect("oracle://x").await.unwrap_err();
        assert!(err.contains("postgres://"), "{err}");
    }
}
