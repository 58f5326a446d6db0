//! Delivery: one loop per tenant that has a module allowed to send mail. Each claims the
//! tenant's due messages from the jobs table (queue `@mail`, a name no module can use),
//! hands them to the transport a few at a time, and records the outcome: done, retry with
//! the queue's backoff, or dead letter (at once when the server refused the message for
//! good). Dead letters are the queue's: `host queue dead`, `host queue retry ID`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};

use super::delivery::{Failure, QueuedMail, Transport};
use super::rate::SendRate;
use super::settings::MailConfig;
use crate::capabilities::orm::OrmStore;
use crate::capabilities::queue::QueueConfig;
use crate::capabilities::queue::store::{self, ClaimedJob};

/// The queue mail jobs are written to; `@` keeps module queue names out.
pub const MAIL_QUEUE: &str = "@mail";

/// The host's mail delivery.
pub struct Mailer {
    pub(super) store: Arc<OrmStore>,
    pub(super) transport: Transport,
    pub(super) config: MailConfig,
    pub(super) rate: SendRate,
    queue: QueueConfig,
    loops: Mutex<HashMap<String, Arc<Notify>>>,
}

impl Mailer {
    /// Delivery through `transport` of the messages queued in `store`'s database.
    pub fn new(
        store: Arc<OrmStore>,
        transport: Transport,
        config: MailConfig,
        queue: QueueConfig,
    ) -> Mailer {
        Mailer {
            store,
            transport,
            config,
            rate: SendRate::default(),
            queue,
            loops: Mutex::default(),
        }
    }

    /// Starts the loop of each tenant in `tenants` that has none yet.
    pub fn deliver_for<'a>(self: &Arc<Self>, tenants: impl Iterator<Item = &'a str>) {
        let mut loops = self.loops.lock().unwrap();
        for tenant in tenants {
            if loops.contains_key(tenant) {
                continue;
            }
            let wake = Arc::new(Notify::new());
            loops.insert(tenant.to_string(), wake.clone());
            tokio::spawn(run(self.clone(), tenant.to_string(), wake));
        }
    }

    /// Tells `tenant`'s loop that a message is due.
    pub fn wake(&self, tenant: &str) {
        if let Some(wake) = self.loops.lock().unwrap().get(tenant) {
            wake.notify_one();
        }
    }
}

/// The loop of one tenant; runs as long as the host.
async fn run(mailer: Arc<Mailer>, tenant: String, wake: Arc<Notify>) {
    let slots = Arc::new(Semaphore::new(mailer.config.concurrency));
    let poll = Duration::from_millis(mailer.queue.poll_ms);
    loop {
        // A slot first: when all are busy, the loop waits for one to free (not for the
        // next poll), then claims as many messages as there are free slots.
        let Ok(first) = slots.clone().acquire_owned().await else {
            return;
        };
        let claimed = claim(&mailer, &tenant, slots.available_permits() + 1).await;
        if claimed.is_empty() {
            drop(first);
            let _ = tokio::time::timeout(poll, wake.notified()).await;
            continue;
        }
        let mut first = Some(first);
        for job in claimed {
            let permit = match first.take() {
                Some(permit) => permit,
                None => match slots.clone().acquire_owned().await {
                    Ok(permit) => permit,
                    Err(_) => return,
                },
            };
            let mailer = mailer.clone();
            let tenant = tenant.clone();
            tokio::spawn(async move {
                attempt(&mailer, &tenant, job).await;
                drop(permit);
            });
        }
    }
}

async fn claim(mailer: &Mailer, tenant: &str, limit: usize) -> Vec<ClaimedJob> {
    let Ok(pool) = mailer.store.pool().await else {
        return Vec::new();
    };
    // A message whose host died mid-delivery is claimed again once its lease ends.
    let lease = mailer
        .config
        .smtp
        .as_ref()
        .map_or(30_000, |s| s.timeout_ms as i64 * 2)
        + 5_000;
    store::claim(pool, tenant, MAIL_QUEUE, limit, lease)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(tenant, "cannot claim mail to deliver: {e}");
            Vec::new()
        })
}

/// One delivery attempt and its outcome.
async fn attempt(mailer: &Mailer, tenant: &str, job: ClaimedJob) {
    let outcome = match serde_json::from_str::<QueuedMail>(&job.payload) {
        Ok(mail) => mailer.transport.deliver(tenant, &mail).await.map(|()| mail),
        Err(e) => Err(Failure::Permanent(format!(
            "the queued message is damaged: {e}"
        ))),
    };
    let Ok(pool) = mailer.store.pool().await else {
        return;
    };
    let recorded = match &outcome {
        Ok(mail) => {
            tracing::info!(tenant, message_id = %mail.id, to = mail.to.len(), via = %mailer.transport.describe(), "mail sent");
            store::complete(pool, &job.id).await
        }
        Err(failure) => {
            let retry_at = match failure {
                Failure::Transient(_) if job.attempt < job.max_attempts => {
                    Some(store::now_ms() + mailer.queue.backoff_ms(job.attempt) as i64)
                }
                _ => None,
            };
            let next = if retry_at.is_some() {
                "will retry"
            } else {
                "dead letter"
            };
            tracing::warn!(
                tenant, job_id = %job.id, attempt = job.attempt, max_attempts = job.max_attempts,
                "mail not delivered ({next}): {failure}"
            );
            store::fail(pool, &job.id, &failure.to_string(), retry_at).await
        }
    };
    if let Err(e) = recorded {
        tracing::error!(job_id = %job.id, "cannot record the mail's outcome (it will be sent again): {e}");
    }
}
