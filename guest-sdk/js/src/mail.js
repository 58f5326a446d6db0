// Send mail within the module's `mail` grant (sender addresses, e.g.
// `mail = ["noreply@shop.example"]`).
//
//     import { mail } from 'plughost';
//     const id = mail.send({
//       to: ['ada@example.com'],
//       subject: 'Your order',
//       text: 'Thanks!',
//       attachments: [{ name: 'receipt.pdf', contentType: 'application/pdf', content: pdfBytes }],
//     });
//
// The message is queued and goes out only if the current invocation succeeds (inside an ORM
// transaction, once it commits); the host retries delivery and dead-letters what cannot be
// delivered. With no `from`, the module's `[mail] from` in plugin.toml is used. A field the
// host cannot accept throws its `invalid` naming it.

import * as mail from 'plughost:platform/mail@0.1.0';

import { toBytes } from './http.js';

const list = (value) => (value === undefined || value === null ? [] : Array.isArray(value) ? value.map(String) : [String(value)]);
const optional = (value) => (value === undefined || value === null ? undefined : String(value));

/** Queues a message; returns its Message-ID. `to`, `cc`, `bcc`: an address or a list;
 * `headers`: an object. */
export function send({ to, subject, text, html, cc, bcc, from, replyTo, attachments, headers } = {}) {
  const extra = Object.entries(headers ?? {}).map(([k, v]) => [k, String(v)]);
  extra.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return mail.send({
    to: list(to),
    cc: list(cc),
    bcc: list(bcc),
    from: optional(from),
    replyTo: optional(replyTo),
    subject: String(subject ?? ''),
    text: optional(text),
    html: optional(html),
    attachments: (attachments ?? []).map((a) => ({
      name: a.name,
      contentType: a.contentType,
      content: toBytes(a.content),
    })),
    headers: extra,
  });
}
