//! Objects under keys in the module's own storage root, within its `storage` grant (key
//! patterns, e.g. `storage = ["uploads/*"]`).
//!
//! ```ignore
//! use plughost_sdk::storage::{self, Put};
//! let info = storage::put("uploads/a.txt", b"hello", Put::new().content_type("text/plain"))?;
//! let bytes = storage::get("uploads/a.txt")?;
//! let object = storage::read("uploads/a.txt")?; // bytes and info (content type, etag)
//! let first = storage::get_range("uploads/a.txt", 0, Some(2))?;
//! let page = storage::list("uploads/", None, 100)?;
//!
//! // Larger than memory: write in pieces, read by ranges, hand browsers a URL.
//! let upload = storage::begin_upload("videos/big.mp4", Put::new().content_type("video/mp4"))?;
//! upload.append(&piece)?;
//! let info = upload.commit()?;
//! let url = storage::publish("videos/big.mp4", 3600)?; // "/_storage/…", served by the host
//! ```

use crate::Result;
use crate::bindings::plughost::platform::storage as wit;

/// One page of a listing: objects in key order and the cursor of the next page.
pub use wit::Listing;
/// An object's bytes (`bytes`, all or a range) and what the host knows of it (`info`).
pub use wit::Object;
/// What the host knows of an object: key, size, content type, etag, modified time (ms),
/// metadata.
pub use wit::ObjectInfo;
/// An object being written in pieces: `append` (at most 64 MiB each), `written`,
/// `commit`; dropped without `commit`, nothing is left at the key.
pub use wit::Upload;

/// How to write an object: its content type and metadata.
#[derive(Debug, Clone, Default)]
pub struct Put {
    content_type: Option<String>,
    metadata: Vec<(String, String)>,
}

impl Put {
    /// No content type (`application/octet-stream`), no metadata.
    pub fn new() -> Put {
        Put::default()
    }

    /// The object's content type, e.g. `image/png`.
    pub fn content_type(mut self, value: &str) -> Put {
        self.content_type = Some(value.to_string());
        self
    }

    /// One metadata entry (names: letters, digits and `-`).
    pub fn metadata(mut self, name: &str, value: &str) -> Put {
        self.metadata.push((name.to_string(), value.to_string()));
        self
    }
}

/// Writes `data` at `key`, replacing any object there; at once or not at all.
pub fn put(key: &str, data: &[u8], options: Put) -> Result<ObjectInfo> {
    let options = wit::PutOptions {
        content_type: options.content_type,
        metadata: options.metadata,
    };
    wit::put(key, data, &options)
}

/// The object's bytes; `Err(Error::NotFound)` when there is none.
pub fn get(key: &str) -> Result<Vec<u8>> {
    wit::get(key, None)
}

/// Bytes `start` up to, not including, `end` (`None`: to the end).
pub fn get_range(key: &str, start: u64, end: Option<u64>) -> Result<Vec<u8>> {
    wit::get(key, Some(wit::ByteRange { start, end }))
}

/// The object's bytes with what the host knows of it (content type, etag, …), in one
/// call: what a handler serving the object needs. `Err(Error::NotFound)` when there is none.
pub fn read(key: &str) -> Result<Object> {
    wit::read(key, None)
}

/// Bytes `start` up to, not including, `end` (`None`: to the end), with what the host
/// knows of the whole object.
pub fn read_range(key: &str, start: u64, end: Option<u64>) -> Result<Object> {
    wit::read(key, Some(wit::ByteRange { start, end }))
}

/// What the host knows of the object; `Err(Error::NotFound)` when there is none.
pub fn head(key: &str) -> Result<ObjectInfo> {
    wit::head(key)
}

/// Whether an object is at `key`.
pub fn exists(key: &str) -> Result<bool> {
    wit::exists(key)
}

/// Removes the object; whether there was one.
pub fn delete(key: &str) -> Result<bool> {
    wit::delete(key)
}

/// Up to `limit` (at most 1,000) objects whose key starts with `prefix`, after `cursor`
/// (the previous page's `next_cursor`).
pub fn list(prefix: &str, cursor: Option<&str>, limit: u32) -> Result<Listing> {
    wit::list(prefix, cursor, limit)
}

/// Copies the object at `source` to `target`.
pub fn copy(source: &str, target: &str) -> Result<ObjectInfo> {
    wit::copy(source, target)
}

/// Starts writing an object at `key` in pieces, for objects too large to hold in memory.
pub fn begin_upload(key: &str, options: Put) -> Result<Upload> {
    let options = wit::PutOptions {
        content_type: options.content_type,
        metadata: options.metadata,
    };
    wit::begin_upload(key, &options)
}

/// A URL path (`/_storage/…`) at which the host serves the object to anyone holding it for
/// `seconds` (at most 7 days), with byte ranges and its ETag.
pub fn publish(key: &str, seconds: u32) -> Result<String> {
    wit::publish(key, seconds)
}
