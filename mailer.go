package ginauth

import (
	"context"
	"errors"
	"log/slog"
)

// Mail is one message ginauth sends: a verify link, a reset link or a
// notice. Text and HTML are two renderings of the same content.
type Mail struct {
	To      string
	Subject string
	Text    string
	HTML    string
}

// Mailer delivers mail. ginauth ships NewLogMailer (the default: mail is
// logged, for development) and NewSMTPMailer. Mail is sent in the
// background, never while a response waits, so its cost cannot tell
// whether an address has an account.
type Mailer interface {
	SendMail(ctx context.Context, m *Mail) error
}

// MailerFunc adapts a function to the Mailer interface.
type MailerFunc func(ctx context.Context, m *Mail) error

// SendMail calls f.
func (f MailerFunc) SendMail(ctx context.Context, m *Mail) error { return f(ctx, m) }

// NewLogMailer returns a Mailer that sends nothing: it logs each mail at
// Info level, with its recipient, subject and text body, and returns nil.
// It is the default Mailer, for development: it is how `go run ./example`
// shows the verify and reset links with no SMTP server configured. The
// links it logs open accounts, so keep it out of production, where logs
// are read by more people than the mail. A nil logger means slog.Default().
func NewLogMailer(logger *slog.Logger) Mailer {
	if logger == nil {
		logger = slog.Default()
	}
	return MailerFunc(func(ctx context.Context, m *Mail) error {
		if m == nil {
			return errors.New("ginauth: SendMail: nil mail")
		}
		logger.InfoContext(ctx, "ginauth: mail logged, not sent", "to", m.To, "subject", m.Subject, "text", m.Text)
		return nil
	})
}
