package ginauth

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestUsersMe proves that GET /users/me answers the authenticated user's
// UserRead, with Cache-Control: no-store, and that each token sees its own
// user.
func TestUsersMe(t *testing.T) {
	a := newTestAuth(t, nil)
	srv := newTestServer(t, a)
	tokens := registerAndLogin(t, srv, "Leo@Example.com", routePassword)

	res := routeJSON(t, srv, http.MethodGet, "/users/me", nil, tokens.AccessToken)
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
	assert.Contains(t, res.Header.Get("Content-Type"), "application/json")
	user := assertUserRead(t, res.Body)
	assert.Equal(t, "leo@example.com", user.Email)
	assert.Equal(t, mustUserID(t, a, "leo@example.com"), user.ID)
	assert.True(t, user.IsActive)
	assert.False(t, user.IsSuperuser)
	assert.False(t, user.IsVerified)

	// A second user sees themself, not the first.
	other := registerAndLogin(t, srv, "mia@example.com", routePassword)
	res = routeJSON(t, srv, http.MethodGet, "/users/me", nil, other.AccessToken)
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	assert.Equal(t, "mia@example.com", assertUserRead(t, res.Body).Email)
}

// TestUsersMeUnauthorized proves that GET /users/me without a valid token
// is the contract's 401 (one body, WWW-Authenticate) and still carries
// Cache-Control: no-store; a deleted user's token is refused the same way.
func TestUsersMeUnauthorized(t *testing.T) {
	a := newTestAuth(t, nil)
	srv := newTestServer(t, a)
	tokens := registerAndLogin(t, srv, "nina@example.com", routePassword)

	cases := []struct {
		name, token, wwwAuthenticate string
	}{
		{"no token", "", "Bearer"},
		{"garbage token", "garbage", `Bearer error="invalid_token"`},
		{"refresh token", tokens.RefreshToken, `Bearer error="invalid_token"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := routeJSON(t, srv, http.MethodGet, "/users/me", nil, tc.token)
			assertExactJSON(t, res, http.StatusUnauthorized, `{"detail":"UNAUTHORIZED"}`)
			assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
			assert.Equal(t, tc.wwwAuthenticate, res.Header.Get("WWW-Authenticate"))
		})
	}

	t.Run("deleted user", func(t *testing.T) {
		require.NoError(t, a.Store().DeleteUser(context.Background(), mustUserID(t, a, "nina@example.com")))
		res := routeJSON(t, srv, http.MethodGet, "/users/me", nil, tokens.AccessToken)
		assertExactJSON(t, res, http.StatusUnauthorized, `{"detail":"UNAUTHORIZED"}`)
		assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
	})
}
