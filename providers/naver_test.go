package providers

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	socBNaverToken = "POST /oauth2.0/token"
	socBNaverMe    = "GET /v1/nid/me"
)

func TestNaverAuthURL(t *testing.T) {
	p := Naver(socBClientID, socBSecret)
	assert.Equal(t, "naver", p.Name())
	assert.Equal(t, "Naver", p.DisplayName())
	q := socBCheckAuthURL(t, p, "https://nid.naver.com/oauth2.0/authorize")
	assert.False(t, q.Has("scope"))
}

func TestNaverProfile(t *testing.T) {
	cases := []struct {
		name string
		me   string
		want *Profile
	}{
		{
			name: "email is never taken as verified",
			me:   `{"resultcode":"00","message":"success","response":{"id":"32742776","nickname":"OpenAPI","name":"오픈 API","email":"openapi@naver.com","gender":"F","age":"40-49","birthday":"10-01","profile_image":"https://ssl.pstatic.net/static/pwe/address/nodata_33x33.gif"}}`,
			want: &Profile{AccountID: "32742776", Email: "openapi@naver.com", Name: "오픈 API", AvatarURL: "https://ssl.pstatic.net/static/pwe/address/nodata_33x33.gif"},
		},
		{
			name: "no email consent, nickname only",
			me:   `{"resultcode":"00","message":"success","response":{"id":"32742776","nickname":"OpenAPI"}}`,
			want: &Profile{AccountID: "32742776", Name: "OpenAPI"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			token := socBRespond(http.StatusOK, `{"access_token":"access-token-jkl","refresh_token":"r","token_type":"bearer","expires_in":"3600"}`)
			me := socBRespond(http.StatusOK, tc.me)
			base := socBServer(t, map[string]*socBEndpoint{socBNaverToken: token, socBNaverMe: me})

			profile, err := socBFlow(Naver(socBClientID, socBSecret, WithBaseURL(base)))
			require.NoError(t, err)
			assert.Equal(t, tc.want, profile)

			header, _, form, _ := token.last()
			socBCheckTokenForm(t, form)
			socBCheckSecretInForm(t, header, form)
			header, _, _, _ = me.last()
			assert.Equal(t, "Bearer "+socBAccessToken, header.Get("Authorization"))
		})
	}
}

func TestNaverErrors(t *testing.T) {
	good := `{"resultcode":"00","message":"success","response":{"id":"32742776"}}`
	// Naver refuses a bad code with HTTP 200 and an error field.
	cases := socBCommonErrorCases(http.StatusOK, `{"error":"invalid_request","error_description":"no valid data in session"}`, good)
	me := func(name, body string, want error) socBErrorCase {
		return socBErrorCase{name: name, tokenStatus: http.StatusOK, tokenBody: socBTokenJSON, profileStatus: http.StatusOK, profileBody: body, want: want}
	}
	cases = append(cases,
		me("profile: resultcode 024 with 200", `{"resultcode":"024","message":"Authentication failed / 인증에 실패했습니다."}`, ErrInvalidGrant),
		me("profile: resultcode 028 with 200", `{"resultcode":"028","message":"Authentication header not exists"}`, ErrInvalidGrant),
		me("profile: resultcode 500 with 200", `{"resultcode":"500","message":"Internal Server Error"}`, ErrProviderUnavailable),
		me("profile: no resultcode", `{"response":{"id":"32742776"}}`, ErrProviderUnavailable),
		me("profile: success without id", `{"resultcode":"00","message":"success","response":{}}`, ErrProviderUnavailable),
		socBErrorCase{name: "profile: Naver's 401 shape", tokenStatus: http.StatusOK, tokenBody: socBTokenJSON,
			profileStatus: http.StatusUnauthorized, profileBody: `{"resultcode":"024","message":"Authentication failed / 인증에 실패했습니다."}`, want: ErrInvalidGrant},
	)
	socBRunErrorCases(t, cases, socBNaverToken, socBNaverMe, func(base string) Provider {
		return Naver(socBClientID, socBSecret, WithBaseURL(base))
	})
}
