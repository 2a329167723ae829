package providers

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	socBXToken = "POST /2/oauth2/token"
	socBXMe    = "GET /2/users/me"
)

func TestXAuthURL(t *testing.T) {
	p := X(socBClientID, socBSecret)
	assert.Equal(t, "x", p.Name())
	assert.Equal(t, "X", p.DisplayName())
	q := socBCheckAuthURL(t, p, "https://x.com/i/oauth2/authorize")
	assert.Equal(t, "users.read tweet.read", q.Get("scope"))
}

func TestXProfile(t *testing.T) {
	cases := []struct {
		name string
		me   string
		want *Profile
	}{
		{
			name: "full profile, never an email",
			me:   `{"data":{"id":"2244994945","name":"Developers","username":"XDevelopers","profile_image_url":"https://pbs.twimg.com/profile_images/1/a_normal.jpg"}}`,
			want: &Profile{AccountID: "2244994945", Name: "Developers", AvatarURL: "https://pbs.twimg.com/profile_images/1/a_normal.jpg"},
		},
		{
			name: "no display name falls back to the username, the id stays the key",
			me:   `{"data":{"id":"2244994945","name":"","username":"XDevelopers"}}`,
			want: &Profile{AccountID: "2244994945", Name: "XDevelopers"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			token := socBRespond(http.StatusOK, `{"token_type":"bearer","expires_in":7200,"access_token":"access-token-jkl","scope":"users.read tweet.read"}`)
			me := socBRespond(http.StatusOK, tc.me)
			base := socBServer(t, map[string]*socBEndpoint{socBXToken: token, socBXMe: me})

			profile, err := socBFlow(X(socBClientID, socBSecret, WithBaseURL(base)))
			require.NoError(t, err)
			assert.Equal(t, tc.want, profile)

			header, _, form, _ := token.last()
			socBCheckTokenForm(t, form)
			socBCheckSecretInBasic(t, header, form)
			header, query, _, _ := me.last()
			assert.Equal(t, "Bearer "+socBAccessToken, header.Get("Authorization"))
			assert.Equal(t, "profile_image_url,name,username", query.Get("user.fields"))
		})
	}
}

func TestXErrors(t *testing.T) {
	good := `{"data":{"id":"2244994945","name":"Developers","username":"XDevelopers"}}`
	cases := socBCommonErrorCases(http.StatusBadRequest,
		`{"error":"invalid_request","error_description":"Value passed for the authorization code was invalid."}`, good)
	cases = append(cases,
		socBErrorCase{name: "token: client not authenticated", tokenStatus: http.StatusUnauthorized,
			tokenBody: `{"error":"unauthorized_client","error_description":"Missing valid authorization header"}`, want: ErrInvalidGrant, wantNoProfileCall: true},
		socBErrorCase{name: "profile: X's 401 problem shape", tokenStatus: http.StatusOK, tokenBody: socBTokenJSON,
			profileStatus: http.StatusUnauthorized, profileBody: `{"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"}`, want: ErrInvalidGrant},
		socBErrorCase{name: "profile: 200 with errors and no data", tokenStatus: http.StatusOK, tokenBody: socBTokenJSON,
			profileStatus: http.StatusOK, profileBody: `{"errors":[{"title":"Not Found Error","detail":"Could not find user"}]}`, want: ErrProviderUnavailable},
		socBErrorCase{name: "profile: data without id", tokenStatus: http.StatusOK, tokenBody: socBTokenJSON,
			profileStatus: http.StatusOK, profileBody: `{"data":{"username":"XDevelopers"}}`, want: ErrProviderUnavailable},
		socBErrorCase{name: "profile: numeric id is a type error, not a guess", tokenStatus: http.StatusOK, tokenBody: socBTokenJSON,
			profileStatus: http.StatusOK, profileBody: `{"data":{"id":2244994945}}`, want: ErrProviderUnavailable},
	)
	socBRunErrorCases(t, cases, socBXToken, socBXMe, func(base string) Provider {
		return X(socBClientID, socBSecret, WithBaseURL(base))
	})
}
