//! A module's message checked field by field and rendered as the bytes that go out
//! (RFC 5322, MIME parts built by `lettre`). Every refusal names the field, so the module
//! knows what to change; nothing is queued.

use lettre::Message as Rendered;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

use crate::runtime::bindings::plughost::platform::mail::Message;

/// Headers a module may add besides `X-…` ones; the others (`Bcc`, `Received`, `From`,
/// `DKIM-Signature`, …) are the host's or the relay's to write.
const ALLOWED_HEADERS: &[&str] = &[
    "list-unsubscribe",
    "list-unsubscribe-post",
    "in-reply-to",
    "references",
    "auto-submitted",
];
/// RFC 5322's longest line, for one header's value.
const MAX_HEADER_BYTES: usize = 998;
const MAX_ATTACHMENTS: usize = 32;
const MAX_EXTRA_HEADERS: usize = 32;
const MAX_NAME_BYTES: usize = 255;

/// The limits a message is checked against (host.toml `[mail]`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Recipients of one message (to, cc and bcc).
    pub max_recipients: usize,
    /// Bytes of one rendered message.
    pub max_message_bytes: usize,
}

/// A message ready to queue.
#[derive(Debug, Clone)]
pub struct Composed {
    /// Its Message-ID, without angle brackets.
    pub id: String,
    /// The envelope sender (the bare address).
    pub sender: String,
    /// Every envelope recipient (to, cc and bcc).
    pub recipients: Vec<String>,
    /// The subject line.
    pub subject: String,
    /// The message as it goes out (without a `Bcc` header).
    pub eml: Vec<u8>,
}

/// `message` checked and rendered, sent from `sender` (already resolved from the
/// message or the module's default).
pub fn compose(message: &Message, sender: &str, limits: Limits) -> Result<Composed, String> {
    let from = mailbox("from", sender)?;
    let raw_size = message.text.as_ref().map_or(0, String::len)
        + message.html.as_ref().map_or(0, String::len)
        + message
            .attachments
            .iter()
            .map(|a| a.content.len())
            .sum::<usize>();
    if raw_size > limits.max_message_bytes {
        return Err(too_big(raw_size, limits));
    }
    let domain = from.email.domain().to_string();
    let id = format!("{}@{domain}", uuid::Uuid::new_v4().simple());
    let mut builder = Rendered::builder()
        .from(from.clone())
        .message_id(Some(format!("<{id}>")))
        .date_now();
    let mut recipients = Vec::new();
    for (field, list) in [
        ("to", &message.to),
        ("cc", &message.cc),
        ("bcc", &message.bcc),
    ] {
        for (i, address) in list.iter().enumerate() {
            let mailbox = mailbox(&format!("{field}[{i}]"), address)?;
            recipients.push(mailbox.email.to_string());
            builder = match field {
                "to" => builder.to(mailbox),
                "cc" => builder.cc(mailbox),
                _ => builder.bcc(mailbox),
            };
        }
    }
    if recipients.is_empty() || recipients.len() > limits.max_recipients {
        return Err(format!(
            "to, cc and bcc hold {} recipients together; a message has 1 to {}",
            recipients.len(),
            limits.max_recipients
        ));
    }
    if let Some(reply_to) = &message.reply_to {
        builder = builder.reply_to(mailbox("reply-to", reply_to)?);
    }
    header_text("subject", &message.subject)?;
    builder = builder.subject(message.subject.clone());
    if message.headers.len() > MAX_EXTRA_HEADERS {
        return Err(format!(
            "headers: {} given; a message has at most {MAX_EXTRA_HEADERS}",
            message.headers.len()
        ));
    }
    for (name, value) in &message.headers {
        builder = builder.raw_header(extra_header(name, value)?);
    }
    let rendered = match body(message)? {
        Body::Single(part) => builder.singlepart(part),
        Body::Multi(parts) => builder.multipart(parts),
    }
    .map_err(|e| format!("the message cannot be built: {e}"))?;
    let eml = rendered.formatted();
    if eml.len() > limits.max_message_bytes {
        return Err(too_big(eml.len(), limits));
    }
    Ok(Composed {
        id,
        sender: from.email.to_string(),
        recipients,
        subject: message.subject.clone(),
        eml,
    })
}

fn too_big(size: usize, limits: Limits) -> String {
    format!(
        "the message is {size} bytes; messages are at most {} bytes (host.toml [mail] max-message-bytes)",
        limits.max_message_bytes
    )
}

/// An address field: `ada@example.com` or `Ada <ada@example.com>`, on one line.
pub fn mailbox(field: &str, text: &str) -> Result<Mailbox, String> {
    header_text(field, text)?;
    text.parse::<Mailbox>()
        .map_err(|e| format!("{field}: '{text}' is not an e-mail address ({e})"))
}

/// Text that goes into a header: one line (a CR or LF would start a header of the
/// sender's choosing), no other control characters, at most 998 bytes.
fn header_text(field: &str, text: &str) -> Result<(), String> {
    if text.contains(['\r', '\n']) {
        return Err(format!(
            "{field} holds a line break; header values are one line"
        ));
    }
    if text.chars().any(|c| c.is_control() && c != '\t') {
        return Err(format!("{field} holds a control character"));
    }
    if text.len() > MAX_HEADER_BYTES {
        return Err(format!(
            "{field} is {} bytes; a header value has at most {MAX_HEADER_BYTES}",
            text.len()
        ));
    }
    Ok(())
}

fn extra_header(name: &str, value: &str) -> Result<HeaderValue, String> {
    let lower = name.to_ascii_lowercase();
    let token = !name.is_empty()
        && name.len() <= 76
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let allowed = token && (lower.starts_with("x-") || ALLOWED_HEADERS.contains(&lower.as_str()));
    if !allowed {
        return Err(format!(
            "headers: '{}' may not be set; allowed are X-… names and {}",
            name.escape_debug(),
            ALLOWED_HEADERS.join(", ")
        ));
    }
    header_text(&format!("headers.{name}"), value)?;
    let name = HeaderName::new_from_ascii(name.to_string())
        .map_err(|e| format!("headers: '{name}' is not a header name ({e})"))?;
    Ok(HeaderValue::new(name, value.to_string()))
}

/// The text and HTML as alternatives, followed by the attachments.
/// A body of one part, or of several.
enum Body {
    Single(SinglePart),
    Multi(MultiPart),
}

fn body(message: &Message) -> Result<Body, String> {
    let text = match (&message.text, &message.html) {
        (Some(text), Some(html)) => Body::Multi(MultiPart::alternative_plain_html(
            text.clone(),
            html.clone(),
        )),
        (Some(text), None) => Body::Single(SinglePart::plain(text.clone())),
        (None, Some(html)) => Body::Single(SinglePart::html(html.clone())),
        (None, None) => return Err("text or html: a message needs a body".into()),
    };
    if message.attachments.len() > MAX_ATTACHMENTS {
        return Err(format!(
            "attachments: {} given; a message has at most {MAX_ATTACHMENTS}",
            message.attachments.len()
        ));
    }
    if message.attachments.is_empty() {
        return Ok(text);
    }
    let mut mixed = match text {
        Body::Single(part) => MultiPart::mixed().singlepart(part),
        Body::Multi(parts) => MultiPart::mixed().multipart(parts),
    };
    for (i, attachment) in message.attachments.iter().enumerate() {
        let field = format!("attachments[{i}]");
        attachment_name(&field, &attachment.name)?;
        header_text(&format!("{field}.content-type"), &attachment.content_type)?;
        let content_type = ContentType::parse(&attachment.content_type).map_err(|e| {
            format!(
                "{field}.content-type: '{}' is not a content type ({e})",
                attachment.content_type
            )
        })?;
        mixed = mixed.singlepart(
            Attachment::new(attachment.name.clone()).body(attachment.content.clone(), content_type),
        );
    }
    Ok(Body::Multi(mixed))
}

/// A file name without a folder: a name with `/` or `\`, `.` or `..`, or a control
/// character could be saved by a mail client outside the folder its user picked.
fn attachment_name(field: &str, name: &str) -> Result<(), String> {
    header_text(&format!("{field}.name"), name)?;
    if name.is_empty() || name.len() > MAX_NAME_BYTES {
        return Err(format!("{field}.name must be 1 to {MAX_NAME_BYTES} bytes"));
    }
    if name.contains(['/', '\\']) || name == "." || name == ".." || name.contains(':') {
        return Err(format!(
            "{field}.name '{name}' is a path; give the file's name only (`report.pdf`)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::bindings::plughost::platform::mail::Attachment as WitAttachment;

    const LIMITS: Limits = Limits {
        max_recipients: 3,
        max_message_bytes: 64 * 1024,
    };

    fn message() -> Message {
        Message {
            to: vec!["Ada Lovelace <ada@example.com>".into()],
            cc: vec![],
            bcc: vec!["audit@example.com".into()],
            from: None,
            reply_to: None,
            subject: "Your order".into(),
            text: Some("Thanks!".into()),
            html: None,
            attachments: vec![],
            headers: vec![],
        }
    }

    #[test]
    fn a_message_renders_with_its_envelope_and_without_a_bcc_header() {
        let composed = compose(&message(), "noreply@shop.example", LIMITS).unwrap();
        let text = String::from_utf8(composed.eml).unwrap();
        assert!(text.contains("Subject: Your order"), "{text}");
        assert!(text.contains("ada@example.com"));
        // (Not `contains("bcc")`: the random Message-ID is hex and may hold those letters.)
        let bcc_header = text
            .lines()
            .any(|l| l.to_ascii_lowercase().starts_with("bcc:"));
        assert!(!bcc_header, "{text}");
        assert!(!text.contains("audit@example.com"), "{text}");
        assert_eq!(
            composed.recipients,
            vec!["ada@example.com", "audit@example.com"]
        );
        assert!(composed.id.ends_with("@shop.example"));
    }

    #[test]
    fn header_injection_is_refused_in_every_header_field() {
        type Edit = Box<dyn Fn(&mut Message)>;
        let cases: Vec<(&str, Edit)> = vec![
            (
                "subject",
                Box::new(|m| m.subject = "hi\r\nBcc: x@evil.example".into()),
            ),
            (
                "to[0]",
                Box::new(|m| m.to[0] = "a@example.com\nBcc: x@evil.example".into()),
            ),
            (
                "reply-to",
                Box::new(|m| m.reply_to = Some("a@b.example\r\nX: y".into())),
            ),
            (
                "headers.X-Tag",
                Box::new(|m| m.headers = vec![("X-Tag".into(), "a\nB: c".into())]),
            ),
        ];
        for (field, edit) in cases {
            let mut m = message();
            edit(&mut m);
            let error = compose(&m, "noreply@shop.example", LIMITS).unwrap_err();
            assert!(error.starts_with(field), "{field}: {error}");
            assert!(error.contains("line break"), "{error}");
        }
    }

    #[test]
    fn bad_addresses_counts_names_and_headers_are_refused_by_field() {
        let mut m = message();
        m.to = vec!["not an address".into()];
        assert!(
            compose(&m, "a@b.example", LIMITS)
                .unwrap_err()
                .starts_with("to[0]")
        );
        let mut m = message();
        m.cc = vec![
            "a@x.example".into(),
            "b@x.example".into(),
            "c@x.example".into(),
        ];
        assert!(
            compose(&m, "a@b.example", LIMITS)
                .unwrap_err()
                .contains("1 to 3")
        );
        let mut m = message();
        m.attachments = vec![WitAttachment {
            name: "../../etc/cron.d/x".into(),
            content_type: "text/plain".into(),
            content: b"x".to_vec(),
        }];
        assert!(
            compose(&m, "a@b.example", LIMITS)
                .unwrap_err()
                .contains("is a path")
        );
        let mut m = message();
        m.headers = vec![("Bcc".into(), "x@evil.example".into())];
        assert!(
            compose(&m, "a@b.example", LIMITS)
                .unwrap_err()
                .contains("may not be set")
        );
        let mut m = message();
        m.text = Some("x".repeat(70 * 1024));
        assert!(
            compose(&m, "a@b.example", LIMITS)
                .unwrap_err()
                .contains("max-message-bytes")
        );
    }
}
