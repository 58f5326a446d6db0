//! What every backend answers: an object's description and the ways a call fails.

/// Why a storage call failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// No object at the key.
    #[error("no object at key '{0}'")]
    NotFound(String),
    /// The path led outside the module's root (a planted symlink).
    #[error("{0}")]
    Denied(String),
    /// The input was not acceptable.
    #[error("{0}")]
    Invalid(String),
    /// The write would pass a quota or the largest object's size; nothing was written.
    #[error("{0}")]
    Quota(String),
    /// The disk failed.
    #[error("storage failed: {0}")]
    Internal(String),
}

/// What the host knows of an object.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectInfo {
    /// Its key.
    pub key: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its content type.
    pub content_type: String,
    /// Hash of its bytes.
    pub etag: String,
    /// Last written, ms since the Unix epoch.
    pub modified_ms: u64,
    /// Its metadata.
    pub metadata: Vec<(String, String)>,
}
