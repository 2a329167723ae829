package ginauth

import (
	"net/http"
	"regexp"
	"testing"

	"github.com/ginauth/ginauth/internal/smtptest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var smtpLinkToken = regexp.MustCompile(`token=([A-Za-z0-9_\-.]+)`)

// TestVerifyAndResetOverSMTP runs the two mailed flows end to end through
// a real SMTP server (STARTTLS and AUTH, as a provider would ask): register
// → verify mail → POST /verify; forgot-password → reset mail → POST
// /reset-password → password-changed notice → the new password signs in.
func TestVerifyAndResetOverSMTP(t *testing.T) {
	sink := smtptest.Start(t, smtptest.WithTLS(), smtptest.WithAuth("mailer", "s3cret pass"))
	mailer, err := NewSMTPMailer(sink.URL(), "Example App <no-reply@app.example.com>", SMTPTLSConfig(sink.TLSConfig()))
	require.NoError(t, err)
	a := newTestAuth(t, func(c *Config) { c.Mailer, c.BaseURL = mailer, "https://app.example.com" })
	srv := newTestServer(t, a)
	tokenIn := func(m smtptest.Message) string {
		t.Helper()
		assert.True(t, m.TLS, "the mail went over STARTTLS")
		match := smtpLinkToken.FindStringSubmatch(m.Text)
		require.NotNil(t, match, "no link in %q", m.Text)
		assert.Contains(t, m.HTML, match[1], "the HTML part carries the same link")
		return match[1]
	}

	res := do(t, srv, http.MethodPost, "/auth/register", map[string]string{"email": "smtp@example.com", "password": lifecyclePassword}, "")
	require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)
	verifyMail := sink.WaitFor(t, "smtp@example.com")
	assert.Contains(t, verifyMail.Text, "https://app.example.com/verify?token=")
	res = do(t, srv, http.MethodPost, "/auth/verify", map[string]string{"token": tokenIn(verifyMail)}, "")
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	assert.Equal(t, true, res.JSON(t)["is_verified"])

	res = do(t, srv, http.MethodPost, "/auth/forgot-password", map[string]string{"email": "smtp@example.com"}, "")
	require.Equal(t, http.StatusAccepted, res.Status)
	resetMail := sink.WaitFor(t, "smtp@example.com")
	assert.Contains(t, resetMail.Text, "https://app.example.com/reset-password?token=")
	newPassword := "mailed new passphrase"
	res = do(t, srv, http.MethodPost, "/auth/reset-password", map[string]string{"token": tokenIn(resetMail), "password": newPassword}, "")
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	notice := sink.WaitFor(t, "smtp@example.com")
	assert.NotContains(t, notice.Text, "token=", "a notice carries no link")
	login(t, srv, "smtp@example.com", newPassword)
}

// TestAccountChangesOverSMTP runs the mail of PATCH /users/me through a
// real SMTP server: a new email gets a verify link (which then verifies
// the new address) and the old one a notice; a new password mails a
// notice and ends the other sessions.
func TestAccountChangesOverSMTP(t *testing.T) {
	sink := smtptest.Start(t, smtptest.WithTLS(), smtptest.WithAuth("mailer", "s3cret pass"))
	mailer, err := NewSMTPMailer(sink.URL(), "no-reply@app.example.com", SMTPTLSConfig(sink.TLSConfig()))
	require.NoError(t, err)
	a := newTestAuth(t, func(c *Config) { c.Mailer, c.BaseURL = mailer, "https://app.example.com" })
	srv := newTestServer(t, a)

	pair := registerAndLogin(t, srv, "old@example.com", lifecyclePassword)
	sink.WaitFor(t, "old@example.com") // the sign-up's verify link
	other := login(t, srv, "old@example.com", lifecyclePassword)

	res := do(t, srv, http.MethodPatch, "/users/me", map[string]string{"email": "new@example.com", "current_password": lifecyclePassword}, pair.AccessToken)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	assert.Equal(t, false, res.JSON(t)["is_verified"])
	verify := sink.WaitFor(t, "new@example.com")
	match := smtpLinkToken.FindStringSubmatch(verify.Text)
	require.NotNil(t, match, "no link in %q", verify.Text)
	notice := sink.WaitFor(t, "old@example.com")
	assert.Contains(t, notice.Text, "new@example.com", "the old address learns where the account went")
	assert.NotContains(t, notice.Text, "token=")
	res = do(t, srv, http.MethodPost, "/auth/verify", map[string]string{"token": match[1]}, "")
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	assert.Equal(t, "new@example.com", res.JSON(t)["email"])

	res = do(t, srv, http.MethodPatch, "/users/me", map[string]string{"password": "a changed passphrase", "current_password": lifecyclePassword}, pair.AccessToken)
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	changed := sink.WaitFor(t, "new@example.com")
	assert.NotContains(t, changed.Text, "token=")
	assert.Equal(t, http.StatusUnauthorized, do(t, srv, http.MethodGet, "/api/me", nil, other.AccessToken).Status, "the other session ended")
	assert.Equal(t, http.StatusOK, do(t, srv, http.MethodGet, "/api/me", nil, pair.AccessToken).Status, "this one goes on")
}
