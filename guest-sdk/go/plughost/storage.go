package plughost

import (
	witTypes "go.bytecodealliance.org/pkg/wit/types"
	witstorage "plughost/wit/imports/plughost_platform_storage"
)

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key         string
	Size        uint64
	ContentType string
	ETag        string
	ModifiedMs  uint64 // milliseconds since the Unix epoch
	Metadata    map[string]string
}

func objectInfo(raw witstorage.ObjectInfo) ObjectInfo {
	metadata := make(map[string]string, len(raw.Metadata))
	for _, pair := range raw.Metadata {
		metadata[pair.F0] = pair.F1
	}
	return ObjectInfo{raw.Key, raw.Size, raw.ContentType, raw.Etag, raw.ModifiedMs, metadata}
}

func putOptions(contentType string, metadata map[string]string) witstorage.PutOptions {
	options := witstorage.PutOptions{ContentType: witTypes.None[string]()}
	if contentType != "" {
		options.ContentType = witTypes.Some(contentType)
	}
	for name, value := range metadata {
		options.Metadata = append(options.Metadata, witTypes.Tuple2[string, string]{F0: name, F1: value})
	}
	return options
}

func info(raw witstorage.ObjectInfo, err error) (ObjectInfo, error) {
	if err != nil {
		return ObjectInfo{}, err
	}
	return objectInfo(raw), nil
}

// StoragePut writes `data` (at most 64 MiB; use StorageBeginUpload for more) at `key` in the
// module's own root, replacing any object there, with `contentType` ("":
// application/octet-stream) and `metadata` (may be nil).
func StoragePut(key string, data []byte, contentType string, metadata map[string]string) (ObjectInfo, error) {
	return info(unwrap(witstorage.Put(key, data, putOptions(contentType, metadata))))
}

// StorageGet is the object's bytes; `not-found` when there is none.
func StorageGet(key string) ([]byte, error) {
	return unwrap(witstorage.Get(key, witTypes.None[witstorage.ByteRange]()))
}

// StorageGetRange is bytes `start` up to, not including, `end` (0: to the end).
func StorageGetRange(key string, start, end uint64) ([]byte, error) {
	return unwrap(witstorage.Get(key, witTypes.Some(byteRange(start, end))))
}

func byteRange(start, end uint64) witstorage.ByteRange {
	r := witstorage.ByteRange{Start: start, End: witTypes.None[uint64]()}
	if end > 0 {
		r.End = witTypes.Some(end)
	}
	return r
}

// StorageRead is the object's bytes and info in one call.
func StorageRead(key string) ([]byte, ObjectInfo, error) {
	object, err := unwrap(witstorage.Read(key, witTypes.None[witstorage.ByteRange]()))
	if err != nil {
		return nil, ObjectInfo{}, err
	}
	return object.Bytes, objectInfo(object.Info), nil
}

// StorageHead is the object's info.
func StorageHead(key string) (ObjectInfo, error) { return info(unwrap(witstorage.Head(key))) }

// StorageExists reports whether there is an object at `key`.
func StorageExists(key string) (bool, error) { return unwrap(witstorage.Exists(key)) }

// StorageDelete deletes the object; whether there was one.
func StorageDelete(key string) (bool, error) { return unwrap(witstorage.Delete(key)) }

// StorageCopy copies the object at `source` to `target`.
func StorageCopy(source, target string) (ObjectInfo, error) {
	return info(unwrap(witstorage.Copy(source, target)))
}

// StorageList is up to `limit` keys starting with `prefix`, after `cursor` ("": from the
// start), and the cursor of the next page ("" after the last).
func StorageList(prefix, cursor string, limit uint32) (keys []string, next string, err error) {
	option := witTypes.None[string]()
	if cursor != "" {
		option = witTypes.Some(cursor)
	}
	listing, err := unwrap(witstorage.List(prefix, option, limit))
	if err != nil {
		return nil, "", err
	}
	for _, object := range listing.Objects {
		keys = append(keys, object.Key)
	}
	return keys, listing.NextCursor.SomeOr(""), nil
}

// StoragePublish is a URL path ("/_storage/...") serving the object for `expiresInSeconds`.
func StoragePublish(key string, expiresInSeconds uint32) (string, error) {
	return unwrap(witstorage.Publish(key, expiresInSeconds))
}

// Upload is an object written in pieces, for objects too large to hold in memory: nothing is
// visible at the key until Commit; an upload not committed when the handler returns leaves
// nothing behind.
type Upload struct {
	handle *witstorage.Upload
}

var openUploads []*witstorage.Upload

// dropUploads drops every upload handle of the invocation. It is set by the first upload,
// so that a module that never uploads does not import storage.
var dropUploads = func() {}

// StorageBeginUpload starts an upload to `key` with `contentType` ("":
// application/octet-stream).
func StorageBeginUpload(key, contentType string) (*Upload, error) {
	handle, err := unwrap(witstorage.BeginUpload(key, putOptions(contentType, nil)))
	if err != nil {
		return nil, err
	}
	openUploads = append(openUploads, handle)
	dropUploads = dropOpenUploads
	return &Upload{handle}, nil
}

// Append adds `data` (at most 64 MiB per call) to the end of the object.
func (u *Upload) Append(data []byte) error { return check(u.handle.Append(data)) }

// Written is the number of bytes appended so far.
func (u *Upload) Written() uint64 { return u.handle.Written() }

// Commit makes the object visible at its key.
func (u *Upload) Commit() (ObjectInfo, error) { return info(unwrap(u.handle.Commit())) }

func dropOpenUploads() {
	for _, handle := range openUploads {
		handle.Drop()
	}
	openUploads = nil
}
