package providers

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const oidcTFCSub = "b6048e95bb134ec5b1d1e1fa69f287172e91722b9354d637a1bcf2ebb0fd2ef5v1"

// oidcTFranceConnect is a FranceConnect-shaped test OP (issuer
// {base}/api/v2): an id_token with only sub and acr, and a userinfo
// endpoint answering with a JWT signed with the OP's ES256 key, made from
// userinfoClaims.
func oidcTFranceConnect(t *testing.T, setup func(op *oidcTOP)) (*oidcTOP, Provider) {
	t.Helper()
	op := oidcTNewOP(t)
	op.issuer = op.srv.URL + "/api/v2"
	now := time.Now()
	op.claims = map[string]any{
		"sub": oidcTFCSub, "auth_time": now.Unix(), "acr": "eidas1", "nonce": oidcTNonce,
		"at_hash": oidcTAtHash(oidcTAccessToken), "aud": oidcTClientID, "iss": op.issuer,
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	}
	op.userinfoClaims = map[string]any{
		"sub": oidcTFCSub, "given_name": "Angela Claire Louise", "family_name": "DUBOIS",
		"email": "wossewodda-3728@yopmail.com", "iss": op.issuer, "aud": oidcTClientID,
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	}
	if setup != nil {
		setup(op)
	}
	if op.userinfo == nil {
		signed := oidcTSign(t, jwt.SigningMethodES256, oidcTKeySet().ec, "ec1", op.userinfoClaims)
		op.userinfo = oidcTJWTAnswer(signed)
	}
	return op, FranceConnect(oidcTClientID, oidcTClientSecret, WithBaseURL(op.srv.URL), WithHTTPClient(oidcTClient()))
}

// oidcTJWTAnswer answers with body as an application/jwt document.
func oidcTJWTAnswer(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/jwt; charset=utf-8")
		_, _ = w.Write([]byte(body))
	}
}

func TestFranceConnectDefaults(t *testing.T) {
	var calls atomic.Int32
	p := FranceConnect("id", "secret", WithHTTPClient(&http.Client{Transport: oidcTOffline{&calls}}))
	assert.Equal(t, "franceconnect", p.Name())
	assert.Equal(t, "FranceConnect", p.DisplayName())
	require.Implements(t, (*Checker)(nil), p)
	assert.Equal(t, "https://oidc.franceconnect.gouv.fr/api/v2", p.(*oidcProvider).spec.issuer)
	assert.Equal(t, "https://oidc.franceconnect.gouv.fr/api/v2/.well-known/openid-configuration", p.(*oidcProvider).spec.discoveryURL)
	assert.Zero(t, calls.Load(), "FranceConnect is discovered on first use")

	p = FranceConnect("id", "secret", WithBaseURL("https://fcp-low.integ01.dev-franceconnect.fr/"))
	assert.Equal(t, "https://fcp-low.integ01.dev-franceconnect.fr/api/v2", p.(*oidcProvider).spec.issuer)
}

func TestFranceConnectAuthCodeURL(t *testing.T) {
	op, p := oidcTFranceConnect(t, nil)
	q := oidcTCheckAuthURL(t, p, op.srv.URL+"/authorize")
	assert.Equal(t, "eidas1", q.Get("acr_values"))
	assert.Equal(t, "openid given_name family_name email", q.Get("scope"))
	assert.Equal(t, []string{"/api/v2/.well-known/openid-configuration"}, op.discoveryPaths)
}

func TestFranceConnectProfile(t *testing.T) {
	t.Run("identity from the signed userinfo", func(t *testing.T) {
		op, p := oidcTFranceConnect(t, nil)
		profile, err := oidcTSignIn(t, p)
		require.NoError(t, err)
		assert.Equal(t, &Profile{
			AccountID: oidcTFCSub, Email: "wossewodda-3728@yopmail.com", EmailVerified: false,
			Name: "Angela Claire Louise DUBOIS",
		}, profile)
		assert.Equal(t, 1, op.hit("userinfo"))
	})
	t.Run("no email", func(t *testing.T) {
		_, p := oidcTFranceConnect(t, func(op *oidcTOP) { delete(op.userinfoClaims, "email") })
		profile, err := oidcTSignIn(t, p)
		require.NoError(t, err)
		assert.Equal(t, &Profile{AccountID: oidcTFCSub, Name: "Angela Claire Louise DUBOIS"}, profile)
	})

	k := oidcTKeySet()
	cases := []struct {
		name    string
		setup   func(op *oidcTOP)
		wantErr error
	}{
		{"userinfo signed by another key", func(op *oidcTOP) {
			op.userinfo = oidcTJWTAnswer(oidcTSign(t, jwt.SigningMethodRS256, k.other, "rsa1", op.userinfoClaims))
		}, ErrInvalidGrant},
		{"userinfo with alg none", func(op *oidcTOP) {
			op.userinfo = oidcTJWTAnswer(oidcTSign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, "", op.userinfoClaims))
		}, ErrInvalidGrant},
		{"userinfo of another user", func(op *oidcTOP) { op.userinfoClaims["sub"] = "another-sub" }, ErrInvalidGrant},
		{"userinfo for another client", func(op *oidcTOP) { op.userinfoClaims["aud"] = "another-client" }, ErrInvalidGrant},
		{"userinfo from another issuer", func(op *oidcTOP) { op.userinfoClaims["iss"] = "https://evil.example/api/v2" }, ErrInvalidGrant},
		{"userinfo token refused", func(op *oidcTOP) {
			op.userinfo = func(w http.ResponseWriter, _ *http.Request) {
				oidcTWriteJSON(w, 401, map[string]any{"error": "invalid_token"})
			}
		}, ErrInvalidGrant},
		{"userinfo down", func(op *oidcTOP) {
			op.userinfo = func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(502) }
		}, ErrProviderUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, p := oidcTFranceConnect(t, tc.setup)
			profile, err := oidcTSignIn(t, p)
			require.ErrorIs(t, err, tc.wantErr)
			assert.Nil(t, profile)
		})
	}
}

func TestFranceConnectErrors(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		wantErr error
	}{
		{"code refused", 400, ErrInvalidGrant},
		{"FranceConnect down", 500, ErrProviderUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, p := oidcTFranceConnect(t, func(op *oidcTOP) {
				op.token = func(w http.ResponseWriter, _ *http.Request) {
					oidcTWriteJSON(w, tc.status, map[string]any{"error": "invalid_grant"})
				}
			})
			_, err := oidcTSignIn(t, p)
			require.ErrorIs(t, err, tc.wantErr)
		})
	}
	t.Run("id_token of another issuer", func(t *testing.T) {
		_, p := oidcTFranceConnect(t, func(op *oidcTOP) { op.claims["iss"] = "https://oidc.franceconnect.gouv.fr/api/v1" })
		_, err := oidcTSignIn(t, p)
		require.ErrorIs(t, err, ErrInvalidGrant)
	})
}
