//! The host's database: connected on first use, shared by every module.

use tokio::sync::OnceCell;

use super::backend::Pool;
use super::errors::OrmError;
use crate::config::redact;

/// The database every module's tables live in (each tenant in its own namespace).
#[derive(Debug)]
pub struct OrmStore {
    url: String,
    pool: OnceCell<Pool>,
}

impl OrmStore {
    /// A store for `url`; nothing connects until a module needs it.
    pub fn new(url: impl Into<String>) -> OrmStore {
        OrmStore {
            url: url.into(),
            pool: OnceCell::new(),
        }
    }

    /// The URL without its password.
    pub fn display_url(&self) -> String {
        redact(&self.url)
    }

    /// The pool, connecting now if this is the first use (a failed attempt is retried next time).
    pub async fn pool(&self) -> Result<&Pool, OrmError> {
        self.pool
            .get_or_try_init(|| async {
                let pool = Pool::connect(&self.url)
                    .await
                    .map_err(OrmError::Unavailable)?;
                tracing::info!(database = %self.display_url(), "connected to the database");
                Ok(pool)
            })
            .await
    }
}
