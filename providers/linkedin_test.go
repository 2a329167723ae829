package providers

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	socBLinkedInToken    = "POST /oauth/v2/accessToken"
	socBLinkedInUserInfo = "GET /v2/userinfo"
)

func TestLinkedInAuthURL(t *testing.T) {
	p := LinkedIn(socBClientID, socBSecret)
	assert.Equal(t, "linkedin", p.Name())
	assert.Equal(t, "LinkedIn", p.DisplayName())
	q := socBCheckAuthURL(t, p, "https://www.linkedin.com/oauth/v2/authorization")
	assert.Equal(t, "openid profile email", q.Get("scope"))
	assert.Equal(t, socBNonce, q.Get("nonce"))
}

func TestLinkedInProfile(t *testing.T) {
	cases := []struct {
		name     string
		userinfo string
		want     *Profile
	}{
		{
			name: "verified email",
			// locale comes as an object in practice.
			userinfo: `{"sub":"782bbtaQ","name":"John Doe","given_name":"John","family_name":"Doe","picture":"https://media.licdn.com/dms/image/p.jpg","locale":{"country":"US","language":"en"},"email":"doe@example.com","email_verified":true}`,
			want:     &Profile{AccountID: "782bbtaQ", Email: "doe@example.com", EmailVerified: true, Name: "John Doe", AvatarURL: "https://media.licdn.com/dms/image/p.jpg"},
		},
		{
			name:     "unverified email",
			userinfo: `{"sub":"782bbtaQ","name":"John Doe","locale":"en-US","email":"doe@example.com","email_verified":false}`,
			want:     &Profile{AccountID: "782bbtaQ", Email: "doe@example.com", Name: "John Doe"},
		},
		{
			name:     "no email scope",
			userinfo: `{"sub":"782bbtaQ","name":"John Doe","picture":"https://media.licdn.com/p.jpg"}`,
			want:     &Profile{AccountID: "782bbtaQ", Name: "John Doe", AvatarURL: "https://media.licdn.com/p.jpg"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			token := socBRespond(http.StatusOK, `{"access_token":"access-token-jkl","expires_in":5183999,"scope":"email,openid,profile","token_type":"Bearer","id_token":"eyJ.unused.sig"}`)
			userinfo := socBRespond(http.StatusOK, tc.userinfo)
			base := socBServer(t, map[string]*socBEndpoint{socBLinkedInToken: token, socBLinkedInUserInfo: userinfo})

			profile, err := socBFlow(LinkedIn(socBClientID, socBSecret, WithBaseURL(base)))
			require.NoError(t, err)
			assert.Equal(t, tc.want, profile)

			header, _, form, _ := token.last()
			socBCheckTokenForm(t, form)
			socBCheckSecretInForm(t, header, form)
			header, _, _, _ = userinfo.last()
			assert.Equal(t, "Bearer "+socBAccessToken, header.Get("Authorization"))
		})
	}
}

func TestLinkedInIssuer(t *testing.T) {
	token := socBRespond(http.StatusOK, socBTokenJSON)
	base := socBServer(t, map[string]*socBEndpoint{socBLinkedInToken: token})
	p := LinkedIn(socBClientID, socBSecret, WithBaseURL(base))

	req := socBExchangeRequest()
	req.Issuer = "https://www.linkedin.com"
	_, err := p.Exchange(context.Background(), req)
	require.ErrorIs(t, err, ErrInvalidGrant)
	assert.Zero(t, token.callCount())

	req.Issuer = "https://www.linkedin.com/oauth"
	_, err = p.Exchange(context.Background(), req)
	require.NoError(t, err)
}

func TestLinkedInErrors(t *testing.T) {
	cases := socBCommonErrorCases(http.StatusBadRequest,
		`{"error":"invalid_request","error_description":"Unable to retrieve access token: appid/redirect uri/code verifier does not match authorization code. Or authorization code expired. Or external member binding exists"}`,
		`{"sub":"782bbtaQ"}`)
	cases = append(cases, socBErrorCase{name: "profile: LinkedIn's 401 shape", tokenStatus: http.StatusOK, tokenBody: socBTokenJSON,
		profileStatus: http.StatusUnauthorized, profileBody: `{"serviceErrorCode":65600,"message":"Invalid access token","status":401}`, want: ErrInvalidGrant})
	socBRunErrorCases(t, cases, socBLinkedInToken, socBLinkedInUserInfo, func(base string) Provider {
		return LinkedIn(socBClientID, socBSecret, WithBaseURL(base))
	})
}
