package ginauth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ginauth/ginauth/providers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// ---------------------------------------------------------------------------
// A fake provider: an OAuth server in memory that checks what a real one
// checks (single-use codes, redirect_uri, PKCE S256, nonce).

// oaAuthRequest is what the fake read back from an authorization URL it built.
type oaAuthRequest struct {
	URL, State, RedirectURI, Challenge, ChallengeMethod, Nonce string
	Scopes                                                     []string
}

// oaGrant is a code the fake issued.
type oaGrant struct {
	req     *oaAuthRequest
	profile providers.Profile
	used    bool
}

// oaFake implements providers.Provider.
type oaFake struct {
	name, displayName string

	mu          sync.Mutex
	profile     providers.Profile // given to the codes issued from now on
	exchangeErr error
	profileErr  error
	requests    map[string]*oaAuthRequest // by state
	grants      map[string]*oaGrant       // by code
	profiles    map[string]providers.Profile
	exchanges   []providers.ExchangeRequest
	pkceChecked int
	seq         int
	last        *oauth2.Token
}

var _ providers.Provider = (*oaFake)(nil)

func newOAFake(name, displayName string) *oaFake {
	return &oaFake{
		name: name, displayName: displayName,
		profile:  providers.Profile{AccountID: name + "-1001", Email: name + "-user@example.com", EmailVerified: true},
		requests: map[string]*oaAuthRequest{}, grants: map[string]*oaGrant{}, profiles: map[string]providers.Profile{},
	}
}

func (f *oaFake) authEndpoint() string { return "https://" + f.name + ".provider.test/authorize" }

// Name implements providers.Provider.
func (f *oaFake) Name() string { return f.name }

// DisplayName implements providers.Provider.
func (f *oaFake) DisplayName() string { return f.displayName }

// AuthCodeURL implements providers.Provider the way the real ones do
// (oauth2.Config with the S256 challenge) and records what the URL carries.
func (f *oaFake) AuthCodeURL(req providers.AuthRequest) string {
	cfg := oauth2.Config{
		ClientID: "client-" + f.name, RedirectURL: req.RedirectURL,
		Endpoint: oauth2.Endpoint{AuthURL: f.authEndpoint()},
		Scopes:   append([]string{"basic"}, req.Scopes...),
	}
	raw := cfg.AuthCodeURL(req.State, oauth2.S256ChallengeOption(req.CodeVerifier), oauth2.SetAuthURLParam("nonce", req.Nonce))
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	q := u.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests[q.Get("state")] = &oaAuthRequest{
		URL: raw, State: q.Get("state"), RedirectURI: q.Get("redirect_uri"),
		Challenge: q.Get("code_challenge"), ChallengeMethod: q.Get("code_challenge_method"),
		Nonce: q.Get("nonce"), Scopes: strings.Fields(q.Get("scope")),
	}
	return raw
}

// Exchange implements providers.Provider: the code must be one the fake
// issued, unused, for this redirect_uri, with a verifier whose S256 is the
// challenge of its authorization request, and the same nonce.
func (f *oaFake) Exchange(_ context.Context, req providers.ExchangeRequest) (*providers.Tokens, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.exchanges = append(f.exchanges, req)
	if f.exchangeErr != nil {
		return nil, f.exchangeErr
	}
	g, ok := f.grants[req.Code]
	if !ok || g.used {
		return nil, fmt.Errorf("%w: invalid_grant (unknown or used code)", providers.ErrInvalidGrant)
	}
	g.used = true // single-use, even when the rest fails
	sum := sha256.Sum256([]byte(req.CodeVerifier))
	switch {
	case req.RedirectURL != g.req.RedirectURI:
		return nil, fmt.Errorf("%w: redirect_uri mismatch", providers.ErrInvalidGrant)
	case g.req.ChallengeMethod != "S256" || base64.RawURLEncoding.EncodeToString(sum[:]) != g.req.Challenge:
		return nil, fmt.Errorf("%w: PKCE verification failed", providers.ErrInvalidGrant)
	case req.Nonce != g.req.Nonce:
		return nil, fmt.Errorf("%w: nonce mismatch", providers.ErrInvalidGrant)
	}
	f.pkceChecked++
	f.seq++
	tok := &oauth2.Token{
		AccessToken:  fmt.Sprintf("%s-access-%d-%s", f.name, f.seq, randomHex(8)),
		RefreshToken: fmt.Sprintf("%s-refresh-%d-%s", f.name, f.seq, randomHex(8)),
		TokenType:    "Bearer", Expiry: time.Now().Add(time.Hour),
	}
	f.profiles[tok.AccessToken] = g.profile
	f.last = tok
	return &providers.Tokens{Token: tok}, nil
}

// Profile implements providers.Provider.
func (f *oaFake) Profile(_ context.Context, tokens *providers.Tokens) (*providers.Profile, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.profileErr != nil {
		return nil, f.profileErr
	}
	p, ok := f.profiles[tokens.AccessToken]
	if !ok {
		return nil, fmt.Errorf("%w: unknown access token", providers.ErrInvalidGrant)
	}
	return &p, nil
}

// setProfile sets the account that the next approvals sign in.
func (f *oaFake) setProfile(p providers.Profile) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.profile = p
}

// request returns the authorization request recorded for authURL.
func (f *oaFake) request(t testing.TB, authURL string) *oaAuthRequest {
	t.Helper()
	u, err := url.Parse(authURL)
	require.NoError(t, err)
	require.Equal(t, f.authEndpoint(), u.Scheme+"://"+u.Host+u.Path, "not this provider's URL: %s", authURL)
	f.mu.Lock()
	defer f.mu.Unlock()
	req, ok := f.requests[u.Query().Get("state")]
	require.True(t, ok, "the fake did not build %s", authURL)
	return req
}

// approve plays the user consenting at the provider: it issues a code for
// the request of authURL and returns where the provider sends the browser.
func (f *oaFake) approve(t testing.TB, authURL string) *url.URL {
	t.Helper()
	req := f.request(t, authURL)
	f.mu.Lock()
	code := "code-" + randomHex(12)
	f.grants[code] = &oaGrant{req: req, profile: f.profile}
	f.mu.Unlock()
	u, err := url.Parse(req.RedirectURI)
	require.NoError(t, err)
	u.RawQuery = url.Values{"code": {code}, "state": {req.State}}.Encode()
	return u
}

// deny plays the user refusing at the provider.
func (f *oaFake) deny(t testing.TB, authURL string) *url.URL {
	t.Helper()
	req := f.request(t, authURL)
	u, err := url.Parse(req.RedirectURI)
	require.NoError(t, err)
	u.RawQuery = url.Values{"error": {"access_denied"}, "state": {req.State}}.Encode()
	return u
}

func (f *oaFake) exchangeCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.exchanges)
}

func (f *oaFake) lastExchange() providers.ExchangeRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.exchanges[len(f.exchanges)-1]
}

func (f *oaFake) lastToken() *oauth2.Token {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}

func (f *oaFake) pkceCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pkceChecked
}

func (f *oaFake) setErrors(exchangeErr, profileErr error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.exchangeErr, f.profileErr = exchangeErr, profileErr
}

// ---------------------------------------------------------------------------
// A clock the tests move.

type oaClock struct {
	mu  sync.Mutex
	now time.Time
}

func newOAClock() *oaClock { return &oaClock{now: time.Now().UTC().Truncate(time.Second)} }

func (c *oaClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *oaClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// ---------------------------------------------------------------------------
// A browser: a cookie jar against the app's test server, that does not
// follow redirects so the tests can read them.

type oaBrowser struct {
	t      testing.TB
	srv    *httptest.Server
	base   string // the app's configured BaseURL, where providers send the browser back
	jar    http.CookieJar
	client *http.Client
	bearer string // sent as Authorization when set (associate)
}

func newOABrowser(t testing.TB, srv *httptest.Server, base string) *oaBrowser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &oaBrowser{
		t: t, srv: srv, base: base, jar: jar,
		client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
}

// withBearer returns the browser sending token on its requests.
func (b *oaBrowser) withBearer(token string) *oaBrowser { b.bearer = token; return b }

// request sends a request to the app.
func (b *oaBrowser) request(method, pathAndQuery string, header http.Header) apiResponse {
	b.t.Helper()
	req, err := http.NewRequest(method, b.srv.URL+pathAndQuery, nil)
	require.NoError(b.t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	if b.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+b.bearer)
	}
	resp, err := b.client.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return apiResponse{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// authorize begins a flow (associate when path says so) and returns the
// provider's authorization URL.
func (b *oaBrowser) authorize(path string, query url.Values) string {
	b.t.Helper()
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	res := b.request(http.MethodGet, path, nil)
	require.Equal(b.t, http.StatusOK, res.Status, "authorize: %s", res.Body)
	authURL, _ := res.JSON(b.t)["authorization_url"].(string)
	require.NotEmpty(b.t, authURL)
	return authURL
}

// visit follows the provider's redirect back to the app: the URL is on the
// configured BaseURL, which the test server stands for.
func (b *oaBrowser) visit(u *url.URL) apiResponse {
	b.t.Helper()
	require.True(b.t, strings.HasPrefix(u.String(), b.base+"/"), "the provider sends the browser to %s, not to the app at %s", u, b.base)
	return b.request(http.MethodGet, u.RequestURI(), nil)
}

// stateCookie returns the cookie of that name the browser holds, or nil.
func (b *oaBrowser) stateCookie(name string) *http.Cookie {
	u, _ := url.Parse(b.srv.URL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// flowCookie returns the state cookie of the flow whose callback is cb, or nil.
func (b *oaBrowser) flowCookie(cb *url.URL) *http.Cookie {
	return b.stateCookie(oaStateCookieName(b.base, cb.Query().Get("state")))
}

// stateCookies returns every state cookie the browser holds.
func (b *oaBrowser) stateCookies() []*http.Cookie {
	u, _ := url.Parse(b.srv.URL)
	var held []*http.Cookie
	for _, c := range b.jar.Cookies(u) {
		if strings.HasPrefix(c.Name, "ginauth_oauth_") || strings.HasPrefix(c.Name, "__Host-ginauth_oauth_") {
			held = append(held, c)
		}
	}
	return held
}

// oaStateCookieName is the name API-CONTRACT.md gives the state cookie of
// a flow, worked out here independently of the code under test:
// `ginauth_oauth_` and the first 16 base64url characters of SHA-256 of
// the state, `__Host-` prefixed under an https base URL.
func oaStateCookieName(baseURL, state string) string {
	sum := sha256.Sum256([]byte(state))
	name := "ginauth_oauth_" + base64.RawURLEncoding.EncodeToString(sum[:])[:16]
	if strings.HasPrefix(baseURL, "https://") {
		name = "__Host-" + name
	}
	return name
}

// oaAuthState is the state an authorization URL carries.
func oaAuthState(t testing.TB, authURL string) string {
	t.Helper()
	u, err := url.Parse(authURL)
	require.NoError(t, err)
	state := u.Query().Get("state")
	require.NotEmpty(t, state)
	return state
}

// setCookie puts a cookie in the browser's jar, as an attacker or a saved
// copy would.
func (b *oaBrowser) setCookie(name, value string) {
	u, _ := url.Parse(b.srv.URL)
	b.jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// ---------------------------------------------------------------------------
// The app under test.

// oaEnv is one app with two fake providers, a trusted origin and a clock.
type oaEnv struct {
	a       *Auth
	store   *GormStore
	srv     *httptest.Server
	clock   *oaClock
	github  *oaFake
	google  *oaFake
	baseURL string
}

const oaTrustedOrigin = "https://app.example.com"

func newOAEnv(t testing.TB, edit func(*Config)) *oaEnv {
	t.Helper()
	return newOAEnvOn(t, openTestStore(t, "sqlite"), edit)
}

func newOAEnvOn(t testing.TB, store *GormStore, edit func(*Config)) *oaEnv {
	t.Helper()
	e := &oaEnv{store: store, clock: newOAClock(), github: newOAFake("github", "GitHub"), google: newOAFake("google", "Google")}
	e.a = newTestAuthOn(t, store, func(cfg *Config) {
		cfg.Providers = []providers.Provider{e.github, e.google}
		cfg.TrustedOrigins = []string{oaTrustedOrigin}
		cfg.Now = e.clock.Now
		if edit != nil {
			edit(cfg)
		}
	})
	e.baseURL = e.a.cfg.BaseURL
	e.srv = newTestServer(t, e.a)
	return e
}

func (e *oaEnv) browser(t testing.TB) *oaBrowser { return newOABrowser(t, e.srv, e.baseURL) }

// signIn runs a whole sign-in with provider p in browser b.
func (e *oaEnv) signIn(t testing.TB, b *oaBrowser, p *oaFake, query url.Values) apiResponse {
	t.Helper()
	return b.visit(p.approve(t, b.authorize("/auth/"+p.name+"/authorize", query)))
}

// associate runs a whole associate flow with provider p for the user of token.
func (e *oaEnv) associate(t testing.TB, token string, p *oaFake) apiResponse {
	t.Helper()
	b := e.browser(t).withBearer(token)
	return b.visit(p.approve(t, b.authorize("/auth/"+p.name+"/associate/authorize", nil)))
}

// setUserFlag writes a user column directly, as an admin tool would.
func (e *oaEnv) setUserFlag(t testing.TB, email, column string, value bool) {
	t.Helper()
	res := e.store.DB().Model(&User{}).Where("email = ?", email).Update(column, value)
	require.NoError(t, res.Error)
	require.EqualValues(t, 1, res.RowsAffected)
}

func (e *oaEnv) userCount(t testing.TB) int64 {
	t.Helper()
	var n int64
	require.NoError(t, e.store.DB().Model(&User{}).Count(&n).Error)
	return n
}

// oaTokens decodes a TokenResponse.
func oaTokens(t testing.TB, res apiResponse) TokenResponse {
	t.Helper()
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	var tokens TokenResponse
	require.NoError(t, json.Unmarshal(res.Body, &tokens))
	require.NotEmpty(t, tokens.AccessToken)
	require.NotEmpty(t, tokens.RefreshToken)
	require.Equal(t, "bearer", tokens.TokenType)
	return tokens
}

// oaMe reads GET /users/me.
func oaMe(t testing.TB, srv *httptest.Server, token string) UserRead {
	t.Helper()
	res := do(t, srv, http.MethodGet, "/users/me", nil, token)
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	var u UserRead
	require.NoError(t, json.Unmarshal(res.Body, &u))
	return u
}

// oaRequireError asserts an error answer of the contract.
func oaRequireError(t testing.TB, res apiResponse, status int, code ErrorCode) {
	t.Helper()
	require.Equal(t, status, res.Status, "body: %s", res.Body)
	assert.Equal(t, string(code), res.Detail(t))
}

// ---------------------------------------------------------------------------
// The routes.

// TestOAuthProvidersList proves GET /auth/providers lists the configured
// providers' name and display_name in configuration order, and an empty
// list (not null) when none is configured.
func TestOAuthProvidersList(t *testing.T) {
	e := newOAEnv(t, nil)
	res := do(t, e.srv, http.MethodGet, "/auth/providers", nil, "")
	require.Equal(t, http.StatusOK, res.Status)
	assert.JSONEq(t, `{"providers":[{"name":"github","display_name":"GitHub"},{"name":"google","display_name":"Google"}]}`, string(res.Body))

	none := newTestServer(t, newTestAuth(t, nil))
	res = do(t, none, http.MethodGet, "/auth/providers", nil, "")
	require.Equal(t, http.StatusOK, res.Status)
	assert.JSONEq(t, `{"providers":[]}`, string(res.Body))
}

// TestOAuthAuthorize proves the authorize route: JSON authorization_url
// built from the configured base URL (never the request's Host), a state
// cookie that is HttpOnly, SameSite=Lax, Path=/, at most 10 minutes, with
// `__Host-` and Secure under an https base URL; a 302 for browsers asking
// for HTML; 404 PROVIDER_NOT_FOUND for an unknown provider; and ?scopes=
// handed to the provider.
func TestOAuthAuthorize(t *testing.T) {
	t.Run("json and state cookie", func(t *testing.T) {
		e := newOAEnv(t, nil)
		res := do(t, e.srv, http.MethodGet, "/auth/github/authorize", nil, "")
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
		body := res.JSON(t)
		require.Len(t, body, 1, "only authorization_url: %s", res.Body)
		authURL := body["authorization_url"].(string)
		req := e.github.request(t, authURL)
		assert.Equal(t, "http://localhost:8080/auth/github/callback", req.RedirectURI)
		assert.Len(t, req.State, 43)
		assert.NotEmpty(t, req.Nonce)
		assert.Equal(t, "S256", req.ChallengeMethod)

		cookie := oaFindCookie(t, res, oaStateCookieName(e.baseURL, req.State))
		assert.Regexp(t, `^ginauth_oauth_[A-Za-z0-9_-]{16}$`, cookie.Name, "named after the state, never the state itself")
		assert.NotContains(t, cookie.Name, req.State)
		assert.True(t, cookie.HttpOnly)
		assert.Equal(t, http.SameSiteLaxMode, cookie.SameSite)
		assert.Equal(t, "/", cookie.Path)
		assert.Empty(t, cookie.Domain)
		assert.Greater(t, cookie.MaxAge, 0)
		assert.LessOrEqual(t, cookie.MaxAge, 600)
		assert.False(t, cookie.Secure, "an http base URL cannot use Secure cookies")
		assert.NotContains(t, cookie.Value, req.State, "the state cookie is sealed")
	})

	t.Run("https base URL gives __Host- and Secure", func(t *testing.T) {
		e := newOAEnv(t, func(cfg *Config) { cfg.BaseURL = "https://api.example.com" })
		res := do(t, e.srv, http.MethodGet, "/auth/github/authorize", nil, "")
		require.Equal(t, http.StatusOK, res.Status)
		authURL := res.JSON(t)["authorization_url"].(string)
		cookie := oaFindCookie(t, res, oaStateCookieName(e.baseURL, oaAuthState(t, authURL)))
		assert.True(t, strings.HasPrefix(cookie.Name, "__Host-ginauth_oauth_"), cookie.Name)
		assert.True(t, cookie.Secure)
		assert.True(t, cookie.HttpOnly)
		assert.Equal(t, "/", cookie.Path)
		assert.Empty(t, cookie.Domain, "__Host- cookies carry no Domain")
		assert.Equal(t, http.SameSiteLaxMode, cookie.SameSite)
		assert.Equal(t, "https://api.example.com/auth/github/callback", e.github.request(t, authURL).RedirectURI)
	})

	t.Run("redirect_uri ignores Host and X-Forwarded-Host", func(t *testing.T) {
		e := newOAEnv(t, nil)
		req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/auth/github/authorize", nil)
		require.NoError(t, err)
		req.Host = "evil.tld"
		req.Header.Set("X-Forwarded-Host", "evil.tld")
		req.Header.Set("X-Forwarded-Proto", "https")
		res := send(t, req)
		require.Equal(t, http.StatusOK, res.Status)
		authURL := res.JSON(t)["authorization_url"].(string)
		assert.Equal(t, "http://localhost:8080/auth/github/callback", e.github.request(t, authURL).RedirectURI)
		assert.NotContains(t, authURL, "evil.tld")
	})

	t.Run("html client gets a 302 to the provider", func(t *testing.T) {
		e := newOAEnv(t, nil)
		b := e.browser(t)
		res := b.request(http.MethodGet, "/auth/github/authorize", http.Header{"Accept": {"text/html,application/xhtml+xml,*/*;q=0.8"}})
		require.Equal(t, http.StatusFound, res.Status, "body: %s", res.Body)
		loc := res.Header.Get("Location")
		assert.True(t, strings.HasPrefix(loc, e.github.authEndpoint()+"?"), loc)
		e.github.request(t, loc)
		require.NotNil(t, b.stateCookie(oaStateCookieName(e.baseURL, oaAuthState(t, loc))))
		// The 302 leads to a working flow.
		oaTokens(t, b.visit(e.github.approve(t, loc)))
	})

	t.Run("unknown provider", func(t *testing.T) {
		e := newOAEnv(t, nil)
		tokens := registerAndLogin(t, e.srv, "known@example.com", "correct horse battery")
		for _, c := range []struct{ method, path, token string }{
			{http.MethodGet, "/auth/nope/authorize", ""},
			{http.MethodGet, "/auth/nope/callback?code=c&state=s", ""},
			{http.MethodGet, "/auth/nope/associate/authorize", tokens.AccessToken},
			{http.MethodGet, "/auth/nope/associate/callback?code=c&state=s", tokens.AccessToken},
			{http.MethodDelete, "/auth/nope/associate", tokens.AccessToken},
		} {
			t.Run(c.method+" "+c.path, func(t *testing.T) {
				res := do(t, e.srv, c.method, c.path, nil, c.token)
				oaRequireError(t, res, http.StatusNotFound, CodeProviderNotFound)
				assert.Empty(t, res.Header.Values("Set-Cookie"))
			})
		}
	})

	t.Run("scopes are passed through", func(t *testing.T) {
		e := newOAEnv(t, nil)
		res := do(t, e.srv, http.MethodGet, "/auth/github/authorize?"+url.Values{"scopes": {"repo read:org,gist"}}.Encode(), nil, "")
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		req := e.github.request(t, res.JSON(t)["authorization_url"].(string))
		assert.Equal(t, []string{"basic", "repo", "read:org", "gist"}, req.Scopes)

		res = do(t, e.srv, http.MethodGet, "/auth/github/authorize?"+url.Values{"scopes": {"repo&prompt=none"}}.Encode(), nil, "")
		require.Equal(t, http.StatusUnprocessableEntity, res.Status, "a scope cannot smuggle parameters: %s", res.Body)
	})
}

// oaFindCookie returns the Set-Cookie of the response with that name.
// Asked for `ginauth_oauth` or `__Host-ginauth_oauth`, the bare prefix of
// the state cookies, it returns the one state cookie the response sets.
func oaFindCookie(t testing.TB, res apiResponse, name string) *http.Cookie {
	t.Helper()
	var prefixed []*http.Cookie
	for _, c := range (&http.Response{Header: res.Header}).Cookies() {
		if c.Name == name {
			return c
		}
		if (name == "ginauth_oauth" || name == "__Host-ginauth_oauth") && strings.HasPrefix(c.Name, name+"_") {
			prefixed = append(prefixed, c)
		}
	}
	if len(prefixed) == 1 {
		return prefixed[0]
	}
	require.Failf(t, "no cookie", "no Set-Cookie %q in %v", name, res.Header.Values("Set-Cookie"))
	return nil
}

// TestOAuthSignUpAndSignIn proves a first sign-in creates a user (verified
// exactly when the provider verified the email) and returns a
// TokenResponse that works on /users/me and /api/me, with the link listed
// and no provider token in any body; that signing in again returns the
// same user and stores the provider's new tokens; and that the callback
// answers with Referrer-Policy: no-referrer and Cache-Control: no-store.
func TestOAuthSignUpAndSignIn(t *testing.T) {
	for _, verified := range []bool{true, false} {
		t.Run(fmt.Sprintf("provider email_verified=%v", verified), func(t *testing.T) {
			e := newOAEnv(t, nil)
			e.github.setProfile(providers.Profile{AccountID: "583231", Email: "Octo.Cat@Example.com", EmailVerified: verified})
			res := e.signIn(t, e.browser(t), e.github, nil)
			tokens := oaTokens(t, res)
			assert.Equal(t, "no-referrer", res.Header.Get("Referrer-Policy"))
			assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
			assert.Equal(t, "no-cache", res.Header.Get("Pragma"))
			first := e.github.lastToken()
			assert.NotContains(t, string(res.Body), first.AccessToken)
			assert.NotContains(t, string(res.Body), first.RefreshToken)

			me := oaMe(t, e.srv, tokens.AccessToken)
			assert.Equal(t, "octo.cat@example.com", me.Email)
			assert.Equal(t, verified, me.IsVerified)
			assert.True(t, me.IsActive)
			assert.False(t, me.IsSuperuser)
			assert.Equal(t, []OAuthAccountRead{{OAuthName: "github", AccountID: "583231", AccountEmail: "Octo.Cat@Example.com"}}, me.OAuthAccounts)
			api := do(t, e.srv, http.MethodGet, "/api/me", nil, tokens.AccessToken)
			require.Equal(t, http.StatusOK, api.Status)
			assert.Equal(t, me.ID.String(), api.JSON(t)["id"])

			// Again, from another browser: same user, new provider tokens stored.
			again := oaTokens(t, e.signIn(t, e.browser(t), e.github, nil))
			assert.Equal(t, me.ID, oaMe(t, e.srv, again.AccessToken).ID)
			assert.EqualValues(t, 1, e.userCount(t))
			second := e.github.lastToken()
			require.NotEqual(t, first.AccessToken, second.AccessToken)
			acc, err := e.store.OAuthAccount(context.Background(), "github", "583231")
			require.NoError(t, err)
			access, refresh, err := e.a.ProviderTokens(acc)
			require.NoError(t, err)
			assert.Equal(t, second.AccessToken, access)
			assert.Equal(t, second.RefreshToken, refresh)
			assert.Equal(t, 2, e.github.pkceCount(), "PKCE S256 checked on every flow")
		})
	}
}

// TestOAuthCallbackForwardsIssuer proves the callback's RFC 9207 `iss`
// parameter reaches the provider's Exchange, which compares it with its
// issuer.
func TestOAuthCallbackForwardsIssuer(t *testing.T) {
	e := newOAEnv(t, nil)
	b := e.browser(t)
	cb := e.github.approve(t, b.authorize("/auth/github/authorize", nil))
	q := cb.Query()
	q.Set("iss", "https://github.provider.test")
	cb.RawQuery = q.Encode()
	oaTokens(t, b.visit(cb))
	assert.Equal(t, "https://github.provider.test", e.github.lastExchange().Issuer)
}

// TestOAuthRedirectTo proves a flow begun with a trusted redirect_to ends
// in a 302 to exactly that URL with the tokens only in HttpOnly cookies:
// the Location carries no token, no code and no state, and the body no
// token.
func TestOAuthRedirectTo(t *testing.T) {
	e := newOAEnv(t, nil)
	b := e.browser(t)
	const target = "https://app.example.com/welcome?tab=profile#top"
	res := e.signIn(t, b, e.github, url.Values{"redirect_to": {target}})
	require.Equal(t, http.StatusFound, res.Status, "body: %s", res.Body)
	assert.Equal(t, "no-referrer", res.Header.Get("Referrer-Policy"))
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
	loc := res.Header.Get("Location")
	assert.Equal(t, target, loc)

	access := oaFindCookie(t, res, "ginauth_access")
	refresh := oaFindCookie(t, res, "ginauth_refresh")
	for _, c := range []*http.Cookie{access, refresh} {
		assert.True(t, c.HttpOnly, c.Name)
		assert.Equal(t, http.SameSiteLaxMode, c.SameSite, c.Name)
		assert.Equal(t, "/", c.Path, c.Name)
		assert.NotEmpty(t, c.Value, c.Name)
		assert.NotContains(t, loc, c.Value)
		assert.NotContains(t, string(res.Body), c.Value)
	}
	for _, leak := range []string{"code", "state", "token", e.github.lastToken().AccessToken} {
		assert.NotContains(t, strings.ToLower(loc), strings.ToLower(leak))
	}
	// The cookie holds a working access token.
	assert.Equal(t, "github-user@example.com", oaMe(t, e.srv, access.Value).Email)
}

// TestOAuthAssociate proves linking: associate/authorize needs a token
// (401 without, and no state cookie), the callback links the account to
// the signed-in user and answers 200 UserRead, DELETE unlinks (204), and
// unlinking the last way to sign in (no password, one provider) is 400
// OAUTH_LAST_LOGIN_METHOD while another provider or a password allows it.
func TestOAuthAssociate(t *testing.T) {
	t.Run("needs a token", func(t *testing.T) {
		e := newOAEnv(t, nil)
		res := do(t, e.srv, http.MethodGet, "/auth/github/associate/authorize", nil, "")
		oaRequireError(t, res, http.StatusUnauthorized, CodeUnauthorized)
		assert.Empty(t, res.Header.Values("Set-Cookie"))
		res = do(t, e.srv, http.MethodGet, "/auth/github/associate/callback?code=c&state=s", nil, "")
		oaRequireError(t, res, http.StatusUnauthorized, CodeUnauthorized)
		res = do(t, e.srv, http.MethodDelete, "/auth/github/associate", nil, "")
		oaRequireError(t, res, http.StatusUnauthorized, CodeUnauthorized)
	})

	t.Run("link and unlink with a password", func(t *testing.T) {
		e := newOAEnv(t, nil)
		tokens := registerAndLogin(t, e.srv, "linker@example.com", "correct horse battery")
		b := e.browser(t).withBearer(tokens.AccessToken)
		authURL := b.authorize("/auth/github/associate/authorize", nil)
		assert.Equal(t, "http://localhost:8080/auth/github/associate/callback", e.github.request(t, authURL).RedirectURI)
		res := b.visit(e.github.approve(t, authURL))
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		assert.Equal(t, "no-referrer", res.Header.Get("Referrer-Policy"))
		var read UserRead
		require.NoError(t, json.Unmarshal(res.Body, &read))
		assert.Equal(t, "linker@example.com", read.Email)
		assert.Equal(t, []OAuthAccountRead{{OAuthName: "github", AccountID: "github-1001", AccountEmail: "github-user@example.com"}}, read.OAuthAccounts)
		assert.NotContains(t, string(res.Body), e.github.lastToken().AccessToken)

		// The linked account now signs the same user in.
		again := oaTokens(t, e.signIn(t, e.browser(t), e.github, nil))
		assert.Equal(t, read.ID, oaMe(t, e.srv, again.AccessToken).ID)

		res = do(t, e.srv, http.MethodDelete, "/auth/github/associate", nil, tokens.AccessToken)
		require.Equal(t, http.StatusNoContent, res.Status, "body: %s", res.Body)
		assert.Empty(t, oaMe(t, e.srv, tokens.AccessToken).OAuthAccounts)
	})

	t.Run("last login method", func(t *testing.T) {
		e := newOAEnv(t, nil)
		tokens := oaTokens(t, e.signIn(t, e.browser(t), e.github, nil)) // no password
		res := do(t, e.srv, http.MethodDelete, "/auth/github/associate", nil, tokens.AccessToken)
		oaRequireError(t, res, http.StatusBadRequest, CodeOAuthLastLoginMethod)
		require.Len(t, oaMe(t, e.srv, tokens.AccessToken).OAuthAccounts, 1)

		require.Equal(t, http.StatusOK, e.associate(t, tokens.AccessToken, e.google).Status)
		res = do(t, e.srv, http.MethodDelete, "/auth/github/associate", nil, tokens.AccessToken)
		require.Equal(t, http.StatusNoContent, res.Status, "google is left: %s", res.Body)
		res = do(t, e.srv, http.MethodDelete, "/auth/google/associate", nil, tokens.AccessToken)
		oaRequireError(t, res, http.StatusBadRequest, CodeOAuthLastLoginMethod)
		assert.Equal(t, []OAuthAccountRead{{OAuthName: "google", AccountID: "google-1001", AccountEmail: "google-user@example.com"}},
			oaMe(t, e.srv, tokens.AccessToken).OAuthAccounts)
	})
}

// TestOAuthCallbackErrors proves the callback's error answers: a provider
// `error` parameter is 400 OAUTH_PROVIDER_ERROR, a refused code too, a
// provider that cannot be reached is 502 OAUTH_PROVIDER_UNAVAILABLE
// without its internal error text, an inactive user is 400
// LOGIN_BAD_CREDENTIALS, and a new account without email is 400
// OAUTH_NOT_AVAILABLE_EMAIL and creates nobody.
func TestOAuthCallbackErrors(t *testing.T) {
	t.Run("provider error param", func(t *testing.T) {
		e := newOAEnv(t, nil)
		b := e.browser(t)
		res := b.visit(e.github.deny(t, b.authorize("/auth/github/authorize", nil)))
		oaRequireError(t, res, http.StatusBadRequest, CodeOAuthProviderError)
		assert.Equal(t, 0, e.github.exchangeCount())
		assert.Equal(t, "no-referrer", res.Header.Get("Referrer-Policy"))
	})

	t.Run("code refused", func(t *testing.T) {
		e := newOAEnv(t, nil)
		e.github.setErrors(fmt.Errorf("%w: invalid_grant", providers.ErrInvalidGrant), nil)
		oaRequireError(t, e.signIn(t, e.browser(t), e.github, nil), http.StatusBadRequest, CodeOAuthProviderError)
	})

	for name, errs := range map[string][2]error{
		"provider down at exchange": {fmt.Errorf("%w: dial tcp 10.9.8.7:443: connection refused", providers.ErrProviderUnavailable), nil},
		"provider down at profile":  {nil, fmt.Errorf("%w: dial tcp 10.9.8.7:443: connection refused", providers.ErrProviderUnavailable)},
	} {
		t.Run(name, func(t *testing.T) {
			e := newOAEnv(t, nil)
			e.github.setErrors(errs[0], errs[1])
			res := e.signIn(t, e.browser(t), e.github, nil)
			oaRequireError(t, res, http.StatusBadGateway, CodeOAuthProviderUnavailable)
			assert.NotContains(t, string(res.Body), "10.9.8.7")
			assert.EqualValues(t, 0, e.userCount(t))
		})
	}

	t.Run("inactive user", func(t *testing.T) {
		e := newOAEnv(t, nil)
		oaTokens(t, e.signIn(t, e.browser(t), e.github, nil))
		e.setUserFlag(t, "github-user@example.com", "is_active", false)
		res := e.signIn(t, e.browser(t), e.github, nil)
		oaRequireError(t, res, http.StatusBadRequest, CodeLoginBadCredentials)
		assert.NotContains(t, string(res.Body), "token")
	})

	t.Run("no email", func(t *testing.T) {
		e := newOAEnv(t, nil)
		e.github.setProfile(providers.Profile{AccountID: "no-mail"})
		oaRequireError(t, e.signIn(t, e.browser(t), e.github, nil), http.StatusBadRequest, CodeOAuthNotAvailableEmail)
		assert.EqualValues(t, 0, e.userCount(t))
	})

	t.Run("unusable email", func(t *testing.T) {
		e := newOAEnv(t, nil)
		e.github.setProfile(providers.Profile{AccountID: "bad-mail", Email: "a@b.c\r\nBcc: x@y.z", EmailVerified: true})
		oaRequireError(t, e.signIn(t, e.browser(t), e.github, nil), http.StatusBadRequest, CodeOAuthNotAvailableEmail)
		assert.EqualValues(t, 0, e.userCount(t))
	})
}

// TestOAuthPKCEAlwaysS256 proves every flow uses PKCE S256 with a fresh
// RFC 7636 verifier that never leaves the server in clear, whatever the
// client asks for: a code_challenge_method=plain (and a code_challenge of
// its own) in the authorize query changes nothing, and the provider sees
// the verifier whose S256 is the challenge it was sent.
func TestOAuthPKCEAlwaysS256(t *testing.T) {
	e := newOAEnv(t, nil)
	b := e.browser(t)
	authURL := b.authorize("/auth/github/authorize", url.Values{"code_challenge_method": {"plain"}, "code_challenge": {"attacker-chosen"}})
	u, err := url.Parse(authURL)
	require.NoError(t, err)
	q := u.Query()
	assert.Equal(t, []string{"S256"}, q["code_challenge_method"])
	require.Len(t, q["code_challenge"], 1)
	assert.NotEqual(t, "attacker-chosen", q.Get("code_challenge"))
	cookie := b.stateCookie(oaStateCookieName(e.baseURL, q.Get("state")))
	require.NotNil(t, cookie)

	oaTokens(t, b.visit(e.github.approve(t, authURL)))
	verifier := e.github.lastExchange().CodeVerifier
	assert.Regexp(t, `^[A-Za-z0-9._~-]{43,128}$`, verifier)
	assert.NotContains(t, authURL, verifier)
	assert.NotContains(t, cookie.Value, verifier)
	sum := sha256.Sum256([]byte(verifier))
	assert.Equal(t, base64.RawURLEncoding.EncodeToString(sum[:]), q.Get("code_challenge"))
	assert.Equal(t, 1, e.github.pkceCount())

	// A second flow has another verifier.
	oaTokens(t, e.signIn(t, e.browser(t), e.github, nil))
	assert.NotEqual(t, verifier, e.github.lastExchange().CodeVerifier)
}

// TestOAuthStateAttacks proves each attack on the state of SECURITY.md
// "OAuth" ends in 400 OAUTH_INVALID_STATE before the code is spent (the
// provider's Exchange is never called), while the honest flow of each
// setup would have worked.
func TestOAuthStateAttacks(t *testing.T) {
	cases := []struct {
		name string
		// attack runs the flow wrongly and returns the callback's answer.
		attack func(t *testing.T, e *oaEnv) apiResponse
	}{
		{"no state", func(t *testing.T, e *oaEnv) apiResponse {
			b := e.browser(t)
			cb := e.github.approve(t, b.authorize("/auth/github/authorize", nil))
			q := cb.Query()
			q.Del("state")
			cb.RawQuery = q.Encode()
			return b.visit(cb)
		}},
		{"empty state", func(t *testing.T, e *oaEnv) apiResponse {
			b := e.browser(t)
			cb := e.github.approve(t, b.authorize("/auth/github/authorize", nil))
			q := cb.Query()
			q.Set("state", "")
			cb.RawQuery = q.Encode()
			return b.visit(cb)
		}},
		{"wrong state", func(t *testing.T, e *oaEnv) apiResponse {
			b := e.browser(t)
			cb := e.github.approve(t, b.authorize("/auth/github/authorize", nil))
			q := cb.Query()
			q.Set("state", randomToken(32))
			cb.RawQuery = q.Encode()
			return b.visit(cb)
		}},
		{"cookie of another attempt under this state's name", func(t *testing.T, e *oaEnv) apiResponse {
			b := e.browser(t)
			cb := e.github.approve(t, b.authorize("/auth/github/authorize", nil))
			other := e.github.approve(t, b.authorize("/auth/github/authorize", nil))
			b.setCookie(b.flowCookie(cb).Name, b.flowCookie(other).Value)
			return b.visit(cb)
		}},
		{"replayed callback URL", func(t *testing.T, e *oaEnv) apiResponse {
			b := e.browser(t)
			cb := e.github.approve(t, b.authorize("/auth/github/authorize", nil))
			name := b.flowCookie(cb).Name
			first := b.visit(cb)
			oaTokens(t, first)
			cleared := oaFindCookie(t, first, name)
			assert.Less(t, cleared.MaxAge, 0, "the callback clears the state cookie")
			require.Nil(t, b.flowCookie(cb))
			return b.visit(cb)
		}},
		{"expired", func(t *testing.T, e *oaEnv) apiResponse {
			b := e.browser(t)
			cb := e.github.approve(t, b.authorize("/auth/github/authorize", nil))
			e.clock.advance(10*time.Minute + time.Second)
			return b.visit(cb)
		}},
		{"from another browser", func(t *testing.T, e *oaEnv) apiResponse {
			cb := e.github.approve(t, e.browser(t).authorize("/auth/github/authorize", nil))
			return e.browser(t).visit(cb)
		}},
		{"from another provider", func(t *testing.T, e *oaEnv) apiResponse {
			b := e.browser(t)
			cb := e.github.approve(t, b.authorize("/auth/github/authorize", nil))
			cb.Path = "/auth/google/callback"
			return b.visit(cb)
		}},
		{"associate state at the sign-in callback", func(t *testing.T, e *oaEnv) apiResponse {
			tokens := registerAndLogin(t, e.srv, "victim@example.com", "correct horse battery")
			b := e.browser(t).withBearer(tokens.AccessToken)
			cb := e.github.approve(t, b.authorize("/auth/github/associate/authorize", nil))
			cb.Path = "/auth/github/callback"
			b.bearer = ""
			return b.visit(cb)
		}},
		{"state of another user on associate", func(t *testing.T, e *oaEnv) apiResponse {
			alice := registerAndLogin(t, e.srv, "alice@example.com", "correct horse battery")
			bob := registerAndLogin(t, e.srv, "bob@example.com", "correct horse battery")
			b := e.browser(t).withBearer(alice.AccessToken)
			cb := e.github.approve(t, b.authorize("/auth/github/associate/authorize", nil))
			b.bearer = bob.AccessToken // Bob finishes with Alice's cookie and state
			res := b.visit(cb)
			assert.Empty(t, oaMe(t, e.srv, alice.AccessToken).OAuthAccounts)
			assert.Empty(t, oaMe(t, e.srv, bob.AccessToken).OAuthAccounts)
			return res
		}},
		{"tampered cookie", func(t *testing.T, e *oaEnv) apiResponse {
			b := e.browser(t)
			cb := e.github.approve(t, b.authorize("/auth/github/authorize", nil))
			c := b.flowCookie(cb)
			require.NotNil(t, c)
			raw := []byte(c.Value)
			i := len(raw) / 2
			if raw[i] == 'A' {
				raw[i] = 'B'
			} else {
				raw[i] = 'A'
			}
			b.setCookie(c.Name, string(raw))
			return b.visit(cb)
		}},
		{"garbage cookie", func(t *testing.T, e *oaEnv) apiResponse {
			b := e.browser(t)
			cb := e.github.approve(t, b.authorize("/auth/github/authorize", nil))
			b.setCookie(b.flowCookie(cb).Name, "not-a-sealed-value")
			return b.visit(cb)
		}},
		{"cookie sealed by another secret", func(t *testing.T, e *oaEnv) apiResponse {
			// Another app with the same providers and another secret.
			other := newTestAuthOn(t, e.store, func(cfg *Config) {
				cfg.Secret = "another-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
				cfg.Providers = []providers.Provider{e.github, e.google}
			})
			b := newOABrowser(t, newTestServer(t, other), other.cfg.BaseURL)
			cb := e.github.approve(t, b.authorize("/auth/github/authorize", nil))
			b.srv = e.srv // the browser now talks to our app, carrying the other app's cookie
			return b.visit(cb)
		}},
		{"state cookie forged from the state", func(t *testing.T, e *oaEnv) apiResponse {
			b := e.browser(t)
			cb := e.github.approve(t, b.authorize("/auth/github/authorize", nil))
			b.setCookie(b.flowCookie(cb).Name, cb.Query().Get("state"))
			return b.visit(cb)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newOAEnv(t, nil)
			before := e.github.exchangeCount() + e.google.exchangeCount()
			res := tc.attack(t, e)
			oaRequireError(t, res, http.StatusBadRequest, CodeOAuthInvalidState)
			assert.Equal(t, "no-referrer", res.Header.Get("Referrer-Policy"))
			assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
			spent := e.github.exchangeCount() + e.google.exchangeCount() - before
			if tc.name == "replayed callback URL" {
				assert.Equal(t, 1, spent, "only the honest first use reached the provider")
			} else {
				assert.Equal(t, 0, spent, "the code must not be spent on a bad state")
			}
		})
	}
}

// TestOAuthStateExpiryBoundary proves the state lives 10 minutes: a flow
// finished 1 s before works, so the expired case above fails for its age.
func TestOAuthStateExpiryBoundary(t *testing.T) {
	e := newOAEnv(t, nil)
	b := e.browser(t)
	cb := e.github.approve(t, b.authorize("/auth/github/authorize", nil))
	e.clock.advance(10*time.Minute - time.Second)
	oaTokens(t, b.visit(cb))
}

// TestOAuthStateReplayWithSavedCookie documents what stops a replay by
// someone holding a saved copy of the state cookie and the callback URL:
// the state is not remembered server-side (the sealed cookie is the whole
// state, so any instance can finish a flow), so the state check passes;
// the provider's single-use code then refuses the second exchange, and the
// answer is 400 OAUTH_PROVIDER_ERROR with no second session.
func TestOAuthStateReplayWithSavedCookie(t *testing.T) {
	e := newOAEnv(t, nil)
	b := e.browser(t)
	cb := e.github.approve(t, b.authorize("/auth/github/authorize", nil))
	saved := b.flowCookie(cb)
	require.NotNil(t, saved)
	first := oaTokens(t, b.visit(cb))

	thief := e.browser(t)
	thief.setCookie(saved.Name, saved.Value)
	res := thief.visit(cb)
	oaRequireError(t, res, http.StatusBadRequest, CodeOAuthProviderError)
	assert.Equal(t, 2, e.github.exchangeCount(), "the replay reached the provider, which refused the used code")

	sessions, err := e.store.SessionsOf(context.Background(), oaMe(t, e.srv, first.AccessToken).ID, e.clock.Now())
	require.NoError(t, err)
	assert.Len(t, sessions, 1, "the replay started no session")
}

// TestOAuthStateRotatedSecret proves a flow begun before a secret rotation
// finishes after it: the new app opens the cookie with PreviousSecrets.
func TestOAuthStateRotatedSecret(t *testing.T) {
	e := newOAEnv(t, nil)
	b := e.browser(t)
	cb := e.github.approve(t, b.authorize("/auth/github/authorize", nil))

	rotated := newTestAuthOn(t, e.store, func(cfg *Config) {
		cfg.Secret = "rotated-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
		cfg.PreviousSecrets = []string{testSecret}
		cfg.Providers = []providers.Provider{e.github, e.google}
		cfg.Now = e.clock.Now
	})
	b.srv = newTestServer(t, rotated)
	oaTokens(t, b.visit(cb))
}

// TestOAuthRedirectToBypass proves authorize refuses every redirect_to
// that is not on a trusted origin, compared as parsed scheme, host and
// port (400 REDIRECT_NOT_ALLOWED, no state cookie), and accepts the
// trusted origin in any letter case or with its default port.
func TestOAuthRedirectToBypass(t *testing.T) {
	e := newOAEnv(t, nil)
	for _, raw := range oaRedirectBypasses {
		t.Run(fmt.Sprintf("%q", raw), func(t *testing.T) {
			res := do(t, e.srv, http.MethodGet, "/auth/github/authorize?redirect_to="+url.QueryEscape(raw), nil, "")
			oaRequireError(t, res, http.StatusBadRequest, CodeRedirectNotAllowed)
			assert.Empty(t, res.Header.Values("Set-Cookie"))
		})
	}
	for _, raw := range []string{"https://app.example.com", "https://app.example.com/ok", "HTTPS://APP.EXAMPLE.COM/ok", "https://app.example.com:443/ok"} {
		t.Run(fmt.Sprintf("accepted %q", raw), func(t *testing.T) {
			res := do(t, e.srv, http.MethodGet, "/auth/github/authorize?redirect_to="+url.QueryEscape(raw), nil, "")
			require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		})
	}
}

// oaRedirectBypasses are redirect_to values that must never be accepted
// with https://app.example.com trusted.
var oaRedirectBypasses = []string{
	"//evil.tld",
	"/\\evil.tld",
	"\\\\evil.tld",
	"https://app.example.com.evil.tld",
	"https://app.example.com@evil.tld",
	"https://app.example.com:443@evil.tld",
	"https://app.example.com\\@evil.tld",
	"https://user:pass@app.example.com/",
	"https://evil.tld@app.example.com/",
	"https:evil.tld",
	"https:/evil.tld",
	"https:///evil.tld",
	"javascript:alert(1)",
	"JavaScript://app.example.com/%0aalert(1)",
	"data:text/html,x",
	"https://evil.tld#https://app.example.com",
	"https://evil.tld?https://app.example.com",
	"https://evil.tld/https://app.example.com",
	"https://app.example.com:8443",
	"http://app.example.com",
	"ftp://app.example.com",
	"/relative/path",
	"app.example.com",
	"https://app.example.com%2F@evil.tld",
	"https://app.example.com%2eevil.tld",
	"https://app.example.com%40evil.tld",
	"https%3A%2F%2Fapp.example.com",
	"%2F%2Fevil.tld",
	"https://%61pp.example.com",
	"https://аpp.example.com",          // Cyrillic а
	"https://app.exаmple.com",          // Cyrillic а
	"https://app.example.com。evil.tld", // ideographic full stop
	"https://ａpp.example.com",          // fullwidth a
	"https://app.example.com\u200b",    // zero-width space
	"https://app.example.com\u2044evil.tld",
	"https://app.example.com/\r\nSet-Cookie: x=y",
	"https://app.example.com\r\n.evil.tld",
	"https://app.example.com/\nx",
	"https://app.example.com\t.evil.tld",
	" https://app.example.com",
	"https://app.example.com\x00.evil.tld",
	"https://app.example.com.",
	"https://[::1]",
	"https://app.example.com:0443",
}

// TestOAuthRequireVerified proves RequireVerified holds for OAuth sign-in
// as for password login: a user whose email nobody verified (the provider
// did not) gets 400 LOGIN_USER_NOT_VERIFIED and no tokens, on sign-up and
// on later sign-ins, while a provider-verified email signs in.
func TestOAuthRequireVerified(t *testing.T) {
	e := newOAEnv(t, func(cfg *Config) { cfg.RequireVerified = true })
	e.github.setProfile(providers.Profile{AccountID: "u-1", Email: "unverified@example.com", EmailVerified: false})
	res := e.signIn(t, e.browser(t), e.github, nil)
	oaRequireError(t, res, http.StatusBadRequest, CodeLoginUserNotVerified)
	assert.NotContains(t, string(res.Body), "access_token")
	assert.Empty(t, res.Header.Values("Set-Cookie")[1:], "only the state cookie is cleared: %v", res.Header.Values("Set-Cookie"))
	res = e.signIn(t, e.browser(t), e.github, url.Values{"redirect_to": {"https://app.example.com/"}})
	oaRequireError(t, res, http.StatusBadRequest, CodeLoginUserNotVerified)

	e.setUserFlag(t, "unverified@example.com", "is_verified", true)
	oaTokens(t, e.signIn(t, e.browser(t), e.github, nil))

	e.google.setProfile(providers.Profile{AccountID: "v-1", Email: "verified@example.com", EmailVerified: true})
	oaTokens(t, e.signIn(t, e.browser(t), e.google, nil))
}

// TestOAuthHooks proves OnAfterRegister runs once, when a sign-in creates
// the user (even one that RequireVerified then keeps out, so the app can
// mail it), and OnAfterLogin runs for each sign-in that got tokens only.
func TestOAuthHooks(t *testing.T) {
	var mu sync.Mutex
	var registered, loggedIn []string
	e := newOAEnv(t, func(cfg *Config) {
		cfg.RequireVerified = true
		cfg.Hooks.OnAfterRegister = func(_ context.Context, u *User, _ *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			registered = append(registered, u.Email)
		}
		cfg.Hooks.OnAfterLogin = func(_ context.Context, u *User, _ *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			loggedIn = append(loggedIn, u.Email)
		}
	})
	e.github.setProfile(providers.Profile{AccountID: "1", Email: "later@example.com"})
	oaRequireError(t, e.signIn(t, e.browser(t), e.github, nil), http.StatusBadRequest, CodeLoginUserNotVerified)
	e.google.setProfile(providers.Profile{AccountID: "2", Email: "now@example.com", EmailVerified: true})
	oaTokens(t, e.signIn(t, e.browser(t), e.google, nil))
	oaTokens(t, e.signIn(t, e.browser(t), e.google, nil))

	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"later@example.com", "now@example.com"}, registered)
	assert.Equal(t, []string{"now@example.com", "now@example.com"}, loggedIn)
}

// oaFormPostFake is a provider that posts its callback (response_mode=form_post, as Apple does).
type oaFormPostFake struct{ *oaFake }

// ResponseMode marks the provider as posting its callback.
func (oaFormPostFake) ResponseMode() string { return "form_post" }

// TestOAuthFormPostCallback proves the POST callback of form_post
// providers: their state cookie is SameSite=None and Secure (the callback
// is a cross-site POST), a form-encoded POST with the cookie signs in,
// another content type is 415, and without the cookie the state is refused.
func TestOAuthFormPostCallback(t *testing.T) {
	apple := oaFormPostFake{newOAFake("apple", "Apple")}
	e := newOAEnv(t, func(cfg *Config) { cfg.Providers = append(cfg.Providers, apple) })

	begin := func(t *testing.T) (*url.URL, *http.Cookie) {
		res := do(t, e.srv, http.MethodGet, "/auth/apple/authorize", nil, "")
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		authURL := res.JSON(t)["authorization_url"].(string)
		cookie := oaFindCookie(t, res, oaStateCookieName(e.baseURL, oaAuthState(t, authURL)))
		assert.Equal(t, http.SameSiteNoneMode, cookie.SameSite)
		assert.True(t, cookie.Secure)
		assert.True(t, cookie.HttpOnly)
		return apple.approve(t, authURL), cookie
	}
	post := func(t *testing.T, cb *url.URL, contentType string, cookie *http.Cookie) apiResponse {
		req, err := http.NewRequest(http.MethodPost, e.srv.URL+cb.Path, strings.NewReader(cb.RawQuery))
		require.NoError(t, err)
		req.Header.Set("Content-Type", contentType)
		if cookie != nil {
			req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
		}
		return send(t, req)
	}

	t.Run("signs in", func(t *testing.T) {
		cb, cookie := begin(t)
		res := post(t, cb, "application/x-www-form-urlencoded", cookie)
		oaTokens(t, res)
		assert.Equal(t, "no-referrer", res.Header.Get("Referrer-Policy"))
		cleared := oaFindCookie(t, res, cookie.Name)
		assert.Less(t, cleared.MaxAge, 0)
		assert.Equal(t, http.SameSiteNoneMode, cleared.SameSite, "cleared with the attributes it was set with")
		assert.True(t, cleared.Secure)
	})
	t.Run("json body", func(t *testing.T) {
		cb, cookie := begin(t)
		oaRequireError(t, post(t, cb, "application/json", cookie), http.StatusUnsupportedMediaType, CodeUnsupportedMediaType)
	})
	t.Run("no cookie", func(t *testing.T) {
		cb, _ := begin(t)
		oaRequireError(t, post(t, cb, "application/x-www-form-urlencoded", nil), http.StatusBadRequest, CodeOAuthInvalidState)
	})
}

// TestOAuthCallbackMalformed proves a callback with a good state but no
// code is 400 OAUTH_PROVIDER_ERROR without a call to the provider, and a
// provider profile without an account id is 502 OAUTH_PROVIDER_UNAVAILABLE
// and creates nobody.
func TestOAuthCallbackMalformed(t *testing.T) {
	e := newOAEnv(t, nil)
	b := e.browser(t)
	cb := e.github.approve(t, b.authorize("/auth/github/authorize", nil))
	q := cb.Query()
	q.Del("code")
	cb.RawQuery = q.Encode()
	oaRequireError(t, b.visit(cb), http.StatusBadRequest, CodeOAuthProviderError)
	assert.Equal(t, 0, e.github.exchangeCount())

	e.github.setProfile(providers.Profile{Email: "no-id@example.com", EmailVerified: true})
	oaRequireError(t, e.signIn(t, e.browser(t), e.github, nil), http.StatusBadGateway, CodeOAuthProviderUnavailable)
	assert.EqualValues(t, 0, e.userCount(t))
}
