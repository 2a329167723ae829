package providers

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Twitch's documented answers (dev.twitch.tv/docs: "Getting OAuth Access
// Tokens", API reference "Get Users").
const (
	socATwitchToken = `{"access_token":"` + socAAccess + `","expires_in":14124,"refresh_token":"5b93chm6hdve3mycz05zfzatkfdenfspp1h1ar2xxdalen01","scope":["user:read:email"],"token_type":"bearer"}`
	socATwitchUsers = `{"data":[{"id":"141981764","login":"twitchdev","display_name":"TwitchDev","type":"","broadcaster_type":"partner","description":"Supporting third-party developers building Twitch integrations.","profile_image_url":"https://static-cdn.jtvnw.net/jtv_user_pictures/8a6381c7-profile_image-300x300.png","offline_image_url":"https://static-cdn.jtvnw.net/jtv_user_pictures/3f13ab61-channel_offline_image-1920x1080.png","view_count":5980557,"email":"not-real@email.com","created_at":"2016-12-14T20:32:28Z"}]}`
	socATwitch401   = `{"error":"Unauthorized","status":401,"message":"Invalid OAuth token"}`
)

func socATwitch(t *testing.T) (Provider, *socAServer) {
	t.Helper()
	s := socANewServer(t)
	return Twitch(socAClientID, socAClientSecret, WithBaseURL(s.URL)), s
}

func TestTwitchAuthCodeURL(t *testing.T) {
	p := Twitch(socAClientID, socAClientSecret)
	socACheckAuthURL(t, p, socAAuthRequest(), "https://id.twitch.tv/oauth2/authorize", "user:read:email")
	assert.Equal(t, "twitch", p.Name())
	assert.Equal(t, "Twitch", p.DisplayName())
}

func TestTwitchExchange(t *testing.T) {
	p, s := socATwitch(t)
	s.reply(http.MethodPost, "/oauth2/token", http.StatusOK, socAJSON, socATwitchToken)
	e := socAExchangeRequest(socAAuthRequest())

	tokens, err := p.Exchange(context.Background(), e)
	require.NoError(t, err)
	assert.Equal(t, socAAccess, tokens.AccessToken)
	r := s.only(t, "/oauth2/token")
	socACheckTokenRequest(t, r, e)
	socACheckParamsAuth(t, r, socAClientSecret)
}

func TestTwitchExchangeErrors(t *testing.T) {
	failures := append([]socAFailure{
		// Twitch's errors carry status and message, no "error" field.
		{"invalid code", http.StatusBadRequest, socAJSON, `{"status":400,"message":"Invalid authorization code"}`, ErrInvalidGrant},
		{"invalid client secret", http.StatusForbidden, socAJSON, `{"status":403,"message":"invalid client secret"}`, ErrInvalidGrant},
	}, socAServerFailures()...)
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			p, s := socATwitch(t)
			s.reply(http.MethodPost, "/oauth2/token", f.status, f.contentType, f.body)
			_, err := p.Exchange(context.Background(), socAExchangeRequest(socAAuthRequest()))
			require.ErrorIs(t, err, f.want)
			assert.Len(t, s.requests("/oauth2/token"), 1)
		})
	}
}

func TestTwitchProfile(t *testing.T) {
	tests := []struct {
		name  string
		users string
		want  Profile
	}{
		{"with user:read:email: the verified email", socATwitchUsers, Profile{
			AccountID: "141981764", Email: "not-real@email.com", EmailVerified: true, Name: "TwitchDev",
			AvatarURL: "https://static-cdn.jtvnw.net/jtv_user_pictures/8a6381c7-profile_image-300x300.png",
		}},
		{
			"without the scope: no email field",
			`{"data":[{"id":"141981764","login":"twitchdev","display_name":"","type":"","broadcaster_type":"","description":"","profile_image_url":"","offline_image_url":"","view_count":0,"created_at":"2016-12-14T20:32:28Z"}]}`,
			Profile{AccountID: "141981764", Name: "twitchdev"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, s := socATwitch(t)
			s.reply(http.MethodGet, "/helix/users", http.StatusOK, socAJSON, tt.users)
			got, err := p.Profile(context.Background(), socATokens())
			require.NoError(t, err)
			assert.Equal(t, tt.want, *got)
			r := s.only(t, "/helix/users")
			socACheckBearer(t, r)
			assert.Equal(t, socAClientID, r.Header.Get("Client-Id"))
			assert.Empty(t, r.URL.RawQuery, "the token's own user, not a looked-up one")
		})
	}
}

func TestTwitchProfileErrors(t *testing.T) {
	failures := append(socAProfileFailures(socATwitch401),
		socAFailure{"no user", http.StatusOK, socAJSON, `{"data":[]}`, ErrProviderUnavailable},
		socAFailure{"two users", http.StatusOK, socAJSON, `{"data":[{"id":"1","login":"a"},{"id":"2","login":"b"}]}`, ErrProviderUnavailable},
		socAFailure{"no id", http.StatusOK, socAJSON, `{"data":[{"login":"twitchdev"}]}`, ErrProviderUnavailable},
	)
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			p, s := socATwitch(t)
			s.reply(http.MethodGet, "/helix/users", f.status, f.contentType, f.body)
			_, err := p.Profile(context.Background(), socATokens())
			require.ErrorIs(t, err, f.want)
		})
	}
}

// TestTwitchProductionURLs runs the flow on Twitch's own URLs.
func TestTwitchProductionURLs(t *testing.T) {
	s := socANewServer(t)
	s.reply(http.MethodPost, "/oauth2/token", http.StatusOK, socAJSON, socATwitchToken)
	s.reply(http.MethodGet, "/helix/users", http.StatusOK, socAJSON, socATwitchUsers)
	client, rw := socARewriteClient(t, s)

	_, profile := socAFlow(t, Twitch(socAClientID, socAClientSecret, WithHTTPClient(client)))
	assert.Equal(t, "141981764", profile.AccountID)
	assert.Equal(t, []string{"https://id.twitch.tv/oauth2/token", "https://api.twitch.tv/helix/users"}, rw.seen())
}
