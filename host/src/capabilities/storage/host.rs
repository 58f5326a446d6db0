//! The `storage` interface over the invoking module's grant and its own root. Every key is
//! checked (shape, then grant) before the backend is touched; writes go through the
//! quotas ([`Objects`]). Uploads in progress live in the invocation's part and are thrown
//! away with it.

use std::collections::HashMap;
use std::sync::Arc;

use wasmtime::component::{HasData, Resource};

use super::backend::Owner;
use super::key::Key;
use super::object::{ObjectInfo, StorageError};
use super::objects::{Objects, Upload};
use super::signed::{MAX_EXPIRY_SECONDS, Signer};
use crate::runtime::ModuleContext;
use crate::runtime::bindings::GuestError;
use crate::runtime::bindings::plughost::platform::storage::{
    self, ByteRange, Host, HostUpload, Listing, PutOptions,
};

/// Marker tying the interface to its view.
pub struct StorageCapability;

impl HasData for StorageCapability {
    type Data<'a> = StorageView<'a>;
}

/// Storage's part of one invocation: the objects, the URL signer, the open uploads.
pub struct StorageInvocation {
    pub objects: Arc<Objects>,
    pub signer: Arc<Signer>,
    uploads: HashMap<u32, Upload>,
    next_upload: u32,
}

impl StorageInvocation {
    /// A part with no upload open.
    pub fn new(objects: Arc<Objects>, signer: Arc<Signer>) -> StorageInvocation {
        StorageInvocation {
            objects,
            signer,
            uploads: HashMap::new(),
            next_upload: 0,
        }
    }
}

/// What storage sees: the module (grant, tenant, name) and its part of the invocation.
pub struct StorageView<'a> {
    pub module: &'a Arc<ModuleContext>,
    pub part: &'a mut StorageInvocation,
}

type Result<T> = std::result::Result<T, GuestError>;

/// Largest object `put` takes in one call, and `append` in one piece.
pub const MAX_PUT_BYTES: usize = 64 << 20;
/// Uploads one invocation may have open at once.
const MAX_OPEN_UPLOADS: usize = 16;
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
            StorageError::Invalid(m) | StorageError::Quota(m) => GuestError::Invalid(m),
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

    fn owner(&self) -> Owner {
        Owner {
            tenant: self.module.tenant.clone(),
            module: self.module.name.clone(),
        }
    }

    /// A storage failure as the module sees it; a quota refusal is also counted and logged.
    fn failed(&self, error: StorageError) -> GuestError {
        if let StorageError::Quota(message) = &error {
            let metrics = &self.module.metrics;
            metrics
                .over_limit
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            tracing::warn!(module = %self.module.name, tenant = %self.module.tenant, "storage refused: {message}");
        }
        GuestError::from(error)
    }

    fn piece_size(&self, size: usize, what: &str) -> Result<()> {
        if size > MAX_PUT_BYTES {
            return Err(GuestError::Invalid(format!(
                "{what} takes at most {MAX_PUT_BYTES} bytes in one call; this one has {size} \
                 (use begin-upload and append pieces)"
            )));
        }
        Ok(())
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
        self.piece_size(data.len(), "put")?;
        let content_type = content_type(options.content_type)?;
        let metadata = metadata(options.metadata)?;
        let objects = self.part.objects.clone();
        let info = objects
            .put(&self.owner(), &key, data, content_type, metadata)
            .await
            .map_err(|e| self.failed(e))?;
        Ok(info.into())
    }

    async fn begin_upload(
        &mut self,
        key: String,
        options: PutOptions,
    ) -> Result<Resource<storage::Upload>> {
        let key = self.key(&key)?;
        let content_type = content_type(options.content_type)?;
        let metadata = metadata(options.metadata)?;
        if self.part.uploads.len() >= MAX_OPEN_UPLOADS {
            return Err(GuestError::Invalid(format!(
                "{MAX_OPEN_UPLOADS} uploads are open; commit or drop one first"
            )));
        }
        let objects = self.part.objects.clone();
        let upload = objects
            .begin_upload(&self.owner(), &key, content_type, metadata)
            .await
            .map_err(|e| self.failed(e))?;
        let id = self.part.next_upload;
        self.part.next_upload = id.wrapping_add(1);
        self.part.uploads.insert(id, upload);
        Ok(Resource::new_own(id))
    }

    async fn get(&mut self, key: String, range: Option<ByteRange>) -> Result<Vec<u8>> {
        let key = self.key(&key)?;
        let range = range.map(|r| (r.start, r.end));
        let objects = self.part.objects.clone();
        Ok(objects.get(&self.owner(), &key, range).await?)
    }

    async fn read(&mut self, key: String, range: Option<ByteRange>) -> Result<storage::Object> {
        let key = self.key(&key)?;
        let range = range.map(|r| (r.start, r.end));
        let objects = self.part.objects.clone();
        let (info, bytes) = objects.read(&self.owner(), &key, range).await?;
        Ok(storage::Object {
            info: info.into(),
            bytes,
        })
    }

    async fn head(&mut self, key: String) -> Result<storage::ObjectInfo> {
        let key = self.key(&key)?;
        let objects = self.part.objects.clone();
        Ok(objects.head(&self.owner(), &key).await?.into())
    }

    async fn exists(&mut self, key: String) -> Result<bool> {
        let key = self.key(&key)?;
        let objects = self.part.objects.clone();
        match objects.head(&self.owner(), &key).await {
            Ok(_) => Ok(true),
            Err(StorageError::NotFound(_)) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    async fn delete(&mut self, key: String) -> Result<bool> {
        let key = self.key(&key)?;
        let objects = self.part.objects.clone();
        Ok(objects.delete(&self.owner(), &key).await?)
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
        let objects = self.part.objects.clone();
        let (found, more) = objects
            .list(&self.owner(), &prefix, cursor.as_deref(), limit)
            .await?;
        let next_cursor = more.then(|| found.last().map(|o| o.key.clone())).flatten();
        // Only keys the grant covers are shown (a narrower grant than the prefix).
        let objects = found
            .into_iter()
            .filter(|o| self.module.grant.check("storage", &o.key).is_ok())
            .map(storage::ObjectInfo::from)
            .collect();
        Ok(Listing {
            objects,
            next_cursor,
        })
    }

    async fn copy(&mut self, from: String, to: String) -> Result<storage::ObjectInfo> {
        let from = self.key(&from)?;
        let to = self.key(&to)?;
        let objects = self.part.objects.clone();
        let info = objects
            .copy(&self.owner(), &from, &to)
            .await
            .map_err(|e| self.failed(e))?;
        Ok(info.into())
    }

    async fn publish(&mut self, key: String, expires_in_seconds: u32) -> Result<String> {
        let key = self.key(&key)?;
        if !(1..=MAX_EXPIRY_SECONDS).contains(&expires_in_seconds) {
            return Err(GuestError::Invalid(format!(
                "expires-in-seconds must be 1 to {MAX_EXPIRY_SECONDS} (7 days)"
            )));
        }
        let objects = self.part.objects.clone();
        objects.head(&self.owner(), &key).await?;
        Ok(self
            .part
            .signer
            .url(&self.owner(), &key, expires_in_seconds))
    }
}

impl HostUpload for StorageView<'_> {
    async fn append(&mut self, upload: Resource<storage::Upload>, data: Vec<u8>) -> Result<()> {
        self.piece_size(data.len(), "append")?;
        let objects = self.part.objects.clone();
        let Some(mut open) = self.part.uploads.remove(&upload.rep()) else {
            return Err(GuestError::Invalid(
                "this upload is already committed".into(),
            ));
        };
        let outcome = objects.append(&mut open, data).await;
        if outcome.is_ok() {
            self.part.uploads.insert(upload.rep(), open);
        }
        // A failed append ends the upload: what was written is thrown away.
        outcome.map_err(|e| self.failed(e))
    }

    async fn written(&mut self, upload: Resource<storage::Upload>) -> u64 {
        self.part
            .uploads
            .get(&upload.rep())
            .map_or(0, Upload::written)
    }

    async fn commit(&mut self, upload: Resource<storage::Upload>) -> Result<storage::ObjectInfo> {
        let Some(open) = self.part.uploads.remove(&upload.rep()) else {
            return Err(GuestError::Invalid(
                "this upload is already committed, or an append to it failed".into(),
            ));
        };
        let objects = self.part.objects.clone();
        let info = objects.commit(open).await.map_err(|e| self.failed(e))?;
        Ok(info.into())
    }

    async fn drop(&mut self, upload: Resource<storage::Upload>) -> wasmtime::Result<()> {
        // Dropping an uncommitted upload removes its file and gives its quota back.
        self.part.uploads.remove(&upload.rep());
        Ok(())
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
