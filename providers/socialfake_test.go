package providers

// Shared test helpers of the GitHub, GitLab, Discord, Bitbucket, Reddit,
// Twitch and Apple tests: a fake provider server that records what it
// was sent, a client that sends production URLs to it, and the checks
// every provider's flow goes through. All names start with socA.

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

const (
	socAClientID     = "client-id-123"
	socAClientSecret = "client-secret-456"
	socARedirect     = "https://app.example.com/auth/callback"
	socAState        = "state-abc"
	socACode         = "code-xyz"
	socAAccess       = "access-token-789"
)

// socAReq is one request the fake provider received.
type socAReq struct {
	Method string
	URL    *url.URL
	Header http.Header
	Form   url.Values // the POST body, for token requests
}

// socAServer is a fake provider: handlers by path, and a record of every
// request.
type socAServer struct {
	*httptest.Server
	mux  *http.ServeMux
	mu   sync.Mutex
	reqs []socAReq
}

func socANewServer(t *testing.T) *socAServer {
	t.Helper()
	s := &socAServer{mux: http.NewServeMux()}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		s.mu.Lock()
		s.reqs = append(s.reqs, socAReq{Method: r.Method, URL: r.URL, Header: r.Header.Clone(), Form: form})
		s.mu.Unlock()
		s.mux.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

// handle answers method+path with h.
func (s *socAServer) handle(method, path string, h http.HandlerFunc) {
	s.mux.HandleFunc(method+" "+path, h)
}

// reply answers method+path with a fixed status, content type and body.
func (s *socAServer) reply(method, path string, status int, contentType, body string) {
	s.handle(method, path, func(w http.ResponseWriter, _ *http.Request) {
		socAWrite(w, status, contentType, body)
	})
}

// requests returns the requests received for path.
func (s *socAServer) requests(path string) []socAReq {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []socAReq
	for _, r := range s.reqs {
		if r.URL.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// all returns every request received.
func (s *socAServer) all() []socAReq {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]socAReq(nil), s.reqs...)
}

// only returns the one request received for path.
func (s *socAServer) only(t *testing.T, path string) socAReq {
	t.Helper()
	got := s.requests(path)
	require.Len(t, got, 1, "requests to %s", path)
	return got[0]
}

func socAWrite(w http.ResponseWriter, status int, contentType, body string) {
	if contentType != "" {
		w.Header().Set("Content-Type", contentType)
	}
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

const socAJSON = "application/json; charset=utf-8"

// socABigJSON is a valid JSON object larger than maxResponseBytes.
func socABigJSON() string {
	return `{"id":"1","padding":"` + strings.Repeat("x", maxResponseBytes) + `"}`
}

// socAFailure is a way an endpoint can fail and the error it must become.
type socAFailure struct {
	name        string
	status      int
	contentType string
	body        string
	want        error
}

// socAServerFailures are the failures that are the provider's fault:
// 5xx, malformed and oversized answers are ErrProviderUnavailable.
func socAServerFailures() []socAFailure {
	return []socAFailure{
		{"500", http.StatusInternalServerError, socAJSON, `{"message":"Internal Server Error"}`, ErrProviderUnavailable},
		{"503 html", http.StatusServiceUnavailable, "text/html", "<html><body>down</body></html>", ErrProviderUnavailable},
		{"malformed JSON", http.StatusOK, socAJSON, `{"id": `, ErrProviderUnavailable},
		{"HTML with 200", http.StatusOK, "text/html", "<html>maintenance</html>", ErrProviderUnavailable},
		{"oversized", http.StatusOK, socAJSON, socABigJSON(), ErrProviderUnavailable},
	}
}

// socAProfileFailures adds the provider's own 401 answer to the server
// failures: a refused access token is ErrInvalidGrant.
func socAProfileFailures(unauthorized string) []socAFailure {
	return append([]socAFailure{{"401", http.StatusUnauthorized, socAJSON, unauthorized, ErrInvalidGrant}}, socAServerFailures()...)
}

// socAVerifier returns a fresh PKCE verifier.
func socAVerifier() string { return oauth2.GenerateVerifier() }

// socAAuthRequest is a sign-in attempt with a fresh verifier.
func socAAuthRequest() AuthRequest {
	return AuthRequest{State: socAState, RedirectURL: socARedirect, CodeVerifier: socAVerifier(), Nonce: "nonce-0123456789"}
}

// socAExchangeRequest is the exchange that finishes attempt a.
func socAExchangeRequest(a AuthRequest) ExchangeRequest {
	return ExchangeRequest{Code: socACode, RedirectURL: a.RedirectURL, CodeVerifier: a.CodeVerifier, Nonce: a.Nonce}
}

// socACheckAuthURL parses the authorization URL p builds for a, checks
// the parts every provider must send and returns its query.
func socACheckAuthURL(t *testing.T, p Provider, a AuthRequest, wantEndpoint, wantScope string) url.Values {
	t.Helper()
	u, err := url.Parse(p.AuthCodeURL(a))
	require.NoError(t, err)
	q := u.Query()
	u.RawQuery = ""
	assert.Equal(t, wantEndpoint, u.String(), "authorization endpoint")
	assert.Equal(t, "code", q.Get("response_type"))
	assert.Equal(t, socAClientID, q.Get("client_id"))
	assert.Equal(t, a.RedirectURL, q.Get("redirect_uri"))
	assert.Equal(t, a.State, q.Get("state"))
	assert.Equal(t, wantScope, q.Get("scope"))
	sum := sha256.Sum256([]byte(a.CodeVerifier))
	assert.Equal(t, base64.RawURLEncoding.EncodeToString(sum[:]), q.Get("code_challenge"))
	assert.Equal(t, "S256", q.Get("code_challenge_method"))
	assert.NotContains(t, u.String()+"?"+q.Encode(), a.CodeVerifier, "the verifier itself never leaves the server")
	assert.False(t, q.Has("client_secret"), "the client secret is never in a URL")
	return q
}

// socACheckTokenRequest checks the token request of exchange e: one
// POST, with the code, redirect URI and PKCE verifier.
func socACheckTokenRequest(t *testing.T, r socAReq, e ExchangeRequest) {
	t.Helper()
	assert.Equal(t, http.MethodPost, r.Method)
	assert.Equal(t, "authorization_code", r.Form.Get("grant_type"))
	assert.Equal(t, e.Code, r.Form.Get("code"))
	assert.Equal(t, e.RedirectURL, r.Form.Get("redirect_uri"))
	assert.Equal(t, e.CodeVerifier, r.Form.Get("code_verifier"))
}

// socACheckBasicAuth checks HTTP Basic client authentication, with no
// secret in the body.
func socACheckBasicAuth(t *testing.T, r socAReq) {
	t.Helper()
	req := &http.Request{Header: r.Header}
	id, secret, ok := req.BasicAuth()
	require.True(t, ok, "HTTP Basic client authentication")
	assert.Equal(t, socAClientID, id)
	assert.Equal(t, socAClientSecret, secret)
	assert.False(t, r.Form.Has("client_secret"), "no secret in the body")
}

// socACheckParamsAuth checks client authentication by form parameters,
// with no Authorization header.
func socACheckParamsAuth(t *testing.T, r socAReq, secret string) {
	t.Helper()
	assert.Equal(t, socAClientID, r.Form.Get("client_id"))
	assert.Equal(t, secret, r.Form.Get("client_secret"))
	assert.Empty(t, r.Header.Get("Authorization"), "no HTTP Basic as well")
}

// socACheckBearer checks that a profile call carried the access token.
func socACheckBearer(t *testing.T, r socAReq) {
	t.Helper()
	assert.Equal(t, http.MethodGet, r.Method)
	assert.Equal(t, "Bearer "+socAAccess, r.Header.Get("Authorization"))
}

// socATokens are tokens as a plain provider's Exchange returns them.
func socATokens() *Tokens {
	return &Tokens{Token: &oauth2.Token{AccessToken: socAAccess, TokenType: "Bearer"}}
}

// socARewrite is a RoundTripper that sends every request to one test
// server, whatever host its URL names, and records the URLs asked for:
// it lets a test run a provider on its production URLs.
type socARewrite struct {
	target *url.URL
	mu     sync.Mutex
	urls   []string
}

func (rw *socARewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	rw.mu.Lock()
	rw.urls = append(rw.urls, req.URL.String())
	rw.mu.Unlock()
	out := req.Clone(req.Context())
	out.URL.Scheme, out.URL.Host = rw.target.Scheme, rw.target.Host
	out.Host = ""
	return http.DefaultTransport.RoundTrip(out)
}

func (rw *socARewrite) seen() []string {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	return append([]string(nil), rw.urls...)
}

// socARewriteClient returns a client whose every request goes to s.
func socARewriteClient(t *testing.T, s *socAServer) (*http.Client, *socARewrite) {
	t.Helper()
	target, err := url.Parse(s.URL)
	require.NoError(t, err)
	rw := &socARewrite{target: target}
	return &http.Client{Transport: rw}, rw
}

// socAFlow runs a whole sign-in against p: exchange, then profile.
func socAFlow(t *testing.T, p Provider) (*Tokens, *Profile) {
	t.Helper()
	ctx := context.Background()
	tokens, err := p.Exchange(ctx, socAExchangeRequest(socAAuthRequest()))
	require.NoError(t, err)
	profile, err := p.Profile(ctx, tokens)
	require.NoError(t, err)
	return tokens, profile
}
