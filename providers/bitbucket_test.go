package providers

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Bitbucket Cloud's documented answers (developer.atlassian.com: "OAuth
// 2.0", REST "Users": GET /user and GET /user/emails).
const (
	socABitbucketToken  = `{"access_token":"` + socAAccess + `","scopes":"account email","expires_in":7200,"refresh_token":"Wr7h3ErN2Bkp4dUrEzyg3Q","token_type":"bearer","state":"authorization_code"}`
	socABitbucketUser   = `{"display_name":"Emma Paris","links":{"self":{"href":"https://api.bitbucket.org/2.0/users/%7Bd301aafa-d676-4ee0-88be-962be7417567%7D"},"avatar":{"href":"https://secure.gravatar.com/avatar/1f2c.png"},"html":{"href":"https://bitbucket.org/%7Bd301aafa-d676-4ee0-88be-962be7417567%7D/"}},"created_on":"2018-05-02T21:43:38.567876+00:00","type":"user","uuid":"{d301aafa-d676-4ee0-88be-962be7417567}","has_2fa_enabled":null,"username":"emmap1","is_staff":false,"account_id":"557058:ba8948b2-49da-43a9-9e8b-e7249b8e324a","nickname":"emmap1","account_status":"active"}`
	socABitbucketEmails = `{"pagelen":10,"values":[{"is_primary":false,"is_confirmed":true,"type":"email","email":"old@example.com"},{"is_primary":true,"is_confirmed":true,"type":"email","email":"emma@example.com","links":{"self":{"href":"https://api.bitbucket.org/2.0/user/emails/emma@example.com"}}}],"page":1,"size":2}`
	socABitbucket401    = `{"type":"error","error":{"message":"Access token expired. Use your refresh token to obtain a new access token."}}`
	socABitbucketUUID   = "{d301aafa-d676-4ee0-88be-962be7417567}"
)

func socABitbucket(t *testing.T) (Provider, *socAServer) {
	t.Helper()
	s := socANewServer(t)
	return Bitbucket(socAClientID, socAClientSecret, WithBaseURL(s.URL)), s
}

func TestBitbucketAuthCodeURL(t *testing.T) {
	p := Bitbucket(socAClientID, socAClientSecret)
	socACheckAuthURL(t, p, socAAuthRequest(), "https://bitbucket.org/site/oauth2/authorize", "account email")
	assert.Equal(t, "bitbucket", p.Name())
	assert.Equal(t, "Bitbucket", p.DisplayName())
}

func TestBitbucketExchange(t *testing.T) {
	p, s := socABitbucket(t)
	s.reply(http.MethodPost, "/site/oauth2/access_token", http.StatusOK, socAJSON, socABitbucketToken)
	e := socAExchangeRequest(socAAuthRequest())

	tokens, err := p.Exchange(context.Background(), e)
	require.NoError(t, err)
	assert.Equal(t, socAAccess, tokens.AccessToken)
	r := s.only(t, "/site/oauth2/access_token")
	socACheckTokenRequest(t, r, e)
	socACheckBasicAuth(t, r)
}

func TestBitbucketExchangeErrors(t *testing.T) {
	failures := append([]socAFailure{
		{"invalid_grant", http.StatusBadRequest, socAJSON, `{"error_description":"The specified code is not valid.","error":"invalid_grant"}`, ErrInvalidGrant},
		{"unauthorized_client", http.StatusBadRequest, socAJSON, `{"error_description":"Invalid OAuth client credentials","error":"unauthorized_client"}`, ErrInvalidGrant},
	}, socAServerFailures()...)
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			p, s := socABitbucket(t)
			s.reply(http.MethodPost, "/site/oauth2/access_token", f.status, f.contentType, f.body)
			_, err := p.Exchange(context.Background(), socAExchangeRequest(socAAuthRequest()))
			require.ErrorIs(t, err, f.want)
			assert.Len(t, s.requests("/site/oauth2/access_token"), 1)
		})
	}
}

func TestBitbucketProfile(t *testing.T) {
	base := Profile{AccountID: socABitbucketUUID, Name: "Emma Paris", AvatarURL: "https://secure.gravatar.com/avatar/1f2c.png"}
	withEmail := base
	withEmail.Email, withEmail.EmailVerified = "emma@example.com", true
	const page = `{"pagelen":1,"values":[{"is_primary":%s,"is_confirmed":%s,"type":"email","email":"%s"}],"page":1,"size":2%s}`
	tests := []struct {
		name   string
		status int
		emails string // NEXT stands for the test server's own page-2 URL
		page2  string
		want   Profile
	}{
		{"primary and confirmed", 200, socABitbucketEmails, "", withEmail},
		{"primary not confirmed", 200, fmt.Sprintf(page, "true", "false", "emma@example.com", ""), "", base},
		{"confirmed but not primary", 200, fmt.Sprintf(page, "false", "true", "old@example.com", ""), "", base},
		{"no emails", 200, `{"pagelen":10,"values":[],"page":1,"size":0}`, "", base},
		{
			"consumer without the email scope (403)", http.StatusForbidden,
			`{"type":"error","error":{"message":"Your credentials lack one or more required privilege scopes.","detail":{"granted":["account"],"required":["email"]}}}`,
			"", base,
		},
		{
			"primary on the second page", 200,
			fmt.Sprintf(page, "false", "true", "old@example.com", `,"next":"NEXT"`),
			fmt.Sprintf(page, "true", "true", "emma@example.com", ""),
			withEmail,
		},
		{
			"a next link to another host is not followed", 200,
			fmt.Sprintf(page, "false", "true", "old@example.com", `,"next":"https://attacker.example/2.0/user/emails?page=2"`),
			fmt.Sprintf(page, "true", "true", "emma@example.com", ""),
			base,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, s := socABitbucket(t)
			s.reply(http.MethodGet, "/2.0/user", http.StatusOK, socAJSON, socABitbucketUser)
			s.handle(http.MethodGet, "/2.0/user/emails", func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Get("page") == "2" {
					socAWrite(w, http.StatusOK, socAJSON, tt.page2)
					return
				}
				socAWrite(w, tt.status, socAJSON, strings.Replace(tt.emails, "NEXT", s.URL+"/2.0/user/emails?page=2", 1))
			})

			got, err := p.Profile(context.Background(), socATokens())
			require.NoError(t, err)
			assert.Equal(t, tt.want, *got)
			for _, r := range s.all() {
				socACheckBearer(t, r)
			}
		})
	}
}

func TestBitbucketProfileErrors(t *testing.T) {
	failures := append(socAProfileFailures(socABitbucket401),
		socAFailure{"no uuid", http.StatusOK, socAJSON, `{"display_name":"Emma Paris","account_id":"557058:ba8948b2","nickname":"emmap1"}`, ErrProviderUnavailable},
	)
	for _, f := range failures {
		t.Run("/2.0/user "+f.name, func(t *testing.T) {
			p, s := socABitbucket(t)
			s.reply(http.MethodGet, "/2.0/user", f.status, f.contentType, f.body)
			_, err := p.Profile(context.Background(), socATokens())
			require.ErrorIs(t, err, f.want)
		})
	}
	for _, f := range socAServerFailures() {
		t.Run("/2.0/user/emails "+f.name, func(t *testing.T) {
			p, s := socABitbucket(t)
			s.reply(http.MethodGet, "/2.0/user", http.StatusOK, socAJSON, socABitbucketUser)
			s.reply(http.MethodGet, "/2.0/user/emails", f.status, f.contentType, f.body)
			_, err := p.Profile(context.Background(), socATokens())
			require.ErrorIs(t, err, f.want)
		})
	}
}

// TestBitbucketProductionURLs runs the flow on Bitbucket Cloud's own URLs.
func TestBitbucketProductionURLs(t *testing.T) {
	s := socANewServer(t)
	s.reply(http.MethodPost, "/site/oauth2/access_token", http.StatusOK, socAJSON, socABitbucketToken)
	s.reply(http.MethodGet, "/2.0/user", http.StatusOK, socAJSON, socABitbucketUser)
	s.reply(http.MethodGet, "/2.0/user/emails", http.StatusOK, socAJSON, socABitbucketEmails)
	client, rw := socARewriteClient(t, s)

	_, profile := socAFlow(t, Bitbucket(socAClientID, socAClientSecret, WithHTTPClient(client)))
	assert.Equal(t, socABitbucketUUID, profile.AccountID)
	assert.Equal(t, []string{
		"https://bitbucket.org/site/oauth2/access_token",
		"https://api.bitbucket.org/2.0/user",
		"https://api.bitbucket.org/2.0/user/emails",
	}, rw.seen())
}
