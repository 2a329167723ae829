package ginauth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/ginauth/ginauth/providers"
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
// showing any of it, is named after its state (`ginauth_oauth_` and 16
// base64url characters of SHA-256 of the state, never the state itself),
// and that taking it clears that cookie.
func TestOAuthStateCookieRoundTrip(t *testing.T) {
	a, _ := oaStateAuth(t, nil)
	user := uuid.New()
	st := a.newOAuthState("github", "https://app.example.com/x", user)
	cookie := oaSetState(t, a, st, false)
	assert.Equal(t, oaStateCookieName(a.cfg.BaseURL, st.State), cookie.Name)
	assert.Regexp(t, `^ginauth_oauth_[A-Za-z0-9_-]{16}$`, cookie.Name)
	for _, secret := range []string{st.State, st.Verifier, st.Nonce, "app.example.com", user.String()} {
		assert.NotContains(t, cookie.Value, secret)
		assert.NotContains(t, cookie.Name, secret)
	}

	_, err := a.openStateCookie(&http.Cookie{Name: a.stateCookieName(randomToken(32)), Value: cookie.Value})
	assert.ErrorIs(t, err, ErrOAuthInvalidState, "the value is sealed under its name and opens under no other")

	got, set, err := oaTakeState(t, a, cookie, "github", st.State, user)
	require.NoError(t, err)
	assert.Equal(t, st, got)
	require.Len(t, set, 1)
	assert.Equal(t, cookie.Name, set[0].Name)
	assert.Less(t, set[0].MaxAge, 0, "the cookie is cleared on use")
	assert.True(t, set[0].HttpOnly)
}

// TestOAuthStateCookieRefused proves every mismatch is ErrOAuthInvalidState,
// and clears the cookie named after the state when the browser sent one:
// no cookie, empty, other or truncated state (no cookie of that name), another
// provider, another user (associate), a sign-in cookie used on associate,
// expiry at exactly 10 minutes, a cookie sealed for another purpose, under
// the https cookie name or under another state's name, another attempt's
// value under this state's name, a value sealed under this name for another
// state (the name is only an index: the states are compared), and a tampered
// or foreign cookie.
func TestOAuthStateCookieRefused(t *testing.T) {
	a, clock := oaStateAuth(t, nil)
	user := uuid.New()
	st := a.newOAuthState("github", "", user)
	good := oaSetState(t, a, st, false)
	name := good.Name
	raw, err := json.Marshal(st)
	require.NoError(t, err)
	other := newTestAuth(t, func(cfg *Config) { cfg.Secret = "another-secret-0123456789-abcdefghijklmnopqrstuvwxyz" })
	signIn := a.newOAuthState("github", "", uuid.Nil)
	another := a.newOAuthState("github", "", user)
	anotherRaw, err := json.Marshal(another)
	require.NoError(t, err)
	sealed := func(s *sealer, plaintext []byte, name string) string { return s.seal(plaintext, []byte(name)) }

	cases := []struct {
		name     string
		cookie   *http.Cookie
		provider string
		state    string
		user     uuid.UUID
		before   func()
		kept     bool // no cookie of the state's name was sent: nothing to clear
	}{
		{name: "no cookie", cookie: nil, provider: "github", state: st.State, user: user, kept: true},
		{name: "empty state", cookie: good, provider: "github", state: "", user: user, kept: true},
		{name: "other state", cookie: good, provider: "github", state: st.State + "x", user: user, kept: true},
		{name: "state prefix", cookie: good, provider: "github", state: st.State[:20], user: user, kept: true},
		{name: "other provider", cookie: good, provider: "google", state: st.State, user: user},
		{name: "other user", cookie: good, provider: "github", state: st.State, user: uuid.New()},
		{name: "associate cookie at sign-in", cookie: good, provider: "github", state: st.State, user: uuid.Nil},
		{name: "sign-in cookie at associate", cookie: oaSetState(t, a, signIn, false), provider: "github", state: signIn.State, user: user},
		{name: "sealed for provider tokens", cookie: &http.Cookie{Name: name, Value: sealed(a.tokenSealer, raw, name)}, provider: "github", state: st.State, user: user},
		{name: "sealed under the __Host- name", cookie: &http.Cookie{Name: name, Value: sealed(a.stateSealer, raw, "__Host-"+name)}, provider: "github", state: st.State, user: user},
		{name: "sealed under another state's name", cookie: &http.Cookie{Name: name, Value: sealed(a.stateSealer, raw, a.stateCookieName(another.State))}, provider: "github", state: st.State, user: user},
		{name: "another attempt's cookie under this name", cookie: &http.Cookie{Name: name, Value: oaSetState(t, a, another, false).Value}, provider: "github", state: st.State, user: user},
		{name: "sealed under this name for another state", cookie: &http.Cookie{Name: name, Value: sealed(a.stateSealer, anotherRaw, name)}, provider: "github", state: st.State, user: user},
		{name: "sealed with another secret", cookie: &http.Cookie{Name: name, Value: sealed(other.stateSealer, raw, name)}, provider: "github", state: st.State, user: user},
		{name: "not JSON inside", cookie: &http.Cookie{Name: name, Value: sealed(a.stateSealer, []byte("{"), name)}, provider: "github", state: st.State, user: user},
		{name: "truncated", cookie: &http.Cookie{Name: name, Value: good.Value[:len(good.Value)-1]}, provider: "github", state: st.State, user: user},
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
			if tc.kept {
				assert.Empty(t, set)
				return
			}
			require.Len(t, set, 1)
			assert.Equal(t, tc.cookie.Name, set[0].Name)
			assert.Less(t, set[0].MaxAge, 0)
		})
	}
}

// TestOAuthStateCookieAttributes proves the cookie's attributes: HttpOnly,
// SameSite=Lax, Path=/, Max-Age 600, and `__Host-` with Secure under an
// https base URL; a form_post provider (whose callback is a cross-site
// POST) gets SameSite=None, which browsers only keep with Secure. The
// callback clears it with the same attributes.
func TestOAuthStateCookieAttributes(t *testing.T) {
	for _, tc := range []struct {
		baseURL, prefix string
		formPost        bool
		secure          bool
		sameSite        http.SameSite
	}{
		{"http://localhost:8080", "ginauth_oauth_", false, false, http.SameSiteLaxMode},
		{"http://localhost:8080", "ginauth_oauth_", true, true, http.SameSiteNoneMode},
		{"https://api.example.com", "__Host-ginauth_oauth_", false, true, http.SameSiteLaxMode},
		{"https://api.example.com", "__Host-ginauth_oauth_", true, true, http.SameSiteNoneMode},
	} {
		t.Run(tc.baseURL+map[bool]string{true: " form_post", false: ""}[tc.formPost], func(t *testing.T) {
			provider := newOAFake("github", "GitHub")
			a, _ := oaStateAuth(t, func(cfg *Config) {
				cfg.BaseURL = tc.baseURL
				cfg.Providers = []providers.Provider{provider}
				if tc.formPost {
					cfg.Providers = []providers.Provider{oaFormPostFake{provider}}
				}
			})
			st := a.newOAuthState("github", "", uuid.Nil)
			cookie := oaSetState(t, a, st, tc.formPost)
			assert.Equal(t, oaStateCookieName(tc.baseURL, st.State), cookie.Name)
			assert.True(t, strings.HasPrefix(cookie.Name, tc.prefix), cookie.Name)
			assert.Equal(t, 600, cookie.MaxAge)

			got, set, err := oaTakeState(t, a, cookie, "github", st.State, uuid.Nil)
			require.NoError(t, err)
			assert.Equal(t, st.Verifier, got.Verifier)
			require.Len(t, set, 1)
			for _, c := range []*http.Cookie{cookie, set[0]} {
				assert.Equal(t, cookie.Name, c.Name)
				assert.True(t, c.HttpOnly)
				assert.Equal(t, tc.secure, c.Secure)
				assert.Equal(t, tc.sameSite, c.SameSite)
				assert.Equal(t, "/", c.Path)
				assert.Empty(t, c.Domain)
			}
			assert.Less(t, set[0].MaxAge, 0)
		})
	}
}

// TestOAuthStateCookieCapOrder proves how authorize makes room, from the
// cookies the browser sends: one that does not open or has expired is
// cleared whatever the count; then the live ones beyond 4 (5 with the new
// one) go oldest first by the expiry sealed inside, whatever order the
// browser sends them in; and the state cookies stay within 4 KiB of
// Cookie header, so attempts with long redirect_to evict more.
func TestOAuthStateCookieCapOrder(t *testing.T) {
	a, clock := oaStateAuth(t, func(cfg *Config) { cfg.TrustedOrigins = []string{"https://app.example.com"} })
	start := func(redirectTo string) (*oauthState, *http.Cookie) {
		st := a.newOAuthState("github", redirectTo, uuid.Nil)
		cookie := oaSetState(t, a, st, false)
		clock.advance(time.Second)
		return st, cookie
	}
	authorize := func(held []*http.Cookie) (set map[string]*http.Cookie) {
		w := httptest.NewRecorder()
		c, _ := gin.CreateTestContext(w)
		c.Request = httptest.NewRequest(http.MethodGet, "/auth/github/authorize", nil)
		for _, cookie := range held {
			c.Request.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
		}
		a.setStateCookie(c, a.newOAuthState("github", "", uuid.Nil), false)
		set = map[string]*http.Cookie{}
		for _, cookie := range w.Result().Cookies() {
			set[cookie.Name] = cookie
		}
		return set
	}

	t.Run("oldest by sealed expiry, stale ones first", func(t *testing.T) {
		expired, expiredCookie := start("")
		clock.advance(4 * time.Minute)
		var cookies []*http.Cookie
		for range 5 {
			_, cookie := start("")
			cookies = append(cookies, cookie)
		}
		clock.advance(6*time.Minute - 4*time.Second) // the first attempt is 10 minutes old
		require.LessOrEqual(t, expired.Expires, clock.Now().Unix())
		garbage := &http.Cookie{Name: a.stateCookieName("forged"), Value: "not-sealed"}
		// Sent newest first, with the stale ones among them.
		held := []*http.Cookie{cookies[4], cookies[3], garbage, cookies[2], expiredCookie, cookies[1], cookies[0]}
		set := authorize(held)
		assert.Len(t, set, 4, "3 cleared and the new one: %v", set)
		for _, cleared := range []string{garbage.Name, expiredCookie.Name, cookies[0].Name} {
			require.Contains(t, set, cleared)
			assert.Less(t, set[cleared].MaxAge, 0, cleared)
		}
		for _, kept := range cookies[1:] {
			assert.NotContains(t, set, kept.Name)
		}
	})

	t.Run("within the byte budget", func(t *testing.T) {
		// Two attempts with a 1.2 KB redirect_to take about 4 KB of
		// header: the new attempt's cookie does not fit beside both.
		long := "https://app.example.com/" + strings.Repeat("a", 1200)
		_, older := start(long)
		_, newer := start(long)
		set := authorize([]*http.Cookie{older, newer})
		require.Len(t, set, 2, "%v", set)
		require.Contains(t, set, older.Name)
		assert.Less(t, set[older.Name].MaxAge, 0, "the older long attempt makes room")
		assert.NotContains(t, set, newer.Name)
		kept := headerBytes(newer.Name, newer.Value)
		for name, cookie := range set {
			if cookie.MaxAge > 0 {
				kept += headerBytes(name, cookie.Value)
			}
		}
		assert.LessOrEqual(t, kept, maxStateCookieBytes)
		assert.Greater(t, kept+headerBytes(older.Name, older.Value), maxStateCookieBytes)
	})
}
