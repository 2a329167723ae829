package ginauth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// atkPassword is the password of every user the token tests register.
const atkPassword = "correct horse battery staple"

// atkOtherSecret is a valid secret that the servers under test do not use.
const atkOtherSecret = "another-secret-9876543210-ZYXWVUTSRQPONMLKJIHGFEDCBA"

// atkRSAKey is one RSA 2048 key shared by the tests (generation is slow).
var atkRSAKey = sync.OnceValue(func() *rsa.PrivateKey {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return key
})

// atkAttackerRSAKey is an RSA key the server has never seen.
var atkAttackerRSAKey = sync.OnceValue(func() *rsa.PrivateKey {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return key
})

// atkEnv is a running server with a signed-in victim, and what an attacker
// needs to forge tokens against it.
type atkEnv struct {
	auth      *Auth
	srv       *httptest.Server
	tokens    TokenResponse // the victim's real tokens
	userID    uuid.UUID     // the victim
	sessionID uuid.UUID     // the victim's session
	otherID   uuid.UUID     // a second user, the attacker
	otherTok  TokenResponse // the attacker's real tokens
	method    jwt.SigningMethod
	key       any // what the server signs with: []byte or a private key
}

// newAtkEnv starts a server with two users signed in; edit adjusts the
// Config (nil: the HMAC default).
func newAtkEnv(t *testing.T, edit func(*Config)) *atkEnv {
	t.Helper()
	a := newTestAuth(t, edit)
	e := &atkEnv{auth: a, srv: newTestServer(t, a), method: a.keys.signingMethod}
	if a.cfg.SigningKey != nil {
		e.key = a.cfg.SigningKey
	} else {
		e.key = []byte(a.cfg.Secret)
	}
	e.tokens = registerAndLogin(t, e.srv, "victim@example.com", atkPassword)
	e.otherTok = registerAndLogin(t, e.srv, "attacker@example.com", atkPassword)
	claims, err := a.VerifyAccessToken(e.tokens.AccessToken)
	require.NoError(t, err)
	e.userID, e.sessionID = claims.UserID(), claims.Session()
	other, err := a.VerifyAccessToken(e.otherTok.AccessToken)
	require.NoError(t, err)
	e.otherID = other.UserID()
	// The real token works, and is now in the token cache: the attacks
	// below must not ride on it.
	atkRequireOK(t, e.get(t, "Bearer "+e.tokens.AccessToken))
	return e
}

// claims returns the claims of a valid access token of the victim's session.
func (e *atkEnv) claims() jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"iss": e.auth.cfg.Issuer,
		"aud": e.auth.cfg.Audience,
		"sub": e.userID.String(),
		"sid": e.sessionID.String(),
		"jti": randomID(),
		"iat": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(),
	}
}

// header returns the JOSE header of a valid access token (alg aside).
func (e *atkEnv) header() map[string]any {
	return map[string]any{"typ": accessTokenType, "kid": e.auth.keys.signingKID}
}

// forge signs the valid claims and header, after the edits, with the
// server's own key: the only fault of the result is what the edits did.
func (e *atkEnv) forge(t testing.TB, editHeader func(map[string]any), editClaims func(jwt.MapClaims)) string {
	t.Helper()
	return e.forgeWith(t, e.method, e.key, editHeader, editClaims)
}

// forgeWith is forge with another algorithm and key.
func (e *atkEnv) forgeWith(t testing.TB, method jwt.SigningMethod, key any, editHeader func(map[string]any), editClaims func(jwt.MapClaims)) string {
	t.Helper()
	header, claims := e.header(), e.claims()
	if editHeader != nil {
		editHeader(header)
	}
	if editClaims != nil {
		editClaims(claims)
	}
	return atkSign(t, method, key, header, claims)
}

// atkSign signs claims with golang-jwt, with exactly the given header
// fields besides alg.
func atkSign(t testing.TB, method jwt.SigningMethod, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	delete(tok.Header, "typ")
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

// atkHS256Raw signs an arbitrary signing string (header.payload, as sent) with
// HMAC-SHA256, for tokens golang-jwt would not produce.
func atkHS256Raw(secret []byte, signingString string) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(signingString))
	return signingString + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// atkSegment base64url-encodes v as JSON, unpadded.
func atkSegment(t testing.TB, v any) string {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// get sends GET /api/me with the given Authorization header ("" sends none).
func (e *atkEnv) get(t testing.TB, authorization string) apiResponse {
	t.Helper()
	return atkGet(t, e.srv, "/api/me", authorization)
}

func atkGet(t testing.TB, srv *httptest.Server, path, authorization string) apiResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	require.NoError(t, err)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	return send(t, req)
}

// atkRequireOK asserts that /api/me answered for a user.
func atkRequireOK(t testing.TB, res apiResponse) {
	t.Helper()
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	require.NotEmpty(t, res.JSON(t)["id"])
}

// atkIsInvalidToken reports whether res is exactly the contract's 401 for a
// token that was sent and refused.
func atkIsInvalidToken(res apiResponse) bool {
	var body map[string]any
	if json.Unmarshal(res.Body, &body) != nil {
		return false
	}
	return res.Status == http.StatusUnauthorized && len(body) == 1 && body["detail"] == string(CodeUnauthorized) &&
		res.Header.Get("WWW-Authenticate") == `Bearer error="invalid_token"`
}

// atkAssertInvalidToken asserts the contract's one 401 for a refused token.
func atkAssertInvalidToken(t testing.TB, res apiResponse) {
	t.Helper()
	require.Equal(t, http.StatusUnauthorized, res.Status, "body: %s", res.Body)
	require.JSONEq(t, `{"detail":"UNAUTHORIZED"}`, string(res.Body))
	require.Equal(t, `Bearer error="invalid_token"`, res.Header.Get("WWW-Authenticate"))
}

// atkRSAConfig configures RS256 signing with atkRSAKey.
func atkRSAConfig(c *Config) { c.SigningKey = atkRSAKey() }

// TestTokenAttacks proves that RequireAuth, over real HTTP, answers every
// forged, altered, misused or malformed access token with the one 401
// `{"detail":"UNAUTHORIZED"}` and `WWW-Authenticate: Bearer
// error="invalid_token"`. Each token is forged with the server's own key
// unless the attack is about the key, so the one fault named by the case
// is what gets it refused; a control case proves such forgeries are
// otherwise accepted.
func TestTokenAttacks(t *testing.T) {
	hmacEnv := newAtkEnv(t, nil)
	rsaEnv := newAtkEnv(t, atkRSAConfig)

	// A server that would hand out keys: it must never be asked.
	var fetched atomic.Int32
	keyServer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"keys":[]}`))
	}))
	t.Cleanup(keyServer.Close)

	attacker := atkAttackerRSAKey()
	attackerJWK := map[string]any{
		"kty": "RSA",
		"n":   base64.RawURLEncoding.EncodeToString(attacker.N.Bytes()),
		"e":   "AQAB",
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&atkRSAKey().PublicKey)
	require.NoError(t, err)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	pkcs1PEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&atkRSAKey().PublicKey)})

	t.Run("control_forged_valid_token_is_accepted", func(t *testing.T) {
		atkRequireOK(t, hmacEnv.get(t, "Bearer "+hmacEnv.forge(t, nil, nil)))
		atkRequireOK(t, rsaEnv.get(t, "Bearer "+rsaEnv.forge(t, nil, nil)))
	})

	type attack struct {
		name string
		env  *atkEnv
		// authorization builds the whole Authorization header value.
		authorization func(t *testing.T, e *atkEnv) string
	}
	bearer := func(build func(t *testing.T, e *atkEnv) string) func(t *testing.T, e *atkEnv) string {
		return func(t *testing.T, e *atkEnv) string { return "Bearer " + build(t, e) }
	}
	claimsEdit := func(edit func(e *atkEnv, c jwt.MapClaims)) func(t *testing.T, e *atkEnv) string {
		return bearer(func(t *testing.T, e *atkEnv) string {
			return e.forge(t, nil, func(c jwt.MapClaims) { edit(e, c) })
		})
	}
	headerEdit := func(edit func(h map[string]any)) func(t *testing.T, e *atkEnv) string {
		return bearer(func(t *testing.T, e *atkEnv) string { return e.forge(t, edit, nil) })
	}
	// replaceSegment rebuilds a real token with one segment replaced.
	replaceSegment := func(token string, i int, seg string) string {
		parts := strings.Split(token, ".")
		parts[i] = seg
		return strings.Join(parts, ".")
	}

	attacks := []attack{
		{name: "alg_none", authorization: bearer(func(t *testing.T, e *atkEnv) string {
			return e.forgeWith(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, nil, nil)
		})},
		{name: "alg_None_mixed_case_empty_signature", authorization: bearer(func(t *testing.T, e *atkEnv) string {
			h := e.header()
			h["alg"] = "None"
			return atkSegment(t, h) + "." + atkSegment(t, e.claims()) + "."
		})},
		{name: "alg_HS256_with_another_secret", authorization: bearer(func(t *testing.T, e *atkEnv) string {
			return e.forgeWith(t, jwt.SigningMethodHS256, []byte(atkOtherSecret), nil, nil)
		})},
		{name: "alg_HS384_with_the_right_secret", authorization: bearer(func(t *testing.T, e *atkEnv) string {
			return e.forgeWith(t, jwt.SigningMethodHS384, e.key, nil, nil)
		})},
		{name: "alg_HS512_with_the_right_secret", authorization: bearer(func(t *testing.T, e *atkEnv) string {
			return e.forgeWith(t, jwt.SigningMethodHS512, e.key, nil, nil)
		})},
		{name: "rsa_public_key_PEM_as_HS256_secret", env: rsaEnv, authorization: bearer(func(t *testing.T, e *atkEnv) string {
			return e.forgeWith(t, jwt.SigningMethodHS256, pubPEM, nil, nil)
		})},
		{name: "rsa_public_key_PKCS1_PEM_as_HS256_secret", env: rsaEnv, authorization: bearer(func(t *testing.T, e *atkEnv) string {
			return e.forgeWith(t, jwt.SigningMethodHS256, pkcs1PEM, nil, nil)
		})},
		{name: "rsa_public_key_DER_as_HS256_secret", env: rsaEnv, authorization: bearer(func(t *testing.T, e *atkEnv) string {
			return e.forgeWith(t, jwt.SigningMethodHS256, pubDER, nil, nil)
		})},
		{name: "rsa_server_HS256_with_its_own_Secret", env: rsaEnv, authorization: bearer(func(t *testing.T, e *atkEnv) string {
			return e.forgeWith(t, jwt.SigningMethodHS256, []byte(testSecret), nil, nil)
		})},
		{name: "rsa_server_alg_RS384_same_key", env: rsaEnv, authorization: bearer(func(t *testing.T, e *atkEnv) string {
			return e.forgeWith(t, jwt.SigningMethodRS384, atkRSAKey(), nil, nil)
		})},
		{name: "rsa_server_alg_PS256_same_key", env: rsaEnv, authorization: bearer(func(t *testing.T, e *atkEnv) string {
			return e.forgeWith(t, jwt.SigningMethodPS256, atkRSAKey(), nil, nil)
		})},
		{name: "rsa_server_RS256_with_an_unknown_key", env: rsaEnv, authorization: bearer(func(t *testing.T, e *atkEnv) string {
			return e.forgeWith(t, jwt.SigningMethodRS256, attacker, nil, nil)
		})},
		{name: "exp_missing", authorization: claimsEdit(func(_ *atkEnv, c jwt.MapClaims) { delete(c, "exp") })},
		{name: "exp_past_beyond_clock_skew", authorization: claimsEdit(func(e *atkEnv, c jwt.MapClaims) {
			c["iat"] = time.Now().Add(-20 * time.Minute).Unix()
			c["exp"] = time.Now().Add(-e.auth.cfg.ClockSkew - 30*time.Second).Unix()
		})},
		{name: "exp_not_a_number", authorization: claimsEdit(func(_ *atkEnv, c jwt.MapClaims) { c["exp"] = "never" })},
		{name: "exp_null", authorization: claimsEdit(func(_ *atkEnv, c jwt.MapClaims) { c["exp"] = nil })},
		{name: "iat_in_the_future_beyond_clock_skew", authorization: claimsEdit(func(e *atkEnv, c jwt.MapClaims) {
			c["iat"] = time.Now().Add(e.auth.cfg.ClockSkew + time.Minute).Unix()
		})},
		{name: "iat_missing", authorization: claimsEdit(func(_ *atkEnv, c jwt.MapClaims) { delete(c, "iat") })},
		{name: "nbf_in_the_future", authorization: claimsEdit(func(_ *atkEnv, c jwt.MapClaims) {
			c["nbf"] = time.Now().Add(time.Hour).Unix()
		})},
		{name: "jti_missing", authorization: claimsEdit(func(_ *atkEnv, c jwt.MapClaims) { delete(c, "jti") })},
		{name: "iss_wrong", authorization: claimsEdit(func(_ *atkEnv, c jwt.MapClaims) { c["iss"] = "https://evil.example" })},
		{name: "iss_missing", authorization: claimsEdit(func(_ *atkEnv, c jwt.MapClaims) { delete(c, "iss") })},
		{name: "aud_wrong", authorization: claimsEdit(func(_ *atkEnv, c jwt.MapClaims) { c["aud"] = "another-service" })},
		{name: "aud_missing", authorization: claimsEdit(func(_ *atkEnv, c jwt.MapClaims) { delete(c, "aud") })},
		{name: "aud_empty_list", authorization: claimsEdit(func(_ *atkEnv, c jwt.MapClaims) { c["aud"] = []string{} })},
		{name: "typ_missing", authorization: headerEdit(func(h map[string]any) { delete(h, "typ") })},
		{name: "typ_JWT", authorization: headerEdit(func(h map[string]any) { h["typ"] = "JWT" })},
		{name: "typ_of_a_refresh_token", authorization: headerEdit(func(h map[string]any) { h["typ"] = "refresh+jwt" })},
		{name: "typ_of_a_reset_token", authorization: headerEdit(func(h map[string]any) { h["typ"] = "reset+jwt" })},
		{name: "kid_unknown", authorization: headerEdit(func(h map[string]any) { h["kid"] = "hs-unknown" })},
		{name: "kid_injection", authorization: headerEdit(func(h map[string]any) { h["kid"] = "../../../../dev/null' OR '1'='1" })},
		{name: "jku_header", authorization: headerEdit(func(h map[string]any) { h["jku"] = keyServer.URL + "/jwks.json" })},
		{name: "x5u_header", authorization: headerEdit(func(h map[string]any) { h["x5u"] = keyServer.URL + "/cert.pem" })},
		{name: "x5c_header", authorization: headerEdit(func(h map[string]any) { h["x5c"] = []string{"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"} })},
		{name: "jwk_header", authorization: headerEdit(func(h map[string]any) { h["jwk"] = attackerJWK })},
		{name: "jwk_header_with_the_attacker_key_and_signature", env: rsaEnv, authorization: bearer(func(t *testing.T, e *atkEnv) string {
			return e.forgeWith(t, jwt.SigningMethodRS256, attacker, func(h map[string]any) {
				delete(h, "kid")
				h["jwk"] = attackerJWK
			}, nil)
		})},
		{name: "jku_header_with_the_attacker_signature", env: rsaEnv, authorization: bearer(func(t *testing.T, e *atkEnv) string {
			return e.forgeWith(t, jwt.SigningMethodRS256, attacker, func(h map[string]any) {
				h["kid"] = "attacker"
				h["jku"] = keyServer.URL + "/jwks.json"
			}, nil)
		})},
		{name: "crit_header", authorization: headerEdit(func(h map[string]any) { h["crit"] = []string{"exp"} })},
		{name: "sub_not_a_uuid", authorization: claimsEdit(func(_ *atkEnv, c jwt.MapClaims) { c["sub"] = "admin" })},
		{name: "sub_missing", authorization: claimsEdit(func(_ *atkEnv, c jwt.MapClaims) { delete(c, "sub") })},
		{name: "sid_missing", authorization: claimsEdit(func(_ *atkEnv, c jwt.MapClaims) { delete(c, "sid") })},
		{name: "sid_not_a_uuid", authorization: claimsEdit(func(_ *atkEnv, c jwt.MapClaims) { c["sid"] = "1 OR 1=1" })},
		{name: "sid_of_no_session", authorization: claimsEdit(func(_ *atkEnv, c jwt.MapClaims) { c["sid"] = uuid.NewString() })},
		{name: "signature_one_byte_altered", authorization: bearer(func(t *testing.T, e *atkEnv) string {
			parts := strings.Split(e.tokens.AccessToken, ".")
			sig, err := base64.RawURLEncoding.DecodeString(parts[2])
			require.NoError(t, err)
			sig[len(sig)/2] ^= 0x01
			return replaceSegment(e.tokens.AccessToken, 2, base64.RawURLEncoding.EncodeToString(sig))
		})},
		{name: "signature_one_byte_altered_rsa", env: rsaEnv, authorization: bearer(func(t *testing.T, e *atkEnv) string {
			parts := strings.Split(e.tokens.AccessToken, ".")
			sig, err := base64.RawURLEncoding.DecodeString(parts[2])
			require.NoError(t, err)
			sig[0] ^= 0x80
			return replaceSegment(e.tokens.AccessToken, 2, base64.RawURLEncoding.EncodeToString(sig))
		})},
		{name: "signature_stripped", authorization: bearer(func(t *testing.T, e *atkEnv) string {
			return replaceSegment(e.tokens.AccessToken, 2, "")
		})},
		{name: "payload_altered_sub_to_the_victim_with_the_old_signature", authorization: bearer(func(t *testing.T, e *atkEnv) string {
			// The attacker's own real token, claiming to be the victim.
			parts := strings.Split(e.otherTok.AccessToken, ".")
			raw, err := base64.RawURLEncoding.DecodeString(parts[1])
			require.NoError(t, err)
			var c map[string]any
			require.NoError(t, json.Unmarshal(raw, &c))
			c["sub"] = e.userID.String()
			return replaceSegment(e.otherTok.AccessToken, 1, atkSegment(t, c))
		})},
		{name: "payload_altered_scope_with_the_old_signature", authorization: bearer(func(t *testing.T, e *atkEnv) string {
			parts := strings.Split(e.tokens.AccessToken, ".")
			raw, err := base64.RawURLEncoding.DecodeString(parts[1])
			require.NoError(t, err)
			var c map[string]any
			require.NoError(t, json.Unmarshal(raw, &c))
			c["scope"] = "admin"
			c["exp"] = time.Now().Add(24 * time.Hour).Unix()
			return replaceSegment(e.tokens.AccessToken, 1, atkSegment(t, c))
		})},
		{name: "header_altered_with_the_old_signature", authorization: bearer(func(t *testing.T, e *atkEnv) string {
			h := e.header()
			h["alg"] = "HS256"
			h["x"] = "y"
			return replaceSegment(e.tokens.AccessToken, 0, atkSegment(t, h))
		})},
		{name: "payload_base64_padded", authorization: bearer(func(t *testing.T, e *atkEnv) string {
			h, p := atkUnalignedSegments(t, e)
			return atkHS256Raw(e.key.([]byte), h+"."+p+strings.Repeat("=", 4-len(p)%4))
		})},
		{name: "payload_base64_trailing_bits", authorization: bearer(func(t *testing.T, e *atkEnv) string {
			h, p := atkUnalignedSegments(t, e)
			q := atkSetTrailingBit(p)
			same, err := base64.RawURLEncoding.DecodeString(q)
			require.NoError(t, err, "a lenient decoder reads the altered segment")
			orig, _ := base64.RawURLEncoding.DecodeString(p)
			require.Equal(t, orig, same, "a lenient decoder reads the same claims")
			return atkHS256Raw(e.key.([]byte), h+"."+q)
		})},
		{name: "payload_base64_standard_alphabet", authorization: bearer(func(t *testing.T, e *atkEnv) string {
			// '?' and '~' in the JSON make base64url emit '-' or '_'.
			c := e.claims()
			c["pad"] = "???~~~"
			p := atkSegment(t, c)
			require.True(t, strings.ContainsAny(p, "-_"), p)
			p = strings.NewReplacer("-", "+", "_", "/").Replace(p)
			return atkHS256Raw(e.key.([]byte), atkSegment(t, e.header())+"."+p)
		})},
		{name: "signature_base64_padded", authorization: bearer(func(t *testing.T, e *atkEnv) string {
			return e.tokens.AccessToken + "="
		})},
		{name: "signature_base64_trailing_bits", authorization: bearer(func(t *testing.T, e *atkEnv) string {
			parts := strings.Split(e.tokens.AccessToken, ".")
			return replaceSegment(e.tokens.AccessToken, 2, atkSetTrailingBit(parts[2]))
		})},
		{name: "oversized_token_validly_signed", authorization: claimsEdit(func(_ *atkEnv, c jwt.MapClaims) {
			c["pad"] = strings.Repeat("A", maxTokenBytes)
		})},
		{name: "four_segments", authorization: bearer(func(t *testing.T, e *atkEnv) string {
			return e.tokens.AccessToken + ".e30"
		})},
		{name: "two_segments", authorization: bearer(func(t *testing.T, e *atkEnv) string {
			return e.tokens.AccessToken[:strings.LastIndexByte(e.tokens.AccessToken, '.')]
		})},
		{name: "refresh_token_as_access_token", authorization: bearer(func(t *testing.T, e *atkEnv) string {
			return e.tokens.RefreshToken
		})},
		{name: "token_of_another_deployment", authorization: bearer(func(t *testing.T, e *atkEnv) string {
			other := newTestAuth(t, func(c *Config) { c.Secret = atkOtherSecret })
			sess := &Session{ID: e.sessionID, UserID: e.userID, ExpiresAt: time.Now().Add(time.Hour)}
			tok, _, err := other.issueAccessToken(sess, nil, true, time.Now())
			require.NoError(t, err)
			return tok
		})},
		{name: "garbage", authorization: func(*testing.T, *atkEnv) string { return "Bearer not-a-jwt" }},
		{name: "empty_bearer", authorization: func(*testing.T, *atkEnv) string { return "Bearer " }},
		{name: "scheme_Basic", authorization: func(_ *testing.T, e *atkEnv) string { return "Basic " + e.tokens.AccessToken }},
		{name: "scheme_Token", authorization: func(_ *testing.T, e *atkEnv) string { return "Token " + e.tokens.AccessToken }},
		{name: "scheme_without_space", authorization: func(_ *testing.T, e *atkEnv) string { return "Bearer" + e.tokens.AccessToken }},
		{name: "scheme_twice", authorization: func(_ *testing.T, e *atkEnv) string { return "Bearer Bearer " + e.tokens.AccessToken }},
		{name: "token_with_a_space_inside", authorization: func(_ *testing.T, e *atkEnv) string {
			tok := e.tokens.AccessToken
			return "Bearer " + tok[:20] + " " + tok[20:]
		}},
		{name: "token_followed_by_another_word", authorization: func(_ *testing.T, e *atkEnv) string {
			return "Bearer " + e.tokens.AccessToken + " extra"
		}},
	}
	for _, tc := range attacks {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.env
			if e == nil {
				e = hmacEnv
			}
			atkAssertInvalidToken(t, e.get(t, tc.authorization(t, e)))
		})
	}

	t.Run("key_urls_are_never_fetched", func(t *testing.T) {
		assert.Zero(t, fetched.Load())
	})
	t.Run("victim_token_still_works_after_the_attacks", func(t *testing.T) {
		atkRequireOK(t, hmacEnv.get(t, "Bearer "+hmacEnv.tokens.AccessToken))
		atkRequireOK(t, rsaEnv.get(t, "Bearer "+rsaEnv.tokens.AccessToken))
	})
}

// atkUnalignedSegments returns a valid header segment and a claims segment
// whose length is not a multiple of 4, so it has padding and trailing bits
// to play with.
func atkUnalignedSegments(t *testing.T, e *atkEnv) (header, payload string) {
	t.Helper()
	header = atkSegment(t, e.header())
	c := e.claims()
	for pad := ""; len(pad) < 4; pad += "x" {
		c["pad"] = pad
		if payload = atkSegment(t, c); len(payload)%4 != 0 {
			return header, payload
		}
	}
	t.Fatal("no unaligned claims segment")
	return "", ""
}

// atkSetTrailingBit sets the lowest unused bit of the last character of an
// unpadded base64url segment whose length is not a multiple of 4: a lenient
// decoder reads the same bytes, a strict one refuses.
func atkSetTrailingBit(seg string) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alphabet, seg[len(seg)-1])
	return seg[:len(seg)-1] + string(alphabet[last|1])
}

// TestTokenMissing proves that a request without a bearer token gets 401
// with a plain `WWW-Authenticate: Bearer` (no error attribute: nothing was
// sent), and that a token in the query string or in a cookie is not read.
func TestTokenMissing(t *testing.T) {
	e := newAtkEnv(t, nil)
	check := func(t *testing.T, res apiResponse) {
		t.Helper()
		require.Equal(t, http.StatusUnauthorized, res.Status)
		require.JSONEq(t, `{"detail":"UNAUTHORIZED"}`, string(res.Body))
		require.Equal(t, "Bearer", res.Header.Get("WWW-Authenticate"))
	}
	t.Run("no_authorization_header", func(t *testing.T) {
		check(t, e.get(t, ""))
	})
	t.Run("token_in_the_query_string", func(t *testing.T) {
		check(t, atkGet(t, e.srv, "/api/me?access_token="+e.tokens.AccessToken, ""))
	})
	t.Run("token_in_a_cookie", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/api/me", nil)
		require.NoError(t, err)
		req.AddCookie(&http.Cookie{Name: "access_token", Value: e.tokens.AccessToken})
		check(t, send(t, req))
	})
}

// TestTokenBearerScheme proves that the scheme is case-insensitive for a
// good token (RFC 7235) and that extra spaces around the token are allowed
// (RFC 6750: 1*SP).
func TestTokenBearerScheme(t *testing.T) {
	e := newAtkEnv(t, nil)
	for _, tc := range []struct{ name, prefix, suffix string }{
		{"Bearer", "Bearer ", ""},
		{"bearer_lowercase", "bearer ", ""},
		{"BEARER_uppercase", "BEARER ", ""},
		{"bEaReR_mixed_case", "bEaReR ", ""},
		{"several_spaces", "Bearer   ", ""},
		{"trailing_space", "Bearer ", " "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			atkRequireOK(t, e.get(t, tc.prefix+e.tokens.AccessToken+tc.suffix))
		})
	}
}

// TestTokenSizeLimit proves that a validly signed token of exactly 4 KiB is
// accepted and one byte more is refused, whatever its signature: the size
// is checked first.
func TestTokenSizeLimit(t *testing.T) {
	e := newAtkEnv(t, nil)
	sized := func(t *testing.T, n int) string {
		t.Helper()
		claims := e.claims()
		for pad := 0; ; pad++ {
			claims["pad"] = strings.Repeat("A", pad)
			tok := atkSign(t, e.method, e.key, e.header(), claims)
			if len(tok) == n {
				return tok
			}
			require.Less(t, len(tok), n+4, "cannot build a token of %d bytes", n)
		}
	}
	t.Run("4096_bytes_accepted", func(t *testing.T) {
		atkRequireOK(t, e.get(t, "Bearer "+sized(t, maxTokenBytes)))
	})
	t.Run("4097_bytes_refused", func(t *testing.T) {
		tok := sized(t, maxTokenBytes+1)
		atkAssertInvalidToken(t, e.get(t, "Bearer "+tok))
		_, err := e.auth.VerifyAccessToken(tok)
		require.ErrorIs(t, err, ErrInvalidToken)
	})
	t.Run("1_MiB_refused", func(t *testing.T) {
		tok := strings.Repeat("A", 1<<19) + "." + strings.Repeat("A", 1<<19) + ".x"
		_, err := e.auth.VerifyAccessToken(tok)
		require.ErrorIs(t, err, ErrInvalidToken)
		atkAssertInvalidToken(t, e.get(t, "Bearer "+tok))
	})
}

// TestTokenMalleability proves that a token is accepted only in its one
// canonical encoding: a real token with a CR, LF, padding or non-zero
// trailing bits in a segment, which a lenient base64 decoder reads as the
// same bytes, is refused. (Such variants cannot cross an HTTP header, but
// VerifyAccessToken is public and a token cache is keyed by the string.)
func TestTokenMalleability(t *testing.T) {
	e := newAtkEnv(t, nil)
	tok := e.tokens.AccessToken
	dot := strings.LastIndexByte(tok, '.')
	variants := map[string]string{
		"LF_in_signature":            tok[:dot+5] + "\n" + tok[dot+5:],
		"CR_in_signature":            tok[:dot+5] + "\r" + tok[dot+5:],
		"CRLF_after_signature":       tok + "\r\n",
		"LF_in_payload":              tok[:dot-3] + "\n" + tok[dot-3:],
		"trailing_bits_signature":    tok[:dot+1] + atkSetTrailingBit(tok[dot+1:]),
		"padding_after_signature":    tok + "=",
		"space_before_token":         " " + tok,
		"NUL_after_signature":        tok + "\x00",
		"tab_in_signature":           tok[:dot+5] + "\t" + tok[dot+5:],
		"unicode_dot_instead_of_dot": strings.Replace(tok, ".", "\u2024", 1),
	}
	for name, variant := range variants {
		t.Run(name, func(t *testing.T) {
			require.NotEqual(t, tok, variant)
			_, err := e.auth.VerifyAccessToken(variant)
			require.ErrorIs(t, err, ErrInvalidToken)
		})
	}
	t.Run("the_canonical_token_is_accepted", func(t *testing.T) {
		_, err := e.auth.VerifyAccessToken(tok)
		require.NoError(t, err)
	})
}

// atkClock is a settable clock for Config.Now, safe for concurrent use.
type atkClock struct{ unixNano atomic.Int64 }

func newAtkClock(t time.Time) *atkClock {
	c := &atkClock{}
	c.set(t)
	return c
}

func (c *atkClock) now() time.Time  { return time.Unix(0, c.unixNano.Load()) }
func (c *atkClock) set(t time.Time) { c.unixNano.Store(t.UnixNano()) }

// TestTokenClockSkew proves that exp and iat are checked with exactly the
// configured leeway (ClockSkew), with and without the token cache: a token
// is good until exp+skew and refused after, and a token issued up to skew
// in the future is good and one further ahead is refused.
func TestTokenClockSkew(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	const skew = 10 * time.Second
	for _, cacheSize := range []int{0, -1} {
		name := "cached"
		if cacheSize < 0 {
			name = "uncached"
		}
		t.Run(name, func(t *testing.T) {
			clock := newAtkClock(t0)
			a := newTestAuth(t, func(c *Config) {
				c.Now, c.ClockSkew, c.TokenCacheSize, c.AccessTokenTTL = clock.now, skew, cacheSize, time.Minute
			})
			sess := &Session{ID: uuid.New(), UserID: uuid.New(), ExpiresAt: t0.Add(time.Hour)}
			issue := func(t *testing.T) string {
				tok, expiresIn, err := a.issueAccessToken(sess, nil, true, t0)
				require.NoError(t, err)
				require.Equal(t, 60, expiresIn)
				return tok
			}
			check := func(t *testing.T, tok string, at time.Time, ok bool) {
				t.Helper()
				clock.set(at)
				_, err := a.VerifyAccessToken(tok)
				if ok {
					assert.NoError(t, err, "at iat%+v", at.Sub(t0))
				} else {
					assert.ErrorIs(t, err, ErrInvalidToken, "at iat%+v", at.Sub(t0))
				}
			}
			exp := t0.Add(time.Minute)

			t.Run("exp", func(t *testing.T) {
				// One token through time: cached after its first use.
				tok := issue(t)
				check(t, tok, t0, true)
				check(t, tok, exp.Add(-time.Second), true)
				check(t, tok, exp, true)
				check(t, tok, exp.Add(skew-time.Second), true)
				check(t, tok, exp.Add(skew+time.Second), false)
				check(t, tok, exp.Add(time.Hour), false)
			})
			t.Run("iat", func(t *testing.T) {
				// A token from a server whose clock is ahead of this one's.
				check(t, issue(t), t0.Add(-skew+time.Second), true)
				check(t, issue(t), t0.Add(-skew-time.Second), false)
			})
		})
	}
}

// TestTokenAccessTokenLifetime proves that an access token never outlives
// its session's absolute expiry, and that its claims are the RFC 9068
// profile of the contract.
func TestTokenAccessTokenLifetime(t *testing.T) {
	now := time.Now()
	a := newTestAuth(t, nil)
	sess := &Session{ID: uuid.New(), UserID: uuid.New(), ExpiresAt: now.Add(2 * time.Minute)}
	tok, expiresIn, err := a.issueAccessToken(sess, []string{"read", "write"}, true, now)
	require.NoError(t, err)
	assert.Equal(t, 120, expiresIn)

	parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	require.NoError(t, err)
	assert.Equal(t, "HS256", parsed.Header["alg"])
	assert.Equal(t, "at+jwt", parsed.Header["typ"])
	assert.Equal(t, a.keys.signingKID, parsed.Header["kid"])
	c := parsed.Claims.(jwt.MapClaims)
	assert.Equal(t, "http://localhost:8080", c["iss"])
	assert.Equal(t, []any{"ginauth"}, c["aud"])
	assert.Equal(t, sess.UserID.String(), c["sub"])
	assert.Equal(t, sess.ID.String(), c["sid"])
	assert.Equal(t, "read write", c["scope"])
	assert.Equal(t, true, c["fresh"])
	assert.NotEmpty(t, c["jti"])
	assert.EqualValues(t, now.Unix(), c["iat"])
	assert.EqualValues(t, now.Add(2*time.Minute).Unix(), c["exp"])

	claims, err := a.VerifyAccessToken(tok)
	require.NoError(t, err)
	assert.Equal(t, sess.UserID, claims.UserID())
	assert.Equal(t, sess.ID, claims.Session())
	assert.True(t, claims.HasScope("write"))
	assert.False(t, claims.HasScope("writ"))
	assert.Equal(t, []string{"read", "write"}, claims.Scopes())

	// Another service holding the secret verifies it with a plain HS256 check.
	_, err = jwt.Parse(tok, func(*jwt.Token) (any, error) { return []byte(testSecret), nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithAudience("ginauth"), jwt.WithIssuer("http://localhost:8080"))
	require.NoError(t, err)
}

// atkSession returns the session of a valid access token.
func atkSession(t *testing.T, a *Auth, token string) uuid.UUID {
	t.Helper()
	claims, err := a.VerifyAccessToken(token)
	require.NoError(t, err)
	return claims.Session()
}

// TestTokenRevokedSessions proves that an access token stops working when
// its session ends: at once on the instance that ended it, within
// SessionCheckInterval on another instance sharing the store, and when its
// user is deleted or deactivated directly in the database.
func TestTokenRevokedSessions(t *testing.T) {
	const interval = 50 * time.Millisecond
	eventuallyRefused := func(t *testing.T, get func() apiResponse) {
		t.Helper()
		require.Eventually(t, func() bool { return atkIsInvalidToken(get()) }, 10*time.Second, 10*time.Millisecond)
		atkAssertInvalidToken(t, get()) // and it stays refused
	}

	t.Run("logout_on_the_same_instance_is_immediate", func(t *testing.T) {
		// The default interval is 5 seconds; the refusal must not wait for it.
		e := newAtkEnv(t, nil)
		res := do(t, e.srv, http.MethodPost, "/auth/logout", nil, e.tokens.AccessToken)
		require.Equal(t, http.StatusNoContent, res.Status, "body: %s", res.Body)
		atkAssertInvalidToken(t, e.get(t, "Bearer "+e.tokens.AccessToken))
		// The other user's session is untouched.
		atkRequireOK(t, e.get(t, "Bearer "+e.otherTok.AccessToken))
		// A token freshly forged for the revoked session is refused too.
		atkAssertInvalidToken(t, e.get(t, "Bearer "+e.forge(t, nil, nil)))
	})

	t.Run("logout_on_another_instance_sharing_the_store", func(t *testing.T) {
		e := newAtkEnv(t, nil)
		second := newTestAuthOn(t, e.auth.Store(), func(c *Config) { c.SessionCheckInterval = interval })
		srv2 := newTestServer(t, second)
		atkRequireOK(t, atkGet(t, srv2, "/api/me", "Bearer "+e.tokens.AccessToken)) // now cached as live there
		res := do(t, e.srv, http.MethodPost, "/auth/logout", nil, e.tokens.AccessToken)
		require.Equal(t, http.StatusNoContent, res.Status)
		eventuallyRefused(t, func() apiResponse { return atkGet(t, srv2, "/api/me", "Bearer "+e.tokens.AccessToken) })
		atkRequireOK(t, atkGet(t, srv2, "/api/me", "Bearer "+e.otherTok.AccessToken))
	})

	t.Run("session_revoked_by_refresh_token_reuse", func(t *testing.T) {
		e := newAtkEnv(t, nil)
		res := do(t, e.srv, http.MethodPost, "/auth/refresh", map[string]string{"refresh_token": e.tokens.RefreshToken}, "")
		require.Equal(t, http.StatusOK, res.Status)
		var next TokenResponse
		require.NoError(t, json.Unmarshal(res.Body, &next))
		atkRequireOK(t, e.get(t, "Bearer "+next.AccessToken))
		res = do(t, e.srv, http.MethodPost, "/auth/refresh", map[string]string{"refresh_token": e.tokens.RefreshToken}, "")
		require.Equal(t, http.StatusUnauthorized, res.Status)
		atkAssertInvalidToken(t, e.get(t, "Bearer "+next.AccessToken))
		atkAssertInvalidToken(t, e.get(t, "Bearer "+e.tokens.AccessToken))
	})

	t.Run("user_deleted_in_the_store", func(t *testing.T) {
		e := newAtkEnv(t, func(c *Config) { c.SessionCheckInterval = interval })
		require.NoError(t, e.auth.Store().DeleteUser(context.Background(), e.userID))
		eventuallyRefused(t, func() apiResponse { return e.get(t, "Bearer "+e.tokens.AccessToken) })
		res := do(t, e.srv, http.MethodPost, "/auth/refresh", map[string]string{"refresh_token": e.tokens.RefreshToken}, "")
		require.Equal(t, http.StatusUnauthorized, res.Status)
		atkRequireOK(t, e.get(t, "Bearer "+e.otherTok.AccessToken))
	})

	t.Run("user_deactivated_in_the_store", func(t *testing.T) {
		e := newAtkEnv(t, func(c *Config) { c.SessionCheckInterval = interval })
		store := e.auth.Store().(*GormStore)
		require.NoError(t, store.DB().Model(&User{}).Where("id = ?", e.userID).Update("is_active", false).Error)
		// A route that loads the user refuses at once...
		res := do(t, e.srv, http.MethodGet, "/users/me", nil, e.tokens.AccessToken)
		atkAssertInvalidToken(t, res)
		// ...and RequireAuth alone within the interval.
		eventuallyRefused(t, func() apiResponse { return e.get(t, "Bearer "+e.tokens.AccessToken) })
		res = do(t, e.srv, http.MethodPost, "/auth/refresh", map[string]string{"refresh_token": e.tokens.RefreshToken}, "")
		require.Equal(t, http.StatusUnauthorized, res.Status)
		atkRequireOK(t, e.get(t, "Bearer "+e.otherTok.AccessToken))
	})

	t.Run("session_revoked_through_the_go_api", func(t *testing.T) {
		e := newAtkEnv(t, nil)
		require.NoError(t, e.auth.RevokeSession(context.Background(), atkSession(t, e.auth, e.tokens.AccessToken)))
		atkAssertInvalidToken(t, e.get(t, "Bearer "+e.tokens.AccessToken))
	})
}

// atkFuzzNow is the fixed clock of the fuzz target, so that the committed
// corpus (signed with testSecret at this time) stays valid.
var atkFuzzNow = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

// atkFuzzSession is the session of the fuzz target's seed tokens.
var atkFuzzSession = &Session{
	ID:        uuid.MustParse("0b1c6d0e-8d0a-4e0a-9a43-1f7b9d3c5e21"),
	UserID:    uuid.MustParse("5d3f0c5a-7f52-4e8e-9a71-2b8f6d4c3a10"),
	ExpiresAt: atkFuzzNow.Add(24 * time.Hour),
}

// atkFuzzPreviousSecret is a rotated-out secret the fuzz target still accepts.
const atkFuzzPreviousSecret = "previous-secret-0123456789-ABCDEFGHIJKLMNOPQRSTUV"

// atkFuzzAuth is the Auth of the fuzz target: testSecret, one previous
// secret, the fixed clock atkFuzzNow.
func atkFuzzAuth(tb testing.TB, cacheSize int) *Auth {
	tb.Helper()
	return newTestAuth(tb, func(c *Config) {
		c.Now = func() time.Time { return atkFuzzNow }
		c.PreviousSecrets = []string{atkFuzzPreviousSecret}
		c.TokenCacheSize = cacheSize
	})
}

// FuzzVerifyAccessToken proves that VerifyAccessToken never panics and
// never accepts a token unless it verifies legitimately: any accepted input
// is in canonical unpadded base64url, carries an HS256 signature that an
// independent HMAC check (written here, not golang-jwt's) confirms with a
// configured secret, has typ at+jwt, the configured iss and aud, exp and
// iat, and parses to the same claims with and without the token cache.
// Every refusal is ErrInvalidToken.
func FuzzVerifyAccessToken(f *testing.F) {
	cached, uncached := atkFuzzAuth(f, 0), atkFuzzAuth(f, -1)

	valid, _, err := cached.issueAccessToken(atkFuzzSession, []string{"read"}, true, atkFuzzNow)
	require.NoError(f, err)
	f.Add(valid)
	old := newTestAuth(f, func(c *Config) {
		c.Secret = atkFuzzPreviousSecret
		c.Now = func() time.Time { return atkFuzzNow }
	})
	rotated, _, err := old.issueAccessToken(atkFuzzSession, nil, false, atkFuzzNow)
	require.NoError(f, err)
	f.Add(rotated)
	parts := strings.Split(valid, ".")
	f.Add(parts[0] + "." + parts[1] + ".")
	f.Add(parts[0] + "." + parts[1] + "." + parts[2] + "=")
	f.Add(parts[0] + "." + parts[1] + "." + parts[2][:5] + "\n" + parts[2][5:])
	f.Add(atkSegment(f, map[string]any{"alg": "none", "typ": "at+jwt"}) + "." + parts[1] + ".")
	f.Add(atkSegment(f, map[string]any{"alg": "HS384", "typ": "at+jwt"}) + "." + parts[1] + "." + parts[2])
	f.Add(valid + "." + parts[2])
	f.Add(strings.Repeat("A", maxTokenBytes) + "." + parts[1] + "." + parts[2])
	f.Add("")
	f.Add("..")
	f.Add("e30.e30.e30")

	f.Fuzz(func(t *testing.T, token string) {
		claims, err := cached.VerifyAccessToken(token)
		again, errAgain := uncached.VerifyAccessToken(token)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalidToken)
			require.Error(t, errAgain, "the cache accepted what a full check refuses")
			require.ErrorIs(t, errAgain, ErrInvalidToken)
			return
		}
		require.NoError(t, errAgain, "the cache refused what a full check accepts")
		require.Equal(t, claims.RegisteredClaims, again.RegisteredClaims)

		// The independent check.
		require.LessOrEqual(t, len(token), maxTokenBytes)
		segs := strings.Split(token, ".")
		require.Len(t, segs, 3)
		raw := make([][]byte, 3)
		for i, s := range segs {
			raw[i], err = base64.RawURLEncoding.Strict().DecodeString(s)
			require.NoError(t, err)
			require.Equal(t, s, base64.RawURLEncoding.EncodeToString(raw[i]), "segment %d is not canonical", i)
		}
		var header map[string]any
		require.NoError(t, json.Unmarshal(raw[0], &header))
		require.Equal(t, "HS256", header["alg"])
		typ, _ := header["typ"].(string)
		require.True(t, strings.EqualFold(typ, "at+jwt") || strings.EqualFold(typ, "application/at+jwt"), "typ %q", typ)
		for _, h := range []string{"crit", "jku", "jwk", "x5u", "x5c"} {
			require.NotContains(t, header, h)
		}
		signedWith := func(secret string) bool {
			mac := hmac.New(sha256.New, []byte(secret))
			mac.Write([]byte(segs[0] + "." + segs[1]))
			return hmac.Equal(mac.Sum(nil), raw[2])
		}
		require.True(t, signedWith(testSecret) || signedWith(atkFuzzPreviousSecret), "accepted a token no configured secret signed")

		require.Equal(t, "http://localhost:8080", claims.Issuer)
		require.Contains(t, []string(claims.Audience), "ginauth")
		require.NotNil(t, claims.ExpiresAt)
		require.NotNil(t, claims.IssuedAt)
		require.NotEmpty(t, claims.ID)
		require.NotEqual(t, uuid.Nil, claims.UserID())
		require.NotEqual(t, uuid.Nil, claims.Session())
		require.True(t, atkFuzzNow.Before(claims.ExpiresAt.Add(cached.cfg.ClockSkew)))
		require.False(t, atkFuzzNow.Before(claims.IssuedAt.Add(-cached.cfg.ClockSkew)))
	})
}

// TestTokenErrorsAreInvalidToken proves that VerifyAccessToken's refusals
// are all ErrInvalidToken, so callers can test for one error, and that the
// error of a bad signature says nothing of the expected key.
func TestTokenErrorsAreInvalidToken(t *testing.T) {
	a := newTestAuth(t, nil)
	for _, tok := range []string{"", "x", "a.b.c", "e30.e30.", strings.Repeat(".", 3)} {
		_, err := a.VerifyAccessToken(tok)
		require.True(t, errors.Is(err, ErrInvalidToken), "%q: %v", tok, err)
		require.NotContains(t, err.Error(), testSecret)
	}
}

// TestTokenES256NotConfused proves that an ES256 token signed by an
// attacker's P-256 key is refused by an HMAC server and by an ES256 server
// with another key, even when it names the server's kid.
func TestTokenES256NotConfused(t *testing.T) {
	serverKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	attacker, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	for name, edit := range map[string]func(*Config){
		"hmac_server":  nil,
		"es256_server": func(c *Config) { c.SigningKey = serverKey },
	} {
		t.Run(name, func(t *testing.T) {
			e := newAtkEnv(t, edit)
			atkAssertInvalidToken(t, e.get(t, "Bearer "+e.forgeWith(t, jwt.SigningMethodES256, attacker, nil, nil)))
			if edit != nil {
				atkRequireOK(t, e.get(t, "Bearer "+e.forgeWith(t, jwt.SigningMethodES256, serverKey, nil, nil)))
			}
		})
	}
}

// TestTokenFuzzCorpus proves that the committed seed corpus of
// FuzzVerifyAccessToken still reaches both branches of the target: the
// valid_* files are accepted by its Auth (same secret, same fixed clock)
// and the others are refused. If the fuzz configuration changes, this says
// the corpus must be regenerated.
func TestTokenFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzVerifyAccessToken")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.NotEmpty(t, entries)
	a := atkFuzzAuth(t, -1)
	accepted := 0
	for _, entry := range entries {
		t.Run(entry.Name(), func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, entry.Name()))
			require.NoError(t, err)
			lines := strings.SplitN(strings.TrimSpace(string(raw)), "\n", 2)
			require.Len(t, lines, 2)
			require.Equal(t, "go test fuzz v1", lines[0])
			require.True(t, strings.HasPrefix(lines[1], "string(") && strings.HasSuffix(lines[1], ")"), lines[1])
			token, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[1], "string("), ")"))
			require.NoError(t, err)
			_, err = a.VerifyAccessToken(token)
			if strings.HasPrefix(entry.Name(), "valid_") {
				require.NoError(t, err)
				accepted++
			} else {
				require.ErrorIs(t, err, ErrInvalidToken)
			}
		})
	}
	require.Positive(t, accepted)
}
