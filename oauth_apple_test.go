package ginauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ginauth/ginauth/providers"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	apClientID = "com.example.web"
	apSubject  = "001234.0123456789abcdef.1234"
	apEmail    = "jane@privaterelay.appleid.com"
)

// apServer is Sign in with Apple on a test server: /auth/keys publishes
// its RSA key, /auth/token answers with an id_token signed by it for the
// nonce of the attempt under way (set by the test from the authorization
// URL, as Apple takes it from there).
type apServer struct {
	*httptest.Server
	key   *rsa.PrivateKey
	mu    sync.Mutex
	nonce string
}

func newAPServer(t *testing.T) *apServer {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	s := &apServer{key: key}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /auth/keys", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "kid": "apple-kid", "use": "sig", "alg": "RS256",
			"n": base64.RawURLEncoding.EncodeToString(key.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(key.E)).Bytes()),
		}}})
	})
	mux.HandleFunc("POST /auth/token", func(w http.ResponseWriter, _ *http.Request) {
		s.mu.Lock()
		nonce := s.nonce
		s.mu.Unlock()
		now := time.Now()
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
			"iss": s.URL, "aud": apClientID, "sub": apSubject, "nonce": nonce,
			"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
			"email": apEmail, "email_verified": "true", "is_private_email": "true",
		})
		tok.Header["kid"] = "apple-kid"
		idToken, err := tok.SignedString(key)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"access_token": "apple-access", "token_type": "Bearer", "expires_in": 3600, "id_token": idToken,
		})
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// apRecorder is a provider that remembers the profiles it returns. It
// keeps the wrapped provider's response mode.
type apRecorder struct {
	providers.Provider
	mu       sync.Mutex
	profiles []providers.Profile
}

// ResponseMode implements providers.ResponseModer.
func (r *apRecorder) ResponseMode() string {
	return r.Provider.(providers.ResponseModer).ResponseMode()
}

// Profile implements providers.Provider.
func (r *apRecorder) Profile(ctx context.Context, tokens *providers.Tokens) (*providers.Profile, error) {
	p, err := r.Provider.Profile(ctx, tokens)
	if err == nil {
		r.mu.Lock()
		r.profiles = append(r.profiles, *p)
		r.mu.Unlock()
	}
	return p, err
}

func (r *apRecorder) last(t *testing.T) providers.Profile {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	require.NotEmpty(t, r.profiles)
	return r.profiles[len(r.profiles)-1]
}

// TestOAuthAppleFormPostUser proves, with the real Apple provider, that
// the `user` field Apple posts with the form_post callback on the first
// authorization gives the profile its name, and only its name: the email
// and the account come from the signed id_token. A later callback without
// the field, one with an oversized field, and one with malformed JSON
// still sign in, without a name.
func TestOAuthAppleFormPostUser(t *testing.T) {
	srv := newAPServer(t)
	clientKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	apple := &apRecorder{Provider: providers.Apple(apClientID, "TEAM123456", "KEY1234567", clientKey, providers.WithBaseURL(srv.URL))}
	e := newOAEnv(t, func(cfg *Config) { cfg.Providers = append(cfg.Providers, apple) })

	signIn := func(t *testing.T, user string) apiResponse {
		t.Helper()
		res := do(t, e.srv, http.MethodGet, "/auth/apple/authorize", nil, "")
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		authURL, err := url.Parse(res.JSON(t)["authorization_url"].(string))
		require.NoError(t, err)
		q := authURL.Query()
		cookie := oaFindCookie(t, res, oaStateCookieName(e.baseURL, q.Get("state")))
		assert.Equal(t, "form_post", q.Get("response_mode"))
		srv.mu.Lock()
		srv.nonce = q.Get("nonce")
		srv.mu.Unlock()

		form := url.Values{"code": {"apple-code"}, "state": {q.Get("state")}}
		if user != "" {
			form.Set("user", user)
		}
		req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/auth/apple/callback", strings.NewReader(form.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
		return send(t, req)
	}

	first := `{"name":{"firstName":"Jane","lastName":"Appleseed"},"email":"someone-else@attacker.example"}`
	tokens := oaTokens(t, signIn(t, first))
	got := apple.last(t)
	assert.Equal(t, "Jane Appleseed", got.Name)
	assert.Equal(t, apEmail, got.Email, "the email is the id_token's, never the form's")
	assert.Equal(t, apSubject, got.AccountID)
	me := oaMe(t, e.srv, tokens.AccessToken)
	assert.Equal(t, apEmail, me.Email)

	for name, user := range map[string]string{
		"later sign-in without the field": "",
		"oversized field":                 `{"name":{"firstName":"` + strings.Repeat("J", maxFormUserBytes) + `"}}`,
		"malformed JSON":                  `{"name":`,
	} {
		t.Run(name, func(t *testing.T) {
			again := oaTokens(t, signIn(t, user))
			assert.Empty(t, apple.last(t).Name)
			assert.Equal(t, me.ID, oaMe(t, e.srv, again.AccessToken).ID)
		})
	}
}

// TestOAuthCallbackFormUserOnlyFromPost proves the `user` field reaches the
// provider from a posted form only, never from a GET callback's query.
func TestOAuthCallbackFormUserOnlyFromPost(t *testing.T) {
	e := newOAEnv(t, nil)
	b := e.browser(t)
	cb := e.github.approve(t, b.authorize("/auth/github/authorize", nil))
	q := cb.Query()
	q.Set("user", `{"name":{"firstName":"Mallory"}}`)
	cb.RawQuery = q.Encode()
	oaTokens(t, b.visit(cb))
	assert.Empty(t, e.github.lastExchange().FormUser)
}
