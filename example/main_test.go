package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
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
