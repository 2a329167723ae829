package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/ginauth/ginauth"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// exampleSecret is the GINAUTH_SECRET of the tests.
const exampleSecret = "example-test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"

const (
	exampleEmail    = "alice@example.com"
	examplePassword = "a long and careful password"
)

func init() {
	gin.SetMode(gin.TestMode)
	gin.DefaultWriter = io.Discard // the example's request log
}

// newExampleAuth opens an Auth on a SQLite file, as `go run ./example`
// does, with password hashing at the minimum New accepts to keep tests fast.
func newExampleAuth(t *testing.T, dbPath string) *ginauth.Auth {
	t.Helper()
	auth, err := ginauth.New(ginauth.Config{
		Secret:      exampleSecret,
		DatabaseURL: "sqlite://" + dbPath,
		Argon2:      ginauth.Argon2Params{MemoryKiB: 8 * 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = auth.Close() })
	return auth
}

// startExample serves the example's router on httptest.
func startExample(t *testing.T, auth *ginauth.Auth) *httptest.Server {
	t.Helper()
	router, err := newRouter(auth, "")
	require.NoError(t, err)
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	return srv
}

// exampleResponse is a response read whole.
type exampleResponse struct {
	status int
	header http.Header
	body   []byte
}

func (r exampleResponse) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "body: %s", r.body)
	return m
}

// call sends a request: a map body as JSON, url.Values as a form.
func call(t *testing.T, srv *httptest.Server, method, path string, body any, token string) exampleResponse {
	t.Helper()
	var reader io.Reader
	contentType := ""
	switch b := body.(type) {
	case nil:
	case url.Values:
		reader, contentType = strings.NewReader(b.Encode()), "application/x-www-form-urlencoded"
	default:
		raw, err := json.Marshal(b)
		require.NoError(t, err)
		reader, contentType = bytes.NewReader(raw), "application/json"
	}
	req, err := http.NewRequest(method, srv.URL+path, reader)
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return exampleResponse{status: resp.StatusCode, header: resp.Header, body: raw}
}

// requireTokens checks a TokenResponse and its no-cache headers.
func requireTokens(t *testing.T, res exampleResponse) ginauth.TokenResponse {
	t.Helper()
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	assert.Equal(t, "no-store", res.header.Get("Cache-Control"))
	assert.Equal(t, "no-cache", res.header.Get("Pragma"))
	body := res.json(t)
	for _, key := range []string{"access_token", "token_type", "expires_in", "refresh_token", "refresh_expires_in"} {
		assert.Contains(t, body, key)
	}
	var tokens ginauth.TokenResponse
	require.NoError(t, json.Unmarshal(res.body, &tokens))
	assert.Equal(t, "bearer", tokens.TokenType)
	assert.Equal(t, 900, tokens.ExpiresIn)
	assert.Positive(t, tokens.RefreshExpiresIn)
	require.NotEmpty(t, tokens.AccessToken)
	require.NotEmpty(t, tokens.RefreshToken)
	return tokens
}

// requireUnauthorized checks the contract's 401.
func requireUnauthorized(t *testing.T, res exampleResponse) {
	t.Helper()
	require.Equal(t, http.StatusUnauthorized, res.status, "body: %s", res.body)
	assert.Equal(t, string(ginauth.CodeUnauthorized), res.json(t)["detail"])
	assert.True(t, strings.HasPrefix(res.header.Get("WWW-Authenticate"), "Bearer"))
}

// requireRefreshRefused checks the 401 of a dead refresh token.
func requireRefreshRefused(t *testing.T, srv *httptest.Server, refresh string) {
	t.Helper()
	res := call(t, srv, http.MethodPost, "/auth/refresh", map[string]string{"refresh_token": refresh}, "")
	require.Equal(t, http.StatusUnauthorized, res.status, "body: %s", res.body)
	assert.Equal(t, string(ginauth.CodeRefreshTokenInvalid), res.json(t)["detail"])
}

// TestUserStory runs the user story through the example app:
// register, sign in with JSON and with the OAuth2 form, use the protected
// route, refresh, detect a replayed refresh token (which kills the whole
// session), and log out (which kills that session's tokens).
func TestUserStory(t *testing.T) {
	srv := startExample(t, newExampleAuth(t, filepath.Join(t.TempDir(), "ginauth.db")))

	// Register: 201 UserRead.
	res := call(t, srv, http.MethodPost, "/auth/register", map[string]any{
		"email": "  Alice@Example.com ", "password": examplePassword, "is_superuser": true,
	}, "")
	require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
	user := res.json(t)
	id, err := uuid.Parse(user["id"].(string))
	require.NoError(t, err)
	assert.NotEqual(t, uuid.Nil, id)
	assert.Equal(t, exampleEmail, user["email"])
	assert.Equal(t, true, user["is_active"])
	assert.Equal(t, false, user["is_superuser"], "mass assignment is ignored")
	assert.Equal(t, false, user["is_verified"])
	_, err = time.Parse(time.RFC3339, user["created_at"].(string))
	assert.NoError(t, err)
	assert.Equal(t, []any{}, user["oauth_accounts"])
	assert.NotContains(t, string(res.body), "argon2")
	assert.NotContains(t, string(res.body), "password")

	// Sign in twice: JSON and the OAuth2 password form (Swagger's Authorize).
	jsonLogin := requireTokens(t, call(t, srv, http.MethodPost, "/auth/login",
		map[string]string{"email": exampleEmail, "password": examplePassword}, ""))
	formLogin := requireTokens(t, call(t, srv, http.MethodPost, "/auth/login",
		url.Values{"username": {exampleEmail}, "password": {examplePassword}}, ""))

	// The protected route.
	res = call(t, srv, http.MethodGet, "/api/me", nil, jsonLogin.AccessToken)
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	assert.Equal(t, map[string]any{"id": id.String(), "email": exampleEmail}, res.json(t))
	res = call(t, srv, http.MethodGet, "/api/me", nil, "")
	requireUnauthorized(t, res)
	assert.Equal(t, "Bearer", res.header.Get("WWW-Authenticate"))

	// GET /users/me: the full UserRead, never cached.
	res = call(t, srv, http.MethodGet, "/users/me", nil, formLogin.AccessToken)
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	assert.Equal(t, "no-store", res.header.Get("Cache-Control"))
	assert.Equal(t, id.String(), res.json(t)["id"])
	assert.Equal(t, exampleEmail, res.json(t)["email"])

	// Refresh: a new pair.
	refreshed := requireTokens(t, call(t, srv, http.MethodPost, "/auth/refresh",
		map[string]string{"refresh_token": jsonLogin.RefreshToken}, ""))
	assert.NotEqual(t, jsonLogin.RefreshToken, refreshed.RefreshToken)
	assert.NotEqual(t, jsonLogin.AccessToken, refreshed.AccessToken)
	require.Equal(t, http.StatusOK, call(t, srv, http.MethodGet, "/api/me", nil, refreshed.AccessToken).status)

	// Replaying the old refresh token: 401, and the whole session dies, the
	// new pair included.
	requireRefreshRefused(t, srv, jsonLogin.RefreshToken)
	requireUnauthorized(t, call(t, srv, http.MethodGet, "/api/me", nil, refreshed.AccessToken))
	requireUnauthorized(t, call(t, srv, http.MethodGet, "/api/me", nil, jsonLogin.AccessToken))
	requireRefreshRefused(t, srv, refreshed.RefreshToken)

	// The other session is untouched; logging it out kills its tokens.
	require.Equal(t, http.StatusOK, call(t, srv, http.MethodGet, "/api/me", nil, formLogin.AccessToken).status)
	res = call(t, srv, http.MethodPost, "/auth/logout", nil, formLogin.AccessToken)
	require.Equal(t, http.StatusNoContent, res.status, "body: %s", res.body)
	requireUnauthorized(t, call(t, srv, http.MethodGet, "/api/me", nil, formLogin.AccessToken))
	requireUnauthorized(t, call(t, srv, http.MethodGet, "/users/me", nil, formLogin.AccessToken))
	requireRefreshRefused(t, srv, formLogin.RefreshToken)

	// Signing in again still works.
	again := requireTokens(t, call(t, srv, http.MethodPost, "/auth/login",
		map[string]string{"email": exampleEmail, "password": examplePassword}, ""))
	require.Equal(t, http.StatusOK, call(t, srv, http.MethodGet, "/users/me", nil, again.AccessToken).status)
}

// TestRestart proves that the example keeps its users and sessions across
// a restart: a second Auth on the same SQLite file with the same secret
// knows the user, accepts the access token the first one issued, and
// honours its refresh token.
func TestRestart(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "ginauth.db")

	first := newExampleAuth(t, dbPath)
	srv1 := startExample(t, first)
	res := call(t, srv1, http.MethodPost, "/auth/register", map[string]string{"email": exampleEmail, "password": examplePassword}, "")
	require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
	id := res.json(t)["id"]
	tokens := requireTokens(t, call(t, srv1, http.MethodPost, "/auth/login",
		map[string]string{"email": exampleEmail, "password": examplePassword}, ""))
	srv1.Close()
	require.NoError(t, first.Close())

	second := newExampleAuth(t, dbPath)
	srv2 := startExample(t, second)
	res = call(t, srv2, http.MethodGet, "/api/me", nil, tokens.AccessToken)
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	assert.Equal(t, id, res.json(t)["id"])

	requireTokens(t, call(t, srv2, http.MethodPost, "/auth/login",
		map[string]string{"email": exampleEmail, "password": examplePassword}, ""))
	requireTokens(t, call(t, srv2, http.MethodPost, "/auth/refresh",
		map[string]string{"refresh_token": tokens.RefreshToken}, ""))
}

// TestTokenPages proves that the pages of the mailed links are served with
// no-store and no-referrer, carry their script and no external resource,
// and never echo the token of their address.
func TestTokenPages(t *testing.T) {
	srv := startExample(t, newExampleAuth(t, filepath.Join(t.TempDir(), "ginauth.db")))
	const token = "tok3n-Th4t-mUst-n0t-be-3ch0ed"
	for path, endpoint := range map[string]string{"/verify": "/auth/verify", "/reset-password": "/auth/reset-password"} {
		t.Run(path, func(t *testing.T) {
			res := call(t, srv, http.MethodGet, path+"?token="+token+"&x=%3Cscript%3E", nil, "")
			require.Equal(t, http.StatusOK, res.status)
			assert.Equal(t, "text/html; charset=utf-8", res.header.Get("Content-Type"))
			assert.Equal(t, "no-store", res.header.Get("Cache-Control"))
			assert.Equal(t, "no-referrer", res.header.Get("Referrer-Policy"))
			assert.Contains(t, res.header.Get("Content-Security-Policy"), "connect-src 'self'")
			body := string(res.body)
			assert.NotContains(t, body, token)
			assert.NotContains(t, body, "<script>alert")
			assert.Contains(t, body, `fetch("`+endpoint+`"`)
			assert.Contains(t, body, "history.replaceState")
			assert.NotRegexp(t, `(?i)(src|href|action)\s*=\s*["']?(https?:)?//`, body, "no external resource")
		})
	}
	res := call(t, srv, http.MethodGet, "/", nil, "")
	require.Equal(t, http.StatusOK, res.status)
	for _, want := range []string{"/auth/forgot-password", "/auth/request-verify-token", "GINAUTH_SMTP_URL"} {
		assert.Contains(t, string(res.body), want)
	}
}

// TestRequestLogHidesTokens proves the request log drops query strings, so
// the tokens of the mailed links stay out of it.
func TestRequestLogHidesTokens(t *testing.T) {
	line := logLine(gin.LogFormatterParams{Method: http.MethodGet, Path: "/reset-password?token=s3cr3t", StatusCode: 200})
	assert.NotContains(t, line, "s3cr3t")
	assert.Contains(t, line, "/reset-password?…")
	assert.Contains(t, logLine(gin.LogFormatterParams{Path: "/auth/login"}), `"/auth/login"`)
}

// TestMailerDescription proves the start-up line names the SMTP server
// and never its credentials.
func TestMailerDescription(t *testing.T) {
	assert.Equal(t, "mail: logged (set GINAUTH_SMTP_URL=smtp://user:pass@host:587 to send)", mailerDescription(""))
	assert.Equal(t, "mail: SMTP to mail.example.com:2525", mailerDescription("smtp://u:hunter2@mail.example.com:2525?from=a%40b.c"))
	assert.Equal(t, "mail: SMTP to mail.example.com:587", mailerDescription("smtp://u:hunter2@mail.example.com"))
	assert.Equal(t, "mail: SMTP to mail.example.com:465", mailerDescription("smtps://mail.example.com"))
	assert.NotContains(t, mailerDescription("smtp://u:hunter2@mail.example.com:port"), "hunter2")
}

// clientIPRouter is the example's router plus a route that answers the
// client IP gin sees.
func clientIPRouter(t *testing.T, auth *ginauth.Auth, trustedProxies string) *httptest.Server {
	t.Helper()
	router, err := newRouter(auth, trustedProxies)
	require.NoError(t, err)
	router.GET("/test/client-ip", func(c *gin.Context) { c.String(http.StatusOK, c.ClientIP()) })
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	return srv
}

// clientIP asks srv which client IP it sees, sending X-Forwarded-For and
// X-Real-IP as forged.
func clientIP(t *testing.T, srv *httptest.Server, forged string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/test/client-ip", nil)
	require.NoError(t, err)
	req.Header.Set("X-Forwarded-For", forged)
	req.Header.Set("X-Real-IP", forged)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(raw)
}

// TestTrustedProxies proves that, without GINAUTH_TRUSTED_PROXIES, the
// example believes no X-Forwarded-For (gin's default would believe every
// one), so that a client rotating that header keeps its own IP and its
// per-IP rate limit; and that a listed proxy is believed.
func TestTrustedProxies(t *testing.T) {
	auth := newExampleAuth(t, filepath.Join(t.TempDir(), "ginauth.db"))

	t.Run("none: the peer's address", func(t *testing.T) {
		srv := clientIPRouter(t, auth, " ")
		for i := range 5 {
			assert.Equal(t, "127.0.0.1", clientIP(t, srv, fmt.Sprintf("203.0.113.%d", i+1)))
		}
	})
	t.Run("a listed proxy is believed", func(t *testing.T) {
		srv := clientIPRouter(t, auth, "10.0.0.0/8, 127.0.0.1")
		assert.Equal(t, "203.0.113.7", clientIP(t, srv, "203.0.113.7"))
	})
	t.Run("another proxy is not", func(t *testing.T) {
		srv := clientIPRouter(t, auth, "10.0.0.0/8")
		assert.Equal(t, "127.0.0.1", clientIP(t, srv, "203.0.113.7"))
	})
	t.Run("invalid", func(t *testing.T) {
		_, err := newRouter(auth, "not-an-ip")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "GINAUTH_TRUSTED_PROXIES")
	})

	t.Run("rotating X-Forwarded-For does not escape the login limit", func(t *testing.T) {
		cfg := exampleConfig(t)
		cfg.RateLimits.LoginPerIP = ginauth.Rate{Limit: 3, Period: time.Hour}
		_, router, err := newApp(cfg, "")
		require.NoError(t, err)
		srv := httptest.NewServer(router)
		t.Cleanup(srv.Close)
		statuses := make([]int, 0, 5)
		for i := range 5 {
			raw, _ := json.Marshal(map[string]string{"email": fmt.Sprintf("u%d@example.com", i), "password": examplePassword})
			req, err := http.NewRequest(http.MethodPost, srv.URL+"/auth/login", bytes.NewReader(raw))
			require.NoError(t, err)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i+1))
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			_ = resp.Body.Close()
			statuses = append(statuses, resp.StatusCode)
		}
		assert.Equal(t, []int{400, 400, 400, 429, 429}, statuses)
	})
}

// exampleConfig is the Config of the example's tests: a fresh SQLite file,
// fast hashing, and the mail discarded.
func exampleConfig(t *testing.T) ginauth.Config {
	t.Helper()
	return ginauth.Config{
		Secret:      exampleSecret,
		DatabaseURL: "sqlite://" + filepath.Join(t.TempDir(), "ginauth.db"),
		Argon2:      ginauth.Argon2Params{MemoryKiB: 8 * 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32},
		Logger:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Mailer:      ginauth.MailerFunc(func(context.Context, *ginauth.Mail) error { return nil }),
	}
}

// serveApp serves the example's app built from cfg until the test ends.
func serveApp(t *testing.T, cfg ginauth.Config) *httptest.Server {
	t.Helper()
	auth, router, err := newApp(cfg, "")
	require.NoError(t, err)
	t.Cleanup(func() { _ = auth.Close() })
	srv := httptest.NewServer(router)
	t.Cleanup(srv.Close)
	return srv
}

// mailbox is a Mailer that keeps every mail for the test to read.
type mailbox chan *ginauth.Mail

func (m mailbox) SendMail(_ context.Context, mail *ginauth.Mail) error {
	m <- mail
	return nil
}

// link waits for a mail to the address to that carries a link to path on
// the base URL, skipping other mails, and returns the link.
func (m mailbox) link(t *testing.T, to, baseURL, path string) *url.URL {
	t.Helper()
	pattern := regexp.MustCompile(regexp.QuoteMeta(baseURL+path+"?token=") + `[A-Za-z0-9_.~%-]+`)
	timeout := time.After(10 * time.Second)
	for {
		select {
		case mail := <-m:
			found := pattern.FindString(mail.Text)
			if mail.To != to || found == "" {
				continue
			}
			assert.Contains(t, mail.HTML, found, "the HTML part carries the same link")
			u, err := url.Parse(found)
			require.NoError(t, err)
			return u
		case <-timeout:
			t.Fatalf("no mail to %s with a link to %s", to, path)
			return nil
		}
	}
}

// TestMailedLinksFlow runs the mail flows through the example app: the
// verify link mailed at sign-up opens /verify, whose token verifies the
// address; forgot-password mails a link that opens /reset-password, whose
// token sets a new password, ends every session, and works once.
func TestMailedLinksFlow(t *testing.T) {
	const baseURL = "http://app.example.test"
	box := make(mailbox, 32)
	cfg := exampleConfig(t)
	cfg.BaseURL, cfg.Mailer = baseURL, box
	srv := serveApp(t, cfg)

	// Sign up: a verify link to <BaseURL>/verify?token=...
	res := call(t, srv, http.MethodPost, "/auth/register", map[string]string{"email": exampleEmail, "password": examplePassword}, "")
	require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
	link := box.link(t, exampleEmail, baseURL, "/verify")
	token := link.Query().Get("token")
	require.NotEmpty(t, token)
	page := call(t, srv, http.MethodGet, link.RequestURI(), nil, "")
	require.Equal(t, http.StatusOK, page.status)
	assert.NotContains(t, string(page.body), token)

	res = call(t, srv, http.MethodPost, "/auth/verify", map[string]string{"token": token}, "")
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	assert.Equal(t, true, res.json(t)["is_verified"])
	res = call(t, srv, http.MethodPost, "/auth/verify", map[string]string{"token": token}, "")
	require.Equal(t, http.StatusBadRequest, res.status, "body: %s", res.body)

	// A session that the reset must end.
	before := requireTokens(t, call(t, srv, http.MethodPost, "/auth/login",
		map[string]string{"email": exampleEmail, "password": examplePassword}, ""))

	// Forgot password: 202, then a reset link.
	res = call(t, srv, http.MethodPost, "/auth/forgot-password", map[string]string{"email": exampleEmail}, "")
	require.Equal(t, http.StatusAccepted, res.status, "body: %s", res.body)
	link = box.link(t, exampleEmail, baseURL, "/reset-password")
	token = link.Query().Get("token")
	page = call(t, srv, http.MethodGet, link.RequestURI(), nil, "")
	require.Equal(t, http.StatusOK, page.status)
	assert.NotContains(t, string(page.body), token)

	res = call(t, srv, http.MethodPost, "/auth/reset-password", map[string]string{"token": token, "password": "short"}, "")
	require.Equal(t, http.StatusBadRequest, res.status, "body: %s", res.body)
	detail, ok := res.json(t)["detail"].(map[string]any)
	require.True(t, ok, "body: %s", res.body)
	assert.Equal(t, string(ginauth.CodeResetPasswordInvalidPassword), detail["code"])
	assert.NotEmpty(t, detail["reason"])

	const newPassword = "an entirely new passphrase"
	res = call(t, srv, http.MethodPost, "/auth/reset-password", map[string]string{"token": token, "password": newPassword}, "")
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	res = call(t, srv, http.MethodPost, "/auth/reset-password", map[string]string{"token": token, "password": "yet another passphrase"}, "")
	require.Equal(t, http.StatusBadRequest, res.status, "body: %s", res.body)
	assert.Equal(t, string(ginauth.CodeResetPasswordBadToken), res.json(t)["detail"])

	requireUnauthorized(t, call(t, srv, http.MethodGet, "/api/me", nil, before.AccessToken))
	requireRefreshRefused(t, srv, before.RefreshToken)
	res = call(t, srv, http.MethodPost, "/auth/login", map[string]string{"email": exampleEmail, "password": examplePassword}, "")
	require.Equal(t, http.StatusBadRequest, res.status, "body: %s", res.body)
	after := requireTokens(t, call(t, srv, http.MethodPost, "/auth/login",
		map[string]string{"email": exampleEmail, "password": newPassword}, ""))
	res = call(t, srv, http.MethodGet, "/users/me", nil, after.AccessToken)
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	assert.Equal(t, true, res.json(t)["is_verified"])
}

// failingUsers is a store whose user lookups fail as a database that went
// down does, while sessions are still cached as live.
type failingUsers struct {
	ginauth.Store
	down atomic.Bool
}

func (s *failingUsers) UserByID(ctx context.Context, id uuid.UUID) (*ginauth.User, error) {
	if s.down.Load() {
		return nil, fmt.Errorf("%w: connection refused", ginauth.ErrStoreUnavailable)
	}
	return s.Store.UserByID(ctx, id)
}

// TestAPIMeStoreDown proves that /api/me tells a store outage (503) from a
// bad token (401): a client that got a 401 would throw a good token away.
func TestAPIMeStoreDown(t *testing.T) {
	cfg := exampleConfig(t)
	store, err := ginauth.OpenStore(context.Background(), cfg.DatabaseURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	failing := &failingUsers{Store: store}
	cfg.Store, cfg.SessionCheckInterval = failing, time.Hour
	srv := serveApp(t, cfg)

	res := call(t, srv, http.MethodPost, "/auth/register", map[string]string{"email": exampleEmail, "password": examplePassword}, "")
	require.Equal(t, http.StatusCreated, res.status, "body: %s", res.body)
	res = call(t, srv, http.MethodPost, "/auth/login", map[string]string{"email": exampleEmail, "password": examplePassword}, "")
	require.Equal(t, http.StatusOK, res.status)
	token, _ := res.json(t)["access_token"].(string)
	require.Equal(t, http.StatusOK, call(t, srv, http.MethodGet, "/api/me", nil, token).status)

	failing.down.Store(true)
	res = call(t, srv, http.MethodGet, "/api/me", nil, token)
	assert.Equal(t, http.StatusServiceUnavailable, res.status)
	assert.Equal(t, "SERVICE_UNAVAILABLE", res.json(t)["detail"])
}
