package ginauth

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	ctEmail    = "cookie.user@example.com"
	ctPassword = "correct horse battery staple"
)

// ctBrowser is a browser against a cookie-transport app: a cookie jar,
// redirects not followed.
type ctBrowser struct {
	t      testing.TB
	srv    *httptest.Server
	jar    *cookiejar.Jar
	client *http.Client
}

func newCTBrowser(t testing.TB, srv *httptest.Server) *ctBrowser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &ctBrowser{t: t, srv: srv, jar: jar,
		client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// send sends body (JSON when not nil) with the extra headers.
func (b *ctBrowser) send(method, path string, body any, header map[string]string) apiResponse {
	b.t.Helper()
	var reader io.Reader = http.NoBody
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(b.t, err)
		reader = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, b.srv.URL+path, reader)
	require.NoError(b.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := b.client.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return apiResponse{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

// cookie is the value of the named cookie in the jar, or "".
func (b *ctBrowser) cookie(name string) string {
	u, _ := url.Parse(b.srv.URL)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// csrf is the header echoing the CSRF cookie.
func (b *ctBrowser) csrf() map[string]string {
	return map[string]string{"X-CSRF-Token": b.cookie("ginauth_csrf")}
}

// login signs in with JSON credentials and requires the cookie answer.
func (b *ctBrowser) login(header map[string]string) apiResponse {
	b.t.Helper()
	res := b.send(http.MethodPost, "/auth/login", map[string]string{"email": ctEmail, "password": ctPassword}, header)
	require.Equal(b.t, http.StatusNoContent, res.Status, "login: %s", res.Body)
	return res
}

// newCookieApp is an app with the cookie transport, a trusted origin and
// one registered user.
func newCookieApp(t testing.TB, edit func(*Config)) (*Auth, *httptest.Server) {
	t.Helper()
	a := newTestAuth(t, func(cfg *Config) {
		cfg.Transport = TransportCookie
		cfg.TrustedOrigins = []string{"https://app.example.com"}
		if edit != nil {
			edit(cfg)
		}
	})
	srv := newTestServer(t, a)
	res := do(t, srv, http.MethodPost, "/auth/register", map[string]string{"email": ctEmail, "password": ctPassword}, "")
	require.Equal(t, http.StatusCreated, res.Status, "register: %s", res.Body)
	return a, srv
}

// responseCookies indexes the Set-Cookie headers of a response by name.
func responseCookies(res apiResponse) map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, c := range (&http.Response{Header: res.Header}).Cookies() {
		out[c.Name] = c
	}
	return out
}

// TestCookieTransportLoginCookies proves login answers 204 with no body and
// three cookies: access and refresh HttpOnly, CSRF readable and random,
// all SameSite=Lax and Path=/, Secure and `__Host-` named exactly when the
// configured base URL is https.
func TestCookieTransportLoginCookies(t *testing.T) {
	for _, tc := range []struct {
		baseURL string
		secure  bool
		prefix  string
	}{
		{"http://localhost:8080", false, ""},
		{"https://auth.example.com", true, "__Host-"},
	} {
		t.Run(tc.baseURL, func(t *testing.T) {
			_, srv := newCookieApp(t, func(cfg *Config) { cfg.BaseURL = tc.baseURL })
			b := newCTBrowser(t, srv)
			res := b.login(nil)
			assert.Empty(t, res.Body)
			assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
			cookies := responseCookies(res)
			require.Len(t, cookies, 3, "Set-Cookie: %v", res.Header.Values("Set-Cookie"))
			for name, httpOnly := range map[string]bool{"ginauth_access": true, "ginauth_refresh": true, "ginauth_csrf": false} {
				c := cookies[tc.prefix+name]
				require.NotNil(t, c, "cookie %s%s", tc.prefix, name)
				assert.Equal(t, httpOnly, c.HttpOnly, name)
				assert.Equal(t, tc.secure, c.Secure, name)
				assert.Equal(t, http.SameSiteLaxMode, c.SameSite, name)
				assert.Equal(t, "/", c.Path, name)
				assert.Empty(t, c.Domain, name)
				assert.Positive(t, c.MaxAge, name)
				assert.NotEmpty(t, c.Value, name)
			}
			again := responseCookies(newCTBrowser(t, srv).login(nil))
			assert.NotEqual(t, cookies[tc.prefix+"ginauth_csrf"].Value, again[tc.prefix+"ginauth_csrf"].Value, "the CSRF token is random")
		})
	}
}

// TestCookieTransportSession proves a whole browser session: the cookies
// alone authenticate GET /users/me and /api/me; logout needs the CSRF
// header (missing or wrong: 403 CSRF_FAILED), then clears the three
// cookies and kills the session.
func TestCookieTransportSession(t *testing.T) {
	_, srv := newCookieApp(t, nil)
	b := newCTBrowser(t, srv)
	b.login(nil)
	access := b.cookie("ginauth_access")
	require.NotEmpty(t, access)

	for _, path := range []string{"/users/me", "/api/me"} {
		res := b.send(http.MethodGet, path, nil, nil)
		require.Equal(t, http.StatusOK, res.Status, "%s: %s", path, res.Body)
		assert.Equal(t, ctEmail, res.JSON(t)["email"], path)
	}

	for name, header := range map[string]map[string]string{
		"no header":    nil,
		"wrong header": {"X-CSRF-Token": "not-the-cookie"},
		"empty header": {"X-CSRF-Token": ""},
	} {
		t.Run("logout, "+name, func(t *testing.T) {
			res := b.send(http.MethodPost, "/auth/logout", nil, header)
			oaRequireError(t, res, http.StatusForbidden, CodeCSRFFailed)
			assert.Equal(t, http.StatusOK, b.send(http.MethodGet, "/users/me", nil, nil).Status, "the session lives on")
		})
	}

	res := b.send(http.MethodPost, "/auth/logout", nil, b.csrf())
	require.Equal(t, http.StatusNoContent, res.Status, "body: %s", res.Body)
	cleared := responseCookies(res)
	for name, httpOnly := range map[string]bool{"ginauth_access": true, "ginauth_refresh": true, "ginauth_csrf": false} {
		c := cleared[name]
		require.NotNil(t, c, "logout clears %s", name)
		assert.Equal(t, -1, c.MaxAge, name)
		assert.Empty(t, c.Value, name)
		assert.Equal(t, httpOnly, c.HttpOnly, name)
		assert.Equal(t, http.SameSiteLaxMode, c.SameSite, name)
		assert.Equal(t, "/", c.Path, name)
	}
	assert.Empty(t, b.cookie("ginauth_access"))
	assert.Equal(t, http.StatusUnauthorized, b.send(http.MethodGet, "/users/me", nil, nil).Status)
	assert.Equal(t, http.StatusUnauthorized, do(t, srv, http.MethodGet, "/api/me", nil, access).Status, "the session is dead")
}

// TestCookieTransportRefresh proves POST /refresh with an empty body spends
// the refresh cookie, only with the CSRF header, answers 204 with three
// new cookies, and the old refresh token is dead.
func TestCookieTransportRefresh(t *testing.T) {
	_, srv := newCookieApp(t, nil)
	b := newCTBrowser(t, srv)
	b.login(nil)
	oldAccess, oldRefresh, oldCSRF := b.cookie("ginauth_access"), b.cookie("ginauth_refresh"), b.cookie("ginauth_csrf")

	t.Run("without the CSRF header", func(t *testing.T) {
		oaRequireError(t, b.send(http.MethodPost, "/auth/refresh", nil, nil), http.StatusForbidden, CodeCSRFFailed)
		assert.Equal(t, oldRefresh, b.cookie("ginauth_refresh"))
	})

	res := b.send(http.MethodPost, "/auth/refresh", nil, b.csrf())
	require.Equal(t, http.StatusNoContent, res.Status, "body: %s", res.Body)
	assert.Empty(t, res.Body)
	assert.Len(t, responseCookies(res), 3)
	assert.NotEqual(t, oldAccess, b.cookie("ginauth_access"))
	assert.NotEqual(t, oldRefresh, b.cookie("ginauth_refresh"))
	assert.NotEqual(t, oldCSRF, b.cookie("ginauth_csrf"))
	assert.Equal(t, http.StatusOK, b.send(http.MethodGet, "/users/me", nil, nil).Status)

	stale := do(t, srv, http.MethodPost, "/auth/refresh", map[string]string{"refresh_token": oldRefresh}, "")
	oaRequireError(t, stale, http.StatusUnauthorized, CodeRefreshTokenInvalid)

	t.Run("no cookie, no body", func(t *testing.T) {
		oaRequireError(t, newCTBrowser(t, srv).send(http.MethodPost, "/auth/refresh", nil, nil), http.StatusForbidden, CodeCSRFFailed)
	})
}

// TestCookieTransportOrigin proves the login-CSRF defence: a cross-site
// Origin or Sec-Fetch-Site is refused on login and register, the base
// URL's origin and a trusted origin are accepted, and once the browser
// holds a CSRF cookie, logging in again must echo it.
func TestCookieTransportOrigin(t *testing.T) {
	_, srv := newCookieApp(t, nil)
	for _, tc := range []struct {
		name   string
		header map[string]string
		ok     bool
	}{
		{"no origin (not a browser)", nil, true},
		{"same origin", map[string]string{"Origin": "http://localhost:8080"}, true},
		{"same host, other port", map[string]string{"Origin": "http://localhost:80"}, false},
		{"trusted origin", map[string]string{"Origin": "https://app.example.com"}, true},
		{"trusted origin with its default port", map[string]string{"Origin": "https://app.example.com:443"}, true},
		{"Sec-Fetch-Site same-origin", map[string]string{"Sec-Fetch-Site": "same-origin"}, true},
		{"cross-site origin", map[string]string{"Origin": "https://evil.example"}, false},
		{"look-alike origin", map[string]string{"Origin": "https://app.example.com.evil.example"}, false},
		{"other scheme", map[string]string{"Origin": "http://app.example.com"}, false},
		{"null origin", map[string]string{"Origin": "null"}, false},
		{"Sec-Fetch-Site cross-site", map[string]string{"Sec-Fetch-Site": "cross-site"}, false},
		{"cross-site despite a good origin", map[string]string{"Origin": "http://localhost:8080", "Sec-Fetch-Site": "cross-site"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newCTBrowser(t, srv)
			res := b.send(http.MethodPost, "/auth/login", map[string]string{"email": ctEmail, "password": ctPassword}, tc.header)
			if tc.ok {
				assert.Equal(t, http.StatusNoContent, res.Status, "body: %s", res.Body)
				return
			}
			oaRequireError(t, res, http.StatusForbidden, CodeCSRFFailed)
			assert.Empty(t, responseCookies(res), "no cookie for a refused login")
			reg := b.send(http.MethodPost, "/auth/register", map[string]string{"email": "other@example.com", "password": ctPassword}, tc.header)
			oaRequireError(t, reg, http.StatusForbidden, CodeCSRFFailed)
		})
	}

	t.Run("the form login too", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/auth/login",
			bytes.NewReader([]byte(url.Values{"username": {ctEmail}, "password": {ctPassword}}.Encode())))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		oaRequireError(t, send(t, req), http.StatusForbidden, CodeCSRFFailed)
	})

	t.Run("a held CSRF cookie must be echoed", func(t *testing.T) {
		b := newCTBrowser(t, srv)
		b.login(nil)
		res := b.send(http.MethodPost, "/auth/login", map[string]string{"email": ctEmail, "password": ctPassword}, nil)
		oaRequireError(t, res, http.StatusForbidden, CodeCSRFFailed)
		b.login(b.csrf())
	})
}

// TestCookieTransportBearerStillWorks proves a bearer header is accepted
// in cookie mode, from a client holding no cookie, for reads and logout.
func TestCookieTransportBearerStillWorks(t *testing.T) {
	_, srv := newCookieApp(t, nil)
	b := newCTBrowser(t, srv)
	b.login(nil)
	access := b.cookie("ginauth_access")
	assert.Equal(t, http.StatusOK, do(t, srv, http.MethodGet, "/users/me", nil, access).Status)
	assert.Equal(t, http.StatusOK, do(t, srv, http.MethodGet, "/api/me", nil, access).Status)
	assert.Equal(t, http.StatusNoContent, do(t, srv, http.MethodPost, "/auth/logout", nil, access).Status)
	assert.Equal(t, http.StatusUnauthorized, b.send(http.MethodGet, "/users/me", nil, nil).Status, "the browser's session ended too")
}

// TestCookieTransportNoTokenInBody proves no token reaches a body in
// cookie mode: login and refresh answer 204 with an empty body, whatever
// the login's form.
func TestCookieTransportNoTokenInBody(t *testing.T) {
	_, srv := newCookieApp(t, nil)
	b := newCTBrowser(t, srv)
	login := b.login(nil)
	assert.Empty(t, login.Body)
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/auth/login",
		bytes.NewReader([]byte(url.Values{"username": {ctEmail}, "password": {ctPassword}}.Encode())))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	form := send(t, req)
	assert.Equal(t, http.StatusNoContent, form.Status)
	assert.Empty(t, form.Body)
	refresh := b.send(http.MethodPost, "/auth/refresh", nil, b.csrf())
	assert.Equal(t, http.StatusNoContent, refresh.Status)
	assert.Empty(t, refresh.Body)
	me := b.send(http.MethodGet, "/users/me", nil, nil)
	require.Equal(t, http.StatusOK, me.Status)
	assert.NotContains(t, string(me.Body), b.cookie("ginauth_access"))
	assert.NotContains(t, string(me.Body), b.cookie("ginauth_refresh"))
}

// TestCookieTransportAppRoutes proves RequireAuth guards an app's unsafe
// route authenticated by the cookie (403 without the CSRF header, 200
// with it), never reads the query string, and that OptionalAuth leaves
// such a request anonymous instead.
func TestCookieTransportAppRoutes(t *testing.T) {
	a, _ := newCookieApp(t, nil)
	r := gin.New()
	a.Register(r.Group("/auth"))
	r.POST("/api/things", a.RequireAuth(), func(c *gin.Context) { c.String(http.StatusOK, UserID(c).String()) })
	r.POST("/api/maybe", a.OptionalAuth(), func(c *gin.Context) { c.String(http.StatusOK, UserID(c).String()) })
	r.GET("/api/maybe", a.OptionalAuth(), func(c *gin.Context) { c.String(http.StatusOK, UserID(c).String()) })
	app := httptest.NewServer(r)
	t.Cleanup(app.Close)

	b := newCTBrowser(t, app)
	b.login(nil)
	const anonymous = "00000000-0000-0000-0000-000000000000"

	oaRequireError(t, b.send(http.MethodPost, "/api/things", nil, nil), http.StatusForbidden, CodeCSRFFailed)
	ok := b.send(http.MethodPost, "/api/things", nil, b.csrf())
	require.Equal(t, http.StatusOK, ok.Status, "body: %s", ok.Body)
	assert.NotEqual(t, anonymous, string(ok.Body))

	assert.Equal(t, anonymous, string(b.send(http.MethodPost, "/api/maybe", nil, nil).Body))
	assert.Equal(t, string(ok.Body), string(b.send(http.MethodPost, "/api/maybe", nil, b.csrf()).Body))
	assert.Equal(t, string(ok.Body), string(b.send(http.MethodGet, "/api/maybe", nil, nil).Body))

	query := do(t, app, http.MethodPost, "/api/things?access_token="+url.QueryEscape(b.cookie("ginauth_access")), nil, "")
	assert.Equal(t, http.StatusUnauthorized, query.Status)
}

// TestCookieTransportOAuth proves an OAuth sign-in in cookie mode sets the
// same three cookies, which RequireAuth accepts: after a redirect_to flow
// (302) and after a plain one (204, no token in the body).
func TestCookieTransportOAuth(t *testing.T) {
	e := newOAEnv(t, func(cfg *Config) { cfg.Transport = TransportCookie })
	t.Run("redirect_to", func(t *testing.T) {
		b := e.browser(t)
		res := e.signIn(t, b, e.github, url.Values{"redirect_to": {"https://app.example.com/welcome"}})
		require.Equal(t, http.StatusFound, res.Status, "body: %s", res.Body)
		assert.NotNil(t, oaFindCookie(t, res, "ginauth_csrf"))
		me := b.request(http.MethodGet, "/users/me", nil)
		require.Equal(t, http.StatusOK, me.Status, "body: %s", me.Body)
		assert.Equal(t, "github-user@example.com", me.JSON(t)["email"])
	})
	t.Run("no redirect_to", func(t *testing.T) {
		b := e.browser(t)
		res := e.signIn(t, b, e.google, nil)
		require.Equal(t, http.StatusNoContent, res.Status, "body: %s", res.Body)
		assert.Empty(t, res.Body)
		for _, name := range []string{"ginauth_access", "ginauth_refresh", "ginauth_csrf"} {
			assert.NotEmpty(t, oaFindCookie(t, res, name).Value, name)
		}
		assert.Equal(t, http.StatusOK, b.request(http.MethodGet, "/api/me", nil).Status)
	})
}

// TestBearerTransportIgnoresCookies proves the default transport reads the
// header alone: a stray access cookie does not authenticate, and login
// still answers 200 with the tokens in the body and sets no cookie.
func TestBearerTransportIgnoresCookies(t *testing.T) {
	a := newTestAuth(t, nil)
	assert.Equal(t, TransportBearer, a.Config().Transport)
	srv := newTestServer(t, a)
	tokens := registerAndLogin(t, srv, ctEmail, ctPassword)
	for _, name := range []string{"ginauth_access", "__Host-ginauth_access"} {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/api/me", nil)
		require.NoError(t, err)
		req.AddCookie(&http.Cookie{Name: name, Value: tokens.AccessToken})
		assert.Equal(t, http.StatusUnauthorized, send(t, req).Status, name)
	}
	res := do(t, srv, http.MethodPost, "/auth/login", map[string]string{"email": ctEmail, "password": ctPassword}, "")
	require.Equal(t, http.StatusOK, res.Status)
	assert.Empty(t, res.Header.Values("Set-Cookie"))
	res = do(t, srv, http.MethodPost, "/auth/login", map[string]string{"email": ctEmail, "password": ctPassword}, "")
	assert.Equal(t, http.StatusOK, res.Status, "no CSRF check in bearer mode")
}

// TestTransportConfig proves GINAUTH_TRANSPORT is read (bearer, cookie)
// and anything else refused with an error naming both, and that New
// refuses an unknown Transport.
func TestTransportConfig(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want Transport
		ok   bool
	}{
		{"", TransportBearer, true},
		{"bearer", TransportBearer, true},
		{"cookie", TransportCookie, true},
		{" Cookie ", TransportCookie, true},
		{"cookies", 0, false},
		{"jwt", 0, false},
	} {
		t.Run(tc.raw, func(t *testing.T) {
			setEnv(t, "", "", "")
			t.Setenv("GINAUTH_TRANSPORT", tc.raw)
			cfg, err := FromEnv()
			if !tc.ok {
				require.Error(t, err)
				assert.Contains(t, err.Error(), "GINAUTH_TRANSPORT")
				assert.Contains(t, err.Error(), "bearer")
				assert.Contains(t, err.Error(), "cookie")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, cfg.Transport)
		})
	}
	t.Run("New refuses an unknown Transport", func(t *testing.T) {
		_, err := New(Config{Secret: testSecret, Store: openTestStore(t, "sqlite"), Argon2: fastArgon2, Transport: Transport(7)})
		require.Error(t, err)
	})
	assert.Equal(t, "bearer", TransportBearer.String())
	assert.Equal(t, "cookie", TransportCookie.String())
}

// TestCookieTransportOpenAPI proves the OpenAPI document of a cookie-mode
// app describes its answers: 204 for login, 403 for the CSRF guard.
func TestCookieTransportOpenAPI(t *testing.T) {
	_, srv := newCookieApp(t, nil)
	res := do(t, srv, http.MethodGet, "/auth/openapi.json", nil, "")
	require.Equal(t, http.StatusOK, res.Status)
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]any `json:"responses"`
		} `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(res.Body, &doc))
	login := doc.Paths["/auth/login"]["post"].Responses
	assert.Contains(t, login, "204")
	assert.NotContains(t, login, "200")
	assert.Contains(t, login, "403")
	assert.Contains(t, doc.Paths["/auth/logout"]["post"].Responses, "403")
	assert.NotContains(t, doc.Paths["/auth/{provider}/callback"]["post"].Responses, "403", "the callback is exempt")
}

// TestCookieTransportFormPostCallback proves the POST callback of a
// form_post provider, cross-site by design, is not refused by the CSRF
// guard in cookie mode (its state cookie protects it): it signs in with
// 204 and the cookies, even from a browser holding a CSRF cookie.
func TestCookieTransportFormPostCallback(t *testing.T) {
	apple := oaFormPostFake{newOAFake("apple", "Apple")}
	e := newOAEnv(t, func(cfg *Config) {
		cfg.Transport = TransportCookie
		cfg.Providers = append(cfg.Providers, apple)
	})
	res := do(t, e.srv, http.MethodGet, "/auth/apple/authorize", nil, "")
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	state := oaFindCookie(t, res, "ginauth_oauth")
	cb := apple.approve(t, res.JSON(t)["authorization_url"].(string))

	req, err := http.NewRequest(http.MethodPost, e.srv.URL+cb.Path, bytes.NewReader([]byte(cb.RawQuery)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://appleid.apple.com")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.AddCookie(&http.Cookie{Name: state.Name, Value: state.Value})
	req.AddCookie(&http.Cookie{Name: "ginauth_csrf", Value: "held-from-before"})
	signed := send(t, req)
	require.Equal(t, http.StatusNoContent, signed.Status, "body: %s", signed.Body)
	access := oaFindCookie(t, signed, "ginauth_access")
	assert.Equal(t, http.StatusOK, do(t, e.srv, http.MethodGet, "/api/me", nil, access.Value).Status)
}
