package smtptest

import (
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testMessage = "From: a@example.com\r\n" +
	"To: b@example.com\r\n" +
	"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/alternative; boundary=XYZ\r\n" +
	"\r\n" +
	"--XYZ\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: quoted-printable\r\n" +
	"\r\n" +
	"https://x.example/verify?token=3Dabc\r\n" +
	"--XYZ\r\n" +
	"Content-Type: text/html; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: base64\r\n" +
	"\r\n" +
	"PHA+aGk8L3A+\r\n" +
	"--XYZ--\r\n"

// dial opens a client session with s, after EHLO.
func dial(t *testing.T, s *Server) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(s.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.Hello("localhost"))
	return c
}

func send(c *smtp.Client, from, to, msg string) error {
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	return w.Close()
}

func TestSMTPServerParsesMessage(t *testing.T) {
	s := Start(t)
	assert.Equal(t, "smtp://"+s.Addr(), s.URL())
	assert.Nil(t, s.TLSConfig())
	require.NoError(t, smtp.SendMail(s.Addr(), nil, "a@example.com", []string{"b@example.com"}, []byte(testMessage)))

	m := s.WaitFor(t, "B@example.com")
	assert.Equal(t, "a@example.com", m.From)
	assert.Equal(t, []string{"b@example.com"}, m.To)
	assert.Equal(t, "Grüße", m.Subject)
	assert.Equal(t, "https://x.example/verify?token=abc", strings.TrimSpace(m.Text))
	assert.Equal(t, "<p>hi</p>", m.HTML)
	assert.False(t, m.TLS)
	assert.Len(t, s.Messages(), 1)
}

func TestSMTPServerWaitForReturnsEachMessageOnce(t *testing.T) {
	s := Start(t)
	go func() {
		time.Sleep(50 * time.Millisecond)
		for range 2 {
			_ = smtp.SendMail(s.Addr(), nil, "a@example.com", []string{"b@example.com"}, []byte(testMessage))
		}
	}()
	first := s.WaitFor(t, "b@example.com")
	second := s.WaitFor(t, "b@example.com")
	assert.Equal(t, first.Subject, second.Subject)
	assert.Len(t, s.Messages(), 2)
}

func TestSMTPServerRefusesMalformedMessage(t *testing.T) {
	s := Start(t)
	err := smtp.SendMail(s.Addr(), nil, "a@example.com", []string{"b@example.com"}, []byte("no header here\r\n\r\nbody\r\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "554")
	assert.Empty(t, s.Messages())
}

func TestSMTPServerAuth(t *testing.T) {
	s := Start(t, WithTLS(), WithAuth("user", "pass word"))
	assert.Equal(t, "smtp://user:pass%20word@"+s.Addr(), s.URL())

	t.Run("refused before STARTTLS", func(t *testing.T) {
		c := dial(t, s)
		ok, _ := c.Extension("AUTH")
		assert.False(t, ok, "AUTH offered before STARTTLS")
		err := c.Auth(smtp.PlainAuth("", "user", "pass word", "127.0.0.1"))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "TLS is required")
		assert.Error(t, send(c, "a@example.com", "b@example.com", testMessage), "mail accepted without AUTH")
	})
	for _, tc := range []struct {
		name, pass string
		ok         bool
	}{
		{"right password", "pass word", true},
		{"wrong password", "wrong", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, s)
			require.NoError(t, c.StartTLS(s.TLSConfig()))
			err := c.Auth(smtp.PlainAuth("", "user", tc.pass, "127.0.0.1"))
			if !tc.ok {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "535")
				return
			}
			require.NoError(t, err)
			require.NoError(t, send(c, "a@example.com", "b@example.com", testMessage))
			assert.True(t, s.WaitFor(t, "b@example.com").TLS)
		})
	}
}

func TestSMTPServerImplicitTLS(t *testing.T) {
	s := Start(t, WithImplicitTLS())
	assert.True(t, strings.HasPrefix(s.URL(), "smtps://127.0.0.1:"))
	require.NotNil(t, s.TLSConfig())
}
