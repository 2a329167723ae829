package ginauth

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ginauth/ginauth/internal/smtptest"
)

const (
	testMailFrom = "Example App <no-reply@example.com>"
	// testMailLink is longer than a quoted-printable line and has "=" in
	// it, so the encoding shows.
	testMailLink = "https://app.example.com/verify?token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIn0.abc_DEF-123"
)

func testMail(to string) *Mail {
	return &Mail{
		To:      to,
		Subject: "Verify your email address",
		Text:    "Open this link:\n\n" + testMailLink + "\n\n.\nA line with a dot.\n",
		HTML:    `<p><a href="` + testMailLink + `">Verify</a></p>`,
	}
}

// newTestSMTPMailer is NewSMTPMailer for rawURL, trusting s's certificate
// when s has one.
func newTestSMTPMailer(t *testing.T, rawURL string, s *smtptest.Server, opts ...SMTPOption) Mailer {
	t.Helper()
	if s != nil && s.TLSConfig() != nil {
		opts = append(opts, SMTPTLSConfig(s.TLSConfig()))
	}
	m, err := NewSMTPMailer(rawURL, testMailFrom, opts...)
	require.NoError(t, err)
	return m
}

// closedPort returns 127.0.0.1:port where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())
	return addr
}

// silentServer returns the address of a server that accepts connections
// and never says a word.
func silentServer(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

func TestSMTPMailerDelivers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    []smtptest.Option
		wantTLS bool
	}{
		{"plain to loopback", nil, false},
		{"plain with AUTH to loopback", []smtptest.Option{smtptest.WithAuth("user@example.com", "p@ss:w/rd")}, false},
		{"STARTTLS with AUTH", []smtptest.Option{smtptest.WithTLS(), smtptest.WithAuth("user@example.com", "p@ss:w/rd")}, true},
		{"STARTTLS without AUTH", []smtptest.Option{smtptest.WithTLS()}, true},
		{"smtps with AUTH", []smtptest.Option{smtptest.WithImplicitTLS(), smtptest.WithAuth("user", "secret")}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := smtptest.Start(t, tc.opts...)
			m := newTestSMTPMailer(t, s.URL(), s)
			require.NoError(t, m.SendMail(context.Background(), testMail("Alice <alice@example.org>")))

			got := s.WaitFor(t, "alice@example.org")
			assert.Equal(t, tc.wantTLS, got.TLS)
			assert.Equal(t, "no-reply@example.com", got.From)
			assert.Equal(t, []string{"alice@example.org"}, got.To)
			assert.Equal(t, "Verify your email address", got.Subject)
			assert.Contains(t, got.Text, testMailLink)
			assert.Contains(t, got.Text, "\r\n.\r\nA line with a dot.")
			assert.Contains(t, got.HTML, testMailLink)
		})
	}
}

func TestSMTPMailerRefusesWrongCredentials(t *testing.T) {
	s := smtptest.Start(t, smtptest.WithTLS(), smtptest.WithAuth("user", "right-password"))
	for _, tc := range []struct{ name, url, want string }{
		{"wrong password", "smtp://user:wrong-password@" + s.Addr(), "535"},
		{"no credentials", "smtp://" + s.Addr(), "authenticate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := newTestSMTPMailer(t, tc.url, s).SendMail(context.Background(), testMail("bob@example.org"))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "wrong-password")
		})
	}
	assert.Empty(t, s.Messages())
}

func TestSMTPMailerVerifiesCertificate(t *testing.T) {
	s := smtptest.Start(t, smtptest.WithTLS())
	m, err := NewSMTPMailer(s.URL(), testMailFrom) // no SMTPTLSConfig: the self-signed cert is not trusted
	require.NoError(t, err)
	err = m.SendMail(context.Background(), testMail("bob@example.org"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "STARTTLS")
	assert.Empty(t, s.Messages())
}

func TestSMTPMayAuthInClear(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost":             true,
		"LocalHost":             true,
		"127.0.0.1":             true,
		"127.0.0.2":             true,
		"::1":                   true,
		"":                      false,
		"smtp.example.com":      false,
		"localhost.example.com": false,
		"10.0.0.1":              false,
		"192.168.1.10":          false,
		"::":                    false,
		"0.0.0.0":               false,
	} {
		assert.Equal(t, want, mayAuthInClear(host), host)
	}
}

func TestSMTPMailerRefusesHeaderInjection(t *testing.T) {
	m := newTestSMTPMailer(t, "smtp://"+closedPort(t), nil)
	for _, tc := range []struct {
		name string
		mail Mail
	}{
		{"CRLF in To", Mail{To: "a@example.org\r\nBcc: victim@example.org", Subject: "s", Text: "t"}},
		{"LF in To", Mail{To: "a@example.org\nBcc: victim@example.org", Subject: "s", Text: "t"}},
		{"CRLF in Subject", Mail{To: "a@example.org", Subject: "hi\r\nBcc: victim@example.org", Text: "t"}},
		{"CR in Subject", Mail{To: "a@example.org", Subject: "hi\rBcc: victim@example.org", Text: "t"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := m.SendMail(context.Background(), &tc.mail)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "line break")
		})
	}
	_, err := NewSMTPMailer("smtp://localhost", "a@example.com\r\nBcc: victim@example.org")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "line break")
}

func TestSMTPMailerMessageFormat(t *testing.T) {
	s := smtptest.Start(t)
	m := newTestSMTPMailer(t, s.URL(), nil)
	subject := "Vérifiez votre adresse ✓ — 確認"
	sent := testMail("Zoë <zoe@example.org>")
	sent.Subject = subject
	sent.Text = "Bonjour Zoë,\n\n" + testMailLink + "\n"
	sent.HTML = "<p>Bonjour Zoë, <a href=\"" + testMailLink + "\">vérifier</a></p>"
	require.NoError(t, m.SendMail(context.Background(), sent))
	got := s.WaitFor(t, "zoe@example.org")
	assert.Equal(t, subject, got.Subject)

	// Parse the raw message independently of smtptest.
	msg, err := mail.ReadMessage(bytes.NewReader(got.Data))
	require.NoError(t, err)
	rawHeader := got.Data[:bytes.Index(got.Data, []byte("\r\n\r\n"))]
	for _, b := range rawHeader {
		require.Less(t, b, byte(0x80), "raw non-ASCII byte in the header")
	}
	from, err := mail.ParseAddress(msg.Header.Get("From"))
	require.NoError(t, err)
	assert.Equal(t, &mail.Address{Name: "Example App", Address: "no-reply@example.com"}, from)
	to, err := mail.ParseAddress(msg.Header.Get("To"))
	require.NoError(t, err)
	assert.Equal(t, &mail.Address{Name: "Zoë", Address: "zoe@example.org"}, to)
	date, err := msg.Header.Date()
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), date, time.Minute)
	assert.Regexp(t, `^<[A-Z2-7]{20,}@example\.com>$`, msg.Header.Get("Message-ID"))
	assert.Equal(t, "1.0", msg.Header.Get("MIME-Version"))

	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/alternative", mediaType)
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var types []string
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		body, err := io.ReadAll(p) // NextPart decodes quoted-printable
		require.NoError(t, err)
		types = append(types, p.Header.Get("Content-Type"))
		assert.Contains(t, string(body), testMailLink)
		assert.Contains(t, string(body), "Zoë")
	}
	assert.Equal(t, []string{"text/plain; charset=utf-8", "text/html; charset=utf-8"}, types)
	assert.Contains(t, string(got.Data), "Content-Transfer-Encoding: quoted-printable")
	for _, line := range strings.Split(string(got.Data), "\r\n") {
		assert.LessOrEqual(t, len(line), 998, "line too long")
	}
}

func TestSMTPMailerTextOnly(t *testing.T) {
	s := smtptest.Start(t)
	m := newTestSMTPMailer(t, s.URL(), nil)
	sent := testMail("bob@example.org")
	sent.HTML = ""
	require.NoError(t, m.SendMail(context.Background(), sent))
	got := s.WaitFor(t, "bob@example.org")
	assert.Contains(t, got.Text, testMailLink)
	assert.Empty(t, got.HTML)
	assert.Contains(t, string(got.Data), "Content-Type: text/plain; charset=utf-8\r\n")
}

func TestNewSMTPMailerURL(t *testing.T) {
	for _, tc := range []struct {
		url                  string
		host, port, user, pw string
		implicit             bool
	}{
		{"smtp://mail.example.com", "mail.example.com", "587", "", "", false},
		{"smtp://u:p@mail.example.com:25", "mail.example.com", "25", "u", "p", false},
		{"smtps://mail.example.com", "mail.example.com", "465", "", "", true},
		{"smtps://us%40er:p%40ss%3Aw%2Frd@[::1]:2465", "::1", "2465", "us@er", "p@ss:w/rd", true},
	} {
		t.Run(tc.url, func(t *testing.T) {
			m, err := NewSMTPMailer(tc.url, testMailFrom)
			require.NoError(t, err)
			s := m.(*smtpMailer)
			assert.Equal(t, tc.host, s.host)
			assert.Equal(t, tc.port, s.port)
			assert.Equal(t, tc.user, s.user)
			assert.Equal(t, tc.pw, s.pass)
			assert.Equal(t, tc.implicit, s.implicit)
			assert.Equal(t, "no-reply@example.com", s.from.Address)
		})
	}
}

func TestNewSMTPMailerErrors(t *testing.T) {
	for _, tc := range []struct{ name, url, from, want string }{
		{"scheme", "http://mail.example.com", testMailFrom, "scheme"},
		{"no host", "smtp://", testMailFrom, "no host"},
		{"bad port", "smtp://mail.example.com:0", testMailFrom, "port"},
		{"bad from", "smtp://mail.example.com", "not an address", "From"},
		{"empty from", "smtp://mail.example.com", "", "From"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSMTPMailer(tc.url, tc.from)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestSMTPMailerNeverShowsPassword(t *testing.T) {
	const pass = "Sup3r-S3cret"
	closed := closedPort(t)
	for _, url := range []string{
		"smtp://user:" + pass + "/x@mail.example.com", // unescaped "/" breaks the URL
		"smtp://user:" + pass + "@mail.example.com:99999",
		"ftp://user:" + pass + "@mail.example.com",
		"smtp://user:" + pass + "@mail.example.com:bad",
		"smtp://user:" + pass + "@" + closed,
		"smtps://user:" + pass + "@" + closed,
	} {
		m, err := NewSMTPMailer(url, testMailFrom)
		if err == nil {
			err = m.SendMail(context.Background(), testMail("bob@example.org"))
		}
		require.Error(t, err, url)
		assert.NotContains(t, err.Error(), pass, url)
	}

	// Even an error that quotes the password is redacted, and still unwraps.
	m, err := NewSMTPMailer("smtp://user:"+pass+"@localhost", testMailFrom)
	require.NoError(t, err)
	err = m.(*smtpMailer).redact(&net.OpError{Op: "dial", Err: errors.New("bad " + pass)})
	assert.NotContains(t, err.Error(), pass)
	var opErr *net.OpError
	assert.ErrorAs(t, err, &opErr)
}

func TestSMTPMailerFailsPromptly(t *testing.T) {
	closed, silent := closedPort(t), silentServer(t)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		addr string
		ctx  func(t *testing.T) context.Context
		opts []SMTPOption
		want error
	}{
		{name: "closed port", addr: closed, ctx: func(*testing.T) context.Context { return context.Background() }},
		{name: "cancelled context", addr: silent, ctx: func(*testing.T) context.Context { return cancelled }, want: context.Canceled},
		{name: "context deadline, silent server", addr: silent, want: context.DeadlineExceeded, ctx: func(t *testing.T) context.Context {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			t.Cleanup(cancel)
			return ctx
		}},
		{name: "context cancelled mid-session", addr: silent, want: context.Canceled, ctx: func(t *testing.T) context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(200*time.Millisecond, cancel)
			t.Cleanup(cancel)
			return ctx
		}},
		{name: "SMTPTimeout, silent server", addr: silent, opts: []SMTPOption{SMTPTimeout(200 * time.Millisecond)}, want: context.DeadlineExceeded,
			ctx: func(*testing.T) context.Context { return context.Background() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newTestSMTPMailer(t, "smtp://"+tc.addr, nil, tc.opts...)
			start := time.Now()
			err := m.SendMail(tc.ctx(t), testMail("bob@example.org"))
			require.Error(t, err)
			assert.Less(t, time.Since(start), 3*time.Second)
			if tc.want != nil {
				assert.ErrorIs(t, err, tc.want)
			}
		})
	}
}
