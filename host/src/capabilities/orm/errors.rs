//! What an ORM call can fail with, as a module sees it.

use crate::runtime::bindings::GuestError;

/// A refused or failed ORM call; each message names the model and field involved.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum OrmError {
    /// Outside the module's grant or its own models.
    #[error("orm: {0}")]
    Denied(String),
    /// Bad input: unknown model field, wrong type, missing required field, bad query.
    #[error("{0}")]
    Invalid(String),
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(String),
    /// The database cannot be reached or did not answer in time.
    #[error("{0}")]
    Unavailable(String),
}

impl From<sqlx::Error> for OrmError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                OrmError::Unavailable(format!("the database is unavailable: {error}"))
            }
            other => OrmError::Database(other.to_string()),
        }
    }
}

impl From<OrmError> for GuestError {
    fn from(error: OrmError) -> Self {
        match error {
            OrmError::Denied(_) => GuestError::Denied(error.to_string()),
            OrmError::Invalid(m) => GuestError::Invalid(m),
            OrmError::Database(_) | OrmError::Unavailable(_) => {
                GuestError::Internal(error.to_string())
            }
        }
    }
}
