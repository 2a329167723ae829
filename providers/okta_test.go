package providers

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// oidcTOkta is an Okta-shaped test OP whose issuer is a custom
// authorization server (/oauth2/default).
func oidcTOkta(t *testing.T, setup func(op *oidcTOP)) *oidcTOP {
	t.Helper()
	op := oidcTNewOP(t)
	op.issuer = op.srv.URL + "/oauth2/default"
	now := time.Now()
	// Okta's documented id_token when an access token is issued too: the
	// base claims only, the profile is at the userinfo endpoint.
	op.claims = map[string]any{
		"ver": 1, "sub": "00uid4BxXw6I6TV4m0g3", "iss": op.issuer, "aud": oidcTClientID,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": "ID.4eAWJOCMB3SX8XewDfVR",
		"amr": []string{"pwd"}, "idp": "00ok1u7AsAkrwdZL3z0g", "nonce": oidcTNonce,
		"auth_time": now.Unix(), "at_hash": oidcTAtHash(oidcTAccessToken),
	}
	op.userinfoClaims = map[string]any{
		"sub": "00uid4BxXw6I6TV4m0g3", "name": "John Doe", "nickname": "Jimmy",
		"given_name": "John", "family_name": "Doe", "preferred_username": "john.doe@example.com",
		"email": "john.doe@example.com", "email_verified": true, "zoneinfo": "America/Los_Angeles",
	}
	if setup != nil {
		setup(op)
	}
	return op
}

// okta is an Okta provider for the test OP at issuer.
func (op *oidcTOP) okta(issuer string) Provider {
	return Okta(issuer, oidcTClientID, oidcTClientSecret, WithHTTPClient(oidcTClient()))
}

func TestOktaDefaults(t *testing.T) {
	var calls atomic.Int32
	p := Okta("https://example.okta.com/oauth2/default", "id", "secret", WithHTTPClient(&http.Client{Transport: oidcTOffline{&calls}}))
	assert.Equal(t, "okta", p.Name())
	assert.Equal(t, "Okta", p.DisplayName())
	require.Implements(t, (*Checker)(nil), p)
	assert.Equal(t, "https://example.okta.com/oauth2/default", p.(*oidcProvider).spec.issuer)
	assert.Equal(t, "https://example.okta.com/oauth2/default/.well-known/openid-configuration", p.(*oidcProvider).spec.discoveryURL)
	assert.Zero(t, calls.Load())

	p = Okta("https://example.okta.com", "id", "secret", WithBaseURL("https://test.okta.example"))
	assert.Equal(t, "https://test.okta.example", p.(*oidcProvider).spec.issuer, "WithBaseURL replaces the issuer")
}

func TestOktaAuthCodeURL(t *testing.T) {
	op := oidcTOkta(t, nil)
	q := oidcTCheckAuthURL(t, op.okta(op.issuer), op.srv.URL+"/authorize")
	assert.Equal(t, "openid email profile", q.Get("scope"))
}

func TestOktaProfile(t *testing.T) {
	t.Run("thin id_token: profile from userinfo", func(t *testing.T) {
		op := oidcTOkta(t, nil)
		profile, err := oidcTSignIn(t, op.okta(op.issuer))
		require.NoError(t, err)
		assert.Equal(t, &Profile{AccountID: "00uid4BxXw6I6TV4m0g3", Email: "john.doe@example.com", EmailVerified: true, Name: "John Doe"}, profile)
		assert.Equal(t, 1, op.hit("userinfo"))
	})
	t.Run("no email", func(t *testing.T) {
		op := oidcTOkta(t, func(op *oidcTOP) {
			delete(op.userinfoClaims, "email")
			delete(op.userinfoClaims, "email_verified")
		})
		profile, err := oidcTSignIn(t, op.okta(op.issuer))
		require.NoError(t, err)
		assert.Equal(t, &Profile{AccountID: "00uid4BxXw6I6TV4m0g3", Name: "John Doe"}, profile)
	})
	t.Run("userinfo of another user", func(t *testing.T) {
		op := oidcTOkta(t, func(op *oidcTOP) { op.userinfoClaims["sub"] = "00u0000000000000000" })
		_, err := oidcTSignIn(t, op.okta(op.issuer))
		require.ErrorIs(t, err, ErrInvalidGrant)
	})
}

func TestOktaIssuer(t *testing.T) {
	t.Run("taken as given: a trailing slash Okta does not report is refused", func(t *testing.T) {
		op := oidcTOkta(t, nil)
		p := op.okta(op.issuer + "/")
		err := p.(Checker).Check(t.Context())
		require.ErrorIs(t, err, ErrProviderUnavailable)
		assert.Contains(t, err.Error(), "issuer")
	})
	t.Run("an id_token of the org authorization server is refused", func(t *testing.T) {
		op := oidcTOkta(t, func(op *oidcTOP) { op.claims["iss"] = op.srv.URL })
		_, err := oidcTSignIn(t, op.okta(op.issuer))
		require.ErrorIs(t, err, ErrInvalidGrant)
	})
}

func TestOktaErrors(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		body    map[string]any
		wantErr error
	}{
		{"invalid code", 400, map[string]any{"error": "invalid_grant", "error_description": "The authorization code is invalid or has expired."}, ErrInvalidGrant},
		{"PKCE verifier refused", 400, map[string]any{"error": "invalid_grant", "error_description": "PKCE verification failed."}, ErrInvalidGrant},
		{"client authentication failed", 401, map[string]any{"error": "invalid_client", "error_description": "Client authentication failed."}, ErrInvalidGrant},
		{"Okta down", 500, map[string]any{"errorCode": "E0000009", "errorSummary": "Internal Server Error"}, ErrProviderUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			op := oidcTOkta(t, func(op *oidcTOP) {
				op.token = func(w http.ResponseWriter, _ *http.Request) { oidcTWriteJSON(w, tc.status, tc.body) }
			})
			_, err := oidcTSignIn(t, op.okta(op.issuer))
			require.ErrorIs(t, err, tc.wantErr)
		})
	}
}
