package providers

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// GitLab's documented answers (docs.gitlab.com: "OAuth 2.0 identity
// provider API", REST "Users": GET /user).
const (
	socAGitLabToken = `{"access_token":"` + socAAccess + `","token_type":"Bearer","expires_in":7200,"refresh_token":"8257e65c97202ed1726cf9571600918f3bffb2544b26e00a61df9897668c33a1","scope":"read_user","created_at":1607635748}`
	socAGitLabUser  = `{"id":1234567,"username":"john_smith","name":"John Smith","state":"active","locked":false,"avatar_url":"https://gitlab.example.com/uploads/-/system/user/avatar/1234567/avatar.png","web_url":"https://gitlab.example.com/john_smith","created_at":"2012-05-23T08:00:58Z","public_email":"public@example.com","email":"john@example.com","confirmed_at":"2012-05-23T09:05:22Z","two_factor_enabled":true,"commit_email":"john@example.com"}`
	socAGitLab401   = `{"message":"401 Unauthorized"}`
)

// socAGitLab is a self-managed GitLab, under a relative URL root, on a
// test server.
func socAGitLab(t *testing.T) (Provider, *socAServer) {
	t.Helper()
	s := socANewServer(t)
	return GitLab(socAClientID, socAClientSecret, WithBaseURL(s.URL+"/gitlab/")), s
}

func TestGitLabAuthCodeURL(t *testing.T) {
	a := socAAuthRequest()
	p := GitLab(socAClientID, socAClientSecret)
	socACheckAuthURL(t, p, a, "https://gitlab.com/oauth/authorize", "read_user")
	self := GitLab(socAClientID, socAClientSecret, WithBaseURL("https://git.example.com/gitlab"))
	socACheckAuthURL(t, self, a, "https://git.example.com/gitlab/oauth/authorize", "read_user")
	assert.Equal(t, "gitlab", p.Name())
	assert.Equal(t, "GitLab", p.DisplayName())
}

func TestGitLabExchange(t *testing.T) {
	p, s := socAGitLab(t)
	s.reply(http.MethodPost, "/gitlab/oauth/token", http.StatusOK, socAJSON, socAGitLabToken)
	e := socAExchangeRequest(socAAuthRequest())

	tokens, err := p.Exchange(context.Background(), e)
	require.NoError(t, err)
	assert.Equal(t, socAAccess, tokens.AccessToken)
	r := s.only(t, "/gitlab/oauth/token")
	socACheckTokenRequest(t, r, e)
	socACheckParamsAuth(t, r, socAClientSecret)
}

func TestGitLabExchangeErrors(t *testing.T) {
	failures := append([]socAFailure{
		{"invalid_grant", http.StatusBadRequest, socAJSON, `{"error":"invalid_grant","error_description":"The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."}`, ErrInvalidGrant},
		{"invalid_client", http.StatusUnauthorized, socAJSON, `{"error":"invalid_client","error_description":"Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method."}`, ErrInvalidGrant},
	}, socAServerFailures()...)
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			p, s := socAGitLab(t)
			s.reply(http.MethodPost, "/gitlab/oauth/token", f.status, f.contentType, f.body)
			_, err := p.Exchange(context.Background(), socAExchangeRequest(socAAuthRequest()))
			require.ErrorIs(t, err, f.want)
			assert.Len(t, s.requests("/gitlab/oauth/token"), 1)
		})
	}
}

func TestGitLabProfile(t *testing.T) {
	avatar := "https://gitlab.example.com/uploads/-/system/user/avatar/1234567/avatar.png"
	tests := []struct {
		name string
		user string
		want Profile
	}{
		{"confirmed account", socAGitLabUser, Profile{AccountID: "1234567", Email: "john@example.com", EmailVerified: true, Name: "John Smith", AvatarURL: avatar}},
		{
			"unconfirmed account: email kept, not verified",
			`{"id":1234567,"username":"john_smith","name":"John Smith","avatar_url":"` + avatar + `","email":"john@example.com","public_email":"john@example.com","confirmed_at":null}`,
			Profile{AccountID: "1234567", Email: "john@example.com", Name: "John Smith", AvatarURL: avatar},
		},
		{
			"no confirmed_at field",
			`{"id":1234567,"username":"john_smith","name":"John Smith","email":"john@example.com"}`,
			Profile{AccountID: "1234567", Email: "john@example.com", Name: "John Smith"},
		},
		{
			"no email (token without read_user's email)",
			`{"id":1234567,"username":"john_smith","name":"","confirmed_at":"2012-05-23T09:05:22Z"}`,
			Profile{AccountID: "1234567", Name: "john_smith"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, s := socAGitLab(t)
			s.reply(http.MethodGet, "/gitlab/api/v4/user", http.StatusOK, socAJSON, tt.user)
			got, err := p.Profile(context.Background(), socATokens())
			require.NoError(t, err)
			assert.Equal(t, tt.want, *got)
			socACheckBearer(t, s.only(t, "/gitlab/api/v4/user"))
		})
	}
}

func TestGitLabProfileErrors(t *testing.T) {
	failures := append(socAProfileFailures(socAGitLab401),
		socAFailure{"403 insufficient scope", http.StatusForbidden, socAJSON, `{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"read_user"}`, ErrInvalidGrant},
		socAFailure{"no id", http.StatusOK, socAJSON, `{"username":"john_smith","email":"john@example.com"}`, ErrProviderUnavailable},
	)
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			p, s := socAGitLab(t)
			s.reply(http.MethodGet, "/gitlab/api/v4/user", f.status, f.contentType, f.body)
			_, err := p.Profile(context.Background(), socATokens())
			require.ErrorIs(t, err, f.want)
		})
	}
	t.Run("no access token", func(t *testing.T) {
		p, _ := socAGitLab(t)
		_, err := p.Profile(context.Background(), &Tokens{})
		require.ErrorIs(t, err, ErrInvalidGrant)
	})
}

// TestGitLabProductionURLs runs the flow on gitlab.com's own URLs.
func TestGitLabProductionURLs(t *testing.T) {
	s := socANewServer(t)
	s.reply(http.MethodPost, "/oauth/token", http.StatusOK, socAJSON, socAGitLabToken)
	s.reply(http.MethodGet, "/api/v4/user", http.StatusOK, socAJSON, socAGitLabUser)
	client, rw := socARewriteClient(t, s)

	_, profile := socAFlow(t, GitLab(socAClientID, socAClientSecret, WithHTTPClient(client)))
	assert.Equal(t, "1234567", profile.AccountID)
	assert.Equal(t, []string{"https://gitlab.com/oauth/token", "https://gitlab.com/api/v4/user"}, rw.seen())
}
