//! Standard `wasi:http` components as modules. An unmodified component built for
//! `wasmtime serve` or Spin exports `wasi:http/incoming-handler@0.2.x` (WASI 0.2) or
//! `wasi:http/handler@0.3.0` (WASI 0.3); the host mounts it at its manifest's prefix and
//! hands it every request below it, full path included, under the same tenant gate,
//! deadline, memory cap and warm-instance rules as any module.
//!
//! The runtime links all of `wasi:http` (its request and response resources are how an
//! incoming request reaches the component). Whether a request may go *out* is decided by
//! the hooks a capability puts into the invocation's state (`outbound.rs`).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Body, Bytes, Frame, SizeHint};
use tokio::sync::oneshot;
use tracing::Instrument as _;
use wasmtime::Store;
use wasmtime::component::Instance;
use wasmtime_wasi_http::p2::bindings::ProxyIndices;
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode as ErrorCodeP2, Scheme};
use wasmtime_wasi_http::p3::bindings::ServiceIndices;
use wasmtime_wasi_http::p3::bindings::http::types::ErrorCode as ErrorCodeP3;
use wasmtime_wasi_http::{WasiBody, WasiHttpView as _};

use super::bindings::GuestError;
use super::engine::Runtime;
use super::invocation::InvocationError;
use super::module::{INCOMING_HANDLER, LoadedModule, StandardHttp};
use super::state::InvocationState;

/// A standard component's response: its head, and its body as the component writes it.
pub type StandardResponse = hyper::Response<WasiBody>;

/// How a standard component's request ended without a response to send.
#[derive(Debug, thiserror::Error)]
pub enum StandardHttpError {
    /// The invocation failed (trap, deadline, memory cap, capacity, quota).
    #[error(transparent)]
    Invocation(#[from] InvocationError),
    /// The component answered with a `wasi:http` error code instead of a response.
    #[error("module '{module}' answered with the wasi:http error {code}")]
    Code {
        /// Module name.
        module: String,
        /// What it said.
        code: String,
    },
    /// The handler returned without setting a response.
    #[error("module '{module}' returned from its wasi:http handler without setting a response")]
    NoResponse {
        /// Module name.
        module: String,
    },
}

/// Where the response arrives: the WASI 0.2 response-outparam's channel, or the one the
/// WASI 0.3 call sends its result to.
enum Answer {
    P2(oneshot::Receiver<Result<StandardResponse, ErrorCodeP2>>),
    P3(oneshot::Receiver<Result<StandardResponse, ErrorCodeP3>>),
}

impl Answer {
    /// The response, the error code the component answered with, or `None` when the
    /// invocation ended without either.
    async fn wait(self) -> Option<Result<StandardResponse, String>> {
        match self {
            Answer::P2(receiver) => receiver.await.ok().map(|r| r.map_err(|c| format!("{c:?}"))),
            Answer::P3(receiver) => receiver.await.ok().map(|r| r.map_err(|c| format!("{c:?}"))),
        }
    }
}

impl LoadedModule {
    /// Calls the component's `wasi:http` handler with `request` (whose body the server has
    /// read within its limit). The invocation runs on its own task, since the component
    /// may go on writing the body after it set the response: the response returned here
    /// streams that body, and the deadline still bounds it.
    pub async fn handle_wasi_http(
        self: &Arc<Self>,
        runtime: &Arc<Runtime>,
        request: hyper::Request<Full<Bytes>>,
    ) -> Result<StandardResponse, StandardHttpError> {
        let Some(export) = self.exports.wasi_http.clone() else {
            return Err(self.missing_export(INCOMING_HANDLER).into());
        };
        let module = self.clone();
        let runtime = runtime.clone();
        let (call, answer) = StandardCall::new(export);
        let invocation = tokio::spawn(
            async move {
                let result = module
                    .invoke(
                        &runtime,
                        |_| {},
                        async move |store, instance| call.run(store, instance, request).await,
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
        match answer.wait().await {
            Some(Ok(response)) => Ok(response),
            Some(Err(code)) => Err(StandardHttpError::Code {
                module: self.name().to_string(),
                code,
            }),
            None => match invocation.await {
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

type CallResult = wasmtime::Result<Result<(), GuestError>>;

/// The call to make, with where its response goes.
enum StandardCall {
    P2(
        ProxyIndices,
        oneshot::Sender<Result<StandardResponse, ErrorCodeP2>>,
    ),
    P3(
        ServiceIndices,
        oneshot::Sender<Result<StandardResponse, ErrorCodeP3>>,
    ),
}

impl StandardCall {
    fn new(export: StandardHttp) -> (StandardCall, Answer) {
        match export {
            StandardHttp::P2(indices) => {
                let (sender, receiver) = oneshot::channel();
                (StandardCall::P2(indices, sender), Answer::P2(receiver))
            }
            StandardHttp::P3(indices) => {
                let (sender, receiver) = oneshot::channel();
                (StandardCall::P3(indices, sender), Answer::P3(receiver))
            }
        }
    }

    async fn run(
        self,
        store: &mut Store<InvocationState>,
        instance: Instance,
        request: hyper::Request<Full<Bytes>>,
    ) -> CallResult {
        match self {
            StandardCall::P2(indices, sender) => {
                call_p2(store, instance, &indices, request, sender).await
            }
            StandardCall::P3(indices, sender) => {
                call_p3(store, instance, &indices, request, sender).await
            }
        }
    }
}

/// WASI 0.2: the component sets the response through a response-outparam, then may go on
/// writing the body until its handler returns.
async fn call_p2(
    store: &mut Store<InvocationState>,
    instance: Instance,
    indices: &ProxyIndices,
    request: hyper::Request<Full<Bytes>>,
    sender: oneshot::Sender<Result<StandardResponse, ErrorCodeP2>>,
) -> CallResult {
    let proxy = indices.load(&mut *store, &instance)?;
    let mut http = store.data_mut().http();
    let request = http.new_incoming_request(Scheme::Http, request)?;
    let response = http.new_response_outparam(sender)?;
    proxy
        .wasi_http_incoming_handler()
        .call_handle(&mut *store, request, response)
        .await?;
    Ok(Ok(()))
}

/// WASI 0.3: the handler returns the response, whose body streams from guest tasks that
/// run only inside the store's event loop; the loop runs until the body is done (read to
/// its end, or dropped by the client), bounded by the invocation's deadline.
async fn call_p3(
    store: &mut Store<InvocationState>,
    instance: Instance,
    indices: &ServiceIndices,
    request: hyper::Request<Full<Bytes>>,
    sender: oneshot::Sender<Result<StandardResponse, ErrorCodeP3>>,
) -> CallResult {
    let service = indices.load(&mut *store, &instance)?;
    let hooks = store.data_mut().http().hooks;
    let (request, request_io) = wasmtime_wasi_http::p3::Request::from_http(hooks, request);
    store
        .run_concurrent(async move |accessor| {
            let response = match service.handle(accessor, request).await? {
                Ok(response) => response,
                Err(code) => {
                    let _ = sender.send(Err(code));
                    return Ok(());
                }
            };
            let response = accessor.with(|mut store| response.into_http(&mut store, request_io))?;
            let (done, finished) = oneshot::channel::<()>();
            let response = response.map(|body| {
                BodyEnd {
                    body,
                    done: Some(done),
                }
                .boxed_unsync()
            });
            if sender.send(Ok(response)).is_err() {
                return Ok(());
            }
            // Ends when the body reached its end or was dropped (the sender with it).
            let _ = finished.await;
            Ok::<_, wasmtime::Error>(())
        })
        .await??;
    Ok(Ok(()))
}

/// A body that tells, by dropping `done`, when it has ended or was dropped.
struct BodyEnd {
    body: WasiBody,
    done: Option<oneshot::Sender<()>>,
}

impl Body for BodyEnd {
    type Data = Bytes;
    type Error = wasmtime_wasi_http::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            self.done.take();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
