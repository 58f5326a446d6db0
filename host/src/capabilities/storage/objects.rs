//! Every module's objects: the backend with the quotas kept around it. A write reserves its
//! bytes before they reach the backend; a write or delete that replaces or removes an
//! object does so holding that key's lock, so the ledger sees each replacement once.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use super::backend::{Backend, BackendUpload, ObjectReader, Owner, Range};
use super::key::Key;
use super::object::{ObjectInfo, StorageError};
use super::quota::{Quotas, Reservation};
use super::settings::StorageConfig;
use super::settings::Usage;

/// Key locks: writers of keys that hash alike wait for each other, briefly.
const KEY_LOCKS: usize = 64;

type Result<T> = std::result::Result<T, StorageError>;

/// The backend, the quotas and the key locks.
pub struct Objects {
    backend: Backend,
    quotas: Arc<Quotas>,
    config: StorageConfig,
    locks: Vec<tokio::sync::Mutex<()>>,
    loading: tokio::sync::Mutex<()>,
}

/// An object being written in pieces, with the quota it holds so far.
pub struct Upload {
    owner: Owner,
    key: Key,
    inner: BackendUpload,
    reservation: Reservation,
    written: u64,
}

impl Upload {
    /// Bytes appended so far.
    pub fn written(&self) -> u64 {
        self.written
    }
}

impl Objects {
    /// Objects in `backend`, under the quotas of `config`.
    pub fn new(backend: Backend, config: StorageConfig) -> Objects {
        Objects {
            backend,
            quotas: Arc::new(Quotas::new(config.clone())),
            config,
            locks: (0..KEY_LOCKS)
                .map(|_| tokio::sync::Mutex::new(()))
                .collect(),
            loading: tokio::sync::Mutex::new(()),
        }
    }

    /// The backend, for reads that need no quota.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    fn lock(&self, owner: &Owner, key: &Key) -> &tokio::sync::Mutex<()> {
        let mut hasher = DefaultHasher::new();
        (owner, key.as_str()).hash(&mut hasher);
        &self.locks[hasher.finish() as usize % KEY_LOCKS]
    }

    /// Loads the tenant's ledger the first time it writes (one scan at a time).
    async fn load(&self, tenant: &str) -> Result<()> {
        if self.quotas.loaded(tenant) {
            return Ok(());
        }
        let _one_at_a_time = self.loading.lock().await;
        if self.quotas.loaded(tenant) {
            return Ok(());
        }
        let usage = self.backend.usage(tenant).await?;
        self.quotas.load(tenant, usage);
        Ok(())
    }

    fn reserve(&self, owner: &Owner, bytes: u64, objects: u64) -> Result<Reservation> {
        self.quotas
            .reserve(&owner.tenant, &owner.module, bytes, objects)
            .map_err(StorageError::Quota)
    }

    /// What is at `key` now, if anything.
    async fn existing(&self, owner: &Owner, key: &Key) -> Result<Option<ObjectInfo>> {
        match self.backend.head(owner, key).await {
            Ok(info) => Ok(Some(info)),
            Err(StorageError::NotFound(_)) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Gives back what a replaced object used beyond what replaced it.
    fn replaced(&self, owner: &Owner, old: Option<ObjectInfo>, new_size: u64) {
        if let Some(old) = old {
            let freed = Usage {
                bytes: old.size.saturating_sub(new_size),
                objects: 0,
            };
            self.quotas.release(&owner.tenant, &owner.module, freed);
        }
    }

    /// Writes `data` at `key`, within the quotas.
    pub async fn put(
        &self,
        owner: &Owner,
        key: &Key,
        data: Vec<u8>,
        content_type: String,
        metadata: Vec<(String, String)>,
    ) -> Result<ObjectInfo> {
        self.load(&owner.tenant).await?;
        let _key = self.lock(owner, key).lock().await;
        let old = self.existing(owner, key).await?;
        let size = data.len() as u64;
        let old_size = old.as_ref().map_or(0, |o| o.size);
        let reservation = self.reserve(
            owner,
            size.saturating_sub(old_size),
            u64::from(old.is_none()),
        )?;
        let info = self
            .backend
            .put(owner, key, data, content_type, metadata)
            .await?;
        reservation.keep();
        self.replaced(owner, old, size);
        Ok(info)
    }

    /// Starts writing `key` in pieces; it holds one object of the quota from now on, and
    /// each append's bytes.
    pub async fn begin_upload(
        &self,
        owner: &Owner,
        key: &Key,
        content_type: String,
        metadata: Vec<(String, String)>,
    ) -> Result<Upload> {
        self.load(&owner.tenant).await?;
        let reservation = self.reserve(owner, 0, 1)?;
        let inner = self
            .backend
            .begin_upload(owner, key, content_type, metadata)
            .await?;
        Ok(Upload {
            owner: owner.clone(),
            key: key.clone(),
            inner,
            reservation,
            written: 0,
        })
    }

    /// Adds `data` to `upload`, within the quotas and the largest object's size.
    pub async fn append(&self, upload: &mut Upload, data: Vec<u8>) -> Result<()> {
        let size = data.len() as u64;
        let max = self.config.max_object_bytes;
        if upload.written + size > max {
            return Err(StorageError::Quota(format!(
                "object '{}' would be {} bytes; objects are at most {max} bytes \
                 (host.toml [storage] max-object-bytes)",
                upload.key.as_str(),
                upload.written + size
            )));
        }
        upload.reservation.grow(size).map_err(StorageError::Quota)?;
        upload.inner.append(data).await?;
        upload.written += size;
        Ok(())
    }

    /// Makes `upload` the object at its key, replacing any there.
    pub async fn commit(&self, upload: Upload) -> Result<ObjectInfo> {
        let Upload {
            owner,
            key,
            inner,
            reservation,
            written,
        } = upload;
        let _key = self.lock(&owner, &key).lock().await;
        let old = self.existing(&owner, &key).await?;
        let info = inner.commit().await?;
        reservation.keep();
        if let Some(old) = old {
            // The upload counted a whole new object.
            let freed = Usage {
                bytes: old.size,
                objects: 1,
            };
            self.quotas.release(&owner.tenant, &owner.module, freed);
        }
        debug_assert_eq!(info.size, written);
        Ok(info)
    }

    /// The object's bytes, all or `range`.
    pub async fn get(&self, owner: &Owner, key: &Key, range: Range) -> Result<Vec<u8>> {
        self.backend.get(owner, key, range).await
    }

    /// The bytes, all or `range`, with what the host knows of the object.
    pub async fn read(
        &self,
        owner: &Owner,
        key: &Key,
        range: Range,
    ) -> Result<(ObjectInfo, Vec<u8>)> {
        self.backend.read(owner, key, range).await
    }

    /// The object opened for reading in pieces, what the host knows of it, and its first
    /// `eager` bytes (see [`Backend::open_reader`]).
    pub async fn open_reader(
        &self,
        owner: &Owner,
        key: &Key,
        eager: u64,
    ) -> Result<(ObjectInfo, ObjectReader, Vec<u8>)> {
        self.backend.open_reader(owner, key, eager).await
    }

    /// Bytes `start..end` of an object opened with [`Objects::open_reader`].
    pub async fn piece(
        &self,
        owner: &Owner,
        key: &Key,
        reader: &ObjectReader,
        start: u64,
        end: u64,
    ) -> Result<Vec<u8>> {
        self.backend.piece(owner, key, reader, start, end).await
    }

    /// What the host knows of the object.
    pub async fn head(&self, owner: &Owner, key: &Key) -> Result<ObjectInfo> {
        self.backend.head(owner, key).await
    }

    /// Removes the object; whether there was one.
    pub async fn delete(&self, owner: &Owner, key: &Key) -> Result<bool> {
        self.load(&owner.tenant).await?;
        let _key = self.lock(owner, key).lock().await;
        let Some(old) = self.existing(owner, key).await? else {
            return Ok(false);
        };
        let deleted = self.backend.delete(owner, key).await?;
        if deleted {
            let freed = Usage {
                bytes: old.size,
                objects: 1,
            };
            self.quotas.release(&owner.tenant, &owner.module, freed);
        }
        Ok(deleted)
    }

    /// Copies `from` to `to`, within the quotas.
    pub async fn copy(&self, owner: &Owner, from: &Key, to: &Key) -> Result<ObjectInfo> {
        self.load(&owner.tenant).await?;
        let source = self.backend.head(owner, from).await?;
        let _key = self.lock(owner, to).lock().await;
        let old = self.existing(owner, to).await?;
        let old_size = old.as_ref().map_or(0, |o| o.size);
        let reservation = self.reserve(
            owner,
            source.size.saturating_sub(old_size),
            u64::from(old.is_none()),
        )?;
        let info = self.backend.copy(owner, from, to).await?;
        reservation.keep();
        self.replaced(owner, old, info.size);
        Ok(info)
    }

    /// A page of a listing (see [`Backend::list`]).
    pub async fn list(
        &self,
        owner: &Owner,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<ObjectInfo>, bool)> {
        self.backend.list(owner, prefix, cursor, limit).await
    }
}
