//! The local backend: each module's objects in its own folder, `STORAGE/TENANT/MODULE/`,
//! opened as a capability (`cap-std`), so no key, `..` or planted symlink reaches a file
//! outside it. An object is one file: a small header (content type, metadata, etag) and
//! the bytes, written aside in `tmp/` and renamed into `objects/`, so a reader or a crash
//! never sees a partial object.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use cap_std::ambient_authority;
use cap_std::fs::Dir;
use serde::{Deserialize, Serialize};

use super::object::{ObjectInfo, StorageError};
use super::settings::Usage;

use super::key::{self, Key, OBJECT_SUFFIX};

/// Starts every object file.
const MAGIC: &[u8; 4] = b"PHO1";
/// Largest header the host reads back.
const MAX_HEADER: u32 = 64 * 1024;
/// Most files and folders one listing looks at.
const MAX_LISTED: usize = 100_000;

/// The header of an object file.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    content_type: String,
    metadata: Vec<(String, String)>,
    etag: String,
}

/// Module roots opened so far, by (tenant, module).
type OpenedRoots = HashMap<(String, String), Arc<Dir>>;

/// Where every module's folder lives.
#[derive(Debug, Clone)]
pub struct LocalStorage {
    root: PathBuf,
    /// Each module's root, opened once: a call then costs its own file operations only.
    opened: Arc<Mutex<OpenedRoots>>,
}

impl LocalStorage {
    /// Storage under `root` (created when first used).
    pub fn new(root: PathBuf) -> LocalStorage {
        LocalStorage {
            root,
            opened: Arc::default(),
        }
    }

    /// The folder of `module` of `tenant` (both identifiers checked at load), opened as a
    /// capability: nothing reached through it can be outside it.
    pub fn open(&self, tenant: &str, module: &str) -> Result<ModuleRoot, StorageError> {
        let name = (tenant.to_string(), module.to_string());
        if let Some(dir) = self.opened.lock().unwrap().get(&name) {
            return Ok(ModuleRoot { dir: dir.clone() });
        }
        let path = self.root.join(tenant).join(module);
        std::fs::create_dir_all(path.join("objects"))
            .and_then(|()| std::fs::create_dir_all(path.join("tmp")))
            .map_err(|e| internal(&path, e))?;
        let dir = Arc::new(
            Dir::open_ambient_dir(&path, ambient_authority()).map_err(|e| internal(&path, e))?,
        );
        self.opened.lock().unwrap().insert(name, dir.clone());
        Ok(ModuleRoot { dir })
    }
}

impl LocalStorage {
    /// What each module of `tenant` holds now, from its objects on disk (links and
    /// anything the host did not write are not followed or counted). Runs once per tenant
    /// after a start, so it also sweeps what a host that crashed mid-write left in `tmp/`.
    pub fn usage(&self, tenant: &str) -> Result<Vec<(String, Usage)>, StorageError> {
        let tenant_dir = self.root.join(tenant);
        let modules = match std::fs::read_dir(&tenant_dir) {
            Ok(modules) => modules,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(internal(&tenant_dir, e)),
        };
        let mut all = Vec::new();
        for module in modules {
            let module = module.map_err(|e| internal(&tenant_dir, e))?;
            if !module.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            sweep(&module.path().join("tmp"));
            let mut usage = Usage::default();
            add_usage(&module.path().join("objects"), &mut usage)?;
            all.push((module.file_name().to_string_lossy().into_owned(), usage));
        }
        Ok(all)
    }
}

/// A write aside older than this is from a host that stopped mid-write: no invocation
/// lives this long.
const STALE_WRITE: std::time::Duration = std::time::Duration::from_secs(3600);

/// Removes the files of writes that never finished (a crash between create and rename).
fn sweep(tmp: &Path) {
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > STALE_WRITE));
        if stale && entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn add_usage(folder: &Path, usage: &mut Usage) -> Result<(), StorageError> {
    let entries = match std::fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(internal(folder, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| internal(folder, e))?;
        let Ok(file_type) = entry.file_type() else {
            continue;
        };
        let name = entry.file_name();
        if file_type.is_dir() {
            add_usage(&entry.path(), usage)?;
        } else if file_type.is_file() && name.to_string_lossy().ends_with(OBJECT_SUFFIX) {
            let mut file = std::fs::File::open(entry.path()).map_err(|e| internal(folder, e))?;
            let total = file.metadata().map_or(0, |m| m.len());
            let header = header_length(&mut file).map_or(0, |h| 8 + u64::from(h));
            usage.bytes += total.saturating_sub(header);
            usage.objects += 1;
        }
    }
    Ok(())
}

fn internal(path: &Path, e: std::io::Error) -> StorageError {
    StorageError::Internal(format!("{}: {e}", path.display()))
}

/// An object's file opened with its header read, where every read starts. Held open, its
/// bytes stay those of the version opened even if the key is replaced (another file is
/// renamed over the name) or deleted.
pub struct OpenObject {
    /// The file.
    pub file: std::fs::File,
    /// What the host knows of it.
    pub info: ObjectInfo,
    /// Where the object's bytes start in the file (after the header).
    pub offset: u64,
    /// The object's first bytes, as many as were read with it.
    pub leading: Vec<u8>,
}

/// Bytes read at the start of a file for its header (most headers are a few hundred).
const HEADER_READ: usize = 4096;
/// Bytes of the object read with its header when its bytes are wanted: an object this
/// small is read in the same system call.
const LEADING_READ: usize = 60 * 1024;

/// One module's folder.
pub struct ModuleRoot {
    dir: Arc<Dir>,
}

impl ModuleRoot {
    /// Writes `data` at `key` (aside, then renamed into place).
    pub fn put(
        &self,
        key: &Key,
        data: &[u8],
        content_type: String,
        metadata: Vec<(String, String)>,
    ) -> Result<ObjectInfo, StorageError> {
        let mut upload = self.begin_upload(key, content_type, metadata)?;
        upload.append(data)?;
        upload.commit()
    }

    /// Starts writing `key` in pieces, in a file of its own in `tmp/`: the header first,
    /// with a placeholder etag of the same length that `commit` overwrites once the bytes
    /// are all hashed.
    pub fn begin_upload(
        &self,
        key: &Key,
        content_type: String,
        metadata: Vec<(String, String)>,
    ) -> Result<LocalUpload, StorageError> {
        let header = Header {
            content_type,
            metadata,
            etag: "0".repeat(ETAG_HEX),
        };
        let root = ModuleRoot {
            dir: self.dir.clone(),
        };
        let mut upload = LocalUpload {
            root,
            key: key.clone(),
            tmp: format!("tmp/{}", uuid::Uuid::new_v4()),
            file: None,
            header,
            hasher: blake3::Hasher::new(),
        };
        let file = upload.write_header().map_err(|e| self.io(key, e))?;
        upload.file = Some(file);
        Ok(upload)
    }

    fn place(&self, key: &Key, tmp: &str) -> Result<(), StorageError> {
        let folder = key.folder();
        let moved = (if folder.is_empty() {
            Ok(())
        } else {
            self.dir.create_dir_all(format!("objects/{folder}"))
        })
        .and_then(|()| {
            self.dir
                .rename(tmp, &self.dir, format!("objects/{}", key.path()))
        });
        moved.map_err(|e| {
            let _ = self.dir.remove_file(tmp);
            self.io(key, e)
        })
    }

    /// The object's bytes, all or `range` (`start`, exclusive `end`).
    pub fn get(
        &self,
        key: &Key,
        range: Option<(u64, Option<u64>)>,
    ) -> Result<Vec<u8>, StorageError> {
        Ok(self.read(key, range)?.1)
    }

    /// The bytes, all or `range`, with what the host knows of the object: one open, and
    /// for a small object one read.
    pub fn read(
        &self,
        key: &Key,
        range: Option<(u64, Option<u64>)>,
    ) -> Result<(ObjectInfo, Vec<u8>), StorageError> {
        let opened = self.open(key, LEADING_READ)?;
        let bytes = self.bytes(&opened, key, range)?;
        Ok((opened.info, bytes))
    }

    /// The object opened for reading in pieces, and its first `eager` bytes read in the
    /// same trip (a small object whole).
    pub fn open_reader(&self, key: &Key, eager: u64) -> Result<OpenObject, StorageError> {
        let mut opened = self.open(key, (eager as usize).min(LEADING_READ))?;
        if eager > opened.leading.len() as u64 {
            opened.leading = self.bytes(&opened, key, Some((0, Some(eager))))?;
        } else {
            opened.leading.truncate(eager as usize);
        }
        Ok(opened)
    }

    /// What the host knows of the object.
    pub fn head(&self, key: &Key) -> Result<ObjectInfo, StorageError> {
        Ok(self.open(key, 0)?.info)
    }

    /// Bytes `range` of an opened object.
    fn bytes(
        &self,
        opened: &OpenObject,
        key: &Key,
        range: Option<(u64, Option<u64>)>,
    ) -> Result<Vec<u8>, StorageError> {
        use std::os::unix::fs::FileExt as _;
        let size = opened.info.size;
        let (start, end) = match range {
            None => (0, size),
            Some((start, end)) => (start, end.unwrap_or(size).min(size)),
        };
        if start > end || start > size {
            return Err(StorageError::Invalid(format!(
                "range {start}..{end} is outside object '{}' of {size} bytes",
                key.as_str()
            )));
        }
        super::check_read(key, start, end)?;
        if end <= opened.leading.len() as u64 {
            return Ok(opened.leading[start as usize..end as usize].to_vec());
        }
        // Zeroed by the allocator, not written: large buffers come as fresh pages.
        let mut bytes = vec![0; (end - start) as usize];
        opened
            .file
            .read_exact_at(&mut bytes, opened.offset + start)
            .map_err(|e| self.io(key, e))?;
        Ok(bytes)
    }

    /// Removes the object; whether there was one.
    pub fn delete(&self, key: &Key) -> Result<bool, StorageError> {
        match self.dir.remove_file(format!("objects/{}", key.path())) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.io(key, e)),
        }
    }

    /// Copies `from` to `to`.
    pub fn copy(&self, from: &Key, to: &Key) -> Result<ObjectInfo, StorageError> {
        self.open(from, 0)?;
        let tmp = format!("tmp/{}", uuid::Uuid::new_v4());
        self.dir
            .copy(format!("objects/{}", from.path()), &self.dir, &tmp)
            .map_err(|e| {
                let _ = self.dir.remove_file(&tmp);
                self.io(from, e)
            })?;
        self.place(to, &tmp)?;
        self.head(to)
    }

    /// Up to `limit` keys starting with `prefix` and after `cursor`, in key order, and
    /// whether more follow.
    pub fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Key>, bool), StorageError> {
        let folder = prefix_folder(prefix)?;
        let mut keys = Vec::new();
        let mut visited = 0;
        let start = if folder.is_empty() {
            "objects".to_string()
        } else {
            format!(
                "objects/{}",
                folder
                    .iter()
                    .map(|s| key::encode(s))
                    .collect::<Vec<_>>()
                    .join("/")
            )
        };
        let base = folder.join("/");
        self.walk(&start, &base, &mut keys, &mut visited)?;
        keys.retain(|k| k.starts_with(prefix) && cursor.is_none_or(|c| k.as_str() > c));
        keys.sort_unstable();
        let more = keys.len() > limit;
        keys.truncate(limit);
        let keys = keys.iter().filter_map(|k| Key::parse(k).ok()).collect();
        Ok((keys, more))
    }

    fn walk(
        &self,
        folder: &str,
        base: &str,
        keys: &mut Vec<String>,
        visited: &mut usize,
    ) -> Result<(), StorageError> {
        let entries = match self.dir.read_dir(folder) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(StorageError::Internal(format!("cannot list: {e}"))),
        };
        for entry in entries {
            *visited += 1;
            if *visited > MAX_LISTED {
                return Err(StorageError::Invalid(format!(
                    "more than {MAX_LISTED} objects and folders under this prefix; list a longer prefix"
                )));
            }
            let entry = entry.map_err(|e| StorageError::Internal(format!("cannot list: {e}")))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let file_type = entry
                .file_type()
                .map_err(|e| StorageError::Internal(format!("cannot list: {e}")))?;
            let join = |segment: String| {
                if base.is_empty() {
                    segment
                } else {
                    format!("{base}/{segment}")
                }
            };
            if file_type.is_dir() {
                if let Some(segment) = key::decode(&name) {
                    self.walk(&format!("{folder}/{name}"), &join(segment), keys, visited)?;
                }
            } else if file_type.is_file()
                && let Some(stem) = name.strip_suffix(OBJECT_SUFFIX)
                && let Some(segment) = key::decode(stem)
            {
                keys.push(join(segment));
            }
            // Anything else (a planted symlink, a FIFO) is not an object: never listed.
        }
        Ok(())
    }

    /// The object's file with its header read, and up to `leading` of its first bytes
    /// read in the same system call (`pread`): a small object is one open, one `fstat`
    /// and one read.
    fn open(&self, key: &Key, leading: usize) -> Result<OpenObject, StorageError> {
        use std::os::unix::fs::FileExt as _;
        let io = |e| self.io(key, e);
        let file = self
            .dir
            .open(format!("objects/{}", key.path()))
            .map_err(io)?
            .into_std();
        let meta = file.metadata().map_err(io)?;
        let total = meta.len();
        let damaged = || {
            StorageError::Internal(format!(
                "object '{}' is damaged (its header cannot be read)",
                key.as_str()
            ))
        };
        let mut first = vec![0; total.min((HEADER_READ + leading) as u64) as usize];
        file.read_exact_at(&mut first, 0).map_err(io)?;
        let length = header_length(&mut first.as_slice()).map_err(|_| damaged())? as usize;
        let offset = 8 + length;
        if (total as usize) < offset {
            return Err(damaged());
        }
        let header: Header = if offset <= first.len() {
            serde_json::from_slice(&first[8..offset])
        } else {
            let mut header = vec![0; length];
            file.read_exact_at(&mut header, 8).map_err(io)?;
            serde_json::from_slice(&header)
        }
        .map_err(|_| damaged())?;
        let leading = first.split_off(offset.min(first.len()));
        let modified_ms = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_millis() as u64);
        let info = ObjectInfo {
            key: key.as_str().to_string(),
            size: total - offset as u64,
            content_type: header.content_type,
            etag: header.etag,
            modified_ms,
            metadata: header.metadata,
        };
        Ok(OpenObject {
            file,
            info,
            offset: offset as u64,
            leading,
        })
    }

    fn io(&self, key: &Key, e: std::io::Error) -> StorageError {
        match e.kind() {
            std::io::ErrorKind::NotFound => StorageError::NotFound(key.as_str().to_string()),
            // cap-std refuses a path that leads outside the root (a planted symlink).
            std::io::ErrorKind::PermissionDenied => StorageError::Denied(format!(
                "key '{}' leads outside the module's storage root; the host refused it",
                key.as_str()
            )),
            // Objects and folders never share a name (see `key`), so a file where a folder
            // should be, or the reverse, or a link loop, was planted in the root.
            _ if matches!(e.raw_os_error(), Some(17 | 20 | 21 | 40)) => {
                StorageError::Denied(format!(
                    "key '{}' leads through something in the storage root the host did not \
                     make; the host refused it",
                    key.as_str()
                ))
            }
            _ => StorageError::Internal(format!("key '{}': {e}", key.as_str())),
        }
    }
}

/// The segments of `prefix` before its last `/` (the folder a listing starts in).
fn prefix_folder(prefix: &str) -> Result<Vec<&str>, StorageError> {
    if prefix.len() > key::MAX_KEY_BYTES || prefix.chars().any(char::is_control) {
        return Err(StorageError::Invalid(
            "a prefix is at most 1,024 bytes, without control characters".into(),
        ));
    }
    let Some((folder, _)) = prefix.rsplit_once('/') else {
        return Ok(Vec::new());
    };
    let segments: Vec<&str> = folder.split('/').collect();
    if segments
        .iter()
        .any(|s| s.is_empty() || *s == "." || *s == "..")
    {
        return Err(StorageError::Invalid(format!(
            "prefix '{}' has an empty, '.' or '..' segment",
            prefix.escape_default()
        )));
    }
    Ok(segments)
}

fn header_length(file: &mut impl Read) -> std::io::Result<u32> {
    let mut head = [0u8; 8];
    file.read_exact(&mut head)?;
    if &head[..4] != MAGIC {
        return Err(std::io::Error::other("not an object file"));
    }
    let length = u32::from_le_bytes(head[4..].try_into().expect("4 bytes"));
    if length > MAX_HEADER {
        return Err(std::io::Error::other("object header too large"));
    }
    Ok(length)
}

/// Hex digits of an etag: the first 128 bits of the bytes' BLAKE3 hash (SIMD-fast, so
/// hashing every byte written costs little next to writing it).
const ETAG_HEX: usize = 32;

/// Pieces at least this large are hashed beside their write (a thread costs ~20 µs).
const HASH_ASIDE_BYTES: usize = 1 << 20;

/// An object being written in pieces into `tmp/`; dropped without `commit`, its file is
/// removed, so nothing is left behind.
pub struct LocalUpload {
    root: ModuleRoot,
    key: Key,
    tmp: String,
    file: Option<cap_std::fs::File>,
    header: Header,
    hasher: blake3::Hasher,
}

impl LocalUpload {
    fn write_header(&self) -> std::io::Result<cap_std::fs::File> {
        let header = serde_json::to_vec(&self.header).map_err(std::io::Error::other)?;
        let mut file = self.root.dir.create(&self.tmp)?;
        file.write_all(MAGIC)?;
        file.write_all(&(header.len() as u32).to_le_bytes())?;
        file.write_all(&header)?;
        Ok(file)
    }

    /// Adds `data` at the end. A large piece is hashed on a second thread while this one
    /// writes it, so the etag costs no time next to the write.
    pub fn append(&mut self, data: &[u8]) -> Result<(), StorageError> {
        let file = self.file.as_mut().expect("open until commit");
        let hasher = &mut self.hasher;
        let written = if data.len() < HASH_ASIDE_BYTES {
            hasher.update(data);
            file.write_all(data)
        } else {
            std::thread::scope(|scope| {
                scope.spawn(|| hasher.update(data));
                file.write_all(data)
            })
        };
        written.map_err(|e| self.root.io(&self.key, e))
    }

    /// Writes the real etag into the header, syncs, and renames the file into place.
    pub fn commit(mut self) -> Result<ObjectInfo, StorageError> {
        let digest = self.hasher.finalize();
        self.header.etag = digest.as_bytes()[..ETAG_HEX / 2]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let mut file = self.file.take().expect("open until commit");
        let header = serde_json::to_vec(&self.header).map_err(std::io::Error::other);
        let finished = header.and_then(|header| {
            file.seek(SeekFrom::Start(8))?;
            file.write_all(&header)?;
            // The bytes reach the disk before the rename makes them the object.
            file.sync_data()
        });
        drop(file);
        finished.map_err(|e| self.root.io(&self.key, e))?;
        self.root.place(&self.key, &self.tmp)?;
        self.tmp.clear();
        self.root.head(&self.key)
    }
}

impl Drop for LocalUpload {
    fn drop(&mut self) {
        if !self.tmp.is_empty() {
            self.file.take();
            let _ = self.root.dir.remove_file(&self.tmp);
        }
    }
}
