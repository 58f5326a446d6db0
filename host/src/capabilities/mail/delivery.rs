//! Where a queued message goes: the outbox folder (one readable `.eml` file per message,
//! so a developer sees what would be sent) or an SMTP server through a pool of `lettre`
//! connections. A failure says whether trying again may help.

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use lettre::address::{Address, Envelope};
use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::{Deserialize, Serialize};

use super::message::Composed;
use super::settings::{SmtpConfig, SmtpTls};

/// A message as the job's payload carries it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueuedMail {
    /// Message-ID.
    pub id: String,
    /// The envelope sender.
    pub from: String,
    /// Every envelope recipient (bcc included).
    pub to: Vec<String>,
    /// The subject, for listings.
    pub subject: String,
    /// The message's bytes, base64 (shown last, so a dead-letter listing reads first
    /// who it was for).
    pub eml: String,
}

impl QueuedMail {
    /// The payload of `composed`.
    pub fn of(composed: &Composed) -> QueuedMail {
        QueuedMail {
            id: composed.id.clone(),
            from: composed.sender.clone(),
            to: composed.recipients.clone(),
            subject: composed.subject.clone(),
            eml: base64::engine::general_purpose::STANDARD.encode(&composed.eml),
        }
    }

    fn bytes(&self) -> Result<Vec<u8>, Failure> {
        base64::engine::general_purpose::STANDARD
            .decode(&self.eml)
            .map_err(|e| Failure::Permanent(format!("the queued message is damaged: {e}")))
    }

    fn envelope(&self) -> Result<Envelope, Failure> {
        let parse = |a: &str| {
            a.parse::<Address>().map_err(|e| {
                Failure::Permanent(format!("the queued address '{a}' is damaged: {e}"))
            })
        };
        let to = self.to.iter().map(|a| parse(a)).collect::<Result<_, _>>()?;
        Envelope::new(Some(parse(&self.from)?), to)
            .map_err(|e| Failure::Permanent(format!("the queued envelope is damaged: {e}")))
    }
}

/// Why a message did not go out.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    /// Trying again will not help (the server refused the message or a recipient).
    #[error("{0}")]
    Permanent(String),
    /// It may go out later (the server is down, busy or dropped the connection).
    #[error("{0}")]
    Transient(String),
}

/// The host's way out for mail.
pub enum Transport {
    /// `.eml` files in a folder.
    Outbox(PathBuf),
    /// An SMTP server.
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        server: String,
        /// The longest one hand-over may take, whatever the server does.
        limit: Duration,
    },
}

impl Transport {
    /// The SMTP server of `config`, connected lazily (the first message opens the pool).
    pub fn smtp(config: &SmtpConfig) -> anyhow::Result<Transport> {
        let port = config.port();
        let builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.clone());
        let tls = match config.tls {
            SmtpTls::None => Tls::None,
            SmtpTls::Starttls => Tls::Required(tls_parameters(config)?),
            SmtpTls::Tls => Tls::Wrapper(tls_parameters(config)?),
        };
        let mut builder = builder
            .port(port)
            .tls(tls)
            .timeout(Some(Duration::from_millis(config.timeout_ms)))
            .pool_config(PoolConfig::new().max_size(config.pool_size.max(1)));
        if let (Some(user), Some(password)) = (&config.username, &config.password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
        }
        Ok(Transport::Smtp {
            transport: builder.build(),
            server: format!("{}:{port}", config.host),
            limit: Duration::from_millis(config.timeout_ms.saturating_mul(2)),
        })
    }

    /// Where messages go, for the log.
    pub fn describe(&self) -> String {
        match self {
            Transport::Outbox(dir) => format!("outbox {}", dir.display()),
            Transport::Smtp { server, .. } => format!("smtp {server}"),
        }
    }

    /// Hands `mail` over.
    pub async fn deliver(&self, tenant: &str, mail: &QueuedMail) -> Result<(), Failure> {
        let eml = mail.bytes()?;
        match self {
            Transport::Outbox(dir) => write_outbox(dir.clone(), tenant, mail, eml).await,
            Transport::Smtp {
                transport,
                server,
                limit,
            } => {
                let envelope = mail.envelope()?;
                // lettre's timeout covers each read and write, not a server that keeps a
                // conversation going without end: the slot is freed after `limit` anyway.
                let sent = tokio::time::timeout(*limit, transport.send_raw(&envelope, &eml))
                    .await
                    .map_err(|_| {
                        Failure::Transient(format!("{server} did not finish within {limit:?}"))
                    })?;
                match sent {
                    Ok(_) => Ok(()),
                    Err(e) if e.is_permanent() => Err(Failure::Permanent(format!(
                        "{server} refused the message: {e}"
                    ))),
                    Err(e) => Err(Failure::Transient(format!("{server}: {e}"))),
                }
            }
        }
    }
}

/// TLS to `config.host` (the name its certificate must carry), trusting the public roots
/// and `ca-file`, if given.
fn tls_parameters(config: &SmtpConfig) -> anyhow::Result<TlsParameters> {
    let mut builder = TlsParameters::builder(config.host.clone());
    if let Some(path) = &config.ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| anyhow::anyhow!("mail.smtp.ca-file {}: {e}", path.display()))?;
        let certificate = Certificate::from_pem(&pem).map_err(|e| {
            anyhow::anyhow!(
                "mail.smtp.ca-file {} is not a PEM certificate: {e}",
                path.display()
            )
        })?;
        builder = builder.add_root_certificate(certificate);
    }
    Ok(builder.build_rustls()?)
}

/// Writes `TIME-ID.eml` into the outbox, aside then renamed, so a reader never sees half
/// a file. The envelope (bcc recipients included) is written as `X-Plughost-…` headers
/// above the message, for the developer reading it.
async fn write_outbox(
    dir: PathBuf,
    tenant: &str,
    mail: &QueuedMail,
    eml: Vec<u8>,
) -> Result<(), Failure> {
    let name = format!(
        "{}-{}.eml",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
        mail.id.replace(['/', '\\', '@'], "_")
    );
    let mut text = format!(
        "X-Plughost-Tenant: {tenant}\r\nX-Plughost-Envelope-From: {}\r\nX-Plughost-Envelope-To: {}\r\n",
        mail.from,
        mail.to.join(", ")
    )
    .into_bytes();
    text.extend_from_slice(&eml);
    let write = move || -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        let aside = dir.join(format!(".{name}.tmp"));
        std::fs::write(&aside, &text)?;
        std::fs::rename(&aside, dir.join(&name))
    };
    tokio::task::spawn_blocking(write)
        .await
        .map_err(|e| Failure::Transient(format!("the outbox write did not finish: {e}")))?
        .map_err(|e| Failure::Transient(format!("cannot write to the outbox: {e}")))
}
