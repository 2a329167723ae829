package providers

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Discord's documented answers (discord.com/developers/docs: "OAuth2",
// "Users": the User object).
const (
	socADiscordToken = `{"access_token":"` + socAAccess + `","token_type":"Bearer","expires_in":604800,"refresh_token":"D43f5y0ahjqew82jZ4NViEr2YafMKhue","scope":"identify email"}`
	socADiscordUser  = `{"id":"80351110224678912","username":"nelly","discriminator":"0","global_name":"Nelly","avatar":"8342729096ea3675442027381ff50dfe","bot":false,"mfa_enabled":true,"banner":null,"accent_color":null,"locale":"en-US","verified":true,"email":"nelly@discord.com","flags":64,"premium_type":1,"public_flags":64}`
	socADiscord401   = `{"message":"401: Unauthorized","code":0}`
)

func socADiscord(t *testing.T) (Provider, *socAServer) {
	t.Helper()
	s := socANewServer(t)
	return Discord(socAClientID, socAClientSecret, WithBaseURL(s.URL)), s
}

func TestDiscordAuthCodeURL(t *testing.T) {
	p := Discord(socAClientID, socAClientSecret)
	socACheckAuthURL(t, p, socAAuthRequest(), "https://discord.com/oauth2/authorize", "identify email")
	assert.Equal(t, "discord", p.Name())
	assert.Equal(t, "Discord", p.DisplayName())
}

func TestDiscordExchange(t *testing.T) {
	p, s := socADiscord(t)
	s.reply(http.MethodPost, "/api/oauth2/token", http.StatusOK, socAJSON, socADiscordToken)
	e := socAExchangeRequest(socAAuthRequest())

	tokens, err := p.Exchange(context.Background(), e)
	require.NoError(t, err)
	assert.Equal(t, socAAccess, tokens.AccessToken)
	r := s.only(t, "/api/oauth2/token")
	socACheckTokenRequest(t, r, e)
	socACheckBasicAuth(t, r)
}

func TestDiscordExchangeErrors(t *testing.T) {
	failures := append([]socAFailure{
		{"invalid_grant", http.StatusBadRequest, socAJSON, `{"error":"invalid_grant","error_description":"Invalid \"code\" in request."}`, ErrInvalidGrant},
		{"invalid_client", http.StatusUnauthorized, socAJSON, `{"error":"invalid_client"}`, ErrInvalidGrant},
	}, socAServerFailures()...)
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			p, s := socADiscord(t)
			s.reply(http.MethodPost, "/api/oauth2/token", f.status, f.contentType, f.body)
			_, err := p.Exchange(context.Background(), socAExchangeRequest(socAAuthRequest()))
			require.ErrorIs(t, err, f.want)
			assert.Len(t, s.requests("/api/oauth2/token"), 1)
		})
	}
}

func TestDiscordProfile(t *testing.T) {
	tests := []struct {
		name string
		user string
		want Profile
	}{
		{"verified email", socADiscordUser, Profile{
			AccountID: "80351110224678912", Email: "nelly@discord.com", EmailVerified: true, Name: "Nelly",
			AvatarURL: "https://cdn.discordapp.com/avatars/80351110224678912/8342729096ea3675442027381ff50dfe.png",
		}},
		{
			"unverified email",
			`{"id":"80351110224678912","username":"nelly","discriminator":"0","global_name":null,"avatar":null,"verified":false,"email":"nelly@discord.com"}`,
			Profile{AccountID: "80351110224678912", Email: "nelly@discord.com", Name: "nelly"},
		},
		{
			"no email scope: email null, verified still true",
			`{"id":"80351110224678912","username":"nelly","discriminator":"0","global_name":"Nelly","avatar":"a_1269e74af4df7417b13759eae50c83dc","verified":true,"email":null}`,
			Profile{AccountID: "80351110224678912", Name: "Nelly", AvatarURL: "https://cdn.discordapp.com/avatars/80351110224678912/a_1269e74af4df7417b13759eae50c83dc.png"},
		},
		{
			"email field absent (identify only)",
			`{"id":"80351110224678912","username":"nelly","discriminator":"0","global_name":null,"avatar":null}`,
			Profile{AccountID: "80351110224678912", Name: "nelly"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, s := socADiscord(t)
			s.reply(http.MethodGet, "/api/users/@me", http.StatusOK, socAJSON, tt.user)
			got, err := p.Profile(context.Background(), socATokens())
			require.NoError(t, err)
			assert.Equal(t, tt.want, *got)
			socACheckBearer(t, s.only(t, "/api/users/@me"))
		})
	}
}

func TestDiscordProfileErrors(t *testing.T) {
	failures := append(socAProfileFailures(socADiscord401),
		socAFailure{"no id", http.StatusOK, socAJSON, `{"username":"nelly","email":"nelly@discord.com","verified":true}`, ErrProviderUnavailable},
		socAFailure{"numeric id", http.StatusOK, socAJSON, `{"id":80351110224678912,"username":"nelly"}`, ErrProviderUnavailable},
	)
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			p, s := socADiscord(t)
			s.reply(http.MethodGet, "/api/users/@me", f.status, f.contentType, f.body)
			_, err := p.Profile(context.Background(), socATokens())
			require.ErrorIs(t, err, f.want)
		})
	}
}

// TestDiscordProductionURLs runs the flow on discord.com's own URLs.
func TestDiscordProductionURLs(t *testing.T) {
	s := socANewServer(t)
	s.reply(http.MethodPost, "/api/oauth2/token", http.StatusOK, socAJSON, socADiscordToken)
	s.reply(http.MethodGet, "/api/users/@me", http.StatusOK, socAJSON, socADiscordUser)
	client, rw := socARewriteClient(t, s)

	_, profile := socAFlow(t, Discord(socAClientID, socAClientSecret, WithHTTPClient(client)))
	assert.Equal(t, "80351110224678912", profile.AccountID)
	assert.Equal(t, []string{"https://discord.com/api/oauth2/token", "https://discord.com/api/users/@me"}, rw.seen())
}
