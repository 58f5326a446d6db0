package plughost

import (
	witTypes "go.bytecodealliance.org/pkg/wit/types"
	witmail "plughost/wit/imports/plughost_platform_mail"
)

// Mail is a message to send: build it with the chained calls, then Send (queued; it goes
// out if the invocation succeeds).
type Mail struct {
	raw witmail.Message
}

// NewMail is a message with `subject`.
func NewMail(subject string) *Mail {
	return &Mail{witmail.Message{
		Subject: subject,
		From:    witTypes.None[string](),
		ReplyTo: witTypes.None[string](),
		Text:    witTypes.None[string](),
		Html:    witTypes.None[string](),
	}}
}

func (m *Mail) To(address string) *Mail  { m.raw.To = append(m.raw.To, address); return m }
func (m *Mail) Cc(address string) *Mail  { m.raw.Cc = append(m.raw.Cc, address); return m }
func (m *Mail) Bcc(address string) *Mail { m.raw.Bcc = append(m.raw.Bcc, address); return m }

// From sets the sender; without one the module's [mail] from is used.
func (m *Mail) From(address string) *Mail    { m.raw.From = witTypes.Some(address); return m }
func (m *Mail) ReplyTo(address string) *Mail { m.raw.ReplyTo = witTypes.Some(address); return m }
func (m *Mail) Text(text string) *Mail       { m.raw.Text = witTypes.Some(text); return m }
func (m *Mail) HTML(html string) *Mail       { m.raw.Html = witTypes.Some(html); return m }

// Attach adds an attachment.
func (m *Mail) Attach(name, contentType string, content []byte) *Mail {
	m.raw.Attachments = append(m.raw.Attachments, witmail.Attachment{Name: name, ContentType: contentType, Content: content})
	return m
}

// Header adds an extra header (X-… names, List-Unsubscribe, In-Reply-To, ...).
func (m *Mail) Header(name, value string) *Mail {
	m.raw.Headers = append(m.raw.Headers, witTypes.Tuple2[string, string]{F0: name, F1: value})
	return m
}

// Send queues the message and returns its Message-ID.
func (m *Mail) Send() (string, error) { return unwrap(witmail.Send(m.raw)) }
