package ginauth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// oaStateAuth builds an Auth on a clock the test moves.
func oaStateAuth(t *testing.T, edit func(*Config)) (*Auth, *oaClock) {
	t.Helper()
	clock := newOAClock()
	return newTestAuth(t, func(cfg *Config) {
		cfg.Now = clock.Now
		if edit != nil {
			edit(cfg)
		}
	}), clock
}

// oaSetState runs setStateCookie and returns the cookie it set.
func oaSetState(t *testing.T, a *Auth, st *oauthState, formPost bool) *http.Cookie {
	t.Helper()
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequest(http.MethodGet, "/auth/github/authorize", nil)
	a.setStateCookie(c, st, formPost)
	cookies := w.Result().Cookies()
	require.Len(t, cookies, 1)
	return cookies[0]
}

// oaTakeState runs takeStateCookie on a request carrying cookie (when not
// nil) and returns its result and the Set-Cookie it answered with.
func oaTakeState(t *testing.T, a *Auth, cookie *http.Cookie, provider, state string, userID uuid.UUID) (*oauthState, []*http.Cookie, error) {
	t.Helper()
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequest(http.MethodGet, "/auth/"+provider+"/callback", nil)
	if cookie != nil {
		c.Request.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
	}
	st, err := a.takeStateCookie(c, provider, state, userID)
	return st, w.Result().Cookies(), err
}

// TestOAuthStateFresh proves each attempt gets its own random state, PKCE
// verifier (RFC 7636: 43 to 128 unreserved characters) and nonce, and
// expires 10 minutes after it began.
func TestOAuthStateFresh(t *testing.T) {
	a, clock := oaStateAuth(t, nil)
	seen := map[string]bool{}
	for i := 0; i < 50; i++ {
		st := a.newOAuthState("github", "", uuid.Nil)
		for _, v := range []string{st.State, st.Verifier, st.Nonce} {
			assert.False(t, seen[v], "a random value repeated")
			seen[v] = true
			assert.GreaterOrEqual(t, len(v), 43)
		}
		assert.Regexp(t, `^[A-Za-z0-9._~-]{43,128}$`, st.Verifier)
		assert.Equal(t, clock.Now().Add(10*time.Minute).Unix(), st.Expires)
	}
}

// TestOAuthStateCookieRoundTrip proves the sealed cookie carries the whole
// attempt (state, verifier, nonce, provider, redirect, user) without
// showing any of it, and that taking it clears the cookie.
func TestOAuthStateCookieRoundTrip(t *testing.T) {
	a, _ := oaStateAuth(t, nil)
	user := uuid.New()
	st := a.newOAuthState("github", "https://app.example.com/x", user)
	cookie := oaSetState(t, a, st, false)
	assert.Equal(t, "ginauth_oauth", cookie.Name)
	for _, secret := range []string{st.State, st.Verifier, st.Nonce, "app.example.com", user.String()} {
		assert.NotContains(t, cookie.Value, secret)
	}

	got, set, err := oaTakeState(t, a, cookie, "github", st.State, user)
	require.NoError(t, err)
	assert.Equal(t, st, got)
	require.Len(t, set, 1)
	assert.Equal(t, "ginauth_oauth", set[0].Name)
	assert.Less(t, set[0].MaxAge, 0, "the cookie is cleared on use")
	assert.True(t, set[0].HttpOnly)
}

// TestOAuthStateCookieRefused proves every mismatch is ErrOAuthInvalidState
// and still clears the cookie: no cookie, empty or other state, another
// provider, another user (associate), a sign-in cookie used on associate,
// expiry at exactly 10 minutes, a cookie sealed for another purpose or
// under the https cookie name, and a tampered or foreign cookie.
func TestOAuthStateCookieRefused(t *testing.T) {
	a, clock := oaStateAuth(t, nil)
	user := uuid.New()
	st := a.newOAuthState("github", "", user)
	good := oaSetState(t, a, st, false)
	raw, err := json.Marshal(st)
	require.NoError(t, err)
	other := newTestAuth(t, func(cfg *Config) { cfg.Secret = "another-secret-0123456789-abcdefghijklmnopqrstuvwxyz" })
	signIn := a.newOAuthState("github", "", uuid.Nil)

	cases := []struct {
		name     string
		cookie   *http.Cookie
		provider string
		state    string
		user     uuid.UUID
		before   func()
	}{
		{name: "no cookie", cookie: nil, provider: "github", state: st.State, user: user},
		{name: "empty state", cookie: good, provider: "github", state: "", user: user},
		{name: "other state", cookie: good, provider: "github", state: st.State + "x", user: user},
		{name: "state prefix", cookie: good, provider: "github", state: st.State[:20], user: user},
		{name: "other provider", cookie: good, provider: "google", state: st.State, user: user},
		{name: "other user", cookie: good, provider: "github", state: st.State, user: uuid.New()},
		{name: "associate cookie at sign-in", cookie: good, provider: "github", state: st.State, user: uuid.Nil},
		{name: "sign-in cookie at associate", cookie: oaSetState(t, a, signIn, false), provider: "github", state: signIn.State, user: user},
		{name: "sealed for provider tokens", cookie: &http.Cookie{Name: "ginauth_oauth", Value: a.tokenSealer.seal(raw, []byte("ginauth_oauth"))}, provider: "github", state: st.State, user: user},
		{name: "sealed under the __Host- name", cookie: &http.Cookie{Name: "ginauth_oauth", Value: a.stateSealer.seal(raw, []byte("__Host-ginauth_oauth"))}, provider: "github", state: st.State, user: user},
		{name: "sealed with another secret", cookie: &http.Cookie{Name: "ginauth_oauth", Value: other.stateSealer.seal(raw, []byte("ginauth_oauth"))}, provider: "github", state: st.State, user: user},
		{name: "not JSON inside", cookie: &http.Cookie{Name: "ginauth_oauth", Value: a.stateSealer.seal([]byte("{"), []byte("ginauth_oauth"))}, provider: "github", state: st.State, user: user},
		{name: "truncated", cookie: &http.Cookie{Name: "ginauth_oauth", Value: good.Value[:len(good.Value)-1]}, provider: "github", state: st.State, user: user},
		{name: "expired at 10 minutes", cookie: good, provider: "github", state: st.State, user: user, before: func() { clock.advance(10 * time.Minute) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before()
			}
			got, set, err := oaTakeState(t, a, tc.cookie, tc.provider, tc.state, tc.user)
			assert.ErrorIs(t, err, ErrOAuthInvalidState)
			assert.Nil(t, got)
			require.Len(t, set, 1)
			assert.Less(t, set[0].MaxAge, 0)
		})
	}
}

// TestOAuthStateCookieAttributes proves the cookie's attributes: HttpOnly,
// SameSite=Lax, Path=/, Max-Age 600, and `__Host-` with Secure under an
// https base URL; a form_post provider (whose callback is a cross-site
// POST) gets SameSite=None, which browsers only keep with Secure.
func TestOAuthStateCookieAttributes(t *testing.T) {
	for _, tc := range []struct {
		baseURL, name string
		formPost      bool
		secure        bool
		sameSite      http.SameSite
	}{
		{"http://localhost:8080", "ginauth_oauth", false, false, http.SameSiteLaxMode},
		{"https://api.example.com", "__Host-ginauth_oauth", false, true, http.SameSiteLaxMode},
		{"https://api.example.com", "__Host-ginauth_oauth", true, true, http.SameSiteNoneMode},
	} {
		t.Run(tc.baseURL+map[bool]string{true: " form_post", false: ""}[tc.formPost], func(t *testing.T) {
			a, _ := oaStateAuth(t, func(cfg *Config) { cfg.BaseURL = tc.baseURL })
			st := a.newOAuthState("apple", "", uuid.Nil)
			cookie := oaSetState(t, a, st, tc.formPost)
			assert.Equal(t, tc.name, cookie.Name)
			assert.True(t, cookie.HttpOnly)
			assert.Equal(t, tc.secure, cookie.Secure)
			assert.Equal(t, tc.sameSite, cookie.SameSite)
			assert.Equal(t, "/", cookie.Path)
			assert.Empty(t, cookie.Domain)
			assert.Equal(t, 600, cookie.MaxAge)

			got, _, err := oaTakeState(t, a, cookie, "apple", st.State, uuid.Nil)
			require.NoError(t, err)
			assert.Equal(t, st.Verifier, got.Verifier)
		})
	}
}
