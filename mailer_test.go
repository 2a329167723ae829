package ginauth

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewLogMailerLogsLink(t *testing.T) {
	var buf bytes.Buffer
	m := NewLogMailer(slog.New(slog.NewTextHandler(&buf, nil)))
	mail, err := DefaultMailTemplates().Render(MailResetPassword, MailData{Email: "bob@example.org", Link: testTemplateLink})
	require.NoError(t, err)
	require.NoError(t, m.SendMail(context.Background(), mail))

	out := buf.String()
	assert.Contains(t, out, "level=INFO")
	assert.Contains(t, out, "to=bob@example.org")
	assert.Contains(t, out, `subject="Reset your password"`)
	assert.Contains(t, out, testTemplateLink)
	assert.NotContains(t, out, "<p>", "the HTML body is not logged")

	assert.Error(t, m.SendMail(context.Background(), nil))
	assert.NotNil(t, NewLogMailer(nil))
}

func TestMailerFunc(t *testing.T) {
	var got *Mail
	want := errors.New("boom")
	var m Mailer = MailerFunc(func(_ context.Context, m *Mail) error { got = m; return want })
	mail := &Mail{To: "a@x"}
	assert.ErrorIs(t, m.SendMail(context.Background(), mail), want)
	assert.Same(t, mail, got)
}
