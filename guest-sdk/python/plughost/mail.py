"""Send mail within the module's `mail` grant (sender addresses, e.g.
`mail = ["noreply@shop.example"]`).

    from plughost import mail
    message_id = mail.send(
        to=["ada@example.com"],
        subject="Your order",
        text="Thanks!",
        attachments=[mail.Attachment("receipt.pdf", "application/pdf", pdf_bytes)],
    )

The message is queued and goes out only if the current request succeeds (inside an ORM
transaction, once it commits); the host retries delivery and dead-letters what cannot be
delivered. With no `sender`, the module's `[mail] from` in plugin.toml is used. A field the
host cannot accept raises Err(Error_Invalid) naming it.
"""

from typing import Dict, List, Optional

from wit_world.imports import mail as _mail


class Attachment:
    """A file sent with the message: its name (no folder), content type and bytes."""

    def __init__(self, name: str, content_type: str, content: bytes):
        self.name = name
        self.content_type = content_type
        self.content = content


def send(
    to: List[str],
    subject: str,
    text: Optional[str] = None,
    html: Optional[str] = None,
    cc: Optional[List[str]] = None,
    bcc: Optional[List[str]] = None,
    sender: Optional[str] = None,
    reply_to: Optional[str] = None,
    attachments: Optional[List[Attachment]] = None,
    headers: Optional[Dict[str, str]] = None,
) -> str:
    """Queues a message; returns its Message-ID."""
    message = _mail.Message(
        to=list(to),
        cc=list(cc or []),
        bcc=list(bcc or []),
        from_=sender,
        reply_to=reply_to,
        subject=subject,
        text=text,
        html=html,
        attachments=[
            _mail.Attachment(a.name, a.content_type, a.content) for a in (attachments or [])
        ],
        headers=sorted((headers or {}).items()),
    )
    return _mail.send(message)
