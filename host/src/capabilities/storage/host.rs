//! The `storage` interface over the invoking module's grant and its own root. Every key is
//! checked (shape, then grant) before the disk is touched; the disk work runs on tokio's
//! blocking pool.

use std::sync::Arc;

use wasmtime::component::HasData;

use super::key::Key;
use super::local::{LocalStorage, ModuleRoot, ObjectInfo, StorageError};
use crate::runtime::ModuleContext;
use crate::runtime::bindings::GuestError;
use crate::runtime::bindings::plughost::platform::storage::{
    self, ByteRange, Host, Listing, PutOptions,
};

/// Marker tying the interface to its view.
pub struct StorageCapability;

impl HasData for StorageCapability {
    type Data<'a> = StorageView<'a>;
}

/// What storage sees: the module (grant, tenant, name) and where objects live.
pub struct StorageView<'a> {
    pub module: &'a Arc<ModuleContext>,
    pub storage: &'a Arc<LocalStorage>,
}

type Result<T> = std::result::Result<T, GuestError>;

/// Largest object `put` takes in one call.
pub const MAX_PUT_BYTES: usize = 64 << 20;
/// Most metadata entries, and their bytes in all.
const MAX_METADATA: usize = 32;
const MAX_METADATA_BYTES: usize = 8 * 1024;
/// Most objects one `list` returns.
const MAX_LIST: u32 = 1000;

impl From<StorageError> for GuestError {
    fn from(error: StorageError) -> GuestError {
        match error {
            StorageError::NotFound(_) => GuestError::NotFound(error.to_string()),
            StorageError::Denied(m) => GuestError::Denied(m),
            StorageError::Invalid(m) => GuestError::Invalid(m),
            StorageError::Internal(_) => GuestError::Internal(error.to_string()),
        }
    }
}

impl From<ObjectInfo> for storage::ObjectInfo {
    fn from(info: ObjectInfo) -> storage::ObjectInfo {
        storage::ObjectInfo {
            key: info.key,
            size: info.size,
            content_type: info.content_type,
            etag: info.etag,
            modified_ms: info.modified_ms,
            metadata: info.metadata,
        }
    }
}

impl StorageView<'_> {
    /// `key` checked for shape, then against the grant (a refusal is counted and logged).
    fn key(&self, key: &str) -> Result<Key> {
        let key = Key::parse(key).map_err(GuestError::Invalid)?;
        self.module
            .check("storage", key.as_str())
            .map_err(|denied| GuestError::Denied(denied.reason))?;
        Ok(key)
    }

    /// Runs `work` on the module's root, on the blocking pool.
    async fn on_root<T: Send + 'static>(
        &self,
        work: impl FnOnce(&ModuleRoot) -> std::result::Result<T, StorageError> + Send + 'static,
    ) -> Result<T> {
        let storage = self.storage.clone();
        let module = self.module.clone();
        tokio::task::spawn_blocking(move || {
            let root = storage.open(&module.tenant, &module.name)?;
            work(&root)
        })
        .await
        .map_err(|e| GuestError::Internal(format!("storage task failed: {e}")))?
        .map_err(GuestError::from)
    }
}

impl Host for StorageView<'_> {
    async fn put(
        &mut self,
        key: String,
        data: Vec<u8>,
        options: PutOptions,
    ) -> Result<storage::ObjectInfo> {
        let key = self.key(&key)?;
        if data.len() > MAX_PUT_BYTES {
            return Err(GuestError::Invalid(format!(
                "put takes at most {MAX_PUT_BYTES} bytes in one call; this object has {}",
                data.len()
            )));
        }
        let content_type = content_type(options.content_type)?;
        let metadata = metadata(options.metadata)?;
        let info = self
            .on_root(move |root| root.put(&key, &data, content_type, metadata))
            .await?;
        Ok(info.into())
    }

    async fn get(&mut self, key: String, range: Option<ByteRange>) -> Result<Vec<u8>> {
        let key = self.key(&key)?;
        let range = range.map(|r| (r.start, r.end));
        self.on_root(move |root| root.get(&key, range)).await
    }

    async fn head(&mut self, key: String) -> Result<storage::ObjectInfo> {
        let key = self.key(&key)?;
        Ok(self.on_root(move |root| root.head(&key)).await?.into())
    }

    async fn exists(&mut self, key: String) -> Result<bool> {
        let key = self.key(&key)?;
        match self.on_root(move |root| root.head(&key)).await {
            Ok(_) => Ok(true),
            Err(GuestError::NotFound(_)) => Ok(false),
            Err(error) => Err(error),
        }
    }

    async fn delete(&mut self, key: String) -> Result<bool> {
        let key = self.key(&key)?;
        self.on_root(move |root| root.delete(&key)).await
    }

    async fn list(
        &mut self,
        prefix: String,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<Listing> {
        // A prefix is granted when the keys it can reach are: checked as a key pattern.
        self.module
            .check("storage", &format!("{prefix}*"))
            .or_else(|_| self.module.check("storage", &prefix))
            .map_err(|denied| GuestError::Denied(denied.reason))?;
        let limit = limit.clamp(1, MAX_LIST) as usize;
        let module = self.module.clone();
        let (objects, next_cursor) = self
            .on_root(move |root| {
                let (keys, more) = root.list(&prefix, cursor.as_deref(), limit)?;
                let mut objects = Vec::with_capacity(keys.len());
                for key in &keys {
                    // Only keys the grant covers are shown (a narrower grant than the prefix).
                    if module.grant.check("storage", key.as_str()).is_ok() {
                        match root.head(key) {
                            Ok(info) => objects.push(storage::ObjectInfo::from(info)),
                            Err(StorageError::NotFound(_)) => {} // deleted meanwhile
                            Err(error) => return Err(error),
                        }
                    }
                }
                let next = more
                    .then(|| keys.last().map(|k| k.as_str().to_string()))
                    .flatten();
                Ok((objects, next))
            })
            .await?;
        Ok(Listing {
            objects,
            next_cursor,
        })
    }

    async fn copy(&mut self, from: String, to: String) -> Result<storage::ObjectInfo> {
        let from = self.key(&from)?;
        let to = self.key(&to)?;
        Ok(self
            .on_root(move |root| root.copy(&from, &to))
            .await?
            .into())
    }
}

/// A content type: a `type/subtype` token, at most 255 bytes; default octet-stream.
fn content_type(given: Option<String>) -> Result<String> {
    let Some(value) = given else {
        return Ok("application/octet-stream".into());
    };
    let ok = value.len() <= 255
        && value.contains('/')
        && value.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
    if !ok {
        return Err(GuestError::Invalid(format!(
            "content type '{}' must be a printable `type/subtype` of at most 255 bytes",
            value.escape_default()
        )));
    }
    Ok(value)
}

/// Metadata: up to 32 entries, names of letters, digits and `-`, 8 KiB in all, no control
/// characters (they may become HTTP headers when the object is served).
fn metadata(entries: Vec<(String, String)>) -> Result<Vec<(String, String)>> {
    let bytes: usize = entries.iter().map(|(k, v)| k.len() + v.len()).sum();
    if entries.len() > MAX_METADATA || bytes > MAX_METADATA_BYTES {
        return Err(GuestError::Invalid(format!(
            "metadata holds at most {MAX_METADATA} entries and {MAX_METADATA_BYTES} bytes"
        )));
    }
    for (name, value) in &entries {
        let name_ok = !name.is_empty()
            && name.len() <= 64
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !name_ok || value.chars().any(char::is_control) {
            return Err(GuestError::Invalid(format!(
                "metadata '{}': names are 1 to 64 letters, digits and '-'; values hold no control characters",
                name.escape_default()
            )));
        }
    }
    Ok(entries)
}
