package providers

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// GitHub's documented answers (docs.github.com: "Authorizing OAuth apps",
// "Troubleshooting OAuth app access token request errors", REST "Users"
// and "Emails").
const (
	socAGitHubToken     = `{"access_token":"` + socAAccess + `","scope":"read:user,user:email","token_type":"bearer"}`
	socAGitHubTokenForm = "access_token=" + socAAccess + "&scope=read%3Auser%2Cuser%3Aemail&token_type=bearer"
	socAGitHubUser      = `{"login":"octocat","id":583231,"node_id":"MDQ6VXNlcjU4MzIzMQ==","avatar_url":"https://avatars.githubusercontent.com/u/583231?v=4","type":"User","site_admin":false,"name":"The Octocat","company":"@github","email":"octocat@public.example","created_at":"2011-01-25T18:44:36Z"}`
	socAGitHubEmails    = `[{"email":"secondary@example.com","verified":true,"primary":false,"visibility":null},{"email":"octocat@github.com","verified":true,"primary":true,"visibility":"public"}]`
	socAGitHubBadCreds  = `{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"}`
)

// socAGitHub is a GitHub Enterprise Server on a test server.
func socAGitHub(t *testing.T, opts ...Option) (Provider, *socAServer) {
	t.Helper()
	s := socANewServer(t)
	return GitHub(socAClientID, socAClientSecret, append([]Option{WithBaseURL(s.URL + "/")}, opts...)...), s
}

func TestGitHubAuthCodeURL(t *testing.T) {
	a := socAAuthRequest()
	tests := []struct {
		name         string
		opts         []Option
		extra        []string
		wantEndpoint string
		wantScope    string
	}{
		{"github.com", nil, nil, "https://github.com/login/oauth/authorize", "read:user user:email"},
		{"enterprise server", []Option{WithBaseURL("https://ghe.example.com/")}, nil, "https://ghe.example.com/login/oauth/authorize", "read:user user:email"},
		{"extra scopes", nil, []string{"read:org"}, "https://github.com/login/oauth/authorize", "read:user user:email read:org"},
		{"WithScopes replaces", []Option{WithScopes("read:user")}, nil, "https://github.com/login/oauth/authorize", "read:user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := GitHub(socAClientID, socAClientSecret, tt.opts...)
			req := a
			req.Scopes = tt.extra
			socACheckAuthURL(t, p, req, tt.wantEndpoint, tt.wantScope)
		})
	}
}

func TestGitHubNames(t *testing.T) {
	p := GitHub(socAClientID, socAClientSecret)
	assert.Equal(t, "github", p.Name())
	assert.Equal(t, "GitHub", p.DisplayName())
	assert.Equal(t, "ghe", GitHub(socAClientID, socAClientSecret, WithName("ghe")).Name())
}

func TestGitHubExchange(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
	}{
		{"JSON answer", socAJSON, socAGitHubToken},
		{"form-encoded answer (GitHub's default)", "application/x-www-form-urlencoded; charset=utf-8", socAGitHubTokenForm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, s := socAGitHub(t)
			s.reply(http.MethodPost, "/login/oauth/access_token", http.StatusOK, tt.contentType, tt.body)
			a := socAAuthRequest()
			e := socAExchangeRequest(a)

			tokens, err := p.Exchange(context.Background(), e)
			require.NoError(t, err)
			assert.Equal(t, socAAccess, tokens.AccessToken)
			assert.Nil(t, tokens.IDTokenClaims)
			r := s.only(t, "/login/oauth/access_token")
			socACheckTokenRequest(t, r, e)
			socACheckParamsAuth(t, r, socAClientSecret)
		})
	}
}

func TestGitHubExchangeErrors(t *testing.T) {
	failures := []socAFailure{
		// GitHub answers a refused code with 200 and an error field;
		// x/oauth2 reports it as a RetrieveError, never a token.
		{"bad_verification_code JSON 200", http.StatusOK, socAJSON, `{"error":"bad_verification_code","error_description":"The code passed is incorrect or expired.","error_uri":"/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code"}`, ErrInvalidGrant},
		{"bad_verification_code form 200", http.StatusOK, "application/x-www-form-urlencoded; charset=utf-8", "error=bad_verification_code&error_description=The+code+passed+is+incorrect+or+expired.", ErrInvalidGrant},
		{"incorrect_client_credentials 200", http.StatusOK, socAJSON, `{"error":"incorrect_client_credentials","error_description":"The client_id and/or client_secret passed are incorrect."}`, ErrInvalidGrant},
		{"redirect_uri_mismatch 200", http.StatusOK, socAJSON, `{"error":"redirect_uri_mismatch","error_description":"The redirect_uri MUST match the registered callback URL for this application."}`, ErrInvalidGrant},
		{"no access_token", http.StatusOK, socAJSON, `{"token_type":"bearer"}`, ErrProviderUnavailable},
	}
	failures = append(failures, socAServerFailures()...)
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			p, s := socAGitHub(t)
			s.reply(http.MethodPost, "/login/oauth/access_token", f.status, f.contentType, f.body)

			tokens, err := p.Exchange(context.Background(), socAExchangeRequest(socAAuthRequest()))
			require.ErrorIs(t, err, f.want)
			assert.Nil(t, tokens)
			assert.Len(t, s.requests("/login/oauth/access_token"), 1, "the code is sent once")
		})
	}
}

func TestGitHubProfile(t *testing.T) {
	tests := []struct {
		name      string
		user      string
		emails    string // "" means the endpoint must not be called
		emailCode int
		scope     any // the token's granted scopes, nil when absent
		want      Profile
	}{
		{
			name: "verified primary email", user: socAGitHubUser, emails: socAGitHubEmails, emailCode: 200,
			want: Profile{AccountID: "583231", Email: "octocat@github.com", EmailVerified: true, Name: "The Octocat", AvatarURL: "https://avatars.githubusercontent.com/u/583231?v=4"},
		},
		{
			name: "unverified primary: no email, even with a public /user email", user: socAGitHubUser, emailCode: 200,
			emails: `[{"email":"octocat@github.com","verified":false,"primary":true,"visibility":"public"},{"email":"other@example.com","verified":true,"primary":false,"visibility":null}]`,
			want:   Profile{AccountID: "583231", Name: "The Octocat", AvatarURL: "https://avatars.githubusercontent.com/u/583231?v=4"},
		},
		{
			name: "no emails at all", user: socAGitHubUser, emails: `[]`, emailCode: 200,
			want: Profile{AccountID: "583231", Name: "The Octocat", AvatarURL: "https://avatars.githubusercontent.com/u/583231?v=4"},
		},
		{
			name: "no name: the login is shown, the id is still the key", emails: socAGitHubEmails, emailCode: 200,
			user: `{"login":"octocat","id":9007199254740993,"avatar_url":"","name":null,"email":null}`,
			want: Profile{AccountID: "9007199254740993", Email: "octocat@github.com", EmailVerified: true, Name: "octocat"},
		},
		{
			name: "GitHub App without the email permission (403)", user: socAGitHubUser, emailCode: http.StatusForbidden,
			emails: `{"message":"Resource not accessible by integration","documentation_url":"https://docs.github.com/rest/users/emails","status":"403"}`,
			want:   Profile{AccountID: "583231", Name: "The Octocat", AvatarURL: "https://avatars.githubusercontent.com/u/583231?v=4"},
		},
		{
			name: "user:email not granted: /user/emails is not asked", user: socAGitHubUser, scope: "read:user",
			want: Profile{AccountID: "583231", Name: "The Octocat", AvatarURL: "https://avatars.githubusercontent.com/u/583231?v=4"},
		},
		{
			name: "user scope covers emails", user: socAGitHubUser, scope: "user", emails: socAGitHubEmails, emailCode: 200,
			want: Profile{AccountID: "583231", Email: "octocat@github.com", EmailVerified: true, Name: "The Octocat", AvatarURL: "https://avatars.githubusercontent.com/u/583231?v=4"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, s := socAGitHub(t)
			s.reply(http.MethodGet, "/api/v3/user", http.StatusOK, socAJSON, tt.user)
			if tt.emails != "" {
				s.reply(http.MethodGet, "/api/v3/user/emails", tt.emailCode, socAJSON, tt.emails)
			}
			tokens := socATokens()
			if tt.scope != nil {
				tokens.Token = tokens.WithExtra(map[string]any{"scope": tt.scope})
			}

			got, err := p.Profile(context.Background(), tokens)
			require.NoError(t, err)
			assert.Equal(t, tt.want, *got)
			for _, r := range s.all() {
				socACheckBearer(t, r)
				assert.Equal(t, "application/vnd.github+json", r.Header.Get("Accept"))
				assert.Equal(t, "2022-11-28", r.Header.Get("X-GitHub-Api-Version"))
			}
			if tt.emails == "" {
				assert.Empty(t, s.requests("/api/v3/user/emails"))
			}
		})
	}
}

func TestGitHubProfileErrors(t *testing.T) {
	for _, f := range socAProfileFailures(socAGitHubBadCreds) {
		t.Run("/user "+f.name, func(t *testing.T) {
			p, s := socAGitHub(t)
			s.reply(http.MethodGet, "/api/v3/user", f.status, f.contentType, f.body)
			_, err := p.Profile(context.Background(), socATokens())
			require.ErrorIs(t, err, f.want)
		})
	}
	for _, f := range socAServerFailures() {
		t.Run("/user/emails "+f.name, func(t *testing.T) {
			p, s := socAGitHub(t)
			s.reply(http.MethodGet, "/api/v3/user", http.StatusOK, socAJSON, socAGitHubUser)
			s.reply(http.MethodGet, "/api/v3/user/emails", f.status, f.contentType, f.body)
			_, err := p.Profile(context.Background(), socATokens())
			require.ErrorIs(t, err, f.want)
		})
	}
	t.Run("no id", func(t *testing.T) {
		p, s := socAGitHub(t)
		s.reply(http.MethodGet, "/api/v3/user", http.StatusOK, socAJSON, `{"login":"octocat","name":"The Octocat"}`)
		_, err := p.Profile(context.Background(), socATokens())
		require.ErrorIs(t, err, ErrProviderUnavailable)
	})
	t.Run("id is a string", func(t *testing.T) {
		p, s := socAGitHub(t)
		s.reply(http.MethodGet, "/api/v3/user", http.StatusOK, socAJSON, `{"login":"octocat","id":"octocat"}`)
		_, err := p.Profile(context.Background(), socATokens())
		require.ErrorIs(t, err, ErrProviderUnavailable)
	})
	t.Run("no access token", func(t *testing.T) {
		p, s := socAGitHub(t)
		for _, tokens := range []*Tokens{nil, {}, {Token: &oauth2.Token{}}} {
			_, err := p.Profile(context.Background(), tokens)
			require.ErrorIs(t, err, ErrInvalidGrant)
		}
		assert.Empty(t, s.all())
	})
}

// TestGitHubProductionURLs runs the flow on github.com's own URLs.
func TestGitHubProductionURLs(t *testing.T) {
	s := socANewServer(t)
	s.reply(http.MethodPost, "/login/oauth/access_token", http.StatusOK, socAJSON, socAGitHubToken)
	s.reply(http.MethodGet, "/user", http.StatusOK, socAJSON, socAGitHubUser)
	s.reply(http.MethodGet, "/user/emails", http.StatusOK, socAJSON, socAGitHubEmails)
	client, rw := socARewriteClient(t, s)

	_, profile := socAFlow(t, GitHub(socAClientID, socAClientSecret, WithHTTPClient(client)))
	assert.Equal(t, "583231", profile.AccountID)
	assert.Equal(t, []string{
		"https://github.com/login/oauth/access_token",
		"https://api.github.com/user",
		"https://api.github.com/user/emails?per_page=100",
	}, rw.seen())
}
