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

const (
	oidcTTenant      = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	oidcTOtherTenant = "3c5a8b21-0d4e-4f6a-9b7c-1e2d3f4a5b6c"
	oidcTMSSub       = "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ"
	oidcTMSOid       = "00000000-0000-0000-66f3-3332eca7ea81"
)

// oidcTMicrosoft is a Microsoft-shaped test OP for tenant: discovery
// reports the issuer Entra ID reports for that tenant, and the id_token is
// the documented v2.0 one of a user of userTenant (no email claim).
func oidcTMicrosoft(t *testing.T, tenant, userTenant string, setup func(op *oidcTOP)) (*oidcTOP, Provider) {
	t.Helper()
	op := oidcTNewOP(t)
	switch tenant {
	case "common", "organizations":
		op.issuer = op.srv.URL + "/{tenantid}/v2.0"
	case "consumers":
		op.issuer = op.srv.URL + "/" + microsoftConsumersTenant + "/v2.0"
	default:
		op.issuer = op.srv.URL + "/" + tenant + "/v2.0"
	}
	now := time.Now()
	op.claims = map[string]any{
		"aud": oidcTClientID, "iss": op.srv.URL + "/" + userTenant + "/v2.0",
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"aio": "AUQAu/8IAAAA", "name": "Abe Lincoln", "nonce": oidcTNonce,
		"oid": oidcTMSOid, "preferred_username": "AbeLi@microsoft.com",
		"rh": "I", "sub": oidcTMSSub, "tid": userTenant, "uti": "Lxe_46GqTkOpGSfTln4EAA", "ver": "2.0",
	}
	if setup != nil {
		setup(op)
	}
	return op, Microsoft(tenant, oidcTClientID, oidcTClientSecret, WithBaseURL(op.srv.URL), WithHTTPClient(oidcTClient()))
}

func TestMicrosoftDefaults(t *testing.T) {
	cases := []struct {
		tenant, issuer, discovery string
	}{
		{oidcTTenant, "https://login.microsoftonline.com/" + oidcTTenant + "/v2.0", "https://login.microsoftonline.com/" + oidcTTenant + "/v2.0/.well-known/openid-configuration"},
		{"common", "https://login.microsoftonline.com/{tenantid}/v2.0", "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration"},
		{"", "https://login.microsoftonline.com/{tenantid}/v2.0", "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration"},
		{"organizations", "https://login.microsoftonline.com/{tenantid}/v2.0", "https://login.microsoftonline.com/organizations/v2.0/.well-known/openid-configuration"},
		{"consumers", "https://login.microsoftonline.com/" + microsoftConsumersTenant + "/v2.0", "https://login.microsoftonline.com/consumers/v2.0/.well-known/openid-configuration"},
	}
	for _, tc := range cases {
		t.Run("tenant "+tc.tenant, func(t *testing.T) {
			var calls atomic.Int32
			p := Microsoft(tc.tenant, "id", "secret", WithHTTPClient(&http.Client{Transport: oidcTOffline{&calls}}))
			assert.Equal(t, "microsoft", p.Name())
			assert.Equal(t, "Microsoft", p.DisplayName())
			require.Implements(t, (*Checker)(nil), p)
			assert.Equal(t, tc.issuer, p.(*oidcProvider).spec.issuer)
			assert.Equal(t, tc.discovery, p.(*oidcProvider).spec.discoveryURL)
			assert.Zero(t, calls.Load(), "Microsoft is discovered on first use")
		})
	}
}

func TestMicrosoftAuthCodeURL(t *testing.T) {
	op, p := oidcTMicrosoft(t, "common", oidcTTenant, nil)
	q := oidcTCheckAuthURL(t, p, op.srv.URL+"/authorize")
	assert.Equal(t, "openid email profile", q.Get("scope"))
	assert.Equal(t, []string{"/common/v2.0/.well-known/openid-configuration"}, op.discoveryPaths)
}

func TestMicrosoftProfile(t *testing.T) {
	cases := []struct {
		name  string
		setup func(op *oidcTOP)
		want  *Profile
	}{
		{"no email claim", nil, &Profile{AccountID: oidcTMSSub, Name: "Abe Lincoln"}},
		{"email is not verified without email_verified", func(op *oidcTOP) {
			op.claims["email"] = "abeli@microsoft.com"
		}, &Profile{AccountID: oidcTMSSub, Email: "abeli@microsoft.com", Name: "Abe Lincoln"}},
		{"email_verified true", func(op *oidcTOP) {
			op.claims["email"] = "abeli@microsoft.com"
			op.claims["email_verified"] = true
		}, &Profile{AccountID: oidcTMSSub, Email: "abeli@microsoft.com", EmailVerified: true, Name: "Abe Lincoln"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			op, p := oidcTMicrosoft(t, oidcTTenant, oidcTTenant, tc.setup)
			profile, err := oidcTSignIn(t, p)
			require.NoError(t, err)
			assert.Equal(t, tc.want, profile)
			assert.NotEqual(t, oidcTMSOid, profile.AccountID)
			assert.Zero(t, op.hit("userinfo"), "Microsoft's userinfo is never asked")
		})
	}
}

// TestMicrosoftTenants: a token's iss must be its tenant's issuer, and the
// tenant must be one the configured endpoint admits.
func TestMicrosoftTenants(t *testing.T) {
	cases := []struct {
		name       string
		tenant     string
		userTenant string
		setup      func(op *oidcTOP)
		wantErr    error
	}{
		{"tenant id, its own token", oidcTTenant, oidcTTenant, nil, nil},
		{"tenant id, a token of another tenant", oidcTTenant, oidcTOtherTenant, nil, ErrInvalidGrant},
		{"common, a work account", "common", oidcTTenant, nil, nil},
		{"common, a personal account", "common", microsoftConsumersTenant, nil, nil},
		{"common, iss of another tenant than tid", "common", oidcTTenant, func(op *oidcTOP) {
			op.claims["iss"] = op.srv.URL + "/" + oidcTOtherTenant + "/v2.0"
		}, ErrInvalidGrant},
		{"common, iss on another host", "common", oidcTTenant, func(op *oidcTOP) {
			op.claims["iss"] = "https://login.evil.example/" + oidcTTenant + "/v2.0"
		}, ErrInvalidGrant},
		{"common, no tid", "common", oidcTTenant, func(op *oidcTOP) { delete(op.claims, "tid") }, ErrInvalidGrant},
		{"common, the template itself as iss", "common", "{tenantid}", func(op *oidcTOP) { delete(op.claims, "tid") }, ErrInvalidGrant},
		{"common, tid and iss not a tenant ID", "common", "{tenantid}", nil, ErrInvalidGrant},
		{"organizations, a work account", "organizations", oidcTTenant, nil, nil},
		{"organizations, a personal account", "organizations", microsoftConsumersTenant, nil, ErrInvalidGrant},
		{"consumers, a personal account", "consumers", microsoftConsumersTenant, nil, nil},
		{"consumers, a work account", "consumers", oidcTTenant, nil, ErrInvalidGrant},
		{"common, token for another app", "common", oidcTTenant, func(op *oidcTOP) { op.claims["aud"] = "another-app-id" }, ErrInvalidGrant},
		{"common, signed by another key", "common", oidcTTenant, func(op *oidcTOP) {
			op.idToken = func() string { return oidcTSign(t, jwt.SigningMethodRS256, oidcTKeySet().other, "rsa1", op.claims) }
		}, ErrInvalidGrant},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, p := oidcTMicrosoft(t, tc.tenant, tc.userTenant, tc.setup)
			profile, err := oidcTSignIn(t, p)
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, oidcTMSSub, profile.AccountID)
		})
	}
	t.Run("common, discovery not reporting the template", func(t *testing.T) {
		op, p := oidcTMicrosoft(t, "common", oidcTTenant, func(op *oidcTOP) {
			op.issuer = op.srv.URL + "/" + oidcTTenant + "/v2.0"
		})
		require.ErrorIs(t, p.(Checker).Check(t.Context()), ErrProviderUnavailable)
		assert.Zero(t, op.hit("token"))
	})
}

// TestMicrosoftCallbackIssuer: with a multi-tenant issuer, an RFC 9207 iss
// parameter must be the token's own tenant issuer.
func TestMicrosoftCallbackIssuer(t *testing.T) {
	cases := []struct {
		name      string
		iss       func(op *oidcTOP) string
		wantErr   error
		wantToken int
	}{
		{"the token's issuer", func(op *oidcTOP) string { return op.srv.URL + "/" + oidcTTenant + "/v2.0" }, nil, 1},
		{"another tenant's issuer", func(op *oidcTOP) string { return op.srv.URL + "/" + oidcTOtherTenant + "/v2.0" }, ErrInvalidGrant, 1},
		{"another host", func(*oidcTOP) string { return "https://login.evil.example/" + oidcTTenant + "/v2.0" }, ErrInvalidGrant, 0},
		{"the template", func(op *oidcTOP) string { return op.srv.URL + "/{tenantid}/v2.0" }, ErrInvalidGrant, 1},
		{"a path in place of the tenant", func(op *oidcTOP) string { return op.srv.URL + "/a/b/v2.0" }, ErrInvalidGrant, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			op, p := oidcTMicrosoft(t, "common", oidcTTenant, nil)
			req := oidcTExchangeRequest()
			req.Issuer = tc.iss(op)
			_, err := p.Exchange(t.Context(), req)
			assert.Equal(t, tc.wantToken, op.hit("token"))
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
		})
	}
}

func TestMicrosoftErrors(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		body    map[string]any
		wantErr error
	}{
		{"expired code", 400, map[string]any{"error": "invalid_grant", "error_description": "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity.", "error_codes": []int{70008}}, ErrInvalidGrant},
		{"wrong PKCE verifier", 400, map[string]any{"error": "invalid_grant", "error_description": "AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request.", "error_codes": []int{501481}}, ErrInvalidGrant},
		{"bad client secret", 401, map[string]any{"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided.", "error_codes": []int{7000215}}, ErrInvalidGrant},
		{"Entra ID down", 503, map[string]any{"error": "temporarily_unavailable", "error_description": "AADSTS90033: A transient error has occurred."}, ErrProviderUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, p := oidcTMicrosoft(t, "common", oidcTTenant, func(op *oidcTOP) {
				op.token = func(w http.ResponseWriter, _ *http.Request) { oidcTWriteJSON(w, tc.status, tc.body) }
			})
			_, err := oidcTSignIn(t, p)
			require.ErrorIs(t, err, tc.wantErr)
		})
	}
}
