//! The `mail` interface: the message checked (shape, then the sender against the grant,
//! then the tenant's rate), rendered, and written as a job on the `@mail` queue: inside
//! an open ORM transaction in that transaction, otherwise when the invocation succeeds.

use std::sync::Arc;

use wasmtime::component::HasData;

use super::delivery::QueuedMail;
use super::message::{self, Limits};
use super::sender::{MAIL_QUEUE, Mailer};
use super::{DefaultSender, PendingMail};
use crate::capabilities::orm::OrmSession;
use crate::capabilities::queue::{NewJob, store};
use crate::runtime::ModuleContext;
use crate::runtime::bindings::GuestError;
use crate::runtime::bindings::plughost::platform::mail::{Host, Message};

/// Marker tying the interface to its view.
pub struct MailCapability;

impl HasData for MailCapability {
    type Data<'a> = MailView<'a>;
}

/// What sending sees: the module, its ORM session, the mail it queued so far, the mailer.
pub struct MailView<'a> {
    pub module: &'a Arc<ModuleContext>,
    pub orm: &'a mut OrmSession,
    pub pending: &'a mut PendingMail,
}

impl Host for MailView<'_> {
    async fn send(&mut self, message: Message) -> Result<String, GuestError> {
        let mailer = self.pending.mailer.clone();
        let sender = self.sender(&message)?;
        let limits = Limits {
            max_recipients: mailer.config.max_recipients,
            max_message_bytes: mailer.config.max_message_bytes,
        };
        let composed = message::compose(&message, &sender, limits).map_err(GuestError::Invalid)?;
        self.module
            .check("mail", &composed.sender)
            .map_err(|denied| GuestError::Denied(denied.reason))?;
        self.within_budget(&mailer, composed.eml.len())?;
        self.check_queue_room().await?;
        let tenant = &self.module.tenant;
        if !mailer
            .rate
            .take(tenant, mailer.config.per_minute_of(tenant))
        {
            return Err(self.over_limit(format!(
                "tenant '{tenant}' has sent its {} messages of this minute; try again later \
                 (host.toml [mail] per-minute)",
                mailer.config.per_minute_of(tenant)
            )));
        }
        let payload = serde_json::to_string(&QueuedMail::of(&composed))
            .map_err(|e| GuestError::Internal(format!("cannot queue the message: {e}")))?;
        let job = NewJob {
            id: uuid::Uuid::new_v4().to_string(),
            tenant: tenant.clone(),
            queue: MAIL_QUEUE.to_string(),
            payload,
            delay_ms: 0,
            max_attempts: mailer.config.max_attempts,
            source: self.module.name.clone(),
        };
        self.pending.bytes += composed.eml.len();
        if self.orm.current_transaction().is_some() {
            // Same database: the message commits or rolls back with the module's data.
            self.orm
                .run(async |target| store::insert(target, &job).await)
                .await
                .map_err(GuestError::from)?;
            self.pending.in_transaction = true;
        } else {
            self.pending.jobs.push(job);
        }
        Ok(composed.id)
    }
}

impl MailView<'_> {
    /// The message's sender, or the module's `[mail] from`.
    fn sender(&self, message: &Message) -> Result<String, GuestError> {
        if let Some(from) = &message.from {
            return Ok(from.clone());
        }
        match self.module.part::<DefaultSender>() {
            Some(DefaultSender(from)) => Ok(from.clone()),
            None => Err(GuestError::Invalid(
                "from: the message names no sender and the module has no default; \
                 set `from` or `[mail] from` in plugin.toml"
                    .into(),
            )),
        }
    }

    /// An invocation queues at most four times the largest message, so a module cannot
    /// make the host hold an unbounded batch until it finishes.
    fn within_budget(&self, mailer: &Mailer, size: usize) -> Result<(), GuestError> {
        let budget = mailer.config.max_message_bytes.saturating_mul(4);
        if self.pending.bytes + size > budget {
            return Err(self.over_limit(format!(
                "this invocation has queued {} bytes of mail; one invocation queues at most \
                 {budget} bytes (four times host.toml [mail] max-message-bytes)",
                self.pending.bytes
            )));
        }
        Ok(())
    }

    /// At the invocation's first message: the tenant's jobs (mail included) are under its
    /// cap, so mail that cannot go out does not pile up without end.
    async fn check_queue_room(&mut self) -> Result<(), GuestError> {
        if self.pending.room_checked {
            return Ok(());
        }
        let tenant = self.module.tenant.clone();
        let waiting = crate::capabilities::queue::waiting_jobs(self.orm, &tenant).await?;
        if waiting >= self.module.max_queued_jobs {
            return Err(self.over_limit(format!(
                "tenant '{tenant}' has {waiting} jobs and messages waiting, its limit; \
                 messages are refused until some are delivered"
            )));
        }
        self.pending.room_checked = true;
        Ok(())
    }

    fn over_limit(&self, message: String) -> GuestError {
        let metrics = &self.module.metrics;
        metrics
            .over_limit
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        tracing::warn!(module = %self.module.name, tenant = %self.module.tenant, "mail refused: {message}");
        GuestError::Invalid(message)
    }
}
