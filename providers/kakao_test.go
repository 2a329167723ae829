package providers

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	socBKakaoToken = "POST /oauth/token"
	socBKakaoMe    = "GET /v2/user/me"
)

func TestKakaoAuthURL(t *testing.T) {
	p := Kakao(socBClientID, socBSecret)
	assert.Equal(t, "kakao", p.Name())
	assert.Equal(t, "Kakao", p.DisplayName())
	q := socBCheckAuthURL(t, p, "https://kauth.kakao.com/oauth/authorize")
	assert.False(t, q.Has("scope"), "consent items come from the app's settings by default")

	p = Kakao(socBClientID, socBSecret, WithScopes("profile_nickname", "account_email"))
	q = socBCheckAuthURL(t, p, "https://kauth.kakao.com/oauth/authorize")
	assert.Equal(t, "profile_nickname account_email", q.Get("scope"))
}

// socBKakaoUser is a /v2/user/me answer with the given email flags.
func socBKakaoUser(email string, valid, verified bool) string {
	b := func(v bool) string {
		if v {
			return "true"
		}
		return "false"
	}
	account := `"profile_nickname_needs_agreement":false,"profile":{"nickname":"홍길동","thumbnail_image_url":"https://k.kakaocdn.net/t.jpg","profile_image_url":"https://k.kakaocdn.net/p.jpg","is_default_image":false}`
	if email != "" {
		account += `,"email_needs_agreement":false,"is_email_valid":` + b(valid) + `,"is_email_verified":` + b(verified) + `,"email":"` + email + `"`
	} else {
		account += `,"email_needs_agreement":true`
	}
	return `{"id":3138472981,"connected_at":"2022-04-11T01:45:28Z","properties":{"nickname":"홍길동"},"kakao_account":{` + account + `}}`
}

func TestKakaoProfile(t *testing.T) {
	base := Profile{AccountID: "3138472981", Name: "홍길동", AvatarURL: "https://k.kakaocdn.net/p.jpg"}
	with := func(email string, verified bool) *Profile {
		p := base
		p.Email, p.EmailVerified = email, verified
		return &p
	}
	cases := []struct {
		name string
		me   string
		want *Profile
	}{
		{"valid and verified email", socBKakaoUser("a@example.com", true, true), with("a@example.com", true)},
		{"verified but no longer valid", socBKakaoUser("a@example.com", false, true), with("a@example.com", false)},
		{"valid but unverified", socBKakaoUser("a@example.com", true, false), with("a@example.com", false)},
		{"no consent to email", socBKakaoUser("", false, false), with("", false)},
		{"id beyond 2^53 keeps its digits", `{"id":9007199254740993,"kakao_account":{}}`, &Profile{AccountID: "9007199254740993"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			token := socBRespond(http.StatusOK, `{"token_type":"bearer","access_token":"access-token-jkl","expires_in":21599,"refresh_token":"r","refresh_token_expires_in":5183999}`)
			me := socBRespond(http.StatusOK, tc.me)
			srv := socBServer(t, map[string]*socBEndpoint{socBKakaoToken: token, socBKakaoMe: me})

			profile, err := socBFlow(Kakao(socBClientID, socBSecret, WithBaseURL(srv)))
			require.NoError(t, err)
			assert.Equal(t, tc.want, profile)

			header, _, form, _ := token.last()
			socBCheckTokenForm(t, form)
			socBCheckSecretInForm(t, header, form)
			header, query, _, _ := me.last()
			assert.Equal(t, "Bearer "+socBAccessToken, header.Get("Authorization"))
			assert.Equal(t, "true", query.Get("secure_resource"))
		})
	}
}

func TestKakaoErrors(t *testing.T) {
	cases := socBCommonErrorCases(http.StatusBadRequest,
		`{"error":"invalid_grant","error_description":"authorization code not found for code=code-ghi","error_code":"KOE320"}`,
		socBKakaoUser("a@example.com", true, true))
	cases = append(cases,
		socBErrorCase{name: "profile: Kakao's 401 shape", tokenStatus: http.StatusOK, tokenBody: socBTokenJSON,
			profileStatus: http.StatusUnauthorized, profileBody: `{"msg":"this access token does not exist","code":-401}`, want: ErrInvalidGrant},
		socBErrorCase{name: "profile: id as a string is a type error", tokenStatus: http.StatusOK, tokenBody: socBTokenJSON,
			profileStatus: http.StatusOK, profileBody: `{"id":"3138472981"}`, want: ErrProviderUnavailable},
		socBErrorCase{name: "profile: zero id", tokenStatus: http.StatusOK, tokenBody: socBTokenJSON,
			profileStatus: http.StatusOK, profileBody: `{"id":0,"kakao_account":{"email":"a@example.com","is_email_valid":true,"is_email_verified":true}}`, want: ErrProviderUnavailable},
	)
	socBRunErrorCases(t, cases, socBKakaoToken, socBKakaoMe, func(base string) Provider {
		return Kakao(socBClientID, socBSecret, WithBaseURL(base))
	})
}
