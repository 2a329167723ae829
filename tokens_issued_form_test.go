package ginauth

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests pin parseIssuedForm, the fast path of parseAccessToken, to the
// general parser: it must take every token issueAccessToken writes, and
// whatever it accepts the general parser must accept with the same claims.

// issuedFormT0 is the fixed clock of these tests.
var issuedFormT0 = time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)

// generalParse is parseAccessToken's general parser alone.
func generalParse(a *Auth, token string) (*Claims, error) {
	claims := &Claims{auth: a}
	_, err := a.parser.ParseWithClaims(token, claims, a.accessTokenKey)
	return claims, err
}

func TestIssuedFormTakesIssuedTokens(t *testing.T) {
	_, edPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	rs, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	configs := map[string]func(*Config){
		"HS256": nil,
		"EdDSA": func(c *Config) { c.SigningKey = edPriv },
		"ES256": func(c *Config) { c.SigningKey = ec },
		"RS256": func(c *Config) { c.SigningKey = rs },
		"HS256_issuer_with_a_path": func(c *Config) {
			c.BaseURL = "https://auth.example.com/tenant-1"
			c.Audience = "api.example.com"
		},
	}
	for name, edit := range configs {
		t.Run(name, func(t *testing.T) {
			a := newTestAuthOn(t, nopStore{}, func(c *Config) {
				c.Now = func() time.Time { return issuedFormT0 }
				if edit != nil {
					edit(c)
				}
			})
			sess := &Session{ID: uuid.New(), UserID: uuid.New(), ExpiresAt: issuedFormT0.Add(time.Hour)}
			for _, tc := range []struct {
				scopes []string
				fresh  bool
			}{{nil, true}, {nil, false}, {[]string{"read", "write:all"}, true}} {
				token, _, err := a.issueAccessToken(sess, tc.scopes, tc.fresh, issuedFormT0)
				require.NoError(t, err)
				fast, ok := a.parseIssuedForm(token)
				require.True(t, ok, "an issued token takes the fast path")
				general, err := generalParse(a, token)
				require.NoError(t, err)
				require.Equal(t, general, fast)

				claims, err := a.parseAccessToken(token)
				require.NoError(t, err)
				assert.Equal(t, sess.UserID, claims.UserID())
				assert.Equal(t, sess.ID, claims.Session())
				assert.Equal(t, tc.fresh, claims.Fresh)
				assert.Same(t, a, claims.auth)
			}
		})
	}
}

// TestIssuedFormTakesPreviousSecrets proves that tokens signed with a
// previous secret, during a rotation, also take the fast path.
func TestIssuedFormTakesPreviousSecrets(t *testing.T) {
	old := newTestAuthOn(t, nopStore{}, func(c *Config) { c.Now = func() time.Time { return issuedFormT0 } })
	a := newTestAuthOn(t, nopStore{}, func(c *Config) {
		c.Now = func() time.Time { return issuedFormT0 }
		c.Secret = testSecret + "-rotated"
		c.PreviousSecrets = []string{testSecret}
	})
	sess := &Session{ID: uuid.New(), UserID: uuid.New(), ExpiresAt: issuedFormT0.Add(time.Hour)}
	token, _, err := old.issueAccessToken(sess, nil, true, issuedFormT0)
	require.NoError(t, err)
	fast, ok := a.parseIssuedForm(token)
	require.True(t, ok)
	general, err := generalParse(a, token)
	require.NoError(t, err)
	require.Equal(t, general, fast)
}

// TestIssuedFormLeavesTheRestToTheParser lists forms the fast path must not
// take, each signed with the right key, whatever the general parser then
// decides about them.
func TestIssuedFormLeavesTheRestToTheParser(t *testing.T) {
	a := newTestAuthOn(t, nopStore{}, func(c *Config) { c.Now = func() time.Time { return issuedFormT0 } })
	kid := a.keys.signingKID
	header := `{"alg":"HS256","kid":"` + kid + `","typ":"at+jwt"}`
	now := issuedFormT0.Unix()
	payload := func(extra string) string {
		return fmt.Sprintf(`{"iss":"http://localhost:8080","sub":"%s","aud":["ginauth"],"exp":%d,"iat":%d,"jti":"j"%s,"sid":"%s"}`,
			uuid.NewString(), now+600, now, extra, uuid.NewString())
	}
	cases := map[string][2]string{
		"typ_JWT":               {`{"alg":"HS256","kid":"` + kid + `","typ":"JWT"}`, payload("")},
		"typ_upper_case":        {`{"alg":"HS256","kid":"` + kid + `","typ":"AT+JWT"}`, payload("")},
		"header_key_order":      {`{"kid":"` + kid + `","alg":"HS256","typ":"at+jwt"}`, payload("")},
		"header_whitespace":     {`{"alg":"HS256", "kid":"` + kid + `","typ":"at+jwt"}`, payload("")},
		"header_extra_crit":     {`{"alg":"HS256","crit":["exp"],"kid":"` + kid + `","typ":"at+jwt"}`, payload("")},
		"header_no_kid":         {`{"alg":"HS256","typ":"at+jwt"}`, payload("")},
		"kid_unknown":           {`{"alg":"HS256","kid":"hs-unknown","typ":"at+jwt"}`, payload("")},
		"alg_HS384":             {`{"alg":"HS384","kid":"` + kid + `","typ":"at+jwt"}`, payload("")},
		"alg_none":              {`{"alg":"none","kid":"` + kid + `","typ":"at+jwt"}`, payload("")},
		"payload_whitespace":    {header, `{ "exp":` + fmt.Sprint(now+600) + `}`},
		"payload_escape":        {header, payload(`,"scope":"a\u0062"`)},
		"payload_non_ascii":     {header, payload(`,"scope":"é"`)},
		"payload_unknown_claim": {header, payload(`,"role":"admin"`)},
		"payload_nbf":           {header, payload(`,"nbf":` + fmt.Sprint(now))},
		"payload_duplicate":     {header, payload(`,"jti":"k"`)},
		"payload_upper_key":     {header, payload(`,"SCOPE":"x"`)},
		"payload_fraction":      {header, `{"exp":` + fmt.Sprint(now+600) + `.5}`},
		"payload_exponent":      {header, `{"exp":1e12}`},
		"payload_string_exp":    {header, `{"exp":"` + fmt.Sprint(now+600) + `"}`},
		"payload_null":          {header, payload(`,"scope":null`)},
		"payload_trailing":      {header, payload("") + " "},
		"payload_expired":       {header, fmt.Sprintf(`{"iss":"http://localhost:8080","aud":"ginauth","exp":%d,"iat":%d}`, now-1, now-600)},
		"payload_expired_now":   {header, fmt.Sprintf(`{"iss":"http://localhost:8080","aud":"ginauth","exp":%d,"iat":%d}`, now, now-600)},
		"payload_iat_future":    {header, fmt.Sprintf(`{"iss":"http://localhost:8080","aud":"ginauth","exp":%d,"iat":%d}`, now+600, now+1)},
		"payload_wrong_iss":     {header, fmt.Sprintf(`{"iss":"https://evil.example","aud":"ginauth","exp":%d,"iat":%d}`, now+600, now)},
		"payload_wrong_aud":     {header, fmt.Sprintf(`{"iss":"http://localhost:8080","aud":"other","exp":%d,"iat":%d}`, now+600, now)},
		"payload_no_exp":        {header, fmt.Sprintf(`{"iss":"http://localhost:8080","aud":"ginauth","iat":%d}`, now)},
		"payload_no_iat":        {header, fmt.Sprintf(`{"iss":"http://localhost:8080","aud":"ginauth","exp":%d}`, now+600)},
	}
	for name, hp := range cases {
		t.Run(name, func(t *testing.T) {
			token := signHS256(testSecret, hp[0], hp[1])
			_, ok := a.parseIssuedForm(token)
			assert.False(t, ok)
		})
	}
	t.Run("wrong_signature", func(t *testing.T) {
		token := signHS256(testSecret+"-another", header, payload(""))
		_, ok := a.parseIssuedForm(token)
		assert.False(t, ok)
	})
}

// FuzzIssuedForm signs arbitrary headers and payloads with the right key
// and checks that whatever the fast path accepts, the general parser
// accepts with the same claims.
func FuzzIssuedForm(f *testing.F) {
	a := newTestAuthOn(f, nopStore{}, func(c *Config) { c.Now = func() time.Time { return issuedFormT0 } })
	kid := a.keys.signingKID
	header := `{"alg":"HS256","kid":"` + kid + `","typ":"at+jwt"}`
	sess := &Session{ID: uuid.New(), UserID: uuid.New(), ExpiresAt: issuedFormT0.Add(time.Hour)}
	for _, scopes := range [][]string{nil, {"a", "b"}} {
		token, _, err := a.issueAccessToken(sess, scopes, len(scopes) == 0, issuedFormT0)
		require.NoError(f, err)
		parsed, _, err := jwt.NewParser().ParseUnverified(token, jwt.MapClaims{})
		require.NoError(f, err)
		raw, err := json.Marshal(parsed.Claims)
		require.NoError(f, err)
		f.Add(header, string(raw))
		seg, _ := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[1])
		f.Add(header, string(seg))
	}
	now := issuedFormT0.Unix()
	leeway := int64(a.cfg.ClockSkew / time.Second)
	for _, exp := range []int64{now - leeway - 1, now - 1, now, now + 1, now + leeway, 0} {
		for _, iat := range []int64{now - 1, now, now + 1, now + leeway, now + leeway + 1} {
			f.Add(header, fmt.Sprintf(`{"iss":"http://localhost:8080","sub":"%s","aud":["x","ginauth"],"exp":%d,"iat":%d,"jti":"j","sid":"%s","fresh":false}`,
				sess.UserID, exp, iat, sess.ID))
		}
	}
	f.Add(header, `{"aud":[],"iss":"","exp":9999999999,"iat":0}`)
	f.Add(header, `{"aud":"","iss":"http://localhost:8080","exp":9999999999,"iat":0}`)
	f.Add(header, `{"aud":["ginauth"],"iss":"http://localhost:8080","exp":999999999999999,"iat":0,"scope":""}`)
	f.Add(`{"alg":"HS256","kid":"`+kid+`","typ":"at+jwt"} `, `{}`)
	f.Fuzz(func(t *testing.T, header, payload string) {
		token := signHS256(testSecret, header, payload)
		if !compactJWS(token) {
			return
		}
		fast, ok := a.parseIssuedForm(token)
		if !ok {
			return
		}
		general, err := generalParse(a, token)
		require.NoError(t, err, "the fast path accepted what the parser refuses")
		require.Equal(t, general, fast)
	})
}

// signHS256 makes a compact JWS of a header and payload, as given, signed
// with secret.
func signHS256(secret, header, payload string) string {
	enc := base64.RawURLEncoding.EncodeToString
	signing := enc([]byte(header)) + "." + enc([]byte(payload))
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(signing))
	return signing + "." + enc(mac.Sum(nil))
}

// nopStore is a Store that is never asked anything here.
type nopStore struct{ Store }

// TestVerifyHS256 proves that the pooled HMAC agrees with golang-jwt's
// HS256 for the right signature, a wrong one and a truncated one, with two
// keys of the same length taking turns (a pooled state serves its own key
// only).
func TestVerifyHS256(t *testing.T) {
	keys := [][]byte{[]byte(testSecret), []byte(strings.ToUpper(testSecret))}
	const signing = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0"
	for round := range 50 {
		key, other := keys[round%2], keys[(round+1)%2]
		sig, err := jwt.SigningMethodHS256.Sign(signing, key)
		require.NoError(t, err)
		for _, tc := range []struct {
			sig []byte
			key []byte
		}{{sig, key}, {sig, other}, {sig[:len(sig)-1], key}, {nil, key}} {
			want := jwt.SigningMethodHS256.Verify(signing, tc.sig, tc.key) == nil
			assert.Equal(t, want, verifyHS256(signing, tc.sig, tc.key), "round %d", round)
		}
		assert.False(t, verifyHS256(signing+"x", sig, key))
	}
	assert.False(t, verifyHS256(signing, nil, nil))
}
