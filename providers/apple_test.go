package providers

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	socAAppleTeam  = "TEAM123456"
	socAAppleKeyID = "KEY1234567"
	socAAppleKid   = "W6WcOKB"
	socAAppleSub   = "001234.0123456789abcdef0123456789abcdef.1234"
)

// socAAppleKeyring holds the test keys: the app's Sign in with Apple key
// (ECDSA P-256), Apple's id_token key and an attacker's key (RSA).
type socAAppleKeyring struct {
	client   *ecdsa.PrivateKey
	apple    *rsa.PrivateKey
	attacker *rsa.PrivateKey
}

var socAAppleKeysOnce = sync.OnceValues(func() (*socAAppleKeyring, error) {
	client, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	apple, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	attacker, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	return &socAAppleKeyring{client: client, apple: apple, attacker: attacker}, nil
})

func socAAppleKeys(t *testing.T) *socAAppleKeyring {
	t.Helper()
	k, err := socAAppleKeysOnce()
	require.NoError(t, err)
	return k
}

// socAAppleJWKS is Apple's /auth/keys answer for one RSA key.
func socAAppleJWKS(kid string, pub *rsa.PublicKey) string {
	b, _ := json.Marshal(map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
	return string(b)
}

// socAAtHash is the at_hash of an access token for RS256.
func socAAtHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// socAAppleClaims are the claims of a good id_token from issuer, as Apple
// documents them ("Authenticating users with Sign in with Apple").
func socAAppleClaims(issuer string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss": issuer, "aud": socAClientID, "sub": socAAppleSub,
		"iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
		"nonce": "nonce-0123456789", "nonce_supported": true,
		"at_hash": socAAtHash(socAAccess), "auth_time": now.Unix(),
		"email": "jane@example.com", "email_verified": "true", "is_private_email": "false",
		"real_user_status": 2,
	}
}

// socAAppleSign signs claims with RS256 under kid.
func socAAppleSign(t *testing.T, key *rsa.PrivateKey, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

// socAAppleTokenAnswer is Apple's token response carrying idToken.
func socAAppleTokenAnswer(idToken string) string {
	b, _ := json.Marshal(map[string]any{
		"access_token": socAAccess, "token_type": "Bearer", "expires_in": 3600,
		"refresh_token": "r.refresh-token", "id_token": idToken,
	})
	return string(b)
}

// socAApple is Apple on a test server whose token endpoint answers with
// the id_token idToken builds (given the server's URL, the issuer; built
// once, on the test goroutine) and whose /auth/keys publishes Apple's
// key.
func socAApple(t *testing.T, idToken func(issuer string) string, opts ...Option) (Provider, *socAServer) {
	t.Helper()
	keys := socAAppleKeys(t)
	s := socANewServer(t)
	s.reply(http.MethodPost, "/auth/token", http.StatusOK, socAJSON, socAAppleTokenAnswer(idToken(s.URL)))
	s.reply(http.MethodGet, "/auth/keys", http.StatusOK, socAJSON, socAAppleJWKS(socAAppleKid, &keys.apple.PublicKey))
	p := Apple(socAClientID, socAAppleTeam, socAAppleKeyID, keys.client, append([]Option{WithBaseURL(s.URL)}, opts...)...)
	return p, s
}

// socAAppleGood signs a good id_token, changed by edit.
func socAAppleGood(t *testing.T, edit func(jwt.MapClaims)) func(string) string {
	return func(issuer string) string {
		c := socAAppleClaims(issuer)
		if edit != nil {
			edit(c)
		}
		return socAAppleSign(t, socAAppleKeys(t).apple, socAAppleKid, c)
	}
}

func TestAppleAuthCodeURL(t *testing.T) {
	p := Apple(socAClientID, socAAppleTeam, socAAppleKeyID, socAAppleKeys(t).client)
	a := socAAuthRequest()
	q := socACheckAuthURL(t, p, a, "https://appleid.apple.com/auth/authorize", "name email")
	assert.Equal(t, "form_post", q.Get("response_mode"))
	assert.Equal(t, a.Nonce, q.Get("nonce"))
	assert.Equal(t, "apple", p.Name())
	assert.Equal(t, "Apple", p.DisplayName())

	rm, ok := p.(ResponseModer)
	require.True(t, ok, "Apple tells the route layer it answers with a form post")
	assert.Equal(t, "form_post", rm.ResponseMode())
}

func TestAppleExchangeClientSecret(t *testing.T) {
	keys := socAAppleKeys(t)
	p, s := socAApple(t, socAAppleGood(t, nil))
	a := socAAuthRequest()
	e := socAExchangeRequest(a)

	tokens, err := p.Exchange(context.Background(), e)
	require.NoError(t, err)
	assert.Equal(t, socAAccess, tokens.AccessToken)

	r := s.only(t, "/auth/token")
	socACheckTokenRequest(t, r, e)
	assert.Equal(t, socAClientID, r.Form.Get("client_id"))
	assert.Empty(t, r.Header.Get("Authorization"))

	raw := r.Form.Get("client_secret")
	var claims jwt.MapClaims
	parsed, err := jwt.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return &keys.client.PublicKey, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithExpirationRequired(), jwt.WithIssuedAt())
	require.NoError(t, err, "the client secret verifies with the key's public half")
	assert.Equal(t, "ES256", parsed.Header["alg"])
	assert.Equal(t, socAAppleKeyID, parsed.Header["kid"])
	assert.Equal(t, socAAppleTeam, claims["iss"])
	assert.Equal(t, socAClientID, claims["sub"])
	assert.Equal(t, s.URL, claims["aud"], "aud is Apple's issuer, as one string")
	iat, exp := claims["iat"].(float64), claims["exp"].(float64)
	assert.Greater(t, exp, iat)
	assert.LessOrEqual(t, exp-iat, float64(5*60), "a short-lived secret per exchange")

	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	_, err = jwt.Parse(raw, func(*jwt.Token) (any, error) { return &other.PublicKey, nil }, jwt.WithValidMethods([]string{"ES256"}))
	require.Error(t, err, "and with no other key")
}

func TestAppleExchange(t *testing.T) {
	relay := "x7yf9k2q@privaterelay.appleid.com"
	tests := []struct {
		name    string
		idToken func(t *testing.T) func(string) string
		want    Profile
	}{
		{"email_verified as the string \"true\"", func(t *testing.T) func(string) string { return socAAppleGood(t, nil) },
			Profile{AccountID: socAAppleSub, Email: "jane@example.com", EmailVerified: true}},
		{"email_verified as a bool", func(t *testing.T) func(string) string {
			return socAAppleGood(t, func(c jwt.MapClaims) { c["email_verified"] = true })
		}, Profile{AccountID: socAAppleSub, Email: "jane@example.com", EmailVerified: true}},
		{"email_verified \"false\"", func(t *testing.T) func(string) string {
			return socAAppleGood(t, func(c jwt.MapClaims) { c["email_verified"] = "false" })
		}, Profile{AccountID: socAAppleSub, Email: "jane@example.com"}},
		{"private relay address", func(t *testing.T) func(string) string {
			return socAAppleGood(t, func(c jwt.MapClaims) { c["email"], c["is_private_email"] = relay, "true" })
		}, Profile{AccountID: socAAppleSub, Email: relay, EmailVerified: true}},
		{"no email", func(t *testing.T) func(string) string {
			return socAAppleGood(t, func(c jwt.MapClaims) {
				delete(c, "email")
				delete(c, "email_verified")
				delete(c, "is_private_email")
			})
		}, Profile{AccountID: socAAppleSub}},
		{"no at_hash", func(t *testing.T) func(string) string {
			return socAAppleGood(t, func(c jwt.MapClaims) { delete(c, "at_hash") })
		}, Profile{AccountID: socAAppleSub, Email: "jane@example.com", EmailVerified: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := socAApple(t, tt.idToken(t))
			tokens, profile := socAFlow(t, p)
			assert.Equal(t, tt.want, *profile)
			require.NotNil(t, tokens.IDTokenClaims)
			assert.Equal(t, socAAppleSub, tokens.IDTokenClaims.Subject)
		})
	}
}

func TestAppleExchangeRefusesIDTokens(t *testing.T) {
	keys := socAAppleKeys(t)
	sign := func(t *testing.T, key *rsa.PrivateKey, kid string, edit func(jwt.MapClaims)) func(string) string {
		return func(issuer string) string {
			c := socAAppleClaims(issuer)
			if edit != nil {
				edit(c)
			}
			return socAAppleSign(t, key, kid, c)
		}
	}
	tests := []struct {
		name    string
		idToken func(t *testing.T) func(string) string
	}{
		{"signed by another key under Apple's kid", func(t *testing.T) func(string) string { return sign(t, keys.attacker, socAAppleKid, nil) }},
		{"signed by another key under an unknown kid", func(t *testing.T) func(string) string { return sign(t, keys.attacker, "unknown", nil) }},
		{"payload changed after signing", func(t *testing.T) func(string) string {
			return func(issuer string) string {
				parts := strings.Split(sign(t, keys.apple, socAAppleKid, nil)(issuer), ".")
				c := socAAppleClaims(issuer)
				c["sub"] = "someone-else"
				payload, _ := json.Marshal(c)
				return parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]
			}
		}},
		{"wrong aud", func(t *testing.T) func(string) string {
			return sign(t, keys.apple, socAAppleKid, func(c jwt.MapClaims) { c["aud"] = "com.other.app" })
		}},
		{"wrong iss", func(t *testing.T) func(string) string {
			return sign(t, keys.apple, socAAppleKid, func(c jwt.MapClaims) { c["iss"] = "https://appleid.apple.com.evil.example" })
		}},
		{"expired", func(t *testing.T) func(string) string {
			return sign(t, keys.apple, socAAppleKid, func(c jwt.MapClaims) {
				c["iat"], c["exp"] = time.Now().Add(-time.Hour).Unix(), time.Now().Add(-10*time.Minute).Unix()
			})
		}},
		{"no exp", func(t *testing.T) func(string) string {
			return sign(t, keys.apple, socAAppleKid, func(c jwt.MapClaims) { delete(c, "exp") })
		}},
		{"wrong nonce", func(t *testing.T) func(string) string {
			return sign(t, keys.apple, socAAppleKid, func(c jwt.MapClaims) { c["nonce"] = "nonce-of-another-attempt" })
		}},
		{"no nonce", func(t *testing.T) func(string) string {
			return sign(t, keys.apple, socAAppleKid, func(c jwt.MapClaims) { delete(c, "nonce") })
		}},
		{"at_hash of another access token", func(t *testing.T) func(string) string {
			return sign(t, keys.apple, socAAppleKid, func(c jwt.MapClaims) { c["at_hash"] = socAAtHash("another-token") })
		}},
		{"no sub", func(t *testing.T) func(string) string {
			return sign(t, keys.apple, socAAppleKid, func(c jwt.MapClaims) { delete(c, "sub") })
		}},
		{"alg none", func(t *testing.T) func(string) string {
			return func(issuer string) string {
				s, err := jwt.NewWithClaims(jwt.SigningMethodNone, socAAppleClaims(issuer)).SignedString(jwt.UnsafeAllowNoneSignatureType)
				require.NoError(t, err)
				return s
			}
		}},
		{"HS256 keyed with Apple's public key", func(t *testing.T) func(string) string {
			return func(issuer string) string {
				tok := jwt.NewWithClaims(jwt.SigningMethodHS256, socAAppleClaims(issuer))
				tok.Header["kid"] = socAAppleKid
				s, err := tok.SignedString(keys.apple.PublicKey.N.Bytes())
				require.NoError(t, err)
				return s
			}
		}},
		{"no id_token", func(*testing.T) func(string) string { return func(string) string { return "" } }},
		{"id_token not a JWT", func(*testing.T) func(string) string { return func(string) string { return "not-a-jwt" } }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := socAApple(t, tt.idToken(t))
			tokens, err := p.Exchange(context.Background(), socAExchangeRequest(socAAuthRequest()))
			require.ErrorIs(t, err, ErrInvalidGrant)
			assert.Nil(t, tokens)
		})
	}
}

func TestAppleExchangeRequest(t *testing.T) {
	t.Run("an attempt without a nonce is refused before any call", func(t *testing.T) {
		p, s := socAApple(t, socAAppleGood(t, nil))
		e := socAExchangeRequest(socAAuthRequest())
		e.Nonce = ""
		_, err := p.Exchange(context.Background(), e)
		require.ErrorIs(t, err, ErrInvalidGrant)
		assert.Empty(t, s.all())
	})
	t.Run("a callback iss of another issuer is refused", func(t *testing.T) {
		p, s := socAApple(t, socAAppleGood(t, nil))
		e := socAExchangeRequest(socAAuthRequest())
		e.Issuer = "https://accounts.example.com"
		_, err := p.Exchange(context.Background(), e)
		require.ErrorIs(t, err, ErrInvalidGrant)
		assert.Empty(t, s.all())
	})
	t.Run("a callback iss of Apple is accepted", func(t *testing.T) {
		p, s := socAApple(t, socAAppleGood(t, nil))
		e := socAExchangeRequest(socAAuthRequest())
		e.Issuer = s.URL
		_, err := p.Exchange(context.Background(), e)
		require.NoError(t, err)
	})
	for name, key := range map[string]*ecdsa.PrivateKey{"no key": nil, "P-384 key": socAP384(t)} {
		t.Run(name, func(t *testing.T) {
			s := socANewServer(t)
			p := Apple(socAClientID, socAAppleTeam, socAAppleKeyID, key, WithBaseURL(s.URL))
			_, err := p.Exchange(context.Background(), socAExchangeRequest(socAAuthRequest()))
			require.ErrorContains(t, err, "P-256")
			assert.Empty(t, s.all(), "no code is spent")
		})
	}
}

func socAP384(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	return k
}

func TestAppleExchangeErrors(t *testing.T) {
	keys := socAAppleKeys(t)
	failures := append([]socAFailure{
		{"invalid_grant", http.StatusBadRequest, socAJSON, `{"error":"invalid_grant","error_description":"The code has expired or has been revoked."}`, ErrInvalidGrant},
		{"invalid_client", http.StatusBadRequest, socAJSON, `{"error":"invalid_client"}`, ErrInvalidGrant},
	}, socAServerFailures()...)
	for _, f := range failures {
		t.Run("token "+f.name, func(t *testing.T) {
			s := socANewServer(t)
			s.reply(http.MethodPost, "/auth/token", f.status, f.contentType, f.body)
			p := Apple(socAClientID, socAAppleTeam, socAAppleKeyID, keys.client, WithBaseURL(s.URL))
			_, err := p.Exchange(context.Background(), socAExchangeRequest(socAAuthRequest()))
			require.ErrorIs(t, err, f.want)
			assert.Len(t, s.requests("/auth/token"), 1)
		})
	}
	// Apple's key set failing is Apple being unavailable, not a bad token.
	for _, f := range socAServerFailures() {
		t.Run("keys "+f.name, func(t *testing.T) {
			s := socANewServer(t)
			s.reply(http.MethodPost, "/auth/token", http.StatusOK, socAJSON, socAAppleTokenAnswer(socAAppleSign(t, keys.apple, socAAppleKid, socAAppleClaims(s.URL))))
			s.reply(http.MethodGet, "/auth/keys", f.status, f.contentType, f.body)
			p := Apple(socAClientID, socAAppleTeam, socAAppleKeyID, keys.client, WithBaseURL(s.URL))
			_, err := p.Exchange(context.Background(), socAExchangeRequest(socAAuthRequest()))
			require.ErrorIs(t, err, ErrProviderUnavailable)
			require.NotErrorIs(t, err, ErrInvalidGrant)
		})
	}
}

func TestAppleProfile(t *testing.T) {
	p := Apple(socAClientID, socAAppleTeam, socAAppleKeyID, socAAppleKeys(t).client)
	unverified := socATokens()
	unverified.Token = unverified.WithExtra(map[string]any{"id_token": socAAppleSign(t, socAAppleKeys(t).apple, socAAppleKid, socAAppleClaims(appleIssuer))})
	for name, tokens := range map[string]*Tokens{"nil": nil, "no claims": socATokens(), "id_token never verified": unverified, "claims without sub": {IDTokenClaims: &IDTokenClaims{Email: "jane@example.com"}}} {
		t.Run(name, func(t *testing.T) {
			_, err := p.Profile(context.Background(), tokens)
			require.ErrorIs(t, err, ErrInvalidGrant)
		})
	}
}

// TestAppleProductionURLs runs the flow on appleid.apple.com's own URLs.
func TestAppleProductionURLs(t *testing.T) {
	keys := socAAppleKeys(t)
	s := socANewServer(t)
	s.reply(http.MethodPost, "/auth/token", http.StatusOK, socAJSON, socAAppleTokenAnswer(socAAppleSign(t, keys.apple, socAAppleKid, socAAppleClaims(appleIssuer))))
	s.reply(http.MethodGet, "/auth/keys", http.StatusOK, socAJSON, socAAppleJWKS(socAAppleKid, &keys.apple.PublicKey))
	client, rw := socARewriteClient(t, s)

	_, profile := socAFlow(t, Apple(socAClientID, socAAppleTeam, socAAppleKeyID, keys.client, WithHTTPClient(client)))
	assert.Equal(t, socAAppleSub, profile.AccountID)
	assert.Equal(t, []string{"https://appleid.apple.com/auth/token", "https://appleid.apple.com/auth/keys"}, rw.seen())

	var claims jwt.MapClaims
	_, _, err := jwt.NewParser().ParseUnverified(s.only(t, "/auth/token").Form.Get("client_secret"), &claims)
	require.NoError(t, err)
	assert.Equal(t, "https://appleid.apple.com", claims["aud"])
}

// TestAppleFormUserName proves Profile.Name comes from the `user` field
// Apple posts on the first authorization (ExchangeRequest.FormUser), that
// a missing or malformed field gives no name and no error, and that the
// field, unsigned, never changes the account id or the email.
func TestAppleFormUserName(t *testing.T) {
	tests := []struct {
		name, formUser, want string
	}{
		{"first and last name", `{"name":{"firstName":"Jane","lastName":"Appleseed"},"email":"jane@example.com"}`, "Jane Appleseed"},
		{"first name only", `{"name":{"firstName":"Jane"}}`, "Jane"},
		{"spaces collapsed", `{"name":{"firstName":"  Mary  Ann ","lastName":" de la Cruz "}}`, "Mary Ann de la Cruz"},
		{"no field (a later sign-in)", "", ""},
		{"no name", `{"email":"jane@example.com"}`, ""},
		{"malformed JSON", `{"name":{"firstName":"Jane"`, ""},
		{"name is a string", `{"name":"Jane Appleseed"}`, ""},
		{"not JSON", "Jane Appleseed", ""},
		{"control characters", `{"name":{"firstName":"Jane\u0000","lastName":"Appleseed"}}`, ""},
		{"too long", `{"name":{"firstName":"` + strings.Repeat("J", maxAppleNameBytes+1) + `"}}`, ""},
		{"another email and id in the field", `{"name":{"firstName":"Eve"},"email":"eve@attacker.example","sub":"someone-else"}`, "Eve"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := socAApple(t, socAAppleGood(t, nil))
			e := socAExchangeRequest(socAAuthRequest())
			e.FormUser = tt.formUser
			tokens, err := p.Exchange(context.Background(), e)
			require.NoError(t, err, "the user field never fails a sign-in")
			profile, err := p.Profile(context.Background(), tokens)
			require.NoError(t, err)
			assert.Equal(t, Profile{AccountID: socAAppleSub, Email: "jane@example.com", EmailVerified: true, Name: tt.want}, *profile)
			assert.Empty(t, tokens.IDTokenClaims.Name, "the unsigned name is not an id_token claim")
		})
	}
}

// FuzzAppleFormName feeds the parser of Apple's unsigned `user` field:
// it never panics, and a name it keeps is trimmed, bounded and free of
// control characters.
func FuzzAppleFormName(f *testing.F) {
	f.Add(`{"name":{"firstName":"Jane","lastName":"Appleseed"},"email":"jane@example.com"}`)
	f.Add(`{"name":{"firstName":"Jane\u0000"}}`)
	f.Add(`{"name":"Jane"}`)
	f.Add(`{"name":{"firstName":`)
	f.Add("")
	f.Fuzz(func(t *testing.T, raw string) {
		name := appleFormName(raw)
		assert.LessOrEqual(t, len(name), maxAppleNameBytes)
		assert.Equal(t, strings.TrimSpace(name), name)
		assert.Equal(t, -1, strings.IndexFunc(name, unicode.IsControl), "%q", name)
	})
}
