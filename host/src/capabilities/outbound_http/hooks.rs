//! The check of each outgoing request: its authority against the module's grant. A
//! refusal is `HTTP-request-denied` to the component, a warning naming the host and the
//! fix, and the module's `denied` counter.

use std::sync::Arc;

use wasmtime_wasi_http::{RequestOptions, WasiBody, WasiHttpHooks};

use super::NAME;
use crate::runtime::ModuleContext;
use crate::runtime::wasi_http::OutgoingResult;

/// Lets requests out to the hosts the module's grant covers.
pub struct GrantedHosts {
    module: Arc<ModuleContext>,
}

impl GrantedHosts {
    /// Hooks for one invocation of `module`.
    pub fn new(module: Arc<ModuleContext>) -> Self {
        GrantedHosts { module }
    }

    /// Whether the grant covers `host:port`, or `host` alone when the port is the
    /// scheme's default; a refusal is counted and logged with what to change.
    fn allows(&self, uri: &hyper::Uri) -> bool {
        let host = uri.host().unwrap_or_default().to_ascii_lowercase();
        let default_port = if uri.scheme_str() == Some("http") {
            80
        } else {
            443
        };
        let port = uri.port_u16().unwrap_or(default_port);
        if port == default_port && self.module.grant.check(NAME, &host).is_ok() {
            return true;
        }
        self.module.check(NAME, &format!("{host}:{port}")).is_ok()
    }
}

impl WasiHttpHooks for GrantedHosts {
    fn send_request(
        &mut self,
        request: hyper::Request<WasiBody>,
        options: Option<RequestOptions>,
        fut: Box<dyn Future<Output = Result<(), wasmtime_wasi_http::Error>> + Send>,
    ) -> Box<dyn Future<Output = OutgoingResult> + Send> {
        if !self.allows(request.uri()) {
            return Box::new(async { Err(wasmtime_wasi_http::Error::HttpRequestDenied) });
        }
        let _ = fut;
        Box::new(async move {
            use http_body_util::BodyExt;
            let (response, io) = wasmtime_wasi_http::default_send_request(request, options).await?;
            Ok((
                response.map(BodyExt::boxed_unsync),
                Box::new(io) as Box<dyn Future<Output = _> + Send>,
            ))
        })
    }
}
