//! One invocation's use of the database: its open transaction, if any, and its deadline.
//! A transaction left open ends with the invocation: committed when the module answered
//! without error, rolled back when it returned an error, trapped or ran out of time.

use std::sync::Arc;
use std::time::Instant;

use super::backend::{Pool, Target, Transaction};
use super::errors::OrmError;
use super::store::OrmStore;

/// The ORM state of one invocation.
pub struct OrmSession {
    store: Arc<OrmStore>,
    transaction: Option<Transaction>,
    deadline: Instant,
    /// Numbers the invocation's transactions, so other capabilities can tie work to one.
    transactions_begun: u64,
    rolled_back: Vec<u64>,
}

impl OrmSession {
    /// A session on `store` whose calls must finish by `deadline`.
    pub fn new(store: Arc<OrmStore>, deadline: Instant) -> OrmSession {
        OrmSession {
            store,
            transaction: None,
            deadline,
            transactions_begun: 0,
            rolled_back: Vec::new(),
        }
    }

    /// Runs `op` on the open transaction or the pool, bounded by the invocation's deadline.
    pub async fn run<T, F>(&mut self, op: F) -> Result<T, OrmError>
    where
        F: AsyncFnOnce(Target<'_>) -> Result<T, OrmError>,
    {
        let deadline = tokio::time::Instant::from_std(self.deadline);
        let pool = self.store.pool().await?;
        let target = match &mut self.transaction {
            Some(tx) => Target::Transaction(tx),
            None => Target::Pool(pool),
        };
        tokio::time::timeout_at(deadline, op(target))
            .await
            .map_err(|_| {
                OrmError::Unavailable(
                    "the database did not answer within the invocation's deadline".into(),
                )
            })?
    }

    /// The pool's backend, connecting if needed.
    pub async fn pool(&self) -> Result<&Pool, OrmError> {
        self.store.pool().await
    }

    /// Opens the invocation's transaction.
    pub async fn begin(&mut self) -> Result<(), OrmError> {
        if self.transaction.is_some() {
            return Err(OrmError::Invalid(
                "a transaction is already open in this invocation; commit or roll it back first"
                    .into(),
            ));
        }
        let pool = self.store.pool().await?;
        let deadline = tokio::time::Instant::from_std(self.deadline);
        let tx = tokio::time::timeout_at(deadline, pool.begin())
            .await
            .map_err(|_| {
                OrmError::Unavailable(
                    "no database connection became free before the invocation's deadline".into(),
                )
            })??;
        self.transaction = Some(tx);
        self.transactions_begun += 1;
        Ok(())
    }

    /// The number of the open transaction, if one is open.
    pub fn current_transaction(&self) -> Option<u64> {
        self.transaction.as_ref().map(|_| self.transactions_begun)
    }

    /// The numbers of the transactions that were rolled back.
    pub fn rolled_back(&self) -> &[u64] {
        &self.rolled_back
    }

    /// Commits the open transaction.
    pub async fn commit(&mut self) -> Result<(), OrmError> {
        let tx = self.transaction.take().ok_or_else(no_transaction)?;
        let number = self.transactions_begun;
        tx.commit().await.map_err(|e| {
            self.rolled_back.push(number);
            e.into()
        })
    }

    /// Rolls the open transaction back.
    pub async fn rollback(&mut self) -> Result<(), OrmError> {
        let tx = self.transaction.take().ok_or_else(no_transaction)?;
        self.rolled_back.push(self.transactions_begun);
        Ok(tx.rollback().await?)
    }

    /// Ends the invocation: an open transaction commits when `succeeded`, else rolls back.
    pub async fn finish(&mut self, succeeded: bool) -> Result<(), OrmError> {
        let Some(tx) = self.transaction.take() else {
            return Ok(());
        };
        if succeeded {
            return Ok(tx.commit().await?);
        }
        self.rolled_back.push(self.transactions_begun);
        Ok(tx.rollback().await?)
    }
}

fn no_transaction() -> OrmError {
    OrmError::Invalid("no transaction is open in this invocation; call begin first".into())
}
