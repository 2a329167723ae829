package providers

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Reddit's documented answers (github.com/reddit-archive/reddit/wiki/OAuth2
// and www.reddit.com/dev/api: GET /api/v1/me).
const (
	socARedditToken = `{"access_token":"` + socAAccess + `","token_type":"bearer","expires_in":86400,"scope":"identity"}`
	socARedditMe    = `{"is_employee":false,"has_verified_email":true,"icon_img":"https://styles.redditmedia.com/t5_6f2w1/styles/profileIcon_snoo.png?width=256&amp;height=256&amp;crop=256:256,smart&amp;s=0f4c","id":"1w72","name":"spez","created_utc":1118030400.0,"verified":true,"link_karma":1,"comment_karma":2}`
	socAReddit401   = `{"message": "Unauthorized", "error": 401}`
	socARedditUA    = "ginauth:" + socAClientID + " (github.com/ginauth/ginauth)"
)

func socAReddit(t *testing.T, opts ...Option) (Provider, *socAServer) {
	t.Helper()
	s := socANewServer(t)
	return Reddit(socAClientID, socAClientSecret, append([]Option{WithBaseURL(s.URL)}, opts...)...), s
}

func TestRedditAuthCodeURL(t *testing.T) {
	p := Reddit(socAClientID, socAClientSecret)
	q := socACheckAuthURL(t, p, socAAuthRequest(), "https://www.reddit.com/api/v1/authorize", "identity")
	assert.Equal(t, "temporary", q.Get("duration"))
	assert.Equal(t, "reddit", p.Name())
	assert.Equal(t, "Reddit", p.DisplayName())
}

func TestRedditExchange(t *testing.T) {
	p, s := socAReddit(t)
	s.reply(http.MethodPost, "/api/v1/access_token", http.StatusOK, socAJSON, socARedditToken)
	e := socAExchangeRequest(socAAuthRequest())

	tokens, err := p.Exchange(context.Background(), e)
	require.NoError(t, err)
	assert.Equal(t, socAAccess, tokens.AccessToken)
	r := s.only(t, "/api/v1/access_token")
	socACheckTokenRequest(t, r, e)
	socACheckBasicAuth(t, r)
	assert.Equal(t, socARedditUA, r.Header.Get("User-Agent"))
}

func TestRedditExchangeErrors(t *testing.T) {
	failures := append([]socAFailure{
		// Reddit answers a bad code with 200 and an error field.
		{"invalid_grant with 200", http.StatusOK, socAJSON, `{"error": "invalid_grant"}`, ErrInvalidGrant},
		{"bad client credentials", http.StatusUnauthorized, socAJSON, socAReddit401, ErrInvalidGrant},
	}, socAServerFailures()...)
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			p, s := socAReddit(t)
			s.reply(http.MethodPost, "/api/v1/access_token", f.status, f.contentType, f.body)
			_, err := p.Exchange(context.Background(), socAExchangeRequest(socAAuthRequest()))
			require.ErrorIs(t, err, f.want)
			assert.Len(t, s.requests("/api/v1/access_token"), 1)
		})
	}
}

func TestRedditProfile(t *testing.T) {
	tests := []struct {
		name string
		me   string
		want Profile
	}{
		{"account with a verified email: Reddit still gives none", socARedditMe, Profile{
			AccountID: "1w72", Name: "spez",
			AvatarURL: "https://styles.redditmedia.com/t5_6f2w1/styles/profileIcon_snoo.png?width=256&height=256&crop=256:256,smart&s=0f4c",
		}},
		{"no icon", `{"id":"abc123","name":"someone","icon_img":""}`, Profile{AccountID: "abc123", Name: "someone"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, s := socAReddit(t)
			s.reply(http.MethodGet, "/api/v1/me", http.StatusOK, socAJSON, tt.me)
			got, err := p.Profile(context.Background(), socATokens())
			require.NoError(t, err)
			assert.Equal(t, tt.want, *got)
			r := s.only(t, "/api/v1/me")
			socACheckBearer(t, r)
			assert.Equal(t, socARedditUA, r.Header.Get("User-Agent"))
		})
	}
}

func TestRedditProfileErrors(t *testing.T) {
	failures := append(socAProfileFailures(socAReddit401),
		socAFailure{"no id", http.StatusOK, socAJSON, `{"name":"spez"}`, ErrProviderUnavailable},
	)
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			p, s := socAReddit(t)
			s.reply(http.MethodGet, "/api/v1/me", f.status, f.contentType, f.body)
			_, err := p.Profile(context.Background(), socATokens())
			require.ErrorIs(t, err, f.want)
		})
	}
}

// socAUATransport sets the app's own User-Agent.
type socAUATransport struct{}

func (socAUATransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", "web:com.example.app:v2.0 (by /u/example)")
	return http.DefaultTransport.RoundTrip(r)
}

func TestRedditUserAgent(t *testing.T) {
	client := &http.Client{Transport: socAUATransport{}}
	p, s := socAReddit(t, WithHTTPClient(client))
	s.reply(http.MethodPost, "/api/v1/access_token", http.StatusOK, socAJSON, socARedditToken)
	s.reply(http.MethodGet, "/api/v1/me", http.StatusOK, socAJSON, socARedditMe)

	socAFlow(t, p)
	for _, r := range s.all() {
		assert.Equal(t, "web:com.example.app:v2.0 (by /u/example)", r.Header.Get("User-Agent"), r.URL.Path)
	}
	assert.Equal(t, socAUATransport{}, client.Transport, "the caller's client is not changed")
}

// TestRedditProductionURLs runs the flow on Reddit's own URLs.
func TestRedditProductionURLs(t *testing.T) {
	s := socANewServer(t)
	s.reply(http.MethodPost, "/api/v1/access_token", http.StatusOK, socAJSON, socARedditToken)
	s.reply(http.MethodGet, "/api/v1/me", http.StatusOK, socAJSON, socARedditMe)
	client, rw := socARewriteClient(t, s)

	_, profile := socAFlow(t, Reddit(socAClientID, socAClientSecret, WithHTTPClient(client)))
	assert.Equal(t, "1w72", profile.AccountID)
	assert.Empty(t, profile.Email)
	assert.False(t, profile.EmailVerified)
	assert.Equal(t, []string{"https://www.reddit.com/api/v1/access_token", "https://oauth.reddit.com/api/v1/me"}, rw.seen())
}
