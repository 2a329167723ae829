package providers

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// oidcTGoogle is a Google-shaped test OP and a Google provider on it.
func oidcTGoogle(t *testing.T, setup func(op *oidcTOP)) (*oidcTOP, Provider) {
	t.Helper()
	op := oidcTNewOP(t)
	now := time.Now()
	// The claims Google documents for an id_token with email and profile.
	op.claims = map[string]any{
		"iss": op.issuer, "azp": oidcTClientID, "aud": oidcTClientID,
		"sub": "110169484474386276334", "hd": "example.com",
		"email": "jsmith@example.com", "email_verified": true,
		"at_hash": oidcTAtHash(oidcTAccessToken), "nonce": oidcTNonce,
		"name": "Jane Smith", "given_name": "Jane", "family_name": "Smith",
		"picture": "https://lh3.googleusercontent.com/a/photo.jpg", "locale": "en",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
	op.userinfoClaims = map[string]any{"sub": "110169484474386276334", "name": "Jane Smith"}
	if setup != nil {
		setup(op)
	}
	return op, Google(oidcTClientID, oidcTClientSecret, WithBaseURL(op.issuer), WithHTTPClient(oidcTClient()))
}

func TestGoogleDefaults(t *testing.T) {
	var calls atomic.Int32
	p := Google("id", "secret", WithHTTPClient(&http.Client{Transport: oidcTOffline{&calls}}))
	assert.Equal(t, "google", p.Name())
	assert.Equal(t, "Google", p.DisplayName())
	require.Implements(t, (*Checker)(nil), p)
	assert.Equal(t, "https://accounts.google.com", p.(*oidcProvider).spec.issuer)
	assert.Equal(t, "https://accounts.google.com/.well-known/openid-configuration", p.(*oidcProvider).spec.discoveryURL)
	assert.Zero(t, calls.Load(), "Google is discovered on first use")

	assert.Equal(t, "google-work", Google("id", "secret", WithName("google-work")).Name())
}

func TestGoogleAuthCodeURL(t *testing.T) {
	op, p := oidcTGoogle(t, nil)
	q := oidcTCheckAuthURL(t, p, op.srv.URL+"/authorize")
	assert.Equal(t, "openid email profile", q.Get("scope"))
}

func TestGoogleProfile(t *testing.T) {
	cases := []struct {
		name  string
		setup func(op *oidcTOP)
		want  *Profile
	}{
		{"verified email from the id_token", nil, &Profile{
			AccountID: "110169484474386276334", Email: "jsmith@example.com", EmailVerified: true,
			Name: "Jane Smith", AvatarURL: "https://lh3.googleusercontent.com/a/photo.jpg",
		}},
		{"unverified email", func(op *oidcTOP) { op.claims["email_verified"] = false }, &Profile{
			AccountID: "110169484474386276334", Email: "jsmith@example.com",
			Name: "Jane Smith", AvatarURL: "https://lh3.googleusercontent.com/a/photo.jpg",
		}},
		{"email_verified as a string", func(op *oidcTOP) { op.claims["email_verified"] = "true" }, &Profile{
			AccountID: "110169484474386276334", Email: "jsmith@example.com", EmailVerified: true,
			Name: "Jane Smith", AvatarURL: "https://lh3.googleusercontent.com/a/photo.jpg",
		}},
		{"no email (email scope not granted)", func(op *oidcTOP) {
			delete(op.claims, "email")
			delete(op.claims, "email_verified")
		}, &Profile{
			AccountID: "110169484474386276334", Name: "Jane Smith", AvatarURL: "https://lh3.googleusercontent.com/a/photo.jpg",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, p := oidcTGoogle(t, tc.setup)
			profile, err := oidcTSignIn(t, p)
			require.NoError(t, err)
			assert.Equal(t, tc.want, profile)
		})
	}
	t.Run("AccountID is sub, not the email", func(t *testing.T) {
		// The same address on another Google account is another account.
		_, p := oidcTGoogle(t, func(op *oidcTOP) {
			op.claims["sub"] = "117000000000000000001"
			op.userinfoClaims["sub"] = "117000000000000000001"
		})
		profile, err := oidcTSignIn(t, p)
		require.NoError(t, err)
		assert.Equal(t, "117000000000000000001", profile.AccountID)
		assert.Equal(t, "jsmith@example.com", profile.Email)
	})
}

func TestGoogleErrors(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		body    map[string]any
		wantErr error
	}{
		{"expired or reused code", 400, map[string]any{"error": "invalid_grant", "error_description": "Bad Request"}, ErrInvalidGrant},
		{"wrong client secret", 401, map[string]any{"error": "invalid_client", "error_description": "Unauthorized"}, ErrInvalidGrant},
		{"Google down", 503, map[string]any{"error": "backend_error"}, ErrProviderUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, p := oidcTGoogle(t, func(op *oidcTOP) {
				op.token = func(w http.ResponseWriter, _ *http.Request) { oidcTWriteJSON(w, tc.status, tc.body) }
			})
			_, err := oidcTSignIn(t, p)
			require.ErrorIs(t, err, tc.wantErr)
		})
	}
	t.Run("id_token of another Google client", func(t *testing.T) {
		_, p := oidcTGoogle(t, func(op *oidcTOP) {
			op.claims["aud"] = "other.apps.googleusercontent.com"
			op.claims["azp"] = "other.apps.googleusercontent.com"
		})
		_, err := oidcTSignIn(t, p)
		require.ErrorIs(t, err, ErrInvalidGrant)
	})
}
