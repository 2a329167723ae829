package providers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	socBFacebookToken = "POST /v19.0/oauth/access_token"
	socBFacebookMe    = "GET /v19.0/me"
)

func TestFacebookAuthURL(t *testing.T) {
	p := Facebook(socBClientID, socBSecret)
	assert.Equal(t, "facebook", p.Name())
	assert.Equal(t, "Facebook", p.DisplayName())
	q := socBCheckAuthURL(t, p, "https://www.facebook.com/v19.0/dialog/oauth")
	assert.Equal(t, "email public_profile", q.Get("scope"))

	p = Facebook(socBClientID, socBSecret, WithBaseURL("http://127.0.0.1:1/"), WithScopes("email"), WithName("fb"))
	assert.Equal(t, "fb", p.Name())
	q = socBCheckAuthURL(t, p, "http://127.0.0.1:1/v19.0/dialog/oauth")
	assert.Equal(t, "email", q.Get("scope"))
}

func TestFacebookProfile(t *testing.T) {
	cases := []struct {
		name string
		me   string
		want *Profile
	}{
		{
			name: "full profile",
			me:   `{"id":"10158012345678901","name":"Ann Example","email":"ann@example.com","picture":{"data":{"height":50,"is_silhouette":false,"url":"https://platform-lookaside.fbsbx.com/p.jpg","width":50}}}`,
			want: &Profile{AccountID: "10158012345678901", Email: "ann@example.com", EmailVerified: true, Name: "Ann Example", AvatarURL: "https://platform-lookaside.fbsbx.com/p.jpg"},
		},
		{
			name: "no email (declined, or none on the account)",
			me:   `{"id":"10158012345678901","name":"Ann Example"}`,
			want: &Profile{AccountID: "10158012345678901", Name: "Ann Example"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			token := socBRespond(http.StatusOK, `{"access_token":"access-token-jkl","token_type":"bearer","expires_in":5183944}`)
			me := socBRespond(http.StatusOK, tc.me)
			base := socBServer(t, map[string]*socBEndpoint{socBFacebookToken: token, socBFacebookMe: me})

			profile, err := socBFlow(Facebook(socBClientID, socBSecret, WithBaseURL(base)))
			require.NoError(t, err)
			assert.Equal(t, tc.want, profile)

			header, _, form, _ := token.last()
			socBCheckTokenForm(t, form)
			socBCheckSecretInForm(t, header, form)

			header, query, _, _ := me.last()
			assert.Equal(t, "Bearer "+socBAccessToken, header.Get("Authorization"))
			assert.Equal(t, "id,name,email,picture", query.Get("fields"))
			mac := hmac.New(sha256.New, []byte(socBSecret))
			mac.Write([]byte(socBAccessToken))
			assert.Equal(t, hex.EncodeToString(mac.Sum(nil)), query.Get("appsecret_proof"))
			assert.Empty(t, query.Get("access_token"), "the token travels in a header, not in the URL")
		})
	}
}

func TestFacebookErrors(t *testing.T) {
	good := `{"id":"1","name":"Ann"}`
	cases := socBCommonErrorCases(http.StatusBadRequest,
		`{"error":{"message":"Invalid verification code format.","type":"OAuthException","code":100,"fbtrace_id":"AbC"}}`, good)
	cases = append(cases,
		socBErrorCase{name: "profile: expired token is code 190 on a 400", tokenStatus: http.StatusOK, tokenBody: socBTokenJSON,
			profileStatus: http.StatusBadRequest, profileBody: `{"error":{"message":"Error validating access token: Session has expired","type":"OAuthException","code":190,"error_subcode":463,"fbtrace_id":"AbC"}}`,
			want: ErrInvalidGrant},
		socBErrorCase{name: "profile: session error 102", tokenStatus: http.StatusOK, tokenBody: socBTokenJSON,
			profileStatus: http.StatusBadRequest, profileBody: `{"error":{"message":"Session key invalid","type":"OAuthException","code":102}}`,
			want: ErrInvalidGrant},
		socBErrorCase{name: "profile: other 400 is ours or theirs, not the user's", tokenStatus: http.StatusOK, tokenBody: socBTokenJSON,
			profileStatus: http.StatusBadRequest, profileBody: `{"error":{"message":"(#100) Tried accessing nonexisting field","type":"OAuthException","code":100}}`,
			want: ErrProviderUnavailable},
		socBErrorCase{name: "profile: unknown error 500", tokenStatus: http.StatusOK, tokenBody: socBTokenJSON,
			profileStatus: http.StatusInternalServerError, profileBody: `{"error":{"message":"An unknown error has occurred.","type":"OAuthException","code":1}}`,
			want: ErrProviderUnavailable},
		socBErrorCase{name: "profile: 400 that is not JSON", tokenStatus: http.StatusOK, tokenBody: socBTokenJSON,
			profileStatus: http.StatusBadRequest, profileBody: `<html></html>`, want: ErrProviderUnavailable},
	)
	socBRunErrorCases(t, cases, socBFacebookToken, socBFacebookMe, func(base string) Provider {
		return Facebook(socBClientID, socBSecret, WithBaseURL(base))
	})
}
