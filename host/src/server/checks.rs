//! What the server checks of everything it passes between a client and a module, whatever
//! kind of module answers: the request body within the host's limit, and the response's
//! status and headers (names, values, count, size; framing and hop-by-hop headers are the
//! host's). Used by `dispatch.rs` (modules of the platform) and `standard.rs` (unmodified
//! wasi:http components).

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, request::Parts};

use super::errors::HttpError;

/// Header carrying the request id, in and out.
pub const REQUEST_ID: &str = "x-request-id";

/// Reads a request body, refusing one over `limit` bytes (declared or sent).
pub async fn read_body(parts: &Parts, body: Body, limit: usize) -> Result<Bytes, HttpError> {
    let too_large = || {
        HttpError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body_too_large",
            format!("the request body exceeds the host's limit of {limit} bytes"),
        )
    };
    let declared = parts
        .headers
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        if std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
        {
            too_large()
        } else {
            HttpError::new(
                StatusCode::BAD_REQUEST,
                "bad_body",
                format!("cannot read the request body: {e}"),
            )
        }
    })
}

/// Headers about the connection and the message's framing: the host owns them, so a
/// module cannot split the response stream or hijack the connection. Dropped, and counted.
const HOST_OWNED_HEADERS: &[&str] = &[
    "content-length",
    "transfer-encoding",
    "connection",
    "upgrade",
    "keep-alive",
    "te",
    "trailer",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "http2-settings",
    REQUEST_ID,
];

/// Most headers a module's response may carry.
pub const MAX_RESPONSE_HEADERS: usize = 100;
/// Most bytes of header names and values a module's response may carry.
pub const MAX_RESPONSE_HEADER_BYTES: usize = 64 * 1024;

/// A status a module may answer with: 200 to 599.
pub fn checked_status(status: u16) -> Result<StatusCode, String> {
    if !(200..=599).contains(&status) {
        return Err(format!(
            "status {status}; a module answers with a final status from 200 to 599"
        ));
    }
    StatusCode::from_u16(status).map_err(|_| format!("invalid status {status}"))
}

/// A module's headers, validated, without those the host owns.
pub struct CheckedHeaders {
    /// The headers to send.
    pub map: HeaderMap,
    /// How many host-owned headers were left out.
    pub dropped: u64,
}

/// Validates a module's response headers (names, values, count, size) and drops the
/// framing and hop-by-hop ones.
pub fn checked_headers(headers: Vec<(String, String)>) -> Result<CheckedHeaders, String> {
    check_header_volume(
        headers.len(),
        headers.iter().map(|(n, v)| n.len() + v.len()),
    )?;
    let mut checked = CheckedHeaders {
        map: HeaderMap::with_capacity(headers.len()),
        dropped: 0,
    };
    for (name, value) in headers {
        let header_name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("invalid header name {name:?}"))?;
        let header_value = HeaderValue::from_str(&value).map_err(|_| {
            format!("an invalid value for header {header_name} (control characters or non-ASCII)")
        })?;
        if HOST_OWNED_HEADERS.contains(&header_name.as_str()) {
            checked.dropped += 1;
            continue;
        }
        checked.map.append(header_name, header_value);
    }
    Ok(checked)
}

/// [`checked_headers`] for headers already parsed (a `wasi:http` component's): their
/// count and size bounded, those the host owns dropped.
pub fn checked_header_map(headers: HeaderMap) -> Result<CheckedHeaders, String> {
    check_header_volume(
        headers.len(),
        headers.iter().map(|(n, v)| n.as_str().len() + v.len()),
    )?;
    let mut checked = CheckedHeaders {
        map: HeaderMap::with_capacity(headers.len()),
        dropped: 0,
    };
    let mut name = None;
    for (next, value) in headers {
        // A `None` name continues the previous one's values.
        if next.is_some() {
            name = next;
        }
        let Some(name) = &name else { continue };
        if HOST_OWNED_HEADERS.contains(&name.as_str()) {
            checked.dropped += 1;
            continue;
        }
        checked.map.append(name.clone(), value);
    }
    Ok(checked)
}

fn check_header_volume(count: usize, sizes: impl Iterator<Item = usize>) -> Result<(), String> {
    if count > MAX_RESPONSE_HEADERS {
        return Err(format!(
            "{count} headers; a response carries at most {MAX_RESPONSE_HEADERS}"
        ));
    }
    let size: usize = sizes.sum();
    if size > MAX_RESPONSE_HEADER_BYTES {
        return Err(format!(
            "{size} bytes of headers; a response carries at most {MAX_RESPONSE_HEADER_BYTES}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn framing_and_hop_by_hop_headers_from_a_module_are_dropped() {
        let checked = checked_headers(headers(&[
            ("Content-Length", "3"),
            ("content-length", "999"),
            ("transfer-encoding", "chunked"),
            ("connection", "close"),
            ("upgrade", "websocket"),
            ("x-request-id", "forged"),
            ("x-kept", "yes"),
        ]))
        .unwrap();
        assert_eq!(checked.dropped, 6);
        assert_eq!(checked.map.len(), 1);
        assert_eq!(checked.map["x-kept"], "yes");
    }

    #[test]
    fn informational_and_out_of_range_statuses_are_refused() {
        for status in [0, 100, 101, 103, 199, 600, 999, 1000] {
            assert!(checked_status(status).is_err(), "{status}");
        }
        assert_eq!(checked_status(204).unwrap(), StatusCode::NO_CONTENT);
        assert_eq!(checked_status(599).unwrap().as_u16(), 599);
    }

    #[test]
    fn header_injection_and_floods_are_refused() {
        assert!(checked_headers(headers(&[("x-a", "1\r\nset-cookie: x=1")])).is_err());
        assert!(checked_headers(headers(&[("bad name", "1")])).is_err());
        assert!(checked_headers(headers(&[("x-\n", "1")])).is_err());
        let many: Vec<(String, String)> = (0..=MAX_RESPONSE_HEADERS)
            .map(|i| (format!("x-{i}"), "v".into()))
            .collect();
        assert!(checked_headers(many).is_err());
        let big = vec![("x-big".to_string(), "v".repeat(MAX_RESPONSE_HEADER_BYTES))];
        assert!(checked_headers(big).is_err());
    }
}
