/// <reference path="./plughost-platform-types.d.ts" />
declare module 'plughost:platform/mail@0.1.0' {
  /**
   * Queues `message`; returns its Message-ID (without the angle brackets). A field that
   * is not acceptable (a malformed address, a line break in a header, too many
   * recipients, a message over the size limit, an attachment name with a folder) is
   * `invalid` naming it, and nothing is queued.
   */
  export function send(message: Message): string;
  export type Error = import('plughost:platform/types@0.1.0').Error;
  /**
   * A file sent with the message.
   */
  export interface Attachment {
    /**
     * Its file name, without any folder (`report.pdf`).
     */
    name: string,
    /**
     * Its content type (`application/pdf`).
     */
    contentType: string,
    /**
     * Its bytes.
     */
    content: Uint8Array,
  }
  /**
   * One message. Addresses are `ada@example.com` or `Ada Lovelace <ada@example.com>`.
   */
  export interface Message {
    /**
     * Recipients; `to`, `cc` and `bcc` together hold 1 to the host's limit (50 by default).
     */
    to: Array<string>,
    cc: Array<string>,
    /**
     * Recipients not shown in the message.
     */
    bcc: Array<string>,
    /**
     * The sender; none means the module's `[mail] from`.
     */
    from?: string,
    replyTo?: string,
    subject: string,
    /**
     * The plain-text body.
     */
    text?: string,
    /**
     * The HTML body (sent as an alternative to `text` when both are given).
     */
    html?: string,
    attachments: Array<Attachment>,
    /**
     * Extra headers: `X-…` names and `List-Unsubscribe`, `List-Unsubscribe-Post`,
     * `In-Reply-To`, `References`, `Auto-Submitted`; others are `invalid`.
     */
    headers: Array<[string, string]>,
  }
}
