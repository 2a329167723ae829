// Package smtptest starts a real SMTP server in-process for tests: the
// server of github.com/emersion/go-smtp on 127.0.0.1, which keeps every
// message it accepts and parses its subject and its text and HTML parts, so
// a test can read the link a mail carries.
//
// It is a test harness, not API: nothing outside tests imports it.
package smtptest

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// waitTimeout bounds Server.WaitFor.
const waitTimeout = 10 * time.Second

// maxMessageBytes bounds one message.
const maxMessageBytes = 10 << 20

// Option configures Start.
type Option func(*config)

type config struct {
	startTLS, implicitTLS bool
	user, pass            string
}

// WithTLS makes the server offer STARTTLS, with a fresh self-signed
// certificate for 127.0.0.1 and localhost; clients trust it through
// Server.TLSConfig. With WithAuth too, AUTH is refused before STARTTLS.
func WithTLS() Option { return func(c *config) { c.startTLS = true } }

// WithImplicitTLS makes the server speak TLS from the first byte (SMTPS,
// RFC 8314) with the certificate of WithTLS; URL then starts with smtps://.
// It does not offer STARTTLS.
func WithImplicitTLS() Option { return func(c *config) { c.implicitTLS = true } }

// WithAuth makes the server require AUTH PLAIN with user and pass before it
// accepts a message.
func WithAuth(user, pass string) Option {
	return func(c *config) { c.user, c.pass = user, pass }
}

// Message is one message the server accepted.
type Message struct {
	From    string   // the envelope sender (MAIL FROM)
	To      []string // the envelope recipients (RCPT TO)
	Data    []byte   // the message as received, headers and body
	Subject string   // the Subject header, RFC 2047 decoded
	Text    string   // the text/plain part, transfer-decoded
	HTML    string   // the text/html part, transfer-decoded
	TLS     bool     // the message arrived over TLS (STARTTLS or implicit)
}

// Server is a real SMTP server on 127.0.0.1 and a random port that keeps
// every message. It is safe for concurrent use.
type Server struct {
	cfg       config
	addr      string
	clientTLS *tls.Config

	mu      sync.Mutex
	msgs    []Message
	taken   []bool
	arrived chan struct{} // closed and replaced when a message arrives
}

// Start starts a Server; it closes on t.Cleanup.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{arrived: make(chan struct{})}
	for _, o := range opts {
		o(&s.cfg)
	}

	srv := smtp.NewServer(smtp.BackendFunc(s.newSession))
	srv.Domain = "localhost"
	srv.MaxMessageBytes = maxMessageBytes
	srv.MaxRecipients = 50
	srv.ReadTimeout = waitTimeout
	srv.WriteTimeout = waitTimeout
	srv.ErrorLog = log.New(io.Discard, "", 0)
	srv.AllowInsecureAuth = !s.cfg.startTLS

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s.addr = l.Addr().String()
	if s.cfg.startTLS || s.cfg.implicitTLS {
		serverTLS, clientTLS, err := selfSignedTLS()
		if err != nil {
			l.Close()
			t.Fatalf("smtptest: %v", err)
		}
		s.clientTLS = clientTLS
		if s.cfg.implicitTLS {
			l = tls.NewListener(l, serverTLS)
		} else {
			srv.TLSConfig = serverTLS
		}
	}

	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		_ = l.Close() // Serve may not have registered l with srv yet
		<-done
	})
	return s
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return s.addr }

// URL returns smtp://127.0.0.1:port (smtps:// WithImplicitTLS), with the
// credentials of WithAuth when it was given.
func (s *Server) URL() string {
	u := url.URL{Scheme: "smtp", Host: s.addr}
	if s.cfg.implicitTLS {
		u.Scheme = "smtps"
	}
	if s.cfg.user != "" {
		u.User = url.UserPassword(s.cfg.user, s.cfg.pass)
	}
	return u.String()
}

// TLSConfig returns a client configuration that trusts the server's
// certificate, with ServerName "127.0.0.1", the host of URL; nil without
// WithTLS or WithImplicitTLS.
func (s *Server) TLSConfig() *tls.Config {
	if s.clientTLS == nil {
		return nil
	}
	return s.clientTLS.Clone()
}

// Messages returns a copy of every message accepted so far, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// WaitFor blocks until a message to the envelope recipient to arrives, and
// returns it; it fails the test after 10 seconds. Each message is returned
// by WaitFor once, so waiting twice for the same address waits for a
// second message.
func (s *Server) WaitFor(t testing.TB, to string) Message {
	t.Helper()
	timer := time.NewTimer(waitTimeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		for i, m := range s.msgs {
			if !s.taken[i] && hasRecipient(m, to) {
				s.taken[i] = true
				s.mu.Unlock()
				return m
			}
		}
		arrived := s.arrived
		s.mu.Unlock()
		select {
		case <-arrived:
		case <-timer.C:
			t.Fatalf("smtptest: no message to %s within %s (%d messages in all)", to, waitTimeout, len(s.Messages()))
			return Message{}
		}
	}
}

func hasRecipient(m Message, to string) bool {
	for _, r := range m.To {
		if strings.EqualFold(r, to) {
			return true
		}
	}
	return false
}

// add keeps m and wakes WaitFor.
func (s *Server) add(m Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.msgs = append(s.msgs, m)
	s.taken = append(s.taken, false)
	close(s.arrived)
	s.arrived = make(chan struct{})
}

func (s *Server) newSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &session{srv: s, tls: isTLS}, nil
}

// session is one SMTP session; go-smtp starts a new one after STARTTLS.
type session struct {
	srv    *Server
	tls    bool
	authed bool
	from   string
	to     []string
}

var (
	errAuthFailed = &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
	errAuthOff    = &smtp.SMTPError{Code: 503, EnhancedCode: smtp.EnhancedCode{5, 5, 1}, Message: "AUTH not offered"}
)

func (s *session) AuthMechanisms() []string {
	if s.srv.cfg.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	if s.srv.cfg.user == "" {
		return nil, errAuthOff
	}
	if mech != sasl.Plain {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if (identity != "" && identity != user) || user != s.srv.cfg.user || pass != s.srv.cfg.pass {
			return errAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}

func (s *session) authOK() error {
	if s.srv.cfg.user != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	return nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if err := s.authOK(); err != nil {
		return err
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := s.authOK(); err != nil {
		return err
	}
	s.to = append(s.to, to)
	return nil
}

// Data keeps the message; it refuses one that does not parse, so a test
// sees a malformed message as a failed delivery.
func (s *session) Data(r io.Reader) error {
	if err := s.authOK(); err != nil {
		return err
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := Message{From: s.from, To: append([]string(nil), s.to...), Data: data, TLS: s.tls}
	if err := parse(&m); err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: fmt.Sprintf("malformed message: %v", err)}
	}
	s.srv.add(m)
	return nil
}

func (s *session) Reset() { s.from, s.to = "", nil }

func (s *session) Logout() error { return nil }
