//! The S3 backend: every module's objects in one bucket of an S3-compatible store (AWS S3,
//! MinIO, R2...), under `{prefix/}{tenant}/{module}/{key}`, through `object_store`.
//!
//! An object's content type and metadata travel as S3's own (`Content-Type`,
//! `x-amz-meta-*`), so other S3 tools see them too. S3 lower-cases metadata names and
//! carries values as HTTP header text: names are stored lower-case and values that would
//! not survive a header are sent RFC 2047-encoded (`=?UTF-8?B?...?=`, what S3 itself
//! answers for non-ASCII values) and decoded on reading. Keys go to S3 as given: they are
//! checked by [`Key::parse`], so they hold no `..`, empty segment or control character.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use futures_util::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::list::{PaginatedListOptions, PaginatedListStore};
use object_store::path::{Path, PathPart};
use object_store::{
    Attribute, Attributes, GetOptions, GetRange, ObjectMeta, ObjectStore, ObjectStoreExt,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, WriteMultipart,
};

use super::key::{Key, MAX_KEY_BYTES};
use super::object::{ObjectInfo, StorageError};
use super::settings::{S3Config, Usage};

/// Size of each part of an upload. S3 refuses parts under 5 MiB but the last; larger parts
/// would hold more memory per open upload.
const PART_BYTES: usize = 5 << 20;
/// Parts of one upload sent at once; with the part being filled, an upload holds at most
/// three parts in memory.
const PARTS_IN_FLIGHT: usize = 2;
/// Most parts S3 takes in one upload, so the largest upload is 10,000 parts.
const MAX_PARTS: u64 = 10_000;
/// `HEAD` requests one listing sends at once (a listing has no content types).
const HEADS_IN_FLIGHT: usize = 8;
/// Content type of an object S3 holds none for.
const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// A bucket holding each module's objects under `{prefix/}{tenant}/{module}/`.
#[derive(Debug, Clone)]
pub struct S3Storage {
    store: AmazonS3,
    /// `prefix/`, or empty.
    prefix: String,
}

/// An object being written in parts (an S3 multipart upload). Dropped without
/// [`commit`](S3Upload::commit) or [`abort`](S3Upload::abort), it is aborted in the
/// background, so S3 keeps no parts of it.
#[derive(Debug)]
pub struct S3Upload {
    /// Taken by `commit`, `abort` or drop.
    writer: Option<WriteMultipart>,
    key: String,
    content_type: String,
    metadata: Vec<(String, String)>,
    written: u64,
}

type Result<T> = std::result::Result<T, StorageError>;

impl S3Storage {
    /// Checks `config` and prepares the client; nothing is sent to the store yet.
    pub fn new(config: &S3Config) -> Result<S3Storage> {
        let invalid = |message: String| StorageError::Invalid(format!("storage.s3: {message}"));
        if config.bucket.is_empty() {
            return Err(invalid("bucket must name the bucket".into()));
        }
        if config.access_key_id.is_some() != config.secret_access_key.is_some() {
            return Err(invalid(
                "give both access-key-id and secret-access-key, or neither".into(),
            ));
        }
        let endpoint = config.endpoint.as_deref();
        if endpoint.is_some_and(|e| e.starts_with("http://")) && !config.allow_http {
            return Err(invalid(
                "the endpoint is http://; set allow-http = true to send objects unencrypted".into(),
            ));
        }
        let prefix = folder_prefix(config.prefix.as_deref()).map_err(invalid)?;
        let store = builder(config)
            .build()
            .map_err(|e| invalid(e.to_string()))?;
        Ok(S3Storage { store, prefix })
    }

    /// Writes `data` at `key` in one request, replacing any object there.
    pub async fn put(
        &self,
        tenant: &str,
        module: &str,
        key: &Key,
        data: Bytes,
        content_type: String,
        metadata: Vec<(String, String)>,
    ) -> Result<ObjectInfo> {
        let path = self.path(tenant, module, key)?;
        let metadata = normalize(metadata);
        let size = data.len() as u64;
        let options = PutOptions::from(attributes(&content_type, &metadata));
        let put = self
            .store
            .put_opts(&path, PutPayload::from(data), options)
            .await
            .map_err(|e| internal(e, key.as_str(), "write"))?;
        Ok(written(key.as_str(), size, content_type, metadata, put))
    }

    /// The object's bytes, or those of `range` (start inclusive, end exclusive and
    /// clamped to the object's size). A range starting past the end is refused.
    pub async fn get(
        &self,
        tenant: &str,
        module: &str,
        key: &Key,
        range: Option<(u64, Option<u64>)>,
    ) -> Result<Vec<u8>> {
        Ok(self.read(tenant, module, key, range).await?.1)
    }

    /// The same, with what the host knows of the object: one GET answers both.
    pub async fn read(
        &self,
        tenant: &str,
        module: &str,
        key: &Key,
        range: Option<(u64, Option<u64>)>,
    ) -> Result<(ObjectInfo, Vec<u8>)> {
        let path = self.path(tenant, module, key)?;
        let wanted = match range {
            None => None,
            // S3 has no empty range: find out from the size whether it is valid.
            Some((start, Some(end))) if end <= start => {
                return self.short_range(&path, key, start, Some(end), None).await;
            }
            Some((start, Some(end))) => Some(GetRange::Bounded(start..end)),
            Some((start, None)) => Some(GetRange::Offset(start)),
        };
        let options = GetOptions::new().with_range(wanted);
        let result = match self.store.get_opts(&path, options).await {
            Ok(result) => result,
            Err(error @ object_store::Error::NotFound { .. }) => {
                return Err(failed(error, key.as_str(), "read"));
            }
            // S3 refuses a range starting at or past the end (416): an empty read at the
            // end is fine, past it is the caller's mistake.
            Err(error) => match range {
                Some((start, end)) => {
                    return self.short_range(&path, key, start, end, Some(error)).await;
                }
                None => return Err(failed(error, key.as_str(), "read")),
            },
        };
        // The headers tell the size before the body is read.
        super::check_read(key, result.range.start, result.range.end)?;
        let info = info(key.as_str(), &result.meta, &result.attributes);
        let bytes = result
            .bytes()
            .await
            .map_err(|e| failed(e, key.as_str(), "read"))?;
        Ok((info, Vec::from(bytes)))
    }

    /// Bytes `start..end` of the object, only while its etag is still `e_tag` (a piece of
    /// an object replaced since it was opened fails rather than mix versions).
    pub async fn piece(
        &self,
        tenant: &str,
        module: &str,
        key: &Key,
        e_tag: &str,
        start: u64,
        end: u64,
    ) -> Result<Vec<u8>> {
        let path = self.path(tenant, module, key)?;
        let options = GetOptions::new()
            .with_range(Some(GetRange::Bounded(start..end)))
            .with_if_match(Some(e_tag.to_string()));
        let result = self
            .store
            .get_opts(&path, options)
            .await
            .map_err(|e| match e {
                object_store::Error::Precondition { .. } => StorageError::Internal(format!(
                    "object '{}' was replaced while it was being read",
                    key.as_str()
                )),
                e => failed(e, key.as_str(), "read"),
            })?;
        let bytes = result
            .bytes()
            .await
            .map_err(|e| failed(e, key.as_str(), "read"))?;
        Ok(Vec::from(bytes))
    }

    /// What the host knows of the object.
    pub async fn head(&self, tenant: &str, module: &str, key: &Key) -> Result<ObjectInfo> {
        let path = self.path(tenant, module, key)?;
        self.head_path(&path, key.as_str()).await
    }

    /// Removes the object; whether there was one.
    pub async fn delete(&self, tenant: &str, module: &str, key: &Key) -> Result<bool> {
        let path = self.path(tenant, module, key)?;
        // S3 answers a delete the same whether the object existed or not.
        match self.store.head(&path).await {
            Ok(_) => {}
            Err(object_store::Error::NotFound { .. }) => return Ok(false),
            Err(error) => return Err(failed(error, key.as_str(), "delete")),
        }
        self.store
            .delete(&path)
            .await
            .map_err(|e| failed(e, key.as_str(), "delete"))?;
        Ok(true)
    }

    /// Copies `from` to `to` inside the store (bytes, content type and metadata).
    pub async fn copy(
        &self,
        tenant: &str,
        module: &str,
        from: &Key,
        to: &Key,
    ) -> Result<ObjectInfo> {
        let (source, target) = (
            self.path(tenant, module, from)?,
            self.path(tenant, module, to)?,
        );
        self.store
            .copy(&source, &target)
            .await
            .map_err(|e| failed(e, from.as_str(), "copy"))?;
        // S3's copy answers nothing the host keeps: ask for it.
        self.head_path(&target, to.as_str()).await
    }

    /// Up to `limit` objects whose key starts with `prefix`, after `cursor`, in key
    /// order, and whether more follow.
    pub async fn list(
        &self,
        tenant: &str,
        module: &str,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<ObjectInfo>, bool)> {
        check_prefix(prefix)?;
        let root = self.root(tenant, module)?;
        let options = PaginatedListOptions {
            offset: cursor.map(|c| format!("{root}{c}")),
            // S3 returns at most 1,000 keys a page, and wants at least one.
            max_keys: Some(limit.clamp(1, 1000)),
            ..Default::default()
        };
        let page = self
            .store
            .list_paginated(Some(&format!("{root}{prefix}")), options)
            .await
            .map_err(|e| internal(e, prefix, "list"))?;
        let mut found = page.result.objects;
        // S3 lists in key order (UTF-8 bytes), as `str` compares.
        found.sort_by(|a, b| a.location.cmp(&b.location));
        let more = page.page_token.is_some() || found.len() > limit;
        found.truncate(limit);
        let objects = self.head_all(&root, found).await?;
        Ok((objects, more))
    }

    /// Starts writing `key` in parts; the object appears at [`S3Upload::commit`].
    pub async fn begin_upload(
        &self,
        tenant: &str,
        module: &str,
        key: &Key,
        content_type: String,
        metadata: Vec<(String, String)>,
    ) -> Result<S3Upload> {
        let path = self.path(tenant, module, key)?;
        let metadata = normalize(metadata);
        let options = PutMultipartOptions::from(attributes(&content_type, &metadata));
        let upload = self
            .store
            .put_multipart_opts(&path, options)
            .await
            .map_err(|e| internal(e, key.as_str(), "start uploading"))?;
        Ok(S3Upload {
            writer: Some(WriteMultipart::new_with_chunk_size(upload, PART_BYTES)),
            key: key.as_str().to_string(),
            content_type,
            metadata,
            written: 0,
        })
    }

    /// What each module of `tenant` keeps now, from a listing of the tenant's folder.
    pub async fn usage(&self, tenant: &str) -> Result<Vec<(String, Usage)>> {
        let root = self.root(tenant, "x")?;
        let tenant_root = root.trim_end_matches("x/");
        let folder = Path::parse(tenant_root.trim_end_matches('/'))
            .map_err(|e| StorageError::Invalid(e.to_string()))?;
        let mut modules: BTreeMap<String, Usage> = BTreeMap::new();
        let mut listing = self.store.list(Some(&folder));
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(|e| internal(e, tenant, "count the objects of tenant"))?;
            let location = meta.location.as_ref();
            let Some(module) = location
                .strip_prefix(tenant_root)
                .and_then(|rest| rest.split_once('/'))
                .map(|(module, _)| module)
            else {
                continue;
            };
            let usage = modules.entry(module.to_string()).or_default();
            usage.bytes += meta.size;
            usage.objects += 1;
        }
        Ok(modules.into_iter().collect())
    }

    /// `{prefix/}{tenant}/{module}/`; the names must be single path segments.
    fn root(&self, tenant: &str, module: &str) -> Result<String> {
        for name in [tenant, module] {
            if name.is_empty() || PathPart::parse(name).is_err() {
                return Err(StorageError::Invalid(format!(
                    "'{}' cannot name a folder in the bucket",
                    name.escape_default()
                )));
            }
        }
        Ok(format!("{}{tenant}/{module}/", self.prefix))
    }

    /// The object's path in the bucket, unencoded (`Path::from` would percent-encode
    /// characters like `~` and `%`, so the bucket would not show the module's keys).
    fn path(&self, tenant: &str, module: &str, key: &Key) -> Result<Path> {
        let full = format!("{}{}", self.root(tenant, module)?, key.as_str());
        Path::parse(full).map_err(|e| StorageError::Invalid(e.to_string()))
    }

    /// What the host knows of the object at `path` (a `HEAD` that keeps the headers).
    async fn head_path(&self, path: &Path, key: &str) -> Result<ObjectInfo> {
        let options = GetOptions::new().with_head(true);
        let result = self
            .store
            .get_opts(path, options)
            .await
            .map_err(|e| failed(e, key, "read"))?;
        Ok(info(key, &result.meta, &result.attributes))
    }

    /// Heads the listed objects, a few at once, in their order; those deleted meanwhile
    /// are left out.
    async fn head_all(&self, root: &str, found: Vec<ObjectMeta>) -> Result<Vec<ObjectInfo>> {
        let heads = futures_util::stream::iter(found)
            .map(|meta| async move {
                let key = meta
                    .location
                    .as_ref()
                    .strip_prefix(root)
                    .unwrap_or_default();
                self.head_path(&meta.location, key).await
            })
            .buffered(HEADS_IN_FLIGHT)
            .collect::<Vec<_>>()
            .await;
        let mut objects = Vec::with_capacity(heads.len());
        for head in heads {
            match head {
                Ok(info) => objects.push(info),
                Err(StorageError::NotFound(_)) => {}
                Err(error) => return Err(error),
            }
        }
        Ok(objects)
    }

    /// Answers a range S3 would not serve, by the object's size: empty at the end,
    /// refused past it; `error` (S3's refusal) if the range should have been served.
    async fn short_range(
        &self,
        path: &Path,
        key: &Key,
        start: u64,
        end: Option<u64>,
        error: Option<object_store::Error>,
    ) -> Result<(ObjectInfo, Vec<u8>)> {
        let info = self.head_path(path, key.as_str()).await?;
        let size = info.size;
        let end = end.unwrap_or(size).min(size);
        if start > end || start > size {
            return Err(StorageError::Invalid(format!(
                "range {start}..{end} is outside object '{}' of {size} bytes",
                key.as_str()
            )));
        }
        match error {
            Some(error) if start < end => Err(failed(error, key.as_str(), "read")),
            _ => Ok((info, Vec::new())),
        }
    }
}

impl S3Upload {
    /// Adds `data` at the end; waits while earlier parts are still being sent.
    pub async fn append(&mut self, data: Bytes) -> Result<()> {
        let limit = MAX_PARTS * PART_BYTES as u64;
        if self.written + data.len() as u64 > limit {
            return Err(StorageError::Invalid(format!(
                "an upload to S3 holds at most {limit} bytes"
            )));
        }
        // Pieces of at most a part each fill at most one part, so waiting before each one
        // bounds the parts in memory, however large `data` is.
        let mut rest = data;
        while !rest.is_empty() {
            let piece = rest.split_to(rest.len().min(PART_BYTES));
            let writer = self.writer.as_mut().ok_or_else(|| gone(&self.key))?;
            if let Err(error) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                // A part is lost: the object can no longer be completed.
                self.abandon();
                return Err(internal(error, &self.key, "upload a part of"));
            }
            self.written += piece.len() as u64;
            writer.put(piece);
        }
        Ok(())
    }

    /// Sends the last part and makes the object visible at its key.
    pub async fn commit(mut self) -> Result<ObjectInfo> {
        let writer = self.writer.take().ok_or_else(|| gone(&self.key))?;
        // On failure `finish` aborts the upload itself.
        let put = writer
            .finish()
            .await
            .map_err(|e| internal(e, &self.key, "finish uploading"))?;
        let (content_type, metadata) = (
            std::mem::take(&mut self.content_type),
            std::mem::take(&mut self.metadata),
        );
        Ok(written(
            &self.key,
            self.written,
            content_type,
            metadata,
            put,
        ))
    }

    /// Drops what was sent; S3 keeps nothing of it.
    pub async fn abort(mut self) {
        if let Some(writer) = self.writer.take()
            && let Err(error) = writer.abort().await
        {
            tracing::warn!(key = %self.key, %error, "could not abort an S3 upload");
        }
    }

    /// Bytes appended so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Aborts the upload in the background, if it is still open.
    fn abandon(&mut self) {
        let Some(writer) = self.writer.take() else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let key = self.key.clone();
            runtime.spawn(async move {
                if let Err(error) = writer.abort().await {
                    tracing::warn!(%key, %error, "could not abort an abandoned S3 upload");
                }
            });
        }
    }
}

impl Drop for S3Upload {
    /// An upload left open (the module trapped mid-way) would otherwise keep its parts
    /// in the bucket, billed, until a lifecycle rule removes them.
    fn drop(&mut self) {
        self.abandon();
    }
}

/// The client for `config`; what it leaves out comes from the `AWS_*` environment
/// variables, as other AWS tools do.
fn builder(config: &S3Config) -> AmazonS3Builder {
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(&config.bucket);
    if let Some(endpoint) = &config.endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    if let Some(region) = &config.region {
        builder = builder.with_region(region);
    }
    if let (Some(id), Some(secret)) = (&config.access_key_id, &config.secret_access_key) {
        builder = builder
            .with_access_key_id(id)
            .with_secret_access_key(secret);
    }
    if config.allow_http {
        builder = builder.with_allow_http(true);
    }
    builder
}

/// `prefix/` for a configured folder (slashes around it ignored), empty for none.
fn folder_prefix(prefix: Option<&str>) -> std::result::Result<String, String> {
    let folder = prefix.unwrap_or_default().trim_matches('/');
    if folder.is_empty() {
        return Ok(String::new());
    }
    Path::parse(folder).map_err(|e| format!("prefix '{}': {e}", folder.escape_default()))?;
    Ok(format!("{folder}/"))
}

/// Refuses a listing prefix no key could start with, as the local backend does.
fn check_prefix(prefix: &str) -> Result<()> {
    if prefix.len() > MAX_KEY_BYTES || prefix.chars().any(char::is_control) {
        return Err(StorageError::Invalid(
            "a prefix is at most 1,024 bytes, without control characters".into(),
        ));
    }
    Ok(())
}

/// Metadata as S3 keeps it: lower-case names (S3 folds them), one value per name (the
/// last given), in name order (S3 keeps no order).
fn normalize(metadata: Vec<(String, String)>) -> Vec<(String, String)> {
    let by_name: BTreeMap<String, String> = metadata
        .into_iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value))
        .collect();
    by_name.into_iter().collect()
}

/// The S3 attributes of an object: its content type and metadata headers.
fn attributes(content_type: &str, metadata: &[(String, String)]) -> Attributes {
    let mut attributes = Attributes::with_capacity(metadata.len() + 1);
    attributes.insert(Attribute::ContentType, content_type.to_string().into());
    for (name, value) in metadata {
        attributes.insert(
            Attribute::Metadata(name.clone().into()),
            encode_value(value).into(),
        );
    }
    attributes
}

/// `value` as it can travel in a header: as is if it is printable ASCII that a header
/// keeps whole, else RFC 2047 base64 (also for values that look encoded, so decoding
/// never alters what was given).
fn encode_value(value: &str) -> String {
    let plain = value.bytes().all(|b| (0x20..0x7f).contains(&b))
        && !value.starts_with("=?")
        && !value.starts_with(' ')
        && !value.ends_with(' ')
        && !value.contains("  ");
    if plain {
        value.to_string()
    } else {
        format!("=?UTF-8?B?{}?=", BASE64.encode(value))
    }
}

/// The value `encode_value` (or S3, for a non-ASCII value written by another tool) sent.
fn decode_value(value: &str) -> String {
    let encoded = value
        .strip_prefix("=?")
        .and_then(|v| v.strip_suffix("?="))
        .and_then(|v| v.split_once('?'))
        .filter(|(charset, _)| charset.eq_ignore_ascii_case("utf-8"))
        .and_then(|(_, rest)| rest.split_once('?'))
        .filter(|(encoding, _)| encoding.eq_ignore_ascii_case("b"))
        .and_then(|(_, text)| BASE64.decode(text).ok())
        .and_then(|bytes| String::from_utf8(bytes).ok());
    encoded.unwrap_or_else(|| value.to_string())
}

/// What the host knows of an object, from S3's answer.
fn info(key: &str, meta: &ObjectMeta, attributes: &Attributes) -> ObjectInfo {
    let content_type = attributes
        .get(&Attribute::ContentType)
        .map_or(DEFAULT_CONTENT_TYPE, |v| v.as_ref())
        .to_string();
    let metadata = attributes
        .iter()
        .filter_map(|(name, value)| match name {
            Attribute::Metadata(name) => Some((name.to_string(), decode_value(value))),
            _ => None,
        })
        .collect();
    ObjectInfo {
        key: key.to_string(),
        size: meta.size,
        content_type,
        etag: etag(meta.e_tag.as_deref()),
        modified_ms: meta.last_modified.timestamp_millis().max(0) as u64,
        metadata: normalize(metadata),
    }
}

/// What the host knows of an object it just wrote (S3's answer to a write holds only
/// the etag; the time is this machine's).
fn written(
    key: &str,
    size: u64,
    content_type: String,
    metadata: Vec<(String, String)>,
    put: PutResult,
) -> ObjectInfo {
    let modified_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    ObjectInfo {
        key: key.to_string(),
        size,
        content_type,
        etag: etag(put.e_tag.as_deref()),
        modified_ms,
        metadata,
    }
}

/// S3's etag without the quotes HTTP puts around it.
fn etag(e_tag: Option<&str>) -> String {
    e_tag.unwrap_or_default().trim_matches('"').to_string()
}

/// `error` from `doing` `key`: NotFound for a missing object, else Internal.
fn failed(error: object_store::Error, key: &str, doing: &str) -> StorageError {
    match error {
        object_store::Error::NotFound { .. } => StorageError::NotFound(key.to_string()),
        error => internal(error, key, doing),
    }
}

/// `error` from `doing` `key`, where no object was looked for: S3's 404 then means the
/// bucket is missing, which is the host's trouble, not the module's.
fn internal(error: object_store::Error, key: &str, doing: &str) -> StorageError {
    let hint = match error {
        object_store::Error::NotFound { .. } => " (does the bucket exist?)",
        _ => "",
    };
    StorageError::Internal(format!("cannot {doing} '{key}' in S3{hint}: {error}"))
}

/// An upload aborted after a part failed.
fn gone(key: &str) -> StorageError {
    StorageError::Internal(format!(
        "the upload of '{key}' failed earlier and was aborted; start it again"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    /// A moto S3 server on a free port of 127.0.0.1; stopped on drop.
    struct Moto {
        port: u16,
        child: Child,
    }

    impl Moto {
        fn start() -> Moto {
            let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
            let server = repo.join(".venv/bin/moto_server");
            assert!(
                server.is_file(),
                "{} is missing: run scripts/setup, which installs moto[server] into .venv \
                 (the S3 storage tests' server)",
                server.display()
            );
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .unwrap()
                .port();
            let child = Command::new(&server)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("start {}: {e}", server.display()));
            let mut moto = Moto { port, child };
            moto.wait_until_it_answers();
            moto
        }

        fn wait_until_it_answers(&mut self) {
            let start = Instant::now();
            while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
                if let Ok(Some(status)) = self.child.try_wait() {
                    panic!("moto_server exited at start ({status}); try scripts/setup");
                }
                assert!(
                    start.elapsed() < Duration::from_secs(30),
                    "moto_server did not answer on port {} within 30 s",
                    self.port
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }

        /// Creates `bucket` (moto takes any credentials, and none).
        fn create_bucket(&self, bucket: &str) {
            let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
            write!(
                stream,
                "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\n\
                 Connection: close\r\n\r\n",
                self.port
            )
            .unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).unwrap();
            assert!(
                answer.starts_with("HTTP/1.1 200"),
                "creating bucket {bucket}: {answer}"
            );
        }

        /// Multipart uploads begun in `bucket` and neither completed nor aborted.
        fn pending_uploads(&self, bucket: &str) -> usize {
            let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
            write!(
                stream,
                "GET /{bucket}?uploads HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\
                 Connection: close\r\n\r\n",
                self.port
            )
            .unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).unwrap();
            assert!(
                answer.starts_with("HTTP/1.1 200"),
                "listing uploads: {answer}"
            );
            answer.matches("<Upload>").count()
        }

        fn config(&self, bucket: &str) -> S3Config {
            S3Config {
                bucket: bucket.into(),
                endpoint: Some(format!("http://127.0.0.1:{}", self.port)),
                region: Some("us-east-1".into()),
                access_key_id: Some("test".into()),
                secret_access_key: Some("test".into()),
                allow_http: true,
                prefix: None,
            }
        }
    }

    impl Drop for Moto {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// A moto server with an empty bucket `objects`, and the storage over it.
    fn moto() -> (Moto, S3Storage) {
        let moto = Moto::start();
        moto.create_bucket("objects");
        let storage = S3Storage::new(&moto.config("objects")).unwrap();
        (moto, storage)
    }

    fn key(key: &str) -> Key {
        Key::parse(key).unwrap()
    }

    fn meta(entries: &[(&str, &str)]) -> Vec<(String, String)> {
        entries
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    async fn put(storage: &S3Storage, module: &str, name: &str, data: &'static [u8]) {
        storage
            .put(
                "t",
                module,
                &key(name),
                Bytes::from_static(data),
                "text/plain".into(),
                Vec::new(),
            )
            .await
            .unwrap();
    }

    /// Bytes that differ from one offset to the next, so a misplaced range shows.
    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8).collect()
    }

    #[tokio::test]
    async fn s3_round_trip_keeps_content_type_and_metadata() {
        let (_moto, storage) = moto();
        let k = key("uploads/my report~1.pdf");
        let given = meta(&[
            ("Author", "Ada"),
            ("note", "héllo wörld"),
            ("spaced", "  two  spaces "),
            ("looks-encoded", "=?UTF-8?B?eA==?="),
            ("empty", ""),
        ]);
        let put = storage
            .put(
                "t",
                "m",
                &k,
                Bytes::from_static(b"%PDF-1.7 data"),
                "application/pdf".into(),
                given,
            )
            .await
            .unwrap();
        let expected = meta(&[
            ("author", "Ada"),
            ("empty", ""),
            ("looks-encoded", "=?UTF-8?B?eA==?="),
            ("note", "héllo wörld"),
            ("spaced", "  two  spaces "),
        ]);
        assert_eq!(put.metadata, expected);
        assert_eq!(put.size, 13);
        assert!(
            !put.etag.is_empty() && !put.etag.contains('"'),
            "{}",
            put.etag
        );

        let got = storage.get("t", "m", &k, None).await.unwrap();
        assert_eq!(got, b"%PDF-1.7 data");
        let head = storage.head("t", "m", &k).await.unwrap();
        assert_eq!(head.key, "uploads/my report~1.pdf");
        assert_eq!(head.size, 13);
        assert_eq!(head.content_type, "application/pdf");
        assert_eq!(head.metadata, expected);
        assert_eq!(head.etag, put.etag);
        assert!(head.modified_ms.abs_diff(put.modified_ms) < 60_000);
    }

    #[tokio::test]
    async fn s3_empty_object() {
        let (_moto, storage) = moto();
        let k = key("empty");
        let info = storage
            .put("t", "m", &k, Bytes::new(), "text/plain".into(), Vec::new())
            .await
            .unwrap();
        assert_eq!(info.size, 0);
        assert!(storage.get("t", "m", &k, None).await.unwrap().is_empty());
        assert!(
            storage
                .get("t", "m", &k, Some((0, None)))
                .await
                .unwrap()
                .is_empty()
        );
        let invalid = storage.get("t", "m", &k, Some((1, None))).await;
        assert!(
            matches!(invalid, Err(StorageError::Invalid(_))),
            "{invalid:?}"
        );
        assert_eq!(storage.head("t", "m", &k).await.unwrap().size, 0);
    }

    #[tokio::test]
    async fn s3_ranges() {
        let (_moto, storage) = moto();
        let k = key("digits");
        put(&storage, "m", "digits", b"0123456789").await;
        let get = |range| storage.get("t", "m", &k, Some(range));
        assert_eq!(get((2, Some(5))).await.unwrap(), b"234");
        assert_eq!(get((7, None)).await.unwrap(), b"789");
        assert_eq!(get((8, Some(100))).await.unwrap(), b"89");
        assert_eq!(get((10, None)).await.unwrap(), b"");
        assert_eq!(get((4, Some(4))).await.unwrap(), b"");
        for past in [(11, None), (11, Some(12)), (5, Some(3))] {
            let refused = get(past).await;
            assert!(
                matches!(refused, Err(StorageError::Invalid(_))),
                "{past:?}: {refused:?}"
            );
        }
        let missing = storage.get("t", "m", &key("nope"), Some((1, None))).await;
        assert!(
            matches!(missing, Err(StorageError::NotFound(_))),
            "{missing:?}"
        );
    }

    #[tokio::test]
    async fn s3_missing_objects_are_not_found() {
        let (_moto, storage) = moto();
        let k = key("nothing/here");
        let head = storage.head("t", "m", &k).await;
        assert!(matches!(head, Err(StorageError::NotFound(ref key)) if key == "nothing/here"));
        let get = storage.get("t", "m", &k, None).await;
        assert!(matches!(get, Err(StorageError::NotFound(_))), "{get:?}");
        let copy = storage.copy("t", "m", &k, &key("elsewhere")).await;
        assert!(matches!(copy, Err(StorageError::NotFound(_))), "{copy:?}");
    }

    #[tokio::test]
    async fn s3_delete_says_whether_there_was_an_object() {
        let (_moto, storage) = moto();
        let k = key("gone/soon");
        put(&storage, "m", "gone/soon", b"x").await;
        assert!(storage.delete("t", "m", &k).await.unwrap());
        assert!(!storage.delete("t", "m", &k).await.unwrap());
        let head = storage.head("t", "m", &k).await;
        assert!(matches!(head, Err(StorageError::NotFound(_))), "{head:?}");
    }

    #[tokio::test]
    async fn s3_copy_keeps_bytes_content_type_and_metadata() {
        let (_moto, storage) = moto();
        let (from, to) = (key("a/original.txt"), key("b/copy.txt"));
        storage
            .put(
                "t",
                "m",
                &from,
                Bytes::from_static(b"hello"),
                "text/markdown".into(),
                meta(&[("kind", "note")]),
            )
            .await
            .unwrap();
        let copied = storage.copy("t", "m", &from, &to).await.unwrap();
        assert_eq!(copied.key, "b/copy.txt");
        assert_eq!(copied.size, 5);
        assert_eq!(copied.content_type, "text/markdown");
        assert_eq!(copied.metadata, meta(&[("kind", "note")]));
        assert_eq!(storage.get("t", "m", &to, None).await.unwrap(), b"hello");
        assert_eq!(storage.get("t", "m", &from, None).await.unwrap(), b"hello");
    }

    #[tokio::test]
    async fn s3_list_pages_in_key_order_after_the_cursor() {
        let (_moto, storage) = moto();
        for name in [
            "docs/e", "docs/b", "docs/a~", "docs/d", "docs/c", "other/x", "docsx",
        ] {
            put(&storage, "m", name, b"1").await;
        }
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = Vec::new();
        loop {
            let (page, more) = storage
                .list("t", "m", "docs/", cursor.as_deref(), 2)
                .await
                .unwrap();
            pages.push((page.len(), more));
            seen.extend(page.iter().map(|o| o.key.clone()));
            cursor = page.last().map(|o| o.key.clone());
            if !more {
                break;
            }
        }
        assert_eq!(seen, ["docs/a~", "docs/b", "docs/c", "docs/d", "docs/e"]);
        assert_eq!(pages, [(2, true), (2, true), (1, false)]);

        let (all, more) = storage.list("t", "m", "", None, 100).await.unwrap();
        assert!(!more);
        assert_eq!(all.len(), 7);
        assert!(
            all.iter()
                .all(|o| o.content_type == "text/plain" && o.size == 1)
        );
        let (docs, _) = storage.list("t", "m", "docs", None, 100).await.unwrap();
        assert_eq!(docs.len(), 6, "a prefix need not end at a '/'");
    }

    #[tokio::test]
    async fn s3_multipart_upload_of_12_mib() {
        let (_moto, storage) = moto();
        let k = key("big/blob.bin");
        let data = pattern(12 << 20);
        let mut upload = storage
            .begin_upload(
                "t",
                "m",
                &k,
                "application/x-blob".into(),
                meta(&[("part", "many")]),
            )
            .await
            .unwrap();
        for piece in data.chunks(1 << 20) {
            upload.append(Bytes::copy_from_slice(piece)).await.unwrap();
        }
        assert_eq!(upload.written(), 12 << 20);
        let info = upload.commit().await.unwrap();
        assert_eq!(info.size, 12 << 20);
        // S3's etag of a multipart object ends with its number of parts: 5 + 5 + 2 MiB.
        assert!(info.etag.ends_with("-3"), "{}", info.etag);

        let boundary = PART_BYTES as u64;
        let across = storage
            .get("t", "m", &k, Some((boundary - 10, Some(boundary + 10))))
            .await
            .unwrap();
        assert_eq!(across, data[PART_BYTES - 10..PART_BYTES + 10]);
        assert_eq!(storage.get("t", "m", &k, None).await.unwrap(), data);
        let head = storage.head("t", "m", &k).await.unwrap();
        assert_eq!(head.size, 12 << 20);
        assert_eq!(head.content_type, "application/x-blob");
        assert_eq!(head.metadata, meta(&[("part", "many")]));
        assert_eq!(head.etag, info.etag);
    }

    #[tokio::test]
    async fn s3_aborted_and_dropped_uploads_leave_nothing() {
        let (moto, storage) = moto();
        let k = key("half/done");
        let mut upload = storage
            .begin_upload("t", "m", &k, "text/plain".into(), Vec::new())
            .await
            .unwrap();
        // More than a part, so one was sent before the abort.
        upload.append(Bytes::from(pattern(6 << 20))).await.unwrap();
        assert_eq!(moto.pending_uploads("objects"), 1);
        upload.abort().await;
        assert_eq!(moto.pending_uploads("objects"), 0);
        let head = storage.head("t", "m", &k).await;
        assert!(matches!(head, Err(StorageError::NotFound(_))), "{head:?}");

        let mut dropped = storage
            .begin_upload("t", "m", &k, "text/plain".into(), Vec::new())
            .await
            .unwrap();
        dropped.append(Bytes::from_static(b"abc")).await.unwrap();
        assert_eq!(moto.pending_uploads("objects"), 1);
        drop(dropped);
        // The drop aborts in the background.
        let start = Instant::now();
        while moto.pending_uploads("objects") > 0 {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "the dropped upload stayed"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(
            storage
                .list("t", "m", "", None, 10)
                .await
                .unwrap()
                .0
                .is_empty()
        );
    }

    #[tokio::test]
    async fn s3_modules_and_tenants_do_not_see_each_others_objects() {
        let (_moto, storage) = moto();
        let k = key("secret");
        put(&storage, "a", "secret", b"a's").await;
        for (tenant, module) in [("t", "b"), ("u", "a")] {
            let head = storage.head(tenant, module, &k).await;
            assert!(matches!(head, Err(StorageError::NotFound(_))), "{head:?}");
            let (listed, _) = storage.list(tenant, module, "", None, 10).await.unwrap();
            assert!(listed.is_empty());
            assert!(!storage.delete(tenant, module, &k).await.unwrap());
        }
        assert_eq!(storage.get("t", "a", &k, None).await.unwrap(), b"a's");
        for (tenant, module) in [("", "a"), ("t", ".."), ("t", "a/b")] {
            let refused = storage.head(tenant, module, &k).await;
            assert!(
                matches!(refused, Err(StorageError::Invalid(_))),
                "{refused:?}"
            );
        }
    }

    #[tokio::test]
    async fn s3_objects_live_under_prefix_tenant_module_key() {
        let moto = Moto::start();
        moto.create_bucket("objects");
        let mut config = moto.config("objects");
        config.prefix = Some("/plughost/data/".into());
        let storage = S3Storage::new(&config).unwrap();
        put(&storage, "m", "k/v", b"here").await;
        // Seen from the bucket's root: tenant `plughost`, module `data`, key `t/m/k/v`.
        let bare = S3Storage::new(&moto.config("objects")).unwrap();
        let at = bare.get("plughost", "data", &key("t/m/k/v"), None).await;
        assert_eq!(at.unwrap(), b"here");
    }

    #[tokio::test]
    async fn s3_a_missing_bucket_is_the_hosts_trouble() {
        let moto = Moto::start();
        let storage = S3Storage::new(&moto.config("no-such-bucket")).unwrap();
        let k = key("k");
        let put = storage
            .put("t", "m", &k, Bytes::new(), "text/plain".into(), Vec::new())
            .await;
        assert!(
            matches!(put, Err(StorageError::Internal(ref m)) if m.contains("bucket exist")),
            "{put:?}"
        );
        let list = storage.list("t", "m", "", None, 10).await;
        assert!(matches!(list, Err(StorageError::Internal(_))), "{list:?}");
        let upload = storage
            .begin_upload("t", "m", &k, "text/plain".into(), Vec::new())
            .await;
        assert!(
            matches!(upload, Err(StorageError::Internal(_))),
            "{upload:?}"
        );
    }

    #[test]
    fn s3_config_is_checked() {
        let config: S3Config = toml::from_str(
            "bucket = \"b\"\nendpoint = \"http://127.0.0.1:9000\"\nallow-http = true\n\
             access-key-id = \"k\"\nsecret-access-key = \"s\"\nregion = \"eu-west-1\"\n\
             prefix = \"p\"\n",
        )
        .unwrap();
        assert!(S3Storage::new(&config).is_ok());
        assert!(toml::from_str::<S3Config>("bucket = \"b\"\nbukket = \"c\"\n").is_err());

        let refused = |config: S3Config| match S3Storage::new(&config) {
            Err(StorageError::Invalid(message)) => message,
            other => panic!("{other:?}"),
        };
        let plain = S3Config {
            allow_http: false,
            ..config.clone()
        };
        assert!(refused(plain).contains("allow-http"));
        let half = S3Config {
            secret_access_key: None,
            ..config.clone()
        };
        assert!(refused(half).contains("secret-access-key"));
        let bad_prefix = S3Config {
            prefix: Some("a//b".into()),
            ..config
        };
        assert!(refused(bad_prefix).contains("prefix"));
    }

    #[test]
    fn s3_metadata_values_survive_headers() {
        for value in [
            "plain",
            "",
            " lead",
            "trail ",
            "a  b",
            "héllo",
            "=?x",
            "tab\there",
        ] {
            assert_eq!(decode_value(&encode_value(value)), value);
        }
        assert_eq!(encode_value("plain value"), "plain value");
        // What S3 answers for a non-ASCII value another tool wrote.
        assert_eq!(decode_value("=?UTF-8?B?aMOpbGxv?="), "héllo");
    }
}
