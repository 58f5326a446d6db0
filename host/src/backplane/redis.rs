//! The Redis backplane: PUBLISH on a multiplexed connection, PSUBSCRIBE on a dedicated one
//! that is re-established when Redis goes away.

use std::time::Duration;

use futures_util::StreamExt as _;
use redis::AsyncCommands as _;
use tokio::sync::mpsc;

use super::{Backplane, BoxFuture, Message};
use crate::config::redact;

/// Messages buffered per subscription before the reader waits.
const BUFFER: usize = 4096;

/// A Redis server used as the backplane.
pub struct RedisBackplane {
    client: redis::Client,
    publisher: redis::aio::MultiplexedConnection,
    url: String,
}

impl RedisBackplane {
    /// Connects (and checks the server answers).
    pub async fn connect(url: &str) -> Result<RedisBackplane, String> {
        let fail = |e: redis::RedisError| {
            format!(
                "cannot reach the backplane at {}: {e}; is Redis running?",
                redact(url)
            )
        };
        let client = redis::Client::open(url).map_err(fail)?;
        let publisher = client
            .get_multiplexed_async_connection()
            .await
            .map_err(fail)?;
        Ok(RedisBackplane {
            client,
            publisher,
            url: redact(url),
        })
    }
}

impl Backplane for RedisBackplane {
    fn publish(&self, channel: String, payload: Vec<u8>) -> BoxFuture<'_, Result<(), String>> {
        let mut connection = self.publisher.clone();
        Box::pin(async move {
            connection
                .publish::<_, _, ()>(channel, payload)
                .await
                .map_err(|e| format!("backplane publish failed: {e}"))
        })
    }

    fn subscribe(&self, prefix: String) -> BoxFuture<'_, Result<mpsc::Receiver<Message>, String>> {
        let client = self.client.clone();
        Box::pin(async move {
            let (tx, rx) = mpsc::channel(BUFFER);
            let pattern = format!("{prefix}*");
            // The first subscription happens before returning, so nothing published after
            // `subscribe` returns is missed.
            let pubsub = open(&client, &pattern).await?;
            tokio::spawn(forward(client, pattern, pubsub, tx));
            Ok(rx)
        })
    }

    fn describe(&self) -> String {
        self.url.clone()
    }
}

async fn open(client: &redis::Client, pattern: &str) -> Result<redis::aio::PubSub, String> {
    let mut pubsub = client
        .get_async_pubsub()
        .await
        .map_err(|e| format!("backplane subscribe failed: {e}"))?;
    pubsub
        .psubscribe(pattern)
        .await
        .map_err(|e| format!("backplane subscribe failed: {e}"))?;
    Ok(pubsub)
}

/// Forwards messages until the receiver is dropped, reconnecting when Redis goes away.
async fn forward(
    client: redis::Client,
    pattern: String,
    mut pubsub: redis::aio::PubSub,
    tx: mpsc::Sender<Message>,
) {
    loop {
        {
            let mut stream = pubsub.on_message();
            while let Some(message) = stream.next().await {
                let channel = message.get_channel_name().to_string();
                let payload: Vec<u8> = message.get_payload().unwrap_or_default();
                if tx.send((channel, payload)).await.is_err() {
                    return;
                }
            }
        }
        tracing::warn!("lost the backplane subscription; reconnecting");
        pubsub = loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            match open(&client, &pattern).await {
                Ok(p) => break p,
                Err(e) => tracing::warn!("{e}"),
            }
        };
    }
}
