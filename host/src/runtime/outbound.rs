//! The slot for the hooks that decide an invocation's outgoing `wasi:http` requests: a
//! capability puts [`OutboundHooks`] into the state; without them, `InvocationState`'s
//! `WasiHttpView` uses [`DenyOutbound`] and every outgoing request is refused with
//! `HTTP-request-denied`.

use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

/// Decides this invocation's outgoing `wasi:http` requests; put into the state by the
/// capability that grants them.
pub struct OutboundHooks(pub Box<dyn WasiHttpHooks>);

/// What [`WasiHttpHooks::send_request`] resolves to: the response and a future that
/// reports how its body ended.
pub type OutgoingResult = Result<
    (
        hyper::Response<WasiBody>,
        Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ),
    wasmtime_wasi_http::Error,
>;

/// The hooks of an invocation no capability granted outgoing requests: each is refused.
pub struct DenyOutbound;

impl WasiHttpHooks for DenyOutbound {
    fn send_request(
        &mut self,
        _request: hyper::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<dyn Future<Output = OutgoingResult> + Send> {
        Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) })
    }
}
