"""Objects under keys in the module's own storage root, within its `storage` grant (key
patterns, e.g. `storage = ["uploads/*"]`).

    from plughost import storage
    info = storage.put("uploads/a.txt", b"hello", content_type="text/plain")
    data = storage.get("uploads/a.txt")
    first = storage.get("uploads/a.txt", start=0, end=2)
    obj = storage.read("uploads/a.txt")   # obj.bytes and obj.info (content_type, etag) at once
    page = storage.list("uploads/", limit=100)   # page.objects, page.next_cursor
    upload = storage.begin_upload("big.bin"); upload.append(piece); upload.commit()
    url = storage.publish("uploads/a.txt", 3600)   # "/_storage/...", served by the host

A call outside the grant raises Err(Error_Denied); a missing object Err(Error_NotFound).
"""

from typing import Dict, List, Optional

from wit_world.imports import storage as _storage

ObjectInfo = _storage.ObjectInfo
Object = _storage.Object
Listing = _storage.Listing


def put(
    key: str,
    data: bytes,
    content_type: Optional[str] = None,
    metadata: Optional[Dict[str, str]] = None,
) -> ObjectInfo:
    """Writes data at key, replacing any object there; at once or not at all."""
    options = _storage.PutOptions(content_type, sorted((metadata or {}).items()))
    return _storage.put(key, data, options)


def get(key: str, start: Optional[int] = None, end: Optional[int] = None) -> bytes:
    """The object's bytes, or those from start up to (not including) end."""
    if start is None:
        return _storage.get(key, None)
    return _storage.get(key, _storage.ByteRange(start, end))


def read(key: str, start: Optional[int] = None, end: Optional[int] = None) -> Object:
    """The object's bytes (or those from start up to end) with what the host knows of it,
    in one call: `.bytes` and `.info` (content_type, etag, ...)."""
    if start is None:
        return _storage.read(key, None)
    return _storage.read(key, _storage.ByteRange(start, end))


def head(key: str) -> ObjectInfo:
    """What the host knows of the object: key, size, content_type, etag, modified_ms, metadata."""
    return _storage.head(key)


def exists(key: str) -> bool:
    """Whether an object is at key."""
    return _storage.exists(key)


def delete(key: str) -> bool:
    """Removes the object; whether there was one."""
    return _storage.delete(key)


def list(prefix: str = "", cursor: Optional[str] = None, limit: int = 100) -> Listing:  # noqa: A001
    """Up to limit (at most 1,000) objects whose key starts with prefix, after cursor."""
    return _storage.list(prefix, cursor, limit)


def copy(source: str, target: str) -> ObjectInfo:
    """Copies the object at source to target."""
    return _storage.copy(source, target)


def keys(page: Listing) -> List[str]:
    """The keys of a listing's page."""
    return [o.key for o in page.objects]


Upload = _storage.Upload


def begin_upload(
    key: str,
    content_type: Optional[str] = None,
    metadata: Optional[Dict[str, str]] = None,
) -> Upload:
    """Starts writing an object in pieces, for objects too large to hold in memory:
    upload.append(piece) (at most 64 MiB each), then upload.commit(). An upload dropped
    without commit leaves nothing at the key."""
    options = _storage.PutOptions(content_type, sorted((metadata or {}).items()))
    return _storage.begin_upload(key, options)


def publish(key: str, expires_in_seconds: int) -> str:
    """A URL path ("/_storage/...") at which the host serves the object to anyone holding it,
    with byte ranges and its ETag, for expires_in_seconds (at most 7 days)."""
    return _storage.publish(key, expires_in_seconds)
