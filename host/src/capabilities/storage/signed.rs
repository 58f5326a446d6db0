//! Objects the host streams itself: to a module's answer naming one (`x-plughost-object`),
//! and at published URLs. A module asks for a URL (`publish`), the host signs what it names
//! (tenant, module, key, expiry) with HMAC-SHA256 and serves it at `/_storage/TOKEN`
//! itself, with the object's content type, its ETag (`If-None-Match` → 304) and byte
//! ranges (`Range` → 206), streamed in pieces, so a large download never passes through
//! the module.
//!
//! The object comes from a module, so it is served as untrusted content: `nosniff`, and a
//! `sandbox` content security policy, so an HTML object cannot run script with the host's
//! origin against other modules.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::backend::{ObjectReader, Owner};
use super::key::Key;
use super::object::{ObjectInfo, StorageError};
use super::objects::Objects;

/// Where published objects are served.
pub const PREFIX: &str = "/_storage";
/// The longest a URL lives: 7 days.
pub const MAX_EXPIRY_SECONDS: u32 = 7 * 24 * 3600;
/// Bytes read from the backend at a time while serving: large enough that each piece's
/// open and blocking-pool round trip cost little next to its copy, small enough to keep
/// many downloads in memory at once.
const PIECE: u64 = 4 << 20;

/// What a URL names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Published {
    #[serde(rename = "t")]
    tenant: String,
    #[serde(rename = "m")]
    module: String,
    #[serde(rename = "k")]
    key: String,
    /// Expiry, seconds since the Unix epoch.
    #[serde(rename = "e")]
    expires: u64,
}

/// Signs and checks URL tokens.
pub struct Signer {
    key: Vec<u8>,
}

impl Signer {
    /// A signer with `secret`, or a random key (URLs then last until the host restarts).
    pub fn new(secret: Option<&str>) -> Signer {
        let key = match secret {
            Some(secret) => secret.as_bytes().to_vec(),
            None => {
                let mut key = uuid::Uuid::new_v4().as_bytes().to_vec();
                key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
                key
            }
        };
        Signer { key }
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes a key of any length")
    }

    /// The URL path of `key` of `owner`, valid for `seconds`.
    pub fn url(&self, owner: &Owner, key: &Key, seconds: u32) -> String {
        let published = Published {
            tenant: owner.tenant.clone(),
            module: owner.module.clone(),
            key: key.as_str().to_string(),
            expires: now_seconds() + u64::from(seconds),
        };
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&published).expect("plain data"));
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{PREFIX}/{payload}.{signature}")
    }

    /// What `token` names, if its signature holds and it has not expired.
    pub fn check(&self, token: &str) -> Result<Published, &'static str> {
        let (payload, signature) = token.split_once('.').ok_or("malformed")?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| "malformed")?;
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        // Constant-time comparison, inside verify_slice.
        mac.verify_slice(&signature).map_err(|_| "bad signature")?;
        let bytes = URL_SAFE_NO_PAD.decode(payload).map_err(|_| "malformed")?;
        let published: Published = serde_json::from_slice(&bytes).map_err(|_| "malformed")?;
        if published.expires < now_seconds() {
            return Err("expired");
        }
        Ok(published)
    }
}

fn now_seconds() -> u64 {
    chrono::Utc::now().timestamp().max(0) as u64
}

/// The routes under [`PREFIX`].
pub fn router(objects: Arc<Objects>, signer: Arc<Signer>) -> axum::Router {
    axum::Router::new()
        .route("/{token}", axum::routing::get(serve).head(serve))
        .with_state((objects, signer))
}

fn refusal(status: StatusCode, message: &str) -> Response {
    (status, format!("{message}\n")).into_response()
}

async fn serve(
    State((objects, signer)): State<(Arc<Objects>, Arc<Signer>)>,
    Path(token): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let published = match signer.check(&token) {
        Ok(published) => published,
        Err(why) => {
            tracing::debug!("storage URL refused: {why}");
            return refusal(
                StatusCode::FORBIDDEN,
                &format!("this storage URL is not valid ({why}); ask for a new one"),
            );
        }
    };
    let Ok(key) = Key::parse(&published.key) else {
        return refusal(StatusCode::FORBIDDEN, "this storage URL names no valid key");
    };
    let owner = Owner {
        tenant: published.tenant,
        module: published.module,
    };
    let remaining = published.expires.saturating_sub(now_seconds());
    let mut response = stream(objects, owner, key, &headers, method == Method::HEAD).await;
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header_value(&format!("private, max-age={remaining}")),
    );
    response
}

/// `key` of `owner` streamed by the host: 200, 206, 304, 404 or 416 as the request's
/// headers ask, with its content type, ETag, and the headers untrusted content gets.
pub async fn stream(
    objects: Arc<Objects>,
    owner: Owner,
    key: Key,
    headers: &HeaderMap,
    head_only: bool,
) -> Response {
    // A plain GET (no range, no validator) gets its first piece with the object's
    // header in one trip: a small object is then one trip in all.
    let plain = !head_only
        && !headers.contains_key(header::RANGE)
        && !headers.contains_key(header::IF_NONE_MATCH);
    let eager = if plain { PIECE } else { 0 };
    let (info, reader, first) = match objects.open_reader(&owner, &key, eager).await {
        Ok(opened) => opened,
        Err(StorageError::NotFound(_)) => {
            return refusal(StatusCode::NOT_FOUND, "the object is gone");
        }
        Err(e) => {
            tracing::warn!(tenant = %owner.tenant, module = %owner.module, "streaming an object failed: {e}");
            return refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the object cannot be read now",
            );
        }
    };
    let etag = format!("\"{}\"", info.etag);
    let source = Source {
        objects,
        owner,
        key,
        reader,
    };
    let mut response = answer(source, first, &info, headers, head_only);
    let h = response.headers_mut();
    h.insert(header::ETAG, header_value(&etag));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    response
}

/// The header with which a module answers "serve this object of mine": the host checks
/// the key against the module's grant and streams the object itself, so its bytes never
/// pass through the module (X-Accel-Redirect style).
pub const OBJECT_HEADER: &str = "x-plughost-object";

/// The answer to a module's `x-plughost-object: KEY`: the key checked (shape, then the
/// module's grant; a refusal is counted), then [`stream`] from the module's own root.
pub async fn module_object(
    objects: Arc<Objects>,
    module: &crate::runtime::ModuleContext,
    key: &str,
    headers: &HeaderMap,
    head_only: bool,
) -> Response {
    let key = match Key::parse(key) {
        Ok(key) => key,
        Err(why) => {
            return refusal(
                StatusCode::BAD_GATEWAY,
                &format!("the module named an object with an invalid key: {why}"),
            );
        }
    };
    if let Err(denied) = module.check("storage", key.as_str()) {
        return refusal(StatusCode::FORBIDDEN, &denied.reason);
    }
    let owner = Owner {
        tenant: module.tenant.clone(),
        module: module.name.clone(),
    };
    stream(objects, owner, key, headers, head_only).await
}

fn header_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// An object opened for streaming.
struct Source {
    objects: Arc<Objects>,
    owner: Owner,
    key: Key,
    reader: ObjectReader,
}

/// 304, 416, 206 or 200 for `info`, as the request's headers ask; `first` holds the
/// object's first bytes when they were read with its header.
fn answer(
    source: Source,
    first: Vec<u8>,
    info: &ObjectInfo,
    headers: &HeaderMap,
    head_only: bool,
) -> Response {
    let etag = format!("\"{}\"", info.etag);
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    if not_modified {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let size = info.size;
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(|v| parse_range(v, size));
    let (status, start, end) = match range {
        None | Some(RangeAsked::Ignored) => (StatusCode::OK, 0, size),
        Some(RangeAsked::Bytes(start, end)) => (StatusCode::PARTIAL_CONTENT, start, end),
        Some(RangeAsked::Unsatisfiable) => {
            let mut response = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            response.headers_mut().insert(
                header::CONTENT_RANGE,
                header_value(&format!("bytes */{size}")),
            );
            return response;
        }
    };
    let body = if head_only {
        Body::empty()
    } else {
        Body::from_stream(pieces(Arc::new(source), first, start, end))
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, header_value(&info.content_type));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start));
    if status == StatusCode::PARTIAL_CONTENT {
        h.insert(
            header::CONTENT_RANGE,
            header_value(&format!("bytes {start}-{}/{size}", end - 1)),
        );
    }
    response
}

/// The bytes `start..end`, read a piece at a time from the version opened; `first` (the
/// object's first bytes, possibly none) is sent as it is when the answer starts at 0.
fn pieces(
    source: Arc<Source>,
    first: Vec<u8>,
    start: u64,
    end: u64,
) -> impl futures_util::Stream<Item = Result<bytes::Bytes, StorageError>> {
    let ready = (start == 0 && !first.is_empty()).then(|| {
        let mut first = first;
        first.truncate(end as usize);
        bytes::Bytes::from(first)
    });
    futures_util::stream::unfold((start, ready), move |(at, ready)| {
        let source = source.clone();
        async move {
            if let Some(piece) = ready {
                let until = at + piece.len() as u64;
                return Some((Ok(piece), (until, None)));
            }
            if at >= end {
                return None;
            }
            let until = (at + PIECE).min(end);
            let Source {
                objects,
                owner,
                key,
                reader,
            } = &*source;
            let piece = objects.piece(owner, key, reader, at, until).await;
            Some((piece.map(bytes::Bytes::from), (until, None)))
        }
    })
}

/// What a `Range` header asks of an object of `size` bytes.
#[derive(Debug, PartialEq)]
enum RangeAsked {
    /// Bytes `start..end` (exclusive).
    Bytes(u64, u64),
    /// Nothing of the object: 416.
    Unsatisfiable,
    /// Several ranges or another unit: the whole object (RFC 9110 allows it).
    Ignored,
}

fn parse_range(value: &str, size: u64) -> RangeAsked {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return RangeAsked::Ignored;
    };
    if spec.contains(',') {
        return RangeAsked::Ignored;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeAsked::Ignored;
    };
    let (first, last) = (first.trim(), last.trim());
    let parsed = match (first.is_empty(), last.is_empty()) {
        // bytes=-N: the last N bytes.
        (true, false) => last
            .parse::<u64>()
            .ok()
            .map(|n| (size.saturating_sub(n), size, n > 0)),
        (false, _) => first.parse::<u64>().ok().and_then(|start| {
            let end = if last.is_empty() {
                Some(size)
            } else {
                last.parse::<u64>()
                    .ok()
                    .map(|l| l.saturating_add(1).min(size))
            };
            end.map(|end| (start, end, start < size && start < end))
        }),
        (true, true) => None,
    };
    match parsed {
        None => RangeAsked::Ignored,
        Some((start, end, true)) if start < end => RangeAsked::Bytes(start, end),
        Some(_) => RangeAsked::Unsatisfiable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_read_as_rfc_9110_says() {
        assert_eq!(parse_range("bytes=0-3", 10), RangeAsked::Bytes(0, 4));
        assert_eq!(parse_range("bytes=4-", 10), RangeAsked::Bytes(4, 10));
        assert_eq!(parse_range("bytes=-3", 10), RangeAsked::Bytes(7, 10));
        assert_eq!(parse_range("bytes=5-100", 10), RangeAsked::Bytes(5, 10));
        assert_eq!(parse_range("bytes=10-", 10), RangeAsked::Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 10), RangeAsked::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,4-5", 10), RangeAsked::Ignored);
        assert_eq!(parse_range("items=0-1", 10), RangeAsked::Ignored);
    }

    #[test]
    fn a_token_holds_only_with_its_signature_and_before_it_expires() {
        let signer = Signer::new(Some("0123456789abcdef0123456789abcdef"));
        let owner = Owner {
            tenant: "acme".into(),
            module: "files".into(),
        };
        let url = signer.url(&owner, &Key::parse("a/b.txt").unwrap(), 60);
        let token = url.strip_prefix("/_storage/").unwrap();
        assert_eq!(signer.check(token).unwrap().key, "a/b.txt");
        let other = Signer::new(Some("another key, also 32 characters!"));
        assert_eq!(other.check(token), Err("bad signature"));
        let (payload, signature) = token.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(
            String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap())
                .unwrap()
                .replace("acme", "evil"),
        );
        assert_eq!(
            signer.check(&format!("{forged}.{signature}")),
            Err("bad signature")
        );
        let expired = Published {
            tenant: "acme".into(),
            module: "files".into(),
            key: "a".into(),
            expires: 1,
        };
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&expired).unwrap());
        let mut mac = signer.mac();
        mac.update(payload.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        assert_eq!(
            signer.check(&format!("{payload}.{signature}")),
            Err("expired")
        );
    }
}
