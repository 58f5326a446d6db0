//! `[mail]` in host.toml: where mail goes (an outbox folder, or an SMTP server), how much a
//! tenant may send, and the limits every message is checked against.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// Mail settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MailConfig {
    /// The folder `.eml` files are written to when there is no `[mail.smtp]`; default:
    /// `outbox` in the host's data folder (`data/outbox` beside the plugins folder).
    pub outbox: Option<PathBuf>,
    /// An SMTP server to hand messages to instead of the outbox.
    pub smtp: Option<SmtpConfig>,
    /// Messages one tenant may send per minute (on this host).
    #[serde(default = "default_per_minute")]
    pub per_minute: u32,
    /// Per-tenant exceptions to `per-minute`, e.g. `{ acme = 600 }`.
    #[serde(default)]
    pub tenant_per_minute: BTreeMap<String, u32>,
    /// Recipients (to, cc and bcc together) of one message.
    #[serde(default = "default_max_recipients")]
    pub max_recipients: usize,
    /// Size of one message as sent, attachments included (encoded).
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: usize,
    /// Delivery attempts before a message is a dead letter (an SMTP 5xx answer is one at once).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Messages handed over at once, per tenant.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
}

impl Default for MailConfig {
    fn default() -> Self {
        MailConfig {
            outbox: None,
            smtp: None,
            per_minute: default_per_minute(),
            tenant_per_minute: BTreeMap::new(),
            max_recipients: default_max_recipients(),
            max_message_bytes: default_max_message_bytes(),
            max_attempts: default_max_attempts(),
            concurrency: default_concurrency(),
        }
    }
}

impl MailConfig {
    /// Messages `tenant` may send per minute.
    pub fn per_minute_of(&self, tenant: &str) -> u32 {
        self.tenant_per_minute
            .get(tenant)
            .copied()
            .unwrap_or(self.per_minute)
    }

    /// Checks the numbers and the SMTP settings.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_recipients == 0 || self.max_attempts == 0 || self.concurrency == 0 {
            return Err(
                "mail: max-recipients, max-attempts and concurrency must be at least 1".into(),
            );
        }
        if self.max_message_bytes < 1024 {
            return Err("mail: max-message-bytes must be at least 1024".into());
        }
        if let Some(smtp) = &self.smtp {
            if smtp.host.is_empty() {
                return Err("mail.smtp: host must name the SMTP server".into());
            }
            if smtp.username.is_some() != smtp.password.is_some() {
                return Err("mail.smtp: give both username and password, or neither".into());
            }
        }
        Ok(())
    }
}

/// `[mail.smtp]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SmtpConfig {
    /// The server's name (also the name its TLS certificate must carry).
    pub host: String,
    /// Its port; default 587 for `starttls`, 465 for `tls`, 25 for `none`.
    pub port: Option<u16>,
    /// How the connection is protected.
    #[serde(default)]
    pub tls: SmtpTls,
    /// Login, if the server asks for one.
    pub username: Option<String>,
    /// Password for `username`.
    pub password: Option<String>,
    /// Connections kept open to the server.
    #[serde(default = "default_pool_size")]
    pub pool_size: u32,
    /// A PEM file of a certificate authority to trust besides the public roots (a relay
    /// whose certificate a private CA signed).
    pub ca_file: Option<PathBuf>,
    /// How long one exchange with the server may take.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
}

/// `tls` in `[mail.smtp]`.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum SmtpTls {
    /// Plain connection upgraded with STARTTLS, which the server must offer.
    #[default]
    Starttls,
    /// TLS from the first byte (SMTPS).
    Tls,
    /// No encryption: only for a relay on the same machine or a test server.
    None,
}

impl SmtpConfig {
    /// The port, or the usual one for `tls`.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            SmtpTls::Starttls => 587,
            SmtpTls::Tls => 465,
            SmtpTls::None => 25,
        })
    }
}

fn default_per_minute() -> u32 {
    60
}

fn default_max_recipients() -> usize {
    50
}

fn default_max_message_bytes() -> usize {
    10 << 20
}

fn default_max_attempts() -> u32 {
    5
}

/// lettre leaves Nagle's algorithm on, so each message waits ~40 ms for the server's
/// delayed ACK: throughput comes from connections in parallel.
fn default_concurrency() -> usize {
    8
}

fn default_pool_size() -> u32 {
    8
}

fn default_timeout_ms() -> u64 {
    30_000
}
