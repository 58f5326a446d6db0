//! Standard `wasi:http` components as modules. An unmodified component built for
//! `wasmtime serve` or Spin exports `wasi:http/incoming-handler@0.2.x`; the host mounts it
//! at its manifest's prefix and hands it every request below it, full path included, under
//! the same tenant gate, deadline, memory cap and warm-instance rules as any module.
//!
//! The runtime links all of `wasi:http` (its request and response resources are how an
//! incoming request reaches the component). Whether a request may go *out* is decided by
//! the hooks a capability puts into the invocation's state (`outbound.rs`).

use std::sync::Arc;

use http_body_util::Full;
use hyper::body::Bytes;
use tracing::Instrument as _;
use wasmtime_wasi_http::WasiHttpView as _;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

use super::engine::Runtime;
use super::invocation::InvocationError;
use super::module::{INCOMING_HANDLER, LoadedModule};

/// How a standard component's request ended without a response to send.
#[derive(Debug, thiserror::Error)]
pub enum StandardHttpError {
    /// The invocation failed (trap, deadline, memory cap, capacity, quota).
    #[error(transparent)]
    Invocation(#[from] InvocationError),
    /// The component answered with a `wasi:http` error code instead of a response.
    #[error("module '{module}' answered with the wasi:http error {code:?}")]
    Code {
        /// Module name.
        module: String,
        /// What it said.
        code: ErrorCode,
    },
    /// The handler returned without setting a response.
    #[error("module '{module}' returned from its wasi:http handler without setting a response")]
    NoResponse {
        /// Module name.
        module: String,
    },
}

impl LoadedModule {
    /// Calls the component's `wasi:http/incoming-handler` with `request` (whose body the
    /// server has read within its limit). The invocation runs on its own task, since the
    /// component may go on writing the body after it set the response: the response
    /// returned here streams that body, and the deadline still bounds it.
    pub async fn handle_wasi_http(
        self: &Arc<Self>,
        runtime: &Arc<Runtime>,
        request: hyper::Request<Full<Bytes>>,
    ) -> Result<hyper::Response<HyperOutgoingBody>, StandardHttpError> {
        let Some(indices) = self.exports.wasi_http.clone() else {
            return Err(self.missing_export(INCOMING_HANDLER).into());
        };
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let module = self.clone();
        let runtime = runtime.clone();
        let invocation = tokio::spawn(
            async move {
                let result = module
                    .invoke(
                        &runtime,
                        |_| {},
                        async move |store, instance| {
                            let proxy = indices.load(&mut *store, &instance)?;
                            let mut http = store.data_mut().http();
                            let request = http.new_incoming_request(Scheme::Http, request)?;
                            let response = http.new_response_outparam(sender)?;
                            proxy
                                .wasi_http_incoming_handler()
                                .call_handle(&mut *store, request, response)
                                .await?;
                            Ok(Ok(()))
                        },
                    )
                    .await;
                // Logged here: past the response, nobody else sees how the body ended.
                if let Err(error) = &result {
                    match error {
                        InvocationError::Trap { .. } => tracing::error!("{error}"),
                        _ => tracing::warn!("{error}"),
                    }
                }
                result
            }
            .in_current_span(),
        );
        match receiver.await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(code)) => Err(StandardHttpError::Code {
                module: self.name().to_string(),
                code,
            }),
            Err(_) => match invocation.await {
                Ok(Err(error)) => Err(error.into()),
                Ok(Ok(_)) => Err(StandardHttpError::NoResponse {
                    module: self.name().to_string(),
                }),
                Err(join) => Err(InvocationError::Trap {
                    module: self.name().to_string(),
                    message: format!("the invocation's task ended: {join}"),
                }
                .into()),
            },
        }
    }
}
