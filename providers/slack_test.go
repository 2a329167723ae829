package providers

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	socBSlackToken    = "POST /api/openid.connect.token"
	socBSlackUserInfo = "GET /api/openid.connect.userInfo"
	socBSlackTokenOK  = `{"ok":true,"access_token":"access-token-jkl","token_type":"Bearer","id_token":"eyJ.unused.sig"}`
)

func TestSlackAuthURL(t *testing.T) {
	p := Slack(socBClientID, socBSecret)
	assert.Equal(t, "slack", p.Name())
	assert.Equal(t, "Slack", p.DisplayName())
	q := socBCheckAuthURL(t, p, "https://slack.com/openid/connect/authorize")
	assert.Equal(t, "openid profile email", q.Get("scope"))
	assert.Equal(t, socBNonce, q.Get("nonce"))
}

func TestSlackProfile(t *testing.T) {
	cases := []struct {
		name     string
		userinfo string
		want     *Profile
	}{
		{
			name:     "verified email",
			userinfo: `{"ok":true,"sub":"U0R7JM","https://slack.com/user_id":"U0R7JM","https://slack.com/team_id":"T0R7GR","email":"krane@example.com","email_verified":true,"date_email_verified":1622128723,"name":"krane","picture":"https://secure.gravatar.com/avatar/k.png","given_name":"Bront","family_name":"Labradoodle","locale":"en-US","https://slack.com/team_name":"kraneflannel","https://slack.com/team_domain":"kraneflannel","https://slack.com/team_image_default":true}`,
			want:     &Profile{AccountID: "T0R7GR:U0R7JM", Email: "krane@example.com", EmailVerified: true, Name: "krane", AvatarURL: "https://secure.gravatar.com/avatar/k.png"},
		},
		{
			name:     "same user id in another workspace is another account",
			userinfo: `{"ok":true,"sub":"U0R7JM","https://slack.com/user_id":"U0R7JM","https://slack.com/team_id":"T9OTHER","email":"krane@example.com","email_verified":false,"name":"krane"}`,
			want:     &Profile{AccountID: "T9OTHER:U0R7JM", Email: "krane@example.com", Name: "krane"},
		},
		{
			name:     "no email scope",
			userinfo: `{"ok":true,"sub":"U0R7JM","https://slack.com/team_id":"T0R7GR","name":"krane"}`,
			want:     &Profile{AccountID: "T0R7GR:U0R7JM", Name: "krane"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			token := socBRespond(http.StatusOK, socBSlackTokenOK)
			userinfo := socBRespond(http.StatusOK, tc.userinfo)
			base := socBServer(t, map[string]*socBEndpoint{socBSlackToken: token, socBSlackUserInfo: userinfo})

			profile, err := socBFlow(Slack(socBClientID, socBSecret, WithBaseURL(base)))
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

func TestSlackIssuer(t *testing.T) {
	token := socBRespond(http.StatusOK, socBSlackTokenOK)
	base := socBServer(t, map[string]*socBEndpoint{socBSlackToken: token})
	p := Slack(socBClientID, socBSecret, WithBaseURL(base))

	req := socBExchangeRequest()
	req.Issuer = "https://slack.com.evil.example"
	_, err := p.Exchange(context.Background(), req)
	require.ErrorIs(t, err, ErrInvalidGrant)
	assert.Zero(t, token.callCount())

	req.Issuer = "https://slack.com"
	_, err = p.Exchange(context.Background(), req)
	require.NoError(t, err)
}

func TestSlackErrors(t *testing.T) {
	good := `{"ok":true,"sub":"U1","https://slack.com/team_id":"T1"}`
	// Slack refuses a bad code with HTTP 200.
	cases := socBCommonErrorCases(http.StatusOK, `{"ok":false,"error":"invalid_code"}`, good)
	tokenOK := func(name string, status int, body string, want error) socBErrorCase {
		return socBErrorCase{name: name, tokenStatus: http.StatusOK, tokenBody: socBSlackTokenOK, profileStatus: status, profileBody: body, want: want}
	}
	cases = append(cases,
		socBErrorCase{name: "token: code already used", tokenStatus: http.StatusOK, tokenBody: `{"ok":false,"error":"code_already_used"}`, want: ErrInvalidGrant, wantNoProfileCall: true},
		socBErrorCase{name: "token: bad redirect uri", tokenStatus: http.StatusOK, tokenBody: `{"ok":false,"error":"bad_redirect_uri"}`, want: ErrInvalidGrant, wantNoProfileCall: true},
		socBErrorCase{name: "token: ratelimited with 200", tokenStatus: http.StatusOK, tokenBody: `{"ok":false,"error":"ratelimited"}`, want: ErrProviderUnavailable, wantNoProfileCall: true},
		socBErrorCase{name: "token: internal_error", tokenStatus: http.StatusOK, tokenBody: `{"ok":false,"error":"internal_error"}`, want: ErrProviderUnavailable, wantNoProfileCall: true},
		socBErrorCase{name: "token: 429", tokenStatus: http.StatusTooManyRequests, tokenBody: `{"ok":false,"error":"ratelimited"}`, want: ErrProviderUnavailable, wantNoProfileCall: true},
		socBErrorCase{name: "token: ok false without error", tokenStatus: http.StatusOK, tokenBody: `{"ok":false}`, want: ErrProviderUnavailable, wantNoProfileCall: true},
		tokenOK("userinfo: invalid_auth", http.StatusOK, `{"ok":false,"error":"invalid_auth"}`, ErrInvalidGrant),
		tokenOK("userinfo: token_revoked", http.StatusOK, `{"ok":false,"error":"token_revoked"}`, ErrInvalidGrant),
		tokenOK("userinfo: not_authed", http.StatusOK, `{"ok":false,"error":"not_authed"}`, ErrInvalidGrant),
		tokenOK("userinfo: fatal_error", http.StatusOK, `{"ok":false,"error":"fatal_error"}`, ErrProviderUnavailable),
		tokenOK("userinfo: ratelimited", http.StatusOK, `{"ok":false,"error":"ratelimited"}`, ErrProviderUnavailable),
		tokenOK("userinfo: no ok field", http.StatusOK, `{"sub":"U1","https://slack.com/team_id":"T1"}`, ErrProviderUnavailable),
		tokenOK("userinfo: no team id", http.StatusOK, `{"ok":true,"sub":"U1"}`, ErrProviderUnavailable),
		tokenOK("userinfo: no sub", http.StatusOK, `{"ok":true,"https://slack.com/team_id":"T1"}`, ErrProviderUnavailable),
	)
	socBRunErrorCases(t, cases, socBSlackToken, socBSlackUserInfo, func(base string) Provider {
		return Slack(socBClientID, socBSecret, WithBaseURL(base))
	})
}
