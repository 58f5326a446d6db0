//! Mail's life cycle: the transport and delivery loops made at start (over the ORM's
//! database, with the queue's backoff), the jobs table made when a module that may send
//! loads, the messages of an invocation written when it succeeds, a delivery loop for
//! each tenant that has a module allowed to send.

use std::any::Any;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use super::delivery::Transport;
use super::sender::Mailer;
use super::{MailConfig, PendingMail};
use crate::capabilities::orm::OrmStore;
use crate::capabilities::orm::backend::Target;
use crate::capabilities::queue::{QueueWorkers, store};
use crate::runtime::bindings::GuestError;
use crate::runtime::state::PREPARED;
use crate::runtime::{Capability, InvocationState, LoadedModule, ModuleContext, StartContext};

/// *start*: host.toml's `[mail]`: SMTP when `[mail.smtp]` is there, else the outbox folder.
pub fn start(context: &StartContext<'_>) -> anyhow::Result<Arc<dyn Capability>> {
    let store = context.started.get::<OrmStore>().ok_or_else(|| {
        anyhow::anyhow!("mail queues messages in the ORM's database; list orm before mail")
    })?;
    let queue = context.started.get::<QueueWorkers>().ok_or_else(|| {
        anyhow::anyhow!("mail retries with the queue's backoff; list queue before mail")
    })?;
    let config: MailConfig = context.host.section("mail").map_err(anyhow::Error::msg)?;
    config.validate().map_err(anyhow::Error::msg)?;
    let transport = match &config.smtp {
        Some(smtp) => Transport::smtp(smtp)?,
        None => Transport::Outbox(
            config
                .outbox
                .clone()
                .unwrap_or_else(|| context.host.data_dir().join("outbox")),
        ),
    };
    tracing::debug!("mail goes to the {}", transport.describe());
    let mailer = Mailer::new(store, transport, config, queue.config().clone());
    Ok(Arc::new(Mail {
        mailer: Arc::new(mailer),
    }))
}

/// Mail's phases over its mailer.
struct Mail {
    mailer: Arc<Mailer>,
}

impl Capability for Mail {
    fn as_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self.mailer.clone()
    }

    fn load<'a>(&'a self, module: &'a LoadedModule) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            if !module.context.grant.has("mail") {
                return Ok(());
            }
            let pool = self
                .mailer
                .store
                .pool()
                .await
                .map_err(|e| format!("mail: {e}"))?;
            store::ensure_table(pool)
                .await
                .map_err(|e| format!("mail: {e}"))
        })
    }

    fn prepare(&self, _module: &Arc<ModuleContext>, state: &mut InvocationState) {
        state.capabilities.insert(PendingMail {
            mailer: self.mailer.clone(),
            jobs: Vec::new(),
            bytes: 0,
            room_checked: false,
            in_transaction: false,
        });
    }

    fn finish<'a>(
        &'a self,
        state: &'a mut InvocationState,
        succeeded: bool,
    ) -> Option<BoxFuture<'a, Result<(), GuestError>>> {
        let tenant = state.module.tenant.clone();
        let pending = state.capabilities.get_mut::<PendingMail>().expect(PREPARED);
        if !succeeded {
            return None;
        }
        if pending.in_transaction {
            // Committed by the ORM's finish, which runs first.
            self.mailer.wake(&tenant);
        }
        if pending.jobs.is_empty() {
            return None;
        }
        let jobs = std::mem::take(&mut pending.jobs);
        Some(Box::pin(async move {
            self.enqueue(&jobs).await.map_err(|e| {
                GuestError::Internal(format!(
                    "the invocation succeeded but its mail could not be queued: {e}"
                ))
            })?;
            self.mailer.wake(&tenant);
            Ok(())
        }))
    }

    fn serving(&self, modules: &[Arc<LoadedModule>]) {
        let senders = modules
            .iter()
            .filter(|m| m.context.grant.has("mail"))
            .map(|m| m.context.tenant.as_str());
        self.mailer.deliver_for(senders);
    }
}

impl Mail {
    async fn enqueue(
        &self,
        jobs: &[crate::capabilities::queue::NewJob],
    ) -> Result<(), crate::capabilities::orm::OrmError> {
        let pool = self.mailer.store.pool().await?;
        let mut tx = pool.begin_bookkeeping().await?;
        for job in jobs {
            store::insert(Target::Transaction(&mut tx), job).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
