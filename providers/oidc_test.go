package providers

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"golang.org/x/oauth2"
)

// The OIDC provider is a Checker.
var _ Checker = (*oidcProvider)(nil)

const (
	oidcTClientID     = "client-1"
	oidcTClientSecret = "secret-1"
	oidcTCode         = "code-1"
	oidcTNonce        = "nonce-1"
	oidcTAccessToken  = "access-token-1"
	oidcTRedirect     = "https://app.example/auth/callback"
	oidcTVerifier     = "a-pkce-verifier-of-forty-three-characters-x"
)

// oidcTKeys are the test OP's signing keys, made once per test binary.
type oidcTKeys struct {
	rsa   *rsa.PrivateKey // published as kid "rsa1"
	ec    *ecdsa.PrivateKey
	other *rsa.PrivateKey // never published
}

var oidcTKeySet = sync.OnceValue(func() oidcTKeys {
	r, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	o, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	e, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	return oidcTKeys{rsa: r, ec: e, other: o}
})

// oidcTSign signs claims as a JWT with method and key, under kid.
func oidcTSign(t *testing.T, method jwt.SigningMethod, key any, kid string, claims map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, jwt.MapClaims(claims))
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

// oidcTSignRS256 signs claims with the published RSA key.
func oidcTSignRS256(t *testing.T, claims map[string]any) string {
	return oidcTSign(t, jwt.SigningMethodRS256, oidcTKeySet().rsa, "rsa1", claims)
}

// oidcTAtHash is the at_hash of an access token for RS256/ES256.
func oidcTAtHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// oidcTJWKS is the JWK Set of the published keys.
func oidcTJWKS() map[string]any {
	k := oidcTKeySet()
	b64 := base64.RawURLEncoding.EncodeToString
	point, err := k.ec.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil {
		panic(err)
	}
	return map[string]any{"keys": []map[string]any{
		oidcTRSAJWK("rsa1", &k.rsa.PublicKey),
		{"kty": "EC", "kid": "ec1", "use": "sig", "alg": "ES256", "crv": "P-256",
			"x": b64(point[1:33]), "y": b64(point[33:])},
	}}
}

// oidcTRSAJWK is the JWK of an RS256 public key.
func oidcTRSAJWK(kid string, key *rsa.PublicKey) map[string]any {
	b64 := base64.RawURLEncoding.EncodeToString
	return map[string]any{"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
		"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes())}
}

// oidcTWriteJSON answers status with v as JSON.
func oidcTWriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// oidcTOP is a hand-written OpenID provider: discovery, JWKS, token and
// userinfo endpoints whose answers each test controls, for the cases a
// real provider does not produce. Set its fields before the provider's
// first call, or through set.
type oidcTOP struct {
	t   *testing.T
	srv *httptest.Server

	mu sync.Mutex
	// issuer is what discovery reports and tokens carry by default.
	issuer      string
	algs        []string
	authMethods []string
	noUserInfo  bool
	issParam    bool
	// editDoc, when set, changes the default discovery document.
	editDoc func(doc map[string]any)
	// discovery, jwks, token and userinfo replace the default answers.
	discovery http.HandlerFunc
	jwks      http.HandlerFunc
	token     http.HandlerFunc
	userinfo  http.HandlerFunc
	// claims are the id_token's claims; idToken, when set, is the id_token.
	claims    map[string]any
	idToken   func() string
	tokenType string
	// userinfoClaims are the default userinfo answer.
	userinfoClaims map[string]any
	// hits counts requests by endpoint; forms keeps the token requests;
	// discoveryPaths the paths discovery was asked at.
	hits           map[string]int
	forms          []url.Values
	discoveryPaths []string
}

// oidcTNewOP starts a test OP whose issuer is its URL.
func oidcTNewOP(t *testing.T) *oidcTOP {
	t.Helper()
	op := &oidcTOP{t: t, hits: map[string]int{}, algs: []string{"RS256", "ES256", "HS256", "none"}, tokenType: "Bearer"}
	op.srv = httptest.NewServer(http.HandlerFunc(op.serve))
	t.Cleanup(op.srv.Close)
	op.issuer = op.srv.URL
	op.claims = op.defaultClaims()
	op.userinfoClaims = map[string]any{"sub": "user-1", "email": "ada@example.com", "email_verified": true, "name": "Ada Lovelace"}
	return op
}

// defaultClaims are valid id_token claims for oidcTClientID.
func (op *oidcTOP) defaultClaims() map[string]any {
	now := time.Now()
	return map[string]any{
		"iss": op.issuer, "sub": "user-1", "aud": oidcTClientID,
		"exp": now.Add(time.Hour).Unix(), "iat": now.Unix(),
		"nonce": oidcTNonce, "at_hash": oidcTAtHash(oidcTAccessToken),
		"email": "ada@example.com", "email_verified": true, "name": "Ada Lovelace",
		"picture": "https://img.example/ada.png",
	}
}

// set changes the OP under its lock.
func (op *oidcTOP) set(f func(op *oidcTOP)) {
	op.mu.Lock()
	defer op.mu.Unlock()
	f(op)
}

// hit returns how many requests an endpoint got.
func (op *oidcTOP) hit(endpoint string) int {
	op.mu.Lock()
	defer op.mu.Unlock()
	return op.hits[endpoint]
}

func (op *oidcTOP) serve(w http.ResponseWriter, r *http.Request) {
	endpoint := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
	op.mu.Lock()
	op.hits[endpoint]++
	var h http.HandlerFunc
	switch endpoint {
	case "openid-configuration":
		op.discoveryPaths = append(op.discoveryPaths, r.URL.Path)
		h = op.discovery
		if h == nil {
			doc := op.docLocked()
			h = func(w http.ResponseWriter, _ *http.Request) { oidcTWriteJSON(w, 200, doc) }
		}
	case "jwks":
		h = op.jwks
		if h == nil {
			h = func(w http.ResponseWriter, _ *http.Request) { oidcTWriteJSON(w, 200, oidcTJWKS()) }
		}
	case "token":
		_ = r.ParseForm()
		op.forms = append(op.forms, r.PostForm)
		h = op.token
		if h == nil {
			h = op.tokenOK(op.idTokenLocked(), op.tokenType)
		}
	case "userinfo":
		h = op.userinfo
		if h == nil {
			claims := op.userinfoClaims
			h = func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "Bearer "+oidcTAccessToken {
					oidcTWriteJSON(w, 401, map[string]any{"error": "invalid_token"})
					return
				}
				oidcTWriteJSON(w, 200, claims)
			}
		}
	default:
		h = http.NotFound
	}
	op.mu.Unlock()
	h(w, r)
}

// docLocked is the default discovery document.
func (op *oidcTOP) docLocked() map[string]any {
	doc := map[string]any{
		"issuer": op.issuer, "authorization_endpoint": op.srv.URL + "/authorize",
		"token_endpoint": op.srv.URL + "/token", "jwks_uri": op.srv.URL + "/jwks",
		"id_token_signing_alg_values_supported": op.algs,
	}
	if !op.noUserInfo {
		doc["userinfo_endpoint"] = op.srv.URL + "/userinfo"
	}
	if op.issParam {
		doc["authorization_response_iss_parameter_supported"] = true
	}
	if op.authMethods != nil {
		doc["token_endpoint_auth_methods_supported"] = op.authMethods
	}
	if op.editDoc != nil {
		op.editDoc(doc)
	}
	return doc
}

// idTokenLocked is the id_token the token endpoint returns.
func (op *oidcTOP) idTokenLocked() string {
	if op.idToken != nil {
		return op.idToken()
	}
	return oidcTSignRS256(op.t, op.claims)
}

// tokenOK is a token endpoint that checks the grant like a provider would
// and answers with idToken.
func (op *oidcTOP) tokenOK(idToken, tokenType string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if id, secret, ok := r.BasicAuth(); !ok || id != oidcTClientID || secret != oidcTClientSecret {
			if r.PostForm.Get("client_id") != oidcTClientID || r.PostForm.Get("client_secret") != oidcTClientSecret {
				oidcTWriteJSON(w, 401, map[string]any{"error": "invalid_client"})
				return
			}
		}
		if r.PostForm.Get("grant_type") != "authorization_code" || r.PostForm.Get("code") != oidcTCode ||
			r.PostForm.Get("code_verifier") != oidcTVerifier || r.PostForm.Get("redirect_uri") != oidcTRedirect {
			oidcTWriteJSON(w, 400, map[string]any{"error": "invalid_grant"})
			return
		}
		body := map[string]any{"access_token": oidcTAccessToken, "token_type": tokenType, "expires_in": 299}
		if idToken != "" {
			body["id_token"] = idToken
		}
		oidcTWriteJSON(w, 200, body)
	}
}

// oidcTClient is the providers' HTTP client in tests.
func oidcTClient() *http.Client { return &http.Client{Timeout: 10 * time.Second} }

// provider is an OIDC provider for the OP's issuer.
func (op *oidcTOP) provider(t *testing.T, opts ...Option) *oidcProvider {
	t.Helper()
	opts = append([]Option{WithHTTPClient(oidcTClient())}, opts...)
	return OIDC(t.Context(), op.issuer, oidcTClientID, oidcTClientSecret, opts...).(*oidcProvider)
}

// oidcTExchangeRequest is the exchange of the OP's good code.
func oidcTExchangeRequest() ExchangeRequest {
	return ExchangeRequest{Code: oidcTCode, RedirectURL: oidcTRedirect, CodeVerifier: oidcTVerifier, Nonce: oidcTNonce}
}

// oidcTWith returns the default claims changed by f.
func oidcTWith(op *oidcTOP, f func(c map[string]any)) map[string]any {
	c := op.defaultClaims()
	f(c)
	return c
}

func TestOIDCAuthCodeURL(t *testing.T) {
	op := oidcTNewOP(t)
	req := AuthRequest{State: "state-1", RedirectURL: oidcTRedirect, CodeVerifier: oidcTVerifier, Nonce: oidcTNonce, Scopes: []string{"offline_access"}}

	cases := []struct {
		name      string
		opts      []Option
		wantScope string
	}{
		{"default scopes", nil, "openid email profile offline_access"},
		{"WithScopes keeps openid", []Option{WithScopes("email")}, "openid email offline_access"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := op.provider(t, tc.opts...).AuthCodeURL(req)
			u, err := url.Parse(raw)
			require.NoError(t, err)
			assert.Equal(t, op.srv.URL+"/authorize", u.Scheme+"://"+u.Host+u.Path)
			q := u.Query()
			assert.Equal(t, "code", q.Get("response_type"))
			assert.Equal(t, oidcTClientID, q.Get("client_id"))
			assert.Equal(t, oidcTRedirect, q.Get("redirect_uri"))
			assert.Equal(t, "state-1", q.Get("state"))
			assert.Equal(t, oidcTNonce, q.Get("nonce"))
			assert.Equal(t, "S256", q.Get("code_challenge_method"))
			assert.Equal(t, oauth2.S256ChallengeFromVerifier(oidcTVerifier), q.Get("code_challenge"))
			assert.Equal(t, tc.wantScope, q.Get("scope"))
			assert.NotContains(t, raw, oidcTVerifier)
		})
	}
}

func TestOIDCNameAndDisplayName(t *testing.T) {
	op := oidcTNewOP(t)
	p := op.provider(t)
	assert.Equal(t, "oidc", p.Name())
	assert.Equal(t, "127.0.0.1", p.DisplayName())

	p = op.provider(t, WithName("corp"), WithDisplayName("Corp SSO"))
	assert.Equal(t, "corp", p.Name())
	assert.Equal(t, "Corp SSO", p.DisplayName())
}

// TestOIDCIDTokenChecks proves each id_token check on its own: every case
// changes one thing of a token that otherwise verifies.
func TestOIDCIDTokenChecks(t *testing.T) {
	k := oidcTKeySet()
	cases := []struct {
		name    string
		setup   func(t *testing.T, op *oidcTOP)
		wantErr error
	}{
		{"valid RS256", func(*testing.T, *oidcTOP) {}, nil},
		{"valid ES256", func(t *testing.T, op *oidcTOP) {
			op.idToken = func() string { return oidcTSign(t, jwt.SigningMethodES256, k.ec, "ec1", op.defaultClaims()) }
		}, nil},
		{"aud array containing the client", func(_ *testing.T, op *oidcTOP) {
			op.claims = oidcTWith(op, func(c map[string]any) { c["aud"] = []string{"other-api", oidcTClientID}; c["azp"] = oidcTClientID })
		}, nil},
		{"no at_hash", func(_ *testing.T, op *oidcTOP) {
			op.claims = oidcTWith(op, func(c map[string]any) { delete(c, "at_hash") })
		}, nil},
		{"bad signature", func(t *testing.T, op *oidcTOP) {
			op.idToken = func() string { return oidcTSign(t, jwt.SigningMethodRS256, k.other, "rsa1", op.defaultClaims()) }
		}, ErrInvalidGrant},
		{"unknown kid", func(t *testing.T, op *oidcTOP) {
			op.idToken = func() string { return oidcTSign(t, jwt.SigningMethodRS256, k.other, "rsa-unknown", op.defaultClaims()) }
		}, ErrInvalidGrant},
		{"alg none, advertised by discovery", func(t *testing.T, op *oidcTOP) {
			op.idToken = func() string {
				return oidcTSign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", op.defaultClaims())
			}
		}, ErrInvalidGrant},
		{"HS256 keyed with the RSA public key", func(t *testing.T, op *oidcTOP) {
			pub, err := x509.MarshalPKIXPublicKey(&k.rsa.PublicKey)
			require.NoError(t, err)
			op.idToken = func() string { return oidcTSign(t, jwt.SigningMethodHS256, pub, "rsa1", op.defaultClaims()) }
		}, ErrInvalidGrant},
		{"ES256 not advertised by discovery", func(t *testing.T, op *oidcTOP) {
			op.algs = []string{"RS256"}
			op.idToken = func() string { return oidcTSign(t, jwt.SigningMethodES256, k.ec, "ec1", op.defaultClaims()) }
		}, ErrInvalidGrant},
		{"expired", func(_ *testing.T, op *oidcTOP) {
			op.claims = oidcTWith(op, func(c map[string]any) { c["exp"] = time.Now().Add(-time.Minute).Unix() })
		}, ErrInvalidGrant},
		{"no exp", func(_ *testing.T, op *oidcTOP) {
			op.claims = oidcTWith(op, func(c map[string]any) { delete(c, "exp") })
		}, ErrInvalidGrant},
		{"wrong iss", func(_ *testing.T, op *oidcTOP) {
			op.claims = oidcTWith(op, func(c map[string]any) { c["iss"] = "https://evil.example" })
		}, ErrInvalidGrant},
		{"iss with a trailing slash the issuer lacks", func(_ *testing.T, op *oidcTOP) {
			op.claims = oidcTWith(op, func(c map[string]any) { c["iss"] = op.issuer + "/" })
		}, ErrInvalidGrant},
		{"wrong aud", func(_ *testing.T, op *oidcTOP) {
			op.claims = oidcTWith(op, func(c map[string]any) { c["aud"] = "client-2" })
		}, ErrInvalidGrant},
		{"aud array without the client", func(_ *testing.T, op *oidcTOP) {
			op.claims = oidcTWith(op, func(c map[string]any) { c["aud"] = []string{"client-2", "api"} })
		}, ErrInvalidGrant},
		{"azp of another client", func(_ *testing.T, op *oidcTOP) {
			op.claims = oidcTWith(op, func(c map[string]any) { c["aud"] = []string{oidcTClientID, "client-2"}; c["azp"] = "client-2" })
		}, ErrInvalidGrant},
		{"at_hash mismatch", func(_ *testing.T, op *oidcTOP) {
			op.claims = oidcTWith(op, func(c map[string]any) { c["at_hash"] = oidcTAtHash("another-access-token") })
		}, ErrInvalidGrant},
		{"missing nonce", func(_ *testing.T, op *oidcTOP) {
			op.claims = oidcTWith(op, func(c map[string]any) { delete(c, "nonce") })
		}, ErrInvalidGrant},
		{"wrong nonce", func(_ *testing.T, op *oidcTOP) {
			op.claims = oidcTWith(op, func(c map[string]any) { c["nonce"] = "nonce-2" })
		}, ErrInvalidGrant},
		{"no sub", func(_ *testing.T, op *oidcTOP) {
			op.claims = oidcTWith(op, func(c map[string]any) { delete(c, "sub") })
		}, ErrInvalidGrant},
		{"id_token too long", func(_ *testing.T, op *oidcTOP) {
			op.claims = oidcTWith(op, func(c map[string]any) { c["pad"] = strings.Repeat("x", maxIDTokenBytes) })
		}, ErrInvalidGrant},
		{"no id_token", func(_ *testing.T, op *oidcTOP) {
			op.idToken = func() string { return "" }
		}, ErrInvalidGrant},
		{"id_token not a JWT", func(_ *testing.T, op *oidcTOP) {
			op.idToken = func() string { return "not.a.jwt" }
		}, ErrInvalidGrant},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			op := oidcTNewOP(t)
			op.set(func(op *oidcTOP) { tc.setup(t, op) })
			tokens, err := op.provider(t).Exchange(t.Context(), oidcTExchangeRequest())
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				assert.NotErrorIs(t, err, ErrProviderUnavailable)
				assert.Nil(t, tokens)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, oidcTAccessToken, tokens.AccessToken)
			require.NotNil(t, tokens.IDTokenClaims)
			assert.Equal(t, "user-1", tokens.IDTokenClaims.Subject)
			assert.Equal(t, op.issuer, tokens.IDTokenClaims.Issuer)
		})
	}
}

// TestOIDCTokenResponses covers the token endpoint's answers.
func TestOIDCTokenResponses(t *testing.T) {
	cases := []struct {
		name    string
		token   func(op *oidcTOP) http.HandlerFunc
		wantErr error
	}{
		{"token_type bearer", func(op *oidcTOP) http.HandlerFunc { return op.tokenOK(op.idTokenLocked(), "bearer") }, nil},
		{"token_type BEARER", func(op *oidcTOP) http.HandlerFunc { return op.tokenOK(op.idTokenLocked(), "BEARER") }, nil},
		{"token_type N_A", func(op *oidcTOP) http.HandlerFunc { return op.tokenOK(op.idTokenLocked(), "N_A") }, ErrInvalidGrant},
		{"400 invalid_grant", func(*oidcTOP) http.HandlerFunc {
			return func(w http.ResponseWriter, _ *http.Request) {
				oidcTWriteJSON(w, 400, map[string]any{"error": "invalid_grant", "error_description": "code expired"})
			}
		}, ErrInvalidGrant},
		{"403 invalid_code (Glewlwyd)", func(*oidcTOP) http.HandlerFunc {
			return func(w http.ResponseWriter, _ *http.Request) {
				oidcTWriteJSON(w, 403, map[string]any{"error": "invalid_code"})
			}
		}, ErrInvalidGrant},
		{"500", func(*oidcTOP) http.HandlerFunc {
			return func(w http.ResponseWriter, _ *http.Request) {
				oidcTWriteJSON(w, 500, map[string]any{"error": "server_error"})
			}
		}, ErrProviderUnavailable},
		{"malformed JSON", func(*oidcTOP) http.HandlerFunc {
			return func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"access_token":`))
			}
		}, ErrProviderUnavailable},
		{"oversized body", func(*oidcTOP) http.HandlerFunc {
			return func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = fmt.Fprintf(w, `{"access_token":"%s","token_type":"Bearer"}`, strings.Repeat("a", 2*maxResponseBytes))
			}
		}, ErrProviderUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			op := oidcTNewOP(t)
			op.set(func(op *oidcTOP) { op.token = tc.token(op) })
			tokens, err := op.provider(t).Exchange(t.Context(), oidcTExchangeRequest())
			if tc.wantErr == nil {
				require.NoError(t, err)
				assert.Equal(t, oidcTAccessToken, tokens.AccessToken)
				return
			}
			require.ErrorIs(t, err, tc.wantErr)
		})
	}
}

func TestOIDCTokenRequest(t *testing.T) {
	cases := []struct {
		name        string
		authMethods []string
		inHeader    bool
	}{
		{"client_secret_basic by default", nil, true},
		{"client_secret_post when only it is advertised", []string{"client_secret_post"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			op := oidcTNewOP(t)
			op.authMethods = tc.authMethods
			_, err := op.provider(t).Exchange(t.Context(), oidcTExchangeRequest())
			require.NoError(t, err)
			require.Len(t, op.forms, 1, "the code is sent once")
			form := op.forms[0]
			assert.Equal(t, oidcTVerifier, form.Get("code_verifier"))
			assert.Equal(t, oidcTRedirect, form.Get("redirect_uri"))
			assert.Equal(t, !tc.inHeader, form.Get("client_secret") == oidcTClientSecret)
		})
	}
}

func TestOIDCSlowTokenEndpoint(t *testing.T) {
	op := oidcTNewOP(t)
	op.token = func(w http.ResponseWriter, r *http.Request) {
		select { // answers only once the client gave up
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}
	// The discovery is done with a patient client; the exchange with one
	// whose timeout the token endpoint outlasts.
	p := op.provider(t)
	require.NoError(t, p.Check(t.Context()))
	p.client.Timeout = 200 * time.Millisecond

	_, err := p.Exchange(t.Context(), oidcTExchangeRequest())
	require.ErrorIs(t, err, ErrProviderUnavailable)
}

// TestOIDCExchangeRefusesBeforeSendingCode: what can be refused without
// the provider is refused before the code leaves (RFC 9207 mix-up defence).
func TestOIDCExchangeRefusesBeforeSendingCode(t *testing.T) {
	cases := []struct {
		name   string
		change func(r *ExchangeRequest, issuer string)
	}{
		{"no nonce to check", func(r *ExchangeRequest, _ string) { r.Nonce = "" }},
		{"iss parameter of another issuer", func(r *ExchangeRequest, _ string) { r.Issuer = "https://evil.example" }},
		{"iss parameter with an extra trailing slash", func(r *ExchangeRequest, iss string) { r.Issuer = iss + "/" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			op := oidcTNewOP(t)
			p := op.provider(t)
			req := oidcTExchangeRequest()
			tc.change(&req, op.issuer)
			_, err := p.Exchange(t.Context(), req)
			require.ErrorIs(t, err, ErrInvalidGrant)
			assert.Zero(t, op.hit("token"))
		})
	}
	t.Run("no iss parameter from an issuer that sends it", func(t *testing.T) {
		op := oidcTNewOP(t)
		op.issParam = true
		_, err := op.provider(t).Exchange(t.Context(), oidcTExchangeRequest())
		require.ErrorIs(t, err, ErrInvalidGrant)
		assert.Zero(t, op.hit("token"))
	})
	for _, issParam := range []bool{false, true} {
		t.Run(fmt.Sprintf("iss parameter equal to the issuer, advertised %v", issParam), func(t *testing.T) {
			op := oidcTNewOP(t)
			op.issParam = issParam
			req := oidcTExchangeRequest()
			req.Issuer = op.issuer
			_, err := op.provider(t).Exchange(t.Context(), req)
			require.NoError(t, err)
		})
	}
}

func TestOIDCDiscovery(t *testing.T) {
	cases := []struct {
		name      string
		discovery func(op *oidcTOP) http.HandlerFunc
	}{
		{"issuer differs by a trailing slash", func(op *oidcTOP) http.HandlerFunc {
			return func(w http.ResponseWriter, _ *http.Request) {
				oidcTWriteJSON(w, 200, map[string]any{"issuer": op.issuer + "/", "authorization_endpoint": op.srv.URL + "/authorize",
					"token_endpoint": op.srv.URL + "/token", "jwks_uri": op.srv.URL + "/jwks"})
			}
		}},
		{"jwks_uri over plain http off loopback", func(op *oidcTOP) http.HandlerFunc {
			return func(w http.ResponseWriter, _ *http.Request) {
				oidcTWriteJSON(w, 200, map[string]any{"issuer": op.issuer, "authorization_endpoint": op.srv.URL + "/authorize",
					"token_endpoint": op.srv.URL + "/token", "jwks_uri": "http://keys.example.com/jwks"})
			}
		}},
		{"token_endpoint over plain http off loopback", func(op *oidcTOP) http.HandlerFunc {
			return func(w http.ResponseWriter, _ *http.Request) {
				oidcTWriteJSON(w, 200, map[string]any{"issuer": op.issuer, "authorization_endpoint": op.srv.URL + "/authorize",
					"token_endpoint": "http://idp.example.com/token", "jwks_uri": op.srv.URL + "/jwks"})
			}
		}},
		{"no jwks_uri", func(op *oidcTOP) http.HandlerFunc {
			return func(w http.ResponseWriter, _ *http.Request) {
				oidcTWriteJSON(w, 200, map[string]any{"issuer": op.issuer, "authorization_endpoint": op.srv.URL + "/authorize",
					"token_endpoint": op.srv.URL + "/token"})
			}
		}},
		{"500", func(*oidcTOP) http.HandlerFunc {
			return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) }
		}},
		{"401", func(*oidcTOP) http.HandlerFunc {
			return func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(401) }
		}},
		{"oversized", func(*oidcTOP) http.HandlerFunc {
			return func(w http.ResponseWriter, _ *http.Request) {
				_, _ = fmt.Fprintf(w, `{"issuer":"%s"}`, strings.Repeat("a", 2*maxResponseBytes))
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			op := oidcTNewOP(t)
			op.discovery = tc.discovery(op)
			p := op.provider(t)

			require.ErrorIs(t, p.Check(t.Context()), ErrProviderUnavailable)
			assert.Empty(t, p.AuthCodeURL(AuthRequest{State: "s", RedirectURL: oidcTRedirect, CodeVerifier: oidcTVerifier, Nonce: "n"}))
			_, err := p.Exchange(t.Context(), oidcTExchangeRequest())
			require.ErrorIs(t, err, ErrProviderUnavailable)
			_, err = p.Profile(t.Context(), &Tokens{Token: &oauth2.Token{AccessToken: "a"}, IDTokenClaims: &IDTokenClaims{Subject: "s"}})
			require.ErrorIs(t, err, ErrProviderUnavailable)
			assert.Zero(t, op.hit("token"))
		})
	}
}

// TestSecureIssuer: https anywhere, plain http only on a loopback host.
func TestSecureIssuer(t *testing.T) {
	for raw, want := range map[string]bool{
		"https://idp.example.com":            true,
		"https://idp.example.com/realms/app": true,
		"http://127.0.0.1:3000":              true,
		"http://127.8.9.10":                  true,
		"http://localhost:8080/realms/x":     true,
		"http://[::1]:3000":                  true,
		"http://idp.example.com":             false,
		"http://10.0.0.5:8080":               false,
		"http://localhost.evil.tld":          false,
		"http://127.0.0.1.nip.io":            false,
		"ftp://idp.example.com":              false,
		"idp.example.com":                    false,
		"":                                   false,
	} {
		assert.Equal(t, want, SecureIssuer(raw), raw)
	}
}

// TestOIDCRefusesPlainHTTPIssuer: an issuer off loopback over plain http
// is never asked for discovery (anyone on the path could swap its keys).
func TestOIDCRefusesPlainHTTPIssuer(t *testing.T) {
	var asked atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { asked.Add(1) }))
	t.Cleanup(srv.Close)
	client := &http.Client{Transport: &http.Transport{Proxy: func(*http.Request) (*url.URL, error) { return url.Parse(srv.URL) }}}
	p := OIDC(t.Context(), "http://idp.example.com", "id", "secret", WithHTTPClient(client))
	err := p.(Checker).Check(t.Context())
	require.ErrorIs(t, err, ErrProviderUnavailable)
	assert.Contains(t, err.Error(), "https")
	assert.Zero(t, asked.Load())
}

// TestOIDCDiscoveryRetry: an issuer that is down when OIDC is called is
// tried again later, not on every call.
func TestOIDCDiscoveryRetry(t *testing.T) {
	op := oidcTNewOP(t)
	op.discovery = func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }
	p := op.provider(t) // tries once
	require.Equal(t, 1, op.hit("openid-configuration"))

	require.ErrorIs(t, p.Check(t.Context()), ErrProviderUnavailable)
	assert.Equal(t, 1, op.hit("openid-configuration"), "a recent failure is remembered")

	op.set(func(op *oidcTOP) { op.discovery = nil })
	p.now = func() time.Time { return time.Now().Add(oidcRetryDelay + time.Second) }
	require.NoError(t, p.Check(t.Context()))
	assert.Equal(t, 2, op.hit("openid-configuration"))

	_, err := p.Exchange(t.Context(), oidcTExchangeRequest())
	require.NoError(t, err)
	require.NoError(t, p.Check(t.Context()))
	assert.Equal(t, 2, op.hit("openid-configuration"), "a success is kept")
}

func TestOIDCDiscoveryLazyAndConcurrent(t *testing.T) {
	op := oidcTNewOP(t)
	// A cancelled context: OIDC returns a provider that has not discovered.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	p := OIDC(ctx, op.issuer, oidcTClientID, oidcTClientSecret, WithHTTPClient(oidcTClient())).(*oidcProvider)

	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = p.Exchange(t.Context(), oidcTExchangeRequest())
		})
	}
	wg.Wait()
	for _, err := range errs {
		assert.NoError(t, err)
	}
}

func TestOIDCJWKSUnavailable(t *testing.T) {
	op := oidcTNewOP(t)
	op.jwks = func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusBadGateway) }
	_, err := op.provider(t).Exchange(t.Context(), oidcTExchangeRequest())
	require.ErrorIs(t, err, ErrProviderUnavailable)
	assert.NotErrorIs(t, err, ErrInvalidGrant)
}

// TestOIDCJWKSBodyCapped: a JWKS that never ends is cut off at
// maxResponseBytes, go-oidc's own reads included.
func TestOIDCJWKSBodyCapped(t *testing.T) {
	const total = 64 << 20
	op := oidcTNewOP(t)
	done := make(chan bool, 1) // whether the whole body could be written
	op.jwks = func(w http.ResponseWriter, _ *http.Request) {
		chunk := []byte(strings.Repeat(" ", 64<<10))
		_, err := w.Write([]byte(`{"keys":[`))
		for written := 0; err == nil && written < total; written += len(chunk) {
			_, err = w.Write(chunk)
		}
		done <- err == nil
	}
	_, err := op.provider(t).Exchange(t.Context(), oidcTExchangeRequest())
	require.ErrorIs(t, err, ErrProviderUnavailable)
	assert.False(t, <-done, "the client read the whole body")
}

// oidcTOffline is a transport that refuses every request and counts them:
// building a provider must not touch the network.
type oidcTOffline struct{ calls *atomic.Int32 }

// RoundTrip implements http.RoundTripper.
func (o oidcTOffline) RoundTrip(*http.Request) (*http.Response, error) {
	o.calls.Add(1)
	return nil, errors.New("offline")
}

// oidcTSignIn exchanges the test OP's code with p and reads the profile.
func oidcTSignIn(t *testing.T, p Provider) (*Profile, error) {
	t.Helper()
	tokens, err := p.Exchange(t.Context(), oidcTExchangeRequest())
	if err != nil {
		return nil, err
	}
	return p.Profile(t.Context(), tokens)
}

// oidcTCheckAuthURL checks what every authorization URL carries.
func oidcTCheckAuthURL(t *testing.T, p Provider, wantEndpoint string) url.Values {
	t.Helper()
	raw := p.AuthCodeURL(AuthRequest{State: "state-1", RedirectURL: oidcTRedirect, CodeVerifier: oidcTVerifier, Nonce: oidcTNonce})
	u, err := url.Parse(raw)
	require.NoError(t, err)
	assert.Equal(t, wantEndpoint, u.Scheme+"://"+u.Host+u.Path)
	q := u.Query()
	assert.Equal(t, "S256", q.Get("code_challenge_method"))
	assert.Equal(t, oauth2.S256ChallengeFromVerifier(oidcTVerifier), q.Get("code_challenge"))
	assert.Equal(t, oidcTNonce, q.Get("nonce"))
	assert.Equal(t, "state-1", q.Get("state"))
	assert.Equal(t, oidcTRedirect, q.Get("redirect_uri"))
	assert.Equal(t, "code", q.Get("response_type"))
	return q
}

// TestOIDCProfile covers where the profile comes from: the id_token, or
// userinfo when the id_token lacks email, email_verified or name.
func TestOIDCProfile(t *testing.T) {
	subOnly := func(op *oidcTOP) {
		op.claims = oidcTWith(op, func(c map[string]any) {
			for _, k := range []string{"email", "email_verified", "name", "picture"} {
				delete(c, k)
			}
		})
	}
	cases := []struct {
		name         string
		setup        func(op *oidcTOP)
		want         *Profile
		wantErr      error
		wantUserinfo int
	}{
		{"all in the id_token", func(*oidcTOP) {},
			&Profile{AccountID: "user-1", Email: "ada@example.com", EmailVerified: true, Name: "Ada Lovelace", AvatarURL: "https://img.example/ada.png"}, nil, 0},
		{"id_token with only sub: userinfo", subOnly,
			&Profile{AccountID: "user-1", Email: "ada@example.com", EmailVerified: true, Name: "Ada Lovelace"}, nil, 1},
		{"email_verified as the string true", func(op *oidcTOP) {
			op.claims = oidcTWith(op, func(c map[string]any) { c["email_verified"] = "true" })
		}, &Profile{AccountID: "user-1", Email: "ada@example.com", EmailVerified: true, Name: "Ada Lovelace", AvatarURL: "https://img.example/ada.png"}, nil, 0},
		{"email_verified as the string true in userinfo", func(op *oidcTOP) {
			subOnly(op)
			op.userinfoClaims = map[string]any{"sub": "user-1", "email": "ada@example.com", "email_verified": "true", "name": "Ada"}
		}, &Profile{AccountID: "user-1", Email: "ada@example.com", EmailVerified: true, Name: "Ada"}, nil, 1},
		{"email_verified false", func(op *oidcTOP) {
			op.claims = oidcTWith(op, func(c map[string]any) { c["email_verified"] = false })
		}, &Profile{AccountID: "user-1", Email: "ada@example.com", Name: "Ada Lovelace", AvatarURL: "https://img.example/ada.png"}, nil, 0},
		{"email_verified an unknown string", func(op *oidcTOP) {
			subOnly(op)
			op.userinfoClaims = map[string]any{"sub": "user-1", "email": "ada@example.com", "email_verified": "yes"}
		}, &Profile{AccountID: "user-1", Email: "ada@example.com"}, nil, 1},
		{"email and its verification come from one source", func(op *oidcTOP) {
			op.claims = oidcTWith(op, func(c map[string]any) { delete(c, "email_verified") })
			op.userinfoClaims = map[string]any{"sub": "user-1", "email": "other@example.com", "email_verified": true}
		}, &Profile{AccountID: "user-1", Email: "other@example.com", EmailVerified: true, Name: "Ada Lovelace", AvatarURL: "https://img.example/ada.png"}, nil, 1},
		{"no email anywhere", func(op *oidcTOP) {
			subOnly(op)
			op.userinfoClaims = map[string]any{"sub": "user-1", "given_name": "Ada", "family_name": "Lovelace"}
		}, &Profile{AccountID: "user-1", Name: "Ada Lovelace"}, nil, 1},
		{"no userinfo endpoint", func(op *oidcTOP) {
			subOnly(op)
			op.noUserInfo = true
		}, &Profile{AccountID: "user-1"}, nil, 0},
		{"userinfo sub mismatch", func(op *oidcTOP) {
			subOnly(op)
			op.userinfoClaims = map[string]any{"sub": "user-2", "email": "eve@example.com", "email_verified": true}
		}, nil, ErrInvalidGrant, 1},
		{"userinfo without sub", func(op *oidcTOP) {
			subOnly(op)
			op.userinfoClaims = map[string]any{"email": "eve@example.com", "email_verified": true}
		}, nil, ErrInvalidGrant, 1},
		{"userinfo 401", func(op *oidcTOP) {
			subOnly(op)
			op.userinfo = func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(401) }
		}, nil, ErrInvalidGrant, 1},
		{"userinfo 500", func(op *oidcTOP) {
			subOnly(op)
			op.userinfo = func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) }
		}, nil, ErrProviderUnavailable, 1},
		{"userinfo oversized", func(op *oidcTOP) {
			subOnly(op)
			op.userinfo = func(w http.ResponseWriter, _ *http.Request) {
				_, _ = fmt.Fprintf(w, `{"sub":"user-1","name":"%s"}`, strings.Repeat("a", 2*maxResponseBytes))
			}
		}, nil, ErrProviderUnavailable, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			op := oidcTNewOP(t)
			op.set(func(op *oidcTOP) { tc.setup(op) })
			p := op.provider(t)
			tokens, err := p.Exchange(t.Context(), oidcTExchangeRequest())
			require.NoError(t, err)
			profile, err := p.Profile(t.Context(), tokens)
			assert.Equal(t, tc.wantUserinfo, op.hit("userinfo"))
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				assert.Nil(t, profile)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, profile)
		})
	}
	t.Run("no verified id_token", func(t *testing.T) {
		op := oidcTNewOP(t)
		_, err := op.provider(t).Profile(t.Context(), &Tokens{Token: &oauth2.Token{AccessToken: oidcTAccessToken}})
		require.ErrorIs(t, err, ErrInvalidGrant)
		assert.Zero(t, op.hit("userinfo"))
	})
}

// oidcTZitadel is zitadel/oidc's example OpenID provider, a real one,
// served in-process.
type oidcTZitadel struct {
	issuer   string
	username string
	password string
}

// oidcTStartZitadel serves the example OP with two web clients, "web" and
// "other", both allowed to redirect to oidcTRedirect.
func oidcTStartZitadel(t *testing.T) *oidcTZitadel {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	// The example's issuer ends with a slash, which must be kept as is.
	issuer := "http://" + srv.Listener.Addr().String() + "/"
	users := storage.NewUserStore(issuer)
	clients := map[string]*storage.Client{
		"web":   storage.WebClient("web", "secret", oidcTRedirect),
		"other": storage.WebClient("other", "other-secret", oidcTRedirect),
	}
	srv.Config.Handler = exampleop.SetupServer(issuer, storage.NewStorageWithClients(users, clients), nil, false)
	srv.Start()
	t.Cleanup(srv.Close)
	user := users.GetUserByID("id1")
	require.NotNil(t, user)
	return &oidcTZitadel{issuer: issuer, username: user.Username, password: user.Password}
}

// oidcTLoginForm finds the example OP's login form: its action and the
// hidden auth request id.
var oidcTLoginForm = regexp.MustCompile(`(?s)<form method="POST" action="([^"]+)".*?name="id" value="([^"]+)"`)

// login signs the example user in the way a browser would, from the
// authorization URL to the redirect to oidcTRedirect, and returns that
// redirect's query (code, state, ...).
func (z *oidcTZitadel) login(t *testing.T, authURL string) url.Values {
	t.Helper()
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), oidcTRedirect) {
			return http.ErrUseLastResponse // the app's callback: stop there
		}
		return nil
	}}
	resp, err := browser.Get(authURL)
	require.NoError(t, err)
	page := oidcTReadAll(t, resp)
	require.Equal(t, http.StatusOK, resp.StatusCode, page)
	m := oidcTLoginForm.FindStringSubmatch(page)
	require.NotNil(t, m, "login form not found in %s", page)
	action, err := resp.Request.URL.Parse(m[1])
	require.NoError(t, err)

	resp, err = browser.PostForm(action.String(), url.Values{"id": {m[2]}, "username": {z.username}, "password": {z.password}})
	require.NoError(t, err)
	body := oidcTReadAll(t, resp)
	require.Equal(t, http.StatusFound, resp.StatusCode, body)
	loc, err := resp.Location()
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(loc.String(), oidcTRedirect+"?"), loc.String())
	return loc.Query()
}

// oidcTReadAll reads and closes a response body.
func oidcTReadAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

// TestOIDCZitadel signs in against a real OpenID provider, the
// zitadel/oidc example OP, driven like a browser.
func TestOIDCZitadel(t *testing.T) {
	z := oidcTStartZitadel(t)
	newProvider := func(t *testing.T, clientID, secret string, client *http.Client) Provider {
		p := OIDC(t.Context(), z.issuer, clientID, secret, WithHTTPClient(client))
		require.NoError(t, p.(Checker).Check(t.Context()))
		return p
	}
	web := newProvider(t, "web", "secret", oidcTClient())
	// signIn runs the browser part with a fresh state, verifier and the
	// given nonce, and returns the exchange request for its code.
	signIn := func(t *testing.T, nonce string) ExchangeRequest {
		verifier := oauth2.GenerateVerifier()
		authURL := web.AuthCodeURL(AuthRequest{State: "state-" + nonce, RedirectURL: oidcTRedirect, CodeVerifier: verifier, Nonce: nonce})
		require.NotEmpty(t, authURL)
		got := z.login(t, authURL)
		require.Equal(t, "state-"+nonce, got.Get("state"))
		require.NotEmpty(t, got.Get("code"))
		return ExchangeRequest{Code: got.Get("code"), RedirectURL: oidcTRedirect, CodeVerifier: verifier, Nonce: nonce, Issuer: got.Get("iss")}
	}

	t.Run("happy path", func(t *testing.T) {
		req := signIn(t, "nonce-happy")
		req.Issuer = z.issuer // as an RFC 9207 provider would send it
		tokens, err := web.Exchange(t.Context(), req)
		require.NoError(t, err)
		assert.Equal(t, z.issuer, tokens.IDTokenClaims.Issuer)
		assert.Equal(t, "id1", tokens.IDTokenClaims.Subject)

		profile, err := web.Profile(t.Context(), tokens)
		require.NoError(t, err)
		assert.Equal(t, &Profile{AccountID: "id1", Email: "test-user@zitadel.ch", EmailVerified: true, Name: "Test User"}, profile)
	})
	t.Run("code replayed", func(t *testing.T) {
		req := signIn(t, "nonce-replay")
		_, err := web.Exchange(t.Context(), req)
		require.NoError(t, err)
		_, err = web.Exchange(t.Context(), req)
		require.ErrorIs(t, err, ErrInvalidGrant)
	})
	t.Run("wrong nonce", func(t *testing.T) {
		req := signIn(t, "nonce-sent")
		req.Nonce = "nonce-of-another-attempt"
		_, err := web.Exchange(t.Context(), req)
		require.ErrorIs(t, err, ErrInvalidGrant)
	})
	t.Run("missing nonce", func(t *testing.T) {
		// The authorization request carried no nonce, so neither does the
		// id_token; the callback expects one.
		verifier := oauth2.GenerateVerifier()
		got := z.login(t, web.AuthCodeURL(AuthRequest{State: "state-no-nonce", RedirectURL: oidcTRedirect, CodeVerifier: verifier}))
		_, err := web.Exchange(t.Context(), ExchangeRequest{Code: got.Get("code"), RedirectURL: oidcTRedirect, CodeVerifier: verifier, Nonce: "nonce-expected"})
		require.ErrorIs(t, err, ErrInvalidGrant)
	})
	t.Run("wrong issuer parameter is refused before the code is spent", func(t *testing.T) {
		req := signIn(t, "nonce-iss")
		for _, iss := range []string{strings.TrimSuffix(z.issuer, "/"), "https://evil.example/"} {
			bad := req
			bad.Issuer = iss
			_, err := web.Exchange(t.Context(), bad)
			require.ErrorIs(t, err, ErrInvalidGrant, iss)
		}
		req.Issuer = z.issuer
		_, err := web.Exchange(t.Context(), req)
		require.NoError(t, err, "the code was not sent with the wrong issuer")
	})
	t.Run("id_token for another client (aud)", func(t *testing.T) {
		// The token endpoint answers as if to "web" (a mix-up, or a token
		// substituted in transit): a real, well-signed id_token whose aud
		// is not "other".
		client := oidcTClient()
		client.Transport = oidcTAsClient{id: "web", secret: "secret"}
		other := newProvider(t, "other", "other-secret", client)
		req := signIn(t, "nonce-aud")
		_, err := other.Exchange(t.Context(), req)
		require.ErrorIs(t, err, ErrInvalidGrant)
		assert.Contains(t, err.Error(), "audience")
	})
}

// oidcTAsClient authenticates every token request as another client.
type oidcTAsClient struct{ id, secret string }

// RoundTrip implements http.RoundTripper.
func (a oidcTAsClient) RoundTrip(r *http.Request) (*http.Response, error) {
	if _, _, ok := r.BasicAuth(); ok {
		r = r.Clone(r.Context())
		r.SetBasicAuth(a.id, a.secret)
	}
	return http.DefaultTransport.RoundTrip(r)
}
