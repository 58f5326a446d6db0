//! One WebSocket from handshake to close: authentication, the module's `on-connect`, the
//! upgrade, then a reader that hands each frame to the module serving the namespace now
//! (so a swap takes effect at the next message) and a writer that drains the socket's
//! bounded queue, pings, and closes on request.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::sync::mpsc;
use tracing::Instrument as _;

use super::errors::HttpError;
use crate::capabilities::ws::handler;
use crate::capabilities::ws::hub::{Frame, Kill, Target, error_frame};
use crate::capabilities::ws::rules::{Bucket, Rate, Refusal};
use crate::capabilities::ws::{CurrentSocket, Hub, WsInvocation, WsModule};
use crate::runtime::bindings::{GuestConnection, GuestMessage};
use crate::runtime::{InvocationState, LoadedModule, ModuleRegistry, Runtime};

/// What a connection needs for its whole life.
struct Connection {
    registry: Arc<ModuleRegistry>,
    runtime: Arc<Runtime>,
    hub: Arc<Hub>,
    guest: GuestConnection,
    claims: serde_json::Value,
    kill: Arc<Kill>,
    limits: Mutex<Limits>,
}

/// The connection's token buckets: all events together, and each rate-limited event.
struct Limits {
    all: Bucket,
    per_event: HashMap<String, Bucket>,
}

/// Answers a WebSocket handshake on `namespace`.
/// Answers a WebSocket handshake on `namespace`, served by `module` (found by dispatch).
pub async fn accept(
    registry: Arc<ModuleRegistry>,
    runtime: Arc<Runtime>,
    module: Arc<LoadedModule>,
    mut parts: Parts,
    namespace: String,
    request_id: &str,
) -> Response {
    let Some(hub) = runtime.capability::<Hub>() else {
        return HttpError::new(
            StatusCode::NOT_FOUND,
            "no_route",
            "this host serves no WebSockets",
        )
        .into_response(request_id);
    };
    let config = hub.settings().clone();
    let refuse = |status: StatusCode, code: &'static str, message: String| {
        hub.metrics()
            .rejections
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::warn!(namespace = %namespace, "handshake refused: {message}");
        HttpError::new(status, code, message).into_response(request_id)
    };
    let identity = match config.authenticate(&parts) {
        Ok(identity) => identity,
        Err(message) => return refuse(StatusCode::UNAUTHORIZED, "unauthorized", message),
    };
    let upgrade = match WebSocketUpgrade::from_request_parts(&mut parts, &()).await {
        Ok(upgrade) => upgrade,
        Err(rejection) => return rejection.into_response(),
    };
    let socket_id = uuid::Uuid::new_v4().to_string();
    let (tx, rx) = mpsc::channel::<Frame>(config.send_queue.max(1));
    let kill = Arc::new(Kill::default());
    hub.register(
        &namespace,
        &socket_id,
        identity.user.clone(),
        tx,
        kill.clone(),
    );
    let guest = GuestConnection {
        socket_id: socket_id.clone(),
        namespace: namespace.clone(),
        user_id: identity.user,
        claims: identity.claims.to_string(),
    };
    let refused = match handler::on_connect(&module, &runtime, &guest, handling(&guest, None)).await
    {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(HttpError::from(error)),
        Err(error) => Some(HttpError::from(&error)),
    };
    if let Some(error) = refused {
        hub.unregister(&namespace, &socket_id);
        hub.metrics()
            .rejections
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        return error.into_response(request_id);
    }
    tracing::info!(namespace = %namespace, socket_id = %socket_id, user = guest.user_id.as_deref().unwrap_or("-"), "socket connected");
    let limits = Limits {
        all: Bucket::new(Rate {
            per_second: config.rate_per_second.max(0.001),
            burst: config.burst.max(1.0),
        }),
        per_event: HashMap::new(),
    };
    let connection = Connection {
        registry,
        runtime,
        hub,
        claims: identity.claims,
        guest,
        kill,
        limits: Mutex::new(limits),
    };
    // Small buffers that grow on demand keep an idle socket cheap.
    upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .max_message_size(config.max_frame_bytes)
        .max_frame_size(config.max_frame_bytes)
        .on_upgrade(move |socket| run(connection, socket, rx))
}

async fn run(connection: Connection, socket: WebSocket, rx: mpsc::Receiver<Frame>) {
    let config = connection.hub.settings().clone();
    let (sink, mut stream) = socket.split();
    let writer = tokio::spawn(write(sink, rx, connection.kill.clone(), config.ping_secs));
    let idle = Duration::from_secs(config.idle_secs.max(1));
    // One timer for the socket's life, moved on only when it fires: re-arming a timer per
    // frame costs more than the frame on a busy socket.
    let mut last_frame = tokio::time::Instant::now();
    let deadline = tokio::time::sleep(idle);
    tokio::pin!(deadline);
    let why = loop {
        let message = tokio::select! {
            biased;
            message = stream.next() => message,
            () = &mut deadline => {
                if last_frame.elapsed() >= idle {
                    connection.kill.close(1001, "idle for too long");
                    break Ending::Idle;
                }
                deadline.as_mut().reset(last_frame + idle);
                continue;
            }
        };
        last_frame = tokio::time::Instant::now();
        match message {
            Some(Err(error)) => {
                let Some((code, reason)) = refusal(error) else {
                    break Ending::Lost;
                };
                connection.kill.close(code, reason);
                break Ending::Refused(reason);
            }
            None => break Ending::Lost,
            Some(Ok(Message::Close(_))) => break Ending::ClientClosed,
            Some(Ok(Message::Text(text))) => connection.handle(text.as_str()).await,
            Some(Ok(Message::Binary(_))) => connection.error(
                "bad_frame",
                "binary frames are not supported; send JSON text frames",
                None,
            ),
            Some(Ok(_)) => {} // ping and pong keep the socket alive
        }
    };
    connection.close(why.describe()).await;
    let _ = writer.await;
    if !why.host_started() {
        return;
    }
    // The host started the closing handshake: keep the connection until the client answers
    // (or a grace period ends), so it reads the close code rather than a reset.
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while let Some(Ok(message)) = stream.next().await {
            if let Message::Close(_) = message {
                return;
            }
        }
        // The stream ended on a refused frame: the client still has to read our close.
        std::future::pending::<()>().await
    })
    .await;
}

/// Why a socket stopped being read.
#[derive(Debug, Clone, Copy)]
enum Ending {
    /// The client sent its close frame.
    ClientClosed,
    /// The connection went away without one.
    Lost,
    /// Nothing came for `idle-secs`.
    Idle,
    /// The protocol refused a frame (too big, malformed, not UTF-8).
    Refused(&'static str),
}

impl Ending {
    fn describe(self) -> &'static str {
        match self {
            Ending::ClientClosed => "closed by the client",
            Ending::Lost => "connection lost",
            Ending::Idle => "idle",
            Ending::Refused(reason) => reason,
        }
    }

    /// Whether the host sent the first close frame, and so waits for the client's answer.
    fn host_started(self) -> bool {
        matches!(self, Ending::Idle | Ending::Refused(_))
    }
}

/// How long the host waits for a client to answer the close it started.
const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// The close code and reason for a frame the protocol refused (too big, malformed, not
/// UTF-8); `None` when the connection was simply lost.
fn refusal(error: axum::Error) -> Option<(u16, &'static str)> {
    use tungstenite::Error;
    match error.into_inner().downcast_ref::<Error>()? {
        Error::Capacity(_) => Some((1009, "frame too big")),
        Error::Protocol(_) => Some((1002, "protocol error")),
        Error::Utf8(_) => Some((1007, "text frame is not UTF-8")),
        _ => None,
    }
}

async fn write(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Frame>,
    kill: Arc<Kill>,
    ping_secs: u64,
) {
    let mut ping = tokio::time::interval(Duration::from_secs(ping_secs.max(1)));
    ping.tick().await;
    // One waiter for the whole life of the socket, not one per frame.
    let killed = kill.wait();
    tokio::pin!(killed);
    loop {
        // Frames first: a ready frame is taken without polling the close and ping timers.
        tokio::select! {
            biased;
            frame = rx.recv() => {
                // None: the hub let go of the socket, which is closing.
                let Some(frame) = frame else { break };
                // An error here may be the client's close arriving first: the close below
                // still flushes tungstenite's reply to it.
                if sink.send(Message::Text(frame)).await.is_err() {
                    break;
                }
            }
            () = &mut killed => break,
            _ = ping.tick() => {
                if sink.send(Message::Ping(Default::default())).await.is_err() {
                    break;
                }
            }
        }
    }
    // Starts the closing handshake; when the client started it, sending is refused and
    // closing the sink flushes the reply tungstenite queued when it read the client's close.
    let (code, reason) = kill.reason();
    let close = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = sink.send(Message::Close(Some(close))).await;
    let _ = sink.close().await;
}

/// A client frame: `{"event", "data", "id"?}`.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientFrame {
    event: String,
    /// Kept as text: the module gets it as it came, and it is parsed only to be checked.
    data: Option<Box<serde_json::value::RawValue>>,
    id: Option<serde_json::Value>,
}

impl Connection {
    fn namespace(&self) -> &str {
        &self.guest.namespace
    }

    /// The module serving the socket's namespace now: a swap takes effect at the next
    /// message.
    fn serving_module(&self) -> Option<Arc<LoadedModule>> {
        self.registry
            .snapshot()
            .namespace(self.namespace())
            .cloned()
    }

    fn error(&self, code: &str, message: &str, id: Option<&str>) {
        let hub = &self.hub;
        hub.metrics()
            .rejections
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        hub.send(
            self.namespace(),
            Target::Socket(&self.guest.socket_id),
            error_frame(code, message, id),
        );
    }

    async fn handle(&self, text: &str) {
        let hub = &self.hub;
        hub.metrics()
            .messages_in
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let frame: ClientFrame = match serde_json::from_str(text) {
            Ok(frame) => frame,
            Err(e) => {
                return self.error(
                    "bad_frame",
                    &format!(
                        "frames are JSON {{\"event\": NAME, \"data\": PAYLOAD, \"id\"?: ID}}: {e}"
                    ),
                    None,
                );
            }
        };
        let id = frame.id.map(|id| match id {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        });
        let request_id = uuid::Uuid::new_v4().to_string();
        let span = tracing::info_span!(
            "ws", namespace = %self.guest.namespace, socket_id = %self.guest.socket_id,
            event = %frame.event, request_id = %request_id
        );
        async {
            let Some(module) = self.serving_module() else {
                return self.error(
                    "unavailable",
                    "no module serves this namespace now",
                    id.as_deref(),
                );
            };
            let data = frame.data.as_deref().map_or("null", |raw| raw.get());
            if let Err(refusal) = self.admit(&module, &frame.event, data) {
                tracing::info!(
                    code = refusal.code,
                    "message refused by the host: {}",
                    refusal.message
                );
                return self.error(refusal.code, &refusal.message, id.as_deref());
            }
            let message = GuestMessage {
                event: frame.event,
                data: data.to_string(),
                id: id.clone(),
            };
            let socket = handling(&self.guest, id.clone());
            match handler::on_message(&module, &self.runtime, &self.guest, &message, socket).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::info!(
                        code = error.code(),
                        "message refused by the module: {}",
                        error.message()
                    );
                    self.error(error.code(), error.message(), id.as_deref())
                }
                Err(error) => {
                    tracing::warn!("{error}");
                    self.error(error.code(), &error.message(), id.as_deref());
                }
            }
        }
        .instrument(span)
        .await
    }

    /// The host's checks before the module runs: the connection's rate, the event's guard,
    /// schema and rate.
    fn admit(&self, module: &LoadedModule, event: &str, data: &str) -> Result<(), Refusal> {
        let limited = |what: String| Refusal {
            code: "rate_limited",
            message: format!("{what}; slow down"),
        };
        let mut limits = self.limits.lock().unwrap();
        if !limits.all.take() {
            return Err(limited("too many messages on this connection".into()));
        }
        let Some(rules) = module.context.part::<WsModule>().map(|ws| &ws.rules) else {
            return Ok(());
        };
        if rules.declares(event) {
            // Already checked to be JSON when the frame was read.
            let data = serde_json::from_str(data).unwrap_or_default();
            rules.check(event, &data, &self.claims)?;
        }
        if let Some(rate) = rules.rate(event) {
            let bucket = limits
                .per_event
                .entry(event.to_string())
                .or_insert_with(|| Bucket::new(rate));
            if !bucket.take() {
                return Err(limited(format!(
                    "too many '{event}' messages (at most {} per second)",
                    rate.per_second
                )));
            }
        }
        Ok(())
    }

    async fn close(&self, why: &str) {
        self.hub.unregister(self.namespace(), &self.guest.socket_id);
        self.kill.close(1000, "");
        tracing::info!(namespace = %self.namespace(), socket_id = %self.guest.socket_id, why, "socket closed");
        let Some(module) = self.serving_module() else {
            return;
        };
        let socket = handling(&self.guest, None);
        if let Err(error) =
            handler::on_disconnect(&module, &self.runtime, &self.guest, socket).await
        {
            tracing::warn!(namespace = %self.namespace(), "on-disconnect failed: {error}");
        }
    }
}

/// Puts the socket, handling message `message_id`, into an invocation: what the module's
/// `ws` calls (reply, join, …) act on.
fn handling(
    guest: &GuestConnection,
    message_id: Option<String>,
) -> impl FnOnce(&mut InvocationState) + use<> {
    let socket = CurrentSocket {
        namespace: guest.namespace.clone(),
        socket_id: guest.socket_id.clone(),
        message_id,
    };
    move |state| state.part::<WsInvocation>().current = Some(socket)
}
