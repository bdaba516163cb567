package app

import "context"

// Mail is one outgoing message as handed to a Mailer.
type Mail struct {
	To      string
	Subject string
	Text    string
	HTML    string
	// Headers are extra headers, e.g. List-Unsubscribe.
	Headers map[string]string
}

// Mailer delivers one message. The SMTP implementation is the real one;
// tests use it against an SMTP server on loopback.
type Mailer interface {
	Send(ctx context.Context, m Mail) error
}

// NewSMTPMailer is replaced by the SMTP implementation.
func NewSMTPMailer(rawURL, from string) (Mailer, error) { panic("not yet") }
