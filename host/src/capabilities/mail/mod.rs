//! `mail`: modules send messages through the WIT `mail` interface; the host queues each on
//! its durable queue in the invocation's transaction and delivers it afterwards, to an
//! outbox folder of `.eml` files (`data/outbox` beside the plugins, the default) or to an
//! SMTP server (host.toml `[mail.smtp]`). The grant's scopes are sender addresses
//! (`mail = ["noreply@shop.example"]`, or `["*@shop.example"]`).
//!
//! The code: `message.rs` checks and renders a message, `host.rs` is the interface,
//! `sender.rs` the delivery loops, `delivery.rs` the outbox and SMTP, `rate.rs` the
//! per-tenant pace, `settings.rs` host.toml's `[mail]`.

mod delivery;
mod host;
mod life_cycle;
pub mod message;
mod rate;
mod sender;
pub mod settings;

use serde::Deserialize;

pub use delivery::QueuedMail;
pub use sender::{MAIL_QUEUE, Mailer};
pub use settings::MailConfig;

use crate::capabilities::orm::OrmSession;
use crate::runtime::CapabilityDescriptor;
use crate::runtime::bindings::plughost::platform::mail;
use crate::runtime::state::PREPARED;

/// The mail capability.
pub const CAPABILITY: CapabilityDescriptor = CapabilityDescriptor {
    name: "mail",
    interface: "plughost:platform/mail",
    standard_interfaces: &[],
    always_granted: false,
    link: |linker| {
        mail::add_to_linker::<_, host::MailCapability>(linker, |state| {
            let (orm, pending) = state.capabilities.pair_mut::<OrmSession, PendingMail>();
            host::MailView {
                module: &state.module,
                orm: orm.expect(PREPARED),
                pending: pending.expect(PREPARED),
            }
        })
    },
    start: Some(life_cycle::start),
    manifest_section: Some("mail"),
    host_section: Some("mail"),
    configure: Some(|manifest, context| {
        let spec: MailSpec = manifest.section("mail")?;
        if let Some(from) = spec.from {
            message::mailbox("mail.from", &from)?;
            context.parts.insert(DefaultSender(from));
        }
        Ok(())
    }),
    handler: None,
};

/// `[mail]` in plugin.toml.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailSpec {
    /// The sender of messages that name none (`"Shop <noreply@shop.example>"`); the
    /// grant must cover it.
    pub from: Option<String>,
}

/// The module's `[mail] from`.
#[derive(Debug, Clone)]
pub struct DefaultSender(pub String);

/// What one invocation queued.
pub struct PendingMail {
    mailer: std::sync::Arc<Mailer>,
    /// Messages written when the invocation succeeds (none was in a transaction).
    jobs: Vec<crate::capabilities::queue::NewJob>,
    /// Bytes queued so far.
    bytes: usize,
    /// Whether the tenant's queue had room at the first message.
    room_checked: bool,
    /// Whether some message was written inside the ORM transaction.
    in_transaction: bool,
}
