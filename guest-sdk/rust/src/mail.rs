//! Mail, within the module's `mail` grant (sender addresses, e.g.
//! `mail = ["noreply@shop.example"]`).
//!
//! ```ignore
//! use plughost_sdk::mail::Mail;
//! let id = Mail::to("ada@example.com")
//!     .subject("Your order")
//!     .text("Thanks!")
//!     .attach("receipt.pdf", "application/pdf", pdf)
//!     .send()?;
//! ```
//!
//! A message is queued and goes out only if the invocation succeeds (inside an ORM
//! transaction, once it commits); the host retries delivery and dead-letters what cannot be
//! delivered. Without [`Mail::from`] the module's `[mail] from` is the sender.

use crate::Result;
use crate::bindings::plughost::platform::mail as wit;

/// A message being written.
#[derive(Debug, Clone)]
pub struct Mail(wit::Message);

impl Mail {
    /// A message to `address` (`ada@example.com` or `Ada <ada@example.com>`).
    pub fn to(address: &str) -> Mail {
        Mail(wit::Message {
            to: vec![address.to_string()],
            cc: Vec::new(),
            bcc: Vec::new(),
            from: None,
            reply_to: None,
            subject: String::new(),
            text: None,
            html: None,
            attachments: Vec::new(),
            headers: Vec::new(),
        })
    }

    /// One more recipient in `To`.
    pub fn and_to(mut self, address: &str) -> Mail {
        self.0.to.push(address.to_string());
        self
    }

    /// A recipient in `Cc`.
    pub fn cc(mut self, address: &str) -> Mail {
        self.0.cc.push(address.to_string());
        self
    }

    /// A recipient not shown in the message.
    pub fn bcc(mut self, address: &str) -> Mail {
        self.0.bcc.push(address.to_string());
        self
    }

    /// The sender (the grant must cover it); default: the module's `[mail] from`.
    pub fn from(mut self, address: &str) -> Mail {
        self.0.from = Some(address.to_string());
        self
    }

    /// Where replies go.
    pub fn reply_to(mut self, address: &str) -> Mail {
        self.0.reply_to = Some(address.to_string());
        self
    }

    /// The subject line.
    pub fn subject(mut self, subject: &str) -> Mail {
        self.0.subject = subject.to_string();
        self
    }

    /// The plain-text body.
    pub fn text(mut self, text: &str) -> Mail {
        self.0.text = Some(text.to_string());
        self
    }

    /// The HTML body (an alternative to the text when both are given).
    pub fn html(mut self, html: &str) -> Mail {
        self.0.html = Some(html.to_string());
        self
    }

    /// A file: its name without a folder, its content type, its bytes.
    pub fn attach(mut self, name: &str, content_type: &str, content: Vec<u8>) -> Mail {
        self.0.attachments.push(wit::Attachment {
            name: name.to_string(),
            content_type: content_type.to_string(),
            content,
        });
        self
    }

    /// An extra header (`X-…`, `List-Unsubscribe`, `In-Reply-To`, `References`, …).
    pub fn header(mut self, name: &str, value: &str) -> Mail {
        self.0.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Queues the message; returns its Message-ID.
    pub fn send(self) -> Result<String> {
        wit::send(&self.0)
    }
}
