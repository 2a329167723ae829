package ginauth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ginauth/ginauth/internal/loopback"
)

// defaultSMTPTimeout bounds one delivery when SMTPTimeout is not given.
const defaultSMTPTimeout = 30 * time.Second

// SMTPOption configures NewSMTPMailer.
type SMTPOption func(*smtpMailer)

// SMTPTLSConfig sets the TLS configuration for STARTTLS and smtps://, for
// example to trust a private CA through RootCAs. A copy is used: an empty
// ServerName becomes the URL's host and MinVersion is at least TLS 1.2.
// Leave InsecureSkipVerify alone: without verification anyone on the path
// reads the password and every reset link.
func SMTPTLSConfig(c *tls.Config) SMTPOption {
	return func(m *smtpMailer) { m.tlsConfig = c }
}

// SMTPTimeout bounds one delivery, from dialling to QUIT (default 30 s).
// The context given to SendMail can only shorten it.
func SMTPTimeout(d time.Duration) SMTPOption {
	return func(m *smtpMailer) {
		if d > 0 {
			m.timeout = d
		}
	}
}

// smtpMailer is the Mailer NewSMTPMailer returns.
type smtpMailer struct {
	host, port string
	implicit   bool // smtps://: TLS from the first byte
	user, pass string
	from       *mail.Address
	helo       string
	tlsConfig  *tls.Config
	timeout    time.Duration
}

// NewSMTPMailer returns a Mailer that delivers each mail in one SMTP
// session with the server of rawURL, sent from the address from (for
// example "Example <no-reply@example.com>"), which is also the envelope
// sender.
//
// rawURL is one of
//
//	smtp://user:password@host:port   port 587 by default; STARTTLS whenever the server offers it
//	smtps://user:password@host:port  implicit TLS (RFC 8314), port 465 by default
//
// User and password are percent-decoded; percent-encode any of ":/?#@%" in
// them. Without a user there is no AUTH. With one, AUTH PLAIN is used, and
// only over TLS or to a loopback host: SendMail fails rather than send a
// password in clear to a server that does not offer STARTTLS. The password
// never appears in an error.
func NewSMTPMailer(rawURL, from string, opts ...SMTPOption) (Mailer, error) {
	m := &smtpMailer{timeout: defaultSMTPTimeout, helo: helloName()}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error quotes the URL and parts of it: the password with them.
		return nil, errors.New("ginauth: invalid SMTP URL (percent-encode special characters in the user and password)")
	}
	switch u.Scheme {
	case "smtp":
		m.port = "587"
	case "smtps":
		m.port, m.implicit = "465", true
	default:
		return nil, fmt.Errorf("ginauth: SMTP URL scheme %q: want smtp or smtps", u.Scheme)
	}
	if m.host = u.Hostname(); m.host == "" {
		return nil, errors.New("ginauth: SMTP URL has no host")
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("ginauth: SMTP URL port %q is not valid", p)
		}
		m.port = p
	}
	if u.User != nil {
		m.user = u.User.Username()
		m.pass, _ = u.User.Password()
	}
	if m.from, err = parseFrom(from); err != nil {
		return nil, err
	}
	for _, o := range opts {
		o(m)
	}
	return m, nil
}

// parseFrom checks the sender address.
func parseFrom(from string) (*mail.Address, error) {
	if strings.ContainsAny(from, "\r\n") {
		return nil, errors.New("ginauth: mail From contains a line break")
	}
	a, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("ginauth: mail From %q: %w", from, err)
	}
	return a, nil
}

// helloName is the name sent with EHLO: this host's name when it looks like
// one, else "localhost" (as net/smtp does).
func helloName() string {
	h, err := os.Hostname()
	if err != nil || h == "" || len(h) > 253 || strings.ContainsFunc(h, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.')
	}) {
		return "localhost"
	}
	return h
}

// mayAuthInClear reports whether a password may go to host over a
// connection that is not encrypted: only to a loopback host, whose traffic
// never leaves the machine.
func mayAuthInClear(host string) bool { return loopback.Host(host) }

// SendMail delivers m, within the mailer's timeout and ctx.
func (s *smtpMailer) SendMail(ctx context.Context, m *Mail) error {
	if m == nil {
		return errors.New("ginauth: SendMail: nil mail")
	}
	rcpt, msg, err := buildMessage(s.from, m, time.Now())
	if err != nil {
		return err
	}
	if err := s.deliver(ctx, rcpt, msg); err != nil {
		return s.redact(fmt.Errorf("ginauth: SMTP delivery to %s:%s: %w", s.host, s.port, err))
	}
	return nil
}

// deliver runs one SMTP session that sends msg to rcpt.
func (s *smtpMailer) deliver(ctx context.Context, rcpt string, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()

	tlsConfig := s.clientTLS()
	netDialer := &net.Dialer{Timeout: s.timeout}
	addr := net.JoinHostPort(s.host, s.port)
	var conn net.Conn
	var err error
	if s.implicit {
		conn, err = (&tls.Dialer{NetDialer: netDialer, Config: tlsConfig}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = netDialer.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return err
	}
	// Cancelling ctx unblocks any read or write at once.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	err = s.session(conn, tlsConfig, rcpt, msg)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("%w (%w)", context.Cause(ctx), err)
	case errors.Is(err, os.ErrDeadlineExceeded):
		// The conn's deadline is ctx's, which may fire a moment later.
		return fmt.Errorf("%w (%w)", context.DeadlineExceeded, err)
	}
	return err
}

// session speaks SMTP on conn.
func (s *smtpMailer) session(conn net.Conn, tlsConfig *tls.Config, rcpt string, msg []byte) error {
	c, err := smtp.NewClient(conn, s.host)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello(s.helo); err != nil {
		return err
	}
	secure := s.implicit
	if !secure {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConfig); err != nil {
				return fmt.Errorf("STARTTLS: %w", err)
			}
			secure = true
		}
	}
	if s.user != "" {
		if !secure && !mayAuthInClear(s.host) {
			return errors.New("the server does not offer STARTTLS: refusing to send the password in clear (use smtps:// or a server with STARTTLS)")
		}
		if ok, _ := c.Extension("AUTH"); !ok {
			return errors.New("the URL has credentials but the server does not offer AUTH")
		}
		if err := c.Auth(smtp.PlainAuth("", s.user, s.pass, s.host)); err != nil {
			return fmt.Errorf("AUTH: %w", err)
		}
	}
	if err := c.Mail(s.from.Address); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	if err := c.Rcpt(rcpt); err != nil {
		return fmt.Errorf("RCPT TO: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	// The message is accepted: a failed QUIT does not lose it.
	_ = c.Quit()
	return nil
}

// clientTLS returns the TLS configuration for one session.
func (s *smtpMailer) clientTLS() *tls.Config {
	c := &tls.Config{}
	if s.tlsConfig != nil {
		c = s.tlsConfig.Clone()
	}
	if c.ServerName == "" {
		c.ServerName = s.host
	}
	if c.MinVersion < tls.VersionTLS12 {
		c.MinVersion = tls.VersionTLS12
	}
	return c
}

// redact wraps err so that its text never shows the URL's password.
func (s *smtpMailer) redact(err error) error { return redactSecret(err, s.pass) }

// redactSecret hides secret, as written and in both URL escapings, in the
// text of err; a nil err or an empty secret leaves err as it is.
func redactSecret(err error, secret string) error {
	if err == nil || secret == "" {
		return err
	}
	return &redactedError{err: err, secrets: []string{secret, url.QueryEscape(secret), url.PathEscape(secret)}}
}

// redactedError is an error whose text hides secrets; errors.Is and
// errors.As still see the error it wraps.
type redactedError struct {
	err     error
	secrets []string
}

func (e *redactedError) Error() string {
	msg := e.err.Error()
	for _, s := range e.secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
	}
	return msg
}

func (e *redactedError) Unwrap() error { return e.err }

// buildMessage checks m and renders it as an RFC 5322 message from from,
// dated now: multipart/alternative with a text/plain and a text/html part
// (text/plain alone when m.HTML is empty), UTF-8, quoted-printable. It
// returns the recipient's address for RCPT TO and the message.
func buildMessage(from *mail.Address, m *Mail, now time.Time) (rcpt string, msg []byte, err error) {
	for name, v := range map[string]string{"To": m.To, "Subject": m.Subject} {
		if strings.ContainsAny(v, "\r\n") {
			return "", nil, fmt.Errorf("ginauth: mail %s contains a line break", name)
		}
	}
	to, err := mail.ParseAddress(m.To)
	if err != nil {
		return "", nil, fmt.Errorf("ginauth: mail To %q: %w", m.To, err)
	}
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]

	var b bytes.Buffer
	header := func(name, value string) { b.WriteString(name + ": " + value + "\r\n") }
	header("From", from.String())
	header("To", to.String())
	header("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	header("Date", now.Format(time.RFC1123Z))
	header("Message-ID", "<"+rand.Text()+"@"+domain+">")
	header("MIME-Version", "1.0")
	if m.HTML == "" {
		header("Content-Type", "text/plain; charset=utf-8")
		header("Content-Transfer-Encoding", "quoted-printable")
		b.WriteString("\r\n")
		if err := writeQP(&b, m.Text); err != nil {
			return "", nil, err
		}
		return to.Address, b.Bytes(), nil
	}
	mw := multipart.NewWriter(&b)
	header("Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()}))
	b.WriteString("\r\n")
	for _, part := range []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		w, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return "", nil, err
		}
		if err := writeQP(w, part.body); err != nil {
			return "", nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return "", nil, err
	}
	return to.Address, b.Bytes(), nil
}

// writeQP writes s quoted-printable, with CRLF line breaks.
func writeQP(w io.Writer, s string) error {
	qp := quotedprintable.NewWriter(w)
	if _, err := io.WriteString(qp, s); err != nil {
		return err
	}
	return qp.Close()
}
