//! The backplane: a publish/subscribe channel between host instances, so events emitted on
//! one host reach subscribers on another (and, later, WebSocket rooms and presence).
//! Backends implement [`Backplane`]; Redis is the first (`redis://…`), and NATS fits the same
//! two operations.

mod redis;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::mpsc;

/// A message received from the backplane: its channel and payload.
pub type Message = (String, Vec<u8>);

/// A boxed future, so backends can sit behind `dyn Backplane`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Publish to a channel; receive what every host publishes on channels under a prefix.
pub trait Backplane: Send + Sync {
    /// Sends `payload` on `channel` to every subscribed host (this one included).
    fn publish(&self, channel: String, payload: Vec<u8>) -> BoxFuture<'_, Result<(), String>>;

    /// Messages on every channel that starts with `prefix`, for as long as the host runs;
    /// the backend reconnects by itself.
    fn subscribe(&self, prefix: String) -> BoxFuture<'_, Result<mpsc::Receiver<Message>, String>>;

    /// The URL without credentials, for logs.
    fn describe(&self) -> String;
}

/// Sends `message` as JSON on `channel` without waiting; a failure is logged as `what` did
/// not reach the other hosts.
pub fn publish_json<T: serde::Serialize + Send + 'static>(
    backplane: &Arc<dyn Backplane>,
    channel: String,
    message: T,
    what: &'static str,
) {
    let backplane = backplane.clone();
    tokio::spawn(async move {
        let payload = serde_json::to_vec(&message).unwrap_or_default();
        if let Err(e) = backplane.publish(channel, payload).await {
            tracing::error!("{what} did not reach the other hosts: {e}");
        }
    });
}

/// Connects to the backplane at `url` (`redis://host:port`).
pub async fn connect(url: &str) -> Result<Arc<dyn Backplane>, String> {
    let scheme = url.split("://").next().unwrap_or_default();
    match scheme {
        "redis" | "rediss" => Ok(Arc::new(redis::RedisBackplane::connect(url).await?)),
        _ => Err(format!(
            "backplane URL '{url}' is not supported; use redis://HOST:PORT (NATS is planned)"
        )),
    }
}
