package ginauth

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAccountTokensRefusedAsBearer proves that a mailed token, verify or
// reset-password, is no access token: presented as a bearer token to
// RequireAuth it is 401 with the invalid_token challenge, while the
// user's real access token passes.
func TestAccountTokensRefusedAsBearer(t *testing.T) {
	env := newUMEnv(t, nil)
	tokens := env.user(t, "mallory@example.com")
	user := env.stored(t, "mallory@example.com")
	verify, err := env.a.issueAccountToken(env.a.verifyTokens, user)
	require.NoError(t, err)
	reset, err := env.a.issueAccountToken(env.a.resetTokens, user)
	require.NoError(t, err)

	for _, path := range []string{"/api/me", "/users/me"} {
		res := env.call(t, http.MethodGet, path, nil, tokens.AccessToken)
		require.Equal(t, http.StatusOK, res.Status, "control, %s: %s", path, res.Body)
		for name, token := range map[string]string{"verify token": verify, "reset token": reset} {
			t.Run(name+" "+path, func(t *testing.T) {
				res := env.call(t, http.MethodGet, path, nil, token)
				assertExactJSON(t, res, http.StatusUnauthorized, `{"detail":"UNAUTHORIZED"}`)
				assert.Equal(t, `Bearer error="invalid_token"`, res.Header.Get("WWW-Authenticate"))
			})
		}
	}
}

// TestAccountTokenKindBindsPassword proves that only reset-password
// tokens are bound to the password hash: a password change kills a reset
// token and leaves a verify token alone.
func TestAccountTokenKindBindsPassword(t *testing.T) {
	secrets := [][]byte{[]byte(testSecret)}
	assert.True(t, newAccountTokenKind(secrets, "reset-password", time.Hour).bindsPassword)
	assert.False(t, newAccountTokenKind(secrets, "verify", time.Hour).bindsPassword)

	env := newUMEnv(t, nil)
	env.user(t, "nina@example.com")
	user := env.stored(t, "nina@example.com")
	for _, kind := range []*accountTokenKind{env.a.verifyTokens, env.a.resetTokens} {
		raw, err := env.a.issueAccountToken(kind, user)
		require.NoError(t, err)
		tok, err := env.a.parseAccountToken(kind, raw)
		require.NoError(t, err)
		assert.Equal(t, user.ID, tok.userID)
		assert.Equal(t, kind.bindsPassword, tok.claims.Fingerprint != "", "%s: fingerprint of the hash", kind.purpose)
		require.True(t, kind.matches(tok, user), kind.purpose)

		changed := *user
		changed.HashedPassword = "$argon2id$another"
		assert.Equal(t, !kind.bindsPassword, kind.matches(tok, &changed), "%s after a password change", kind.purpose)
		changed = *user
		changed.Email = "else@example.com"
		assert.False(t, kind.matches(tok, &changed), "%s after an email change", kind.purpose)
	}
}
