//! HTTP types, helpers and the router that binds declared routes to handlers.

pub use crate::bindings::plughost::platform::http_types::{Request, Response};
use crate::{Error, Module, Result};

/// A request handler.
pub type Handler = fn(Request) -> Result<Response>;

/// Binds the routes declared in `plugin.toml` to handlers. The host has already matched
/// the request, so lookup is by method and the route pattern exactly as declared.
#[derive(Default)]
pub struct Router {
    routes: Vec<(&'static str, &'static str, Handler)>,
}

impl Router {
    /// An empty router.
    pub fn new() -> Self {
        Self::default()
    }

    /// Binds `method pattern` (as in the manifest; method `ANY` matches every method).
    pub fn route(mut self, method: &'static str, pattern: &'static str, handler: Handler) -> Self {
        self.routes.push((method, pattern, handler));
        self
    }

    /// Binds `GET pattern`.
    pub fn get(self, pattern: &'static str, handler: Handler) -> Self {
        self.route("GET", pattern, handler)
    }

    /// Binds `POST pattern`.
    pub fn post(self, pattern: &'static str, handler: Handler) -> Self {
        self.route("POST", pattern, handler)
    }

    /// Binds `PUT pattern`.
    pub fn put(self, pattern: &'static str, handler: Handler) -> Self {
        self.route("PUT", pattern, handler)
    }

    /// Binds `PATCH pattern`.
    pub fn patch(self, pattern: &'static str, handler: Handler) -> Self {
        self.route("PATCH", pattern, handler)
    }

    /// Binds `DELETE pattern`.
    pub fn delete(self, pattern: &'static str, handler: Handler) -> Self {
        self.route("DELETE", pattern, handler)
    }

    /// Binds every method on `pattern`.
    pub fn any(self, pattern: &'static str, handler: Handler) -> Self {
        self.route("ANY", pattern, handler)
    }

    fn find(&self, method: &str, pattern: &str) -> Option<Handler> {
        self.routes
            .iter()
            .find(|(m, p, _)| *p == pattern && (*m == method || *m == "ANY"))
            .map(|(_, _, h)| *h)
    }
}

/// Runs the handler `M` binds to the request's route.
pub fn dispatch<M: Module>(request: Request) -> Result<Response> {
    let router = M::routes(Router::new());
    match router.find(&request.method, &request.route) {
        Some(handler) => handler(request),
        None => Err(Error::NotFound(format!(
            "the module has no handler for {} {}; bind it in Module::routes",
            request.method, request.route
        ))),
    }
}

impl Request {
    /// The value of the route parameter `{name}`.
    pub fn param(&self, name: &str) -> Option<&str> {
        lookup(&self.params, name)
    }

    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        lookup(&self.headers, &name)
    }

    /// The first value of query parameter `name`, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// All query parameters in order, percent-decoded.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        self.query
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect()
    }

    /// The body as UTF-8 text, or `invalid` when it is not.
    pub fn text(&self) -> Result<&str> {
        core::str::from_utf8(&self.body)
            .map_err(|_| Error::Invalid("the request body is not valid UTF-8".into()))
    }

    /// The body parsed as JSON into `T`, or `invalid` (400) saying what is wrong with it.
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_slice(&self.body)
            .map_err(|e| Error::Invalid(format!("the request body is not the expected JSON: {e}")))
    }
}

impl Response {
    /// An empty response with `status`.
    pub fn status(status: u16) -> Self {
        Response {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// The module's stored object at `key` (within its `storage` grant), streamed by the
    /// host with its content type, ETag and byte ranges: the bytes never pass through the
    /// module, so this is how a module serves large files after checking who may see them.
    pub fn object(key: &str) -> Self {
        Self::status(200).with_header("x-plughost-object", key)
    }

    /// `200` with a `text/plain` body.
    pub fn text(body: impl Into<String>) -> Self {
        Self::status(200)
            .with_header("content-type", "text/plain; charset=utf-8")
            .with_body(body.into().into_bytes())
    }

    /// `200` with an `application/json` body that is already serialized.
    pub fn json(body: impl Into<String>) -> Self {
        Self::status(200)
            .with_header("content-type", "application/json")
            .with_body(body.into().into_bytes())
    }

    /// `200` with `value` serialized as JSON.
    pub fn json_value(value: &impl serde::Serialize) -> Self {
        Self::json(serde_json::to_string(value).unwrap_or_else(|_| "null".into()))
    }

    /// Sets the status.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = status;
        self
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Replaces the body.
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }
}

fn lookup<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 2;
                }
                Err(_) => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn percent_decoding_handles_escapes_plus_and_stray_percent() {
        assert_eq!(percent_decode("a%20b+c"), "a b c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%C3%A9"), "é");
    }
}
