package providers

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	socBSpotifyToken = "POST /api/token"
	socBSpotifyMe    = "GET /v1/me"
)

func TestSpotifyAuthURL(t *testing.T) {
	p := Spotify(socBClientID, socBSecret)
	assert.Equal(t, "spotify", p.Name())
	assert.Equal(t, "Spotify", p.DisplayName())
	q := socBCheckAuthURL(t, p, "https://accounts.spotify.com/authorize")
	assert.Equal(t, "user-read-email", q.Get("scope"))
}

func TestSpotifyProfile(t *testing.T) {
	cases := []struct {
		name string
		me   string
		want *Profile
	}{
		{
			name: "email is never taken as verified",
			me:   `{"country":"SE","display_name":"JM Wizzler","email":"jm@example.com","external_urls":{"spotify":"https://open.spotify.com/user/wizzler"},"followers":{"href":null,"total":3829},"href":"https://api.spotify.com/v1/users/wizzler","id":"wizzler","images":[{"height":300,"url":"https://i.scdn.co/image/ab67616d00001e02","width":300},{"height":64,"url":"https://i.scdn.co/image/small","width":64}],"product":"premium","type":"user","uri":"spotify:user:wizzler"}`,
			want: &Profile{AccountID: "wizzler", Email: "jm@example.com", Name: "JM Wizzler", AvatarURL: "https://i.scdn.co/image/ab67616d00001e02"},
		},
		{
			name: "no email, no image",
			me:   `{"display_name":null,"id":"31l77y2al5lnn7mxfrmd4bpfhqke","images":[]}`,
			want: &Profile{AccountID: "31l77y2al5lnn7mxfrmd4bpfhqke"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			token := socBRespond(http.StatusOK, `{"access_token":"access-token-jkl","token_type":"Bearer","scope":"user-read-email","expires_in":3600,"refresh_token":"r"}`)
			me := socBRespond(http.StatusOK, tc.me)
			base := socBServer(t, map[string]*socBEndpoint{socBSpotifyToken: token, socBSpotifyMe: me})

			profile, err := socBFlow(Spotify(socBClientID, socBSecret, WithBaseURL(base)))
			require.NoError(t, err)
			assert.Equal(t, tc.want, profile)

			header, _, form, _ := token.last()
			socBCheckTokenForm(t, form)
			socBCheckSecretInBasic(t, header, form)
			header, _, _, _ = me.last()
			assert.Equal(t, "Bearer "+socBAccessToken, header.Get("Authorization"))
		})
	}
}

func TestSpotifyErrors(t *testing.T) {
	cases := socBCommonErrorCases(http.StatusBadRequest, `{"error":"invalid_grant","error_description":"Invalid authorization code"}`, `{"id":"wizzler"}`)
	cases = append(cases, socBErrorCase{name: "profile: Spotify's 401 shape", tokenStatus: http.StatusOK, tokenBody: socBTokenJSON,
		profileStatus: http.StatusUnauthorized, profileBody: `{"error":{"status":401,"message":"The access token expired"}}`, want: ErrInvalidGrant})
	socBRunErrorCases(t, cases, socBSpotifyToken, socBSpotifyMe, func(base string) Provider {
		return Spotify(socBClientID, socBSecret, WithBaseURL(base))
	})
}
