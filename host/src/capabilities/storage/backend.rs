//! Where objects live: the local folder or an S3-compatible bucket (host.toml
//! `[storage.s3]`), behind one async surface keyed by (tenant, module, key). The local
//! backend's disk work runs on tokio's blocking pool.

use std::sync::Arc;

use super::key::Key;
use super::local::{LocalStorage, LocalUpload, ModuleRoot};
use super::object::{ObjectInfo, StorageError};
use super::s3::{S3Storage, S3Upload};
use super::settings::Usage;

/// Whose objects: a module of a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Owner {
    /// The tenant.
    pub tenant: String,
    /// The module.
    pub module: String,
}

/// A byte range: start, and an exclusive end (none: to the end).
pub type Range = Option<(u64, Option<u64>)>;

/// The backend the host was started with.
pub enum Backend {
    /// Folders on this machine.
    Local(LocalStorage),
    /// An S3-compatible bucket, which several hosts may share.
    S3(S3Storage),
}

/// An object being written in pieces.
pub enum BackendUpload {
    /// Into a file in the module's `tmp/` (taken out while a blocking task appends).
    Local(Option<Box<LocalUpload>>),
    /// An S3 multipart upload.
    S3(S3Upload),
}

type Result<T> = std::result::Result<T, StorageError>;

/// An object opened for reading in pieces: every piece comes from the version opened,
/// even when the key is replaced or deleted meanwhile, so a reader never gets a torn
/// object (the start of one version and the end of another).
pub enum ObjectReader {
    /// The open file, whose object bytes start at `offset`: a replacement renames another
    /// file over the name, and this one stays readable while held.
    Local {
        /// The object's file.
        file: Arc<std::fs::File>,
        /// Where its bytes start (after the header).
        offset: u64,
    },
    /// Ranged GETs that match only the version opened (`If-Match` its etag): a piece of a
    /// replaced object fails instead of mixing versions.
    S3 {
        /// The version's etag, quoted as S3 gives it.
        e_tag: String,
    },
}

impl Backend {
    /// Runs `work` on `owner`'s local root, on the blocking pool.
    async fn on_root<T: Send + 'static>(
        local: &LocalStorage,
        owner: &Owner,
        work: impl FnOnce(&ModuleRoot) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let local = local.clone();
        let owner = owner.clone();
        tokio::task::spawn_blocking(move || work(&local.open(&owner.tenant, &owner.module)?))
            .await
            .map_err(|e| StorageError::Internal(format!("storage task failed: {e}")))?
    }

    /// Writes `data` at `key`.
    pub async fn put(
        &self,
        owner: &Owner,
        key: &Key,
        data: Vec<u8>,
        content_type: String,
        metadata: Vec<(String, String)>,
    ) -> Result<ObjectInfo> {
        match self {
            Backend::Local(local) => {
                let key = key.clone();
                Self::on_root(local, owner, move |root| {
                    root.put(&key, &data, content_type, metadata)
                })
                .await
            }
            Backend::S3(s3) => {
                let (t, m) = (&owner.tenant, &owner.module);
                s3.put(t, m, key, data.into(), content_type, metadata).await
            }
        }
    }

    /// Starts writing `key` in pieces.
    pub async fn begin_upload(
        &self,
        owner: &Owner,
        key: &Key,
        content_type: String,
        metadata: Vec<(String, String)>,
    ) -> Result<BackendUpload> {
        match self {
            Backend::Local(local) => {
                let key = key.clone();
                let upload = Self::on_root(local, owner, move |root| {
                    root.begin_upload(&key, content_type, metadata)
                })
                .await?;
                Ok(BackendUpload::Local(Some(Box::new(upload))))
            }
            Backend::S3(s3) => {
                let (t, m) = (&owner.tenant, &owner.module);
                let upload = s3.begin_upload(t, m, key, content_type, metadata).await?;
                Ok(BackendUpload::S3(upload))
            }
        }
    }

    /// The object's bytes, all or `range`.
    pub async fn get(&self, owner: &Owner, key: &Key, range: Range) -> Result<Vec<u8>> {
        match self {
            Backend::Local(local) => {
                let key = key.clone();
                Self::on_root(local, owner, move |root| root.get(&key, range)).await
            }
            Backend::S3(s3) => s3.get(&owner.tenant, &owner.module, key, range).await,
        }
    }

    /// The bytes, all or `range`, with what the host knows of the object, in one trip.
    pub async fn read(
        &self,
        owner: &Owner,
        key: &Key,
        range: Range,
    ) -> Result<(ObjectInfo, Vec<u8>)> {
        match self {
            Backend::Local(local) => {
                let key = key.clone();
                Self::on_root(local, owner, move |root| root.read(&key, range)).await
            }
            Backend::S3(s3) => s3.read(&owner.tenant, &owner.module, key, range).await,
        }
    }

    /// The object opened for reading in pieces ([`Backend::piece`]), what the host knows
    /// of it, and its first `eager` bytes read in the same trip.
    pub async fn open_reader(
        &self,
        owner: &Owner,
        key: &Key,
        eager: u64,
    ) -> Result<(ObjectInfo, ObjectReader, Vec<u8>)> {
        match self {
            Backend::Local(local) => {
                let key = key.clone();
                let opened =
                    Self::on_root(local, owner, move |root| root.open_reader(&key, eager)).await?;
                let reader = ObjectReader::Local {
                    file: Arc::new(opened.file),
                    offset: opened.offset,
                };
                Ok((opened.info, reader, opened.leading))
            }
            Backend::S3(s3) => {
                let (t, m) = (&owner.tenant, &owner.module);
                let (info, first) = if eager == 0 {
                    (s3.head(t, m, key).await?, Vec::new())
                } else {
                    s3.read(t, m, key, Some((0, Some(eager)))).await?
                };
                // S3 etags are quoted strings; the host keeps them without the quotes.
                let e_tag = format!("\"{}\"", info.etag);
                Ok((info, ObjectReader::S3 { e_tag }, first))
            }
        }
    }

    /// Bytes `start..end` of an object opened with [`Backend::open_reader`].
    pub async fn piece(
        &self,
        owner: &Owner,
        key: &Key,
        reader: &ObjectReader,
        start: u64,
        end: u64,
    ) -> Result<Vec<u8>> {
        match (self, reader) {
            (_, ObjectReader::Local { file, offset }) => {
                let (file, at) = (file.clone(), offset + start);
                let key = key.clone();
                tokio::task::spawn_blocking(move || {
                    use std::os::unix::fs::FileExt as _;
                    let mut bytes = vec![0; (end - start) as usize];
                    file.read_exact_at(&mut bytes, at)
                        .map(|()| bytes)
                        .map_err(|e| {
                            StorageError::Internal(format!("reading '{}': {e}", key.as_str()))
                        })
                })
                .await
                .map_err(|e| StorageError::Internal(format!("storage task failed: {e}")))?
            }
            (Backend::S3(s3), ObjectReader::S3 { e_tag }) => {
                let (t, m) = (&owner.tenant, &owner.module);
                s3.piece(t, m, key, e_tag, start, end).await
            }
            (Backend::Local(_), ObjectReader::S3 { .. }) => Err(StorageError::Internal(
                "an S3 reader used on the local backend".into(),
            )),
        }
    }

    /// What the host knows of the object.
    pub async fn head(&self, owner: &Owner, key: &Key) -> Result<ObjectInfo> {
        match self {
            Backend::Local(local) => {
                let key = key.clone();
                Self::on_root(local, owner, move |root| root.head(&key)).await
            }
            Backend::S3(s3) => s3.head(&owner.tenant, &owner.module, key).await,
        }
    }

    /// Removes the object; whether there was one.
    pub async fn delete(&self, owner: &Owner, key: &Key) -> Result<bool> {
        match self {
            Backend::Local(local) => {
                let key = key.clone();
                Self::on_root(local, owner, move |root| root.delete(&key)).await
            }
            Backend::S3(s3) => s3.delete(&owner.tenant, &owner.module, key).await,
        }
    }

    /// Copies `from` to `to`.
    pub async fn copy(&self, owner: &Owner, from: &Key, to: &Key) -> Result<ObjectInfo> {
        match self {
            Backend::Local(local) => {
                let (from, to) = (from.clone(), to.clone());
                Self::on_root(local, owner, move |root| root.copy(&from, &to)).await
            }
            Backend::S3(s3) => s3.copy(&owner.tenant, &owner.module, from, to).await,
        }
    }

    /// Up to `limit` objects whose key starts with `prefix`, after `cursor`, in key order,
    /// and whether more follow.
    pub async fn list(
        &self,
        owner: &Owner,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<ObjectInfo>, bool)> {
        match self {
            Backend::Local(local) => {
                let prefix = prefix.to_string();
                let cursor = cursor.map(str::to_string);
                Self::on_root(local, owner, move |root| {
                    let (keys, more) = root.list(&prefix, cursor.as_deref(), limit)?;
                    let mut objects = Vec::with_capacity(keys.len());
                    for key in &keys {
                        match root.head(key) {
                            Ok(info) => objects.push(info),
                            Err(StorageError::NotFound(_)) => {} // deleted meanwhile
                            Err(error) => return Err(error),
                        }
                    }
                    Ok((objects, more))
                })
                .await
            }
            Backend::S3(s3) => {
                let (t, m) = (&owner.tenant, &owner.module);
                s3.list(t, m, prefix, cursor, limit).await
            }
        }
    }

    /// What each module of `tenant` keeps now.
    pub async fn usage(&self, tenant: &str) -> Result<Vec<(String, Usage)>> {
        match self {
            Backend::Local(local) => {
                let local = local.clone();
                let tenant = tenant.to_string();
                tokio::task::spawn_blocking(move || local.usage(&tenant))
                    .await
                    .map_err(|e| StorageError::Internal(format!("storage task failed: {e}")))?
            }
            Backend::S3(s3) => s3.usage(tenant).await,
        }
    }
}

impl BackendUpload {
    /// Adds `data` at the end.
    pub async fn append(&mut self, data: Vec<u8>) -> Result<()> {
        match self {
            BackendUpload::Local(slot) => {
                let mut upload = slot.take().ok_or_else(interrupted)?;
                let (upload, outcome) = tokio::task::spawn_blocking(move || {
                    let outcome = upload.append(&data);
                    (upload, outcome)
                })
                .await
                .map_err(|e| StorageError::Internal(format!("storage task failed: {e}")))?;
                *slot = Some(upload);
                outcome
            }
            BackendUpload::S3(upload) => upload.append(data.into()).await,
        }
    }

    /// Makes the object visible at its key.
    pub async fn commit(self) -> Result<ObjectInfo> {
        match self {
            BackendUpload::Local(slot) => {
                let upload = slot.ok_or_else(interrupted)?;
                tokio::task::spawn_blocking(move || upload.commit())
                    .await
                    .map_err(|e| StorageError::Internal(format!("storage task failed: {e}")))?
            }
            BackendUpload::S3(upload) => upload.commit().await,
        }
    }
}

fn interrupted() -> StorageError {
    StorageError::Internal("an earlier append of this upload did not finish; start again".into())
}
