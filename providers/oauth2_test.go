package providers

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

// Values every socB test flow uses.
const (
	socBClientID    = "client-id-123"
	socBSecret      = "client-secret-456"
	socBRedirect    = "https://app.example.com/auth/p/callback"
	socBVerifier    = "socb-verifier-0123456789-0123456789-0123456789"
	socBState       = "state-abc"
	socBNonce       = "nonce-def"
	socBCode        = "code-ghi"
	socBAccessToken = "access-token-jkl"
	socBTokenJSON   = `{"access_token":"access-token-jkl","token_type":"bearer","expires_in":3600}`
)

// socBEndpoint is one endpoint of a fake provider: it answers with a
// configurable status and body and records the last request it got.
type socBEndpoint struct {
	mu          sync.Mutex
	status      int
	body        string
	contentType string
	calls       int
	header      http.Header
	query       url.Values
	form        url.Values
	rawBody     []byte
}

func socBRespond(status int, body string) *socBEndpoint {
	return &socBEndpoint{status: status, body: body, contentType: "application/json"}
}

func (e *socBEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	form := url.Values{}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/x-www-form-urlencoded" {
		form, _ = url.ParseQuery(string(raw))
	}
	e.mu.Lock()
	e.calls++
	e.header, e.query, e.form, e.rawBody = r.Header.Clone(), r.URL.Query(), form, raw
	status, body, ct := e.status, e.body, e.contentType
	e.mu.Unlock()
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// last returns the header, query, form and raw body of the last request.
func (e *socBEndpoint) last() (http.Header, url.Values, url.Values, []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.header, e.query, e.form, e.rawBody
}

func (e *socBEndpoint) callCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.calls
}

// socBServer starts a fake provider serving routes ("METHOD /path") and
// returns its base URL. Any other path answers 404, so a provider calling
// a wrong path fails the test.
func socBServer(t *testing.T, routes map[string]*socBEndpoint) string {
	t.Helper()
	mux := http.NewServeMux()
	for pattern, e := range routes {
		mux.Handle(pattern, e)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

func socBAuthRequest() AuthRequest {
	return AuthRequest{State: socBState, RedirectURL: socBRedirect, CodeVerifier: socBVerifier, Nonce: socBNonce}
}

func socBExchangeRequest() ExchangeRequest {
	return ExchangeRequest{Code: socBCode, RedirectURL: socBRedirect, CodeVerifier: socBVerifier, Nonce: socBNonce}
}

// socBCheckAuthURL checks the parts of an authorization URL every
// provider must get right and returns its query for the rest.
func socBCheckAuthURL(t *testing.T, p Provider, wantEndpoint string) url.Values {
	t.Helper()
	u, err := url.Parse(p.AuthCodeURL(socBAuthRequest()))
	require.NoError(t, err)
	assert.Equal(t, wantEndpoint, u.Scheme+"://"+u.Host+u.Path)
	q := u.Query()
	assert.Equal(t, "code", q.Get("response_type"))
	assert.Equal(t, socBClientID, q.Get("client_id"))
	assert.Equal(t, socBRedirect, q.Get("redirect_uri"))
	assert.Equal(t, socBState, q.Get("state"))
	assert.Equal(t, "S256", q.Get("code_challenge_method"))
	assert.Equal(t, oauth2.S256ChallengeFromVerifier(socBVerifier), q.Get("code_challenge"))
	assert.NotContains(t, u.RawQuery, socBVerifier, "the verifier never leaves the server")
	assert.NotContains(t, u.RawQuery, socBSecret, "the secret never goes to the browser")
	return q
}

// socBCheckTokenForm checks the form of an authorization_code token
// request: code, redirect_uri and PKCE verifier.
func socBCheckTokenForm(t *testing.T, form url.Values) {
	t.Helper()
	assert.Equal(t, "authorization_code", form.Get("grant_type"))
	assert.Equal(t, socBCode, form.Get("code"))
	assert.Equal(t, socBRedirect, form.Get("redirect_uri"))
	assert.Equal(t, socBVerifier, form.Get("code_verifier"))
}

// socBCheckSecretInForm checks client_secret_post authentication.
func socBCheckSecretInForm(t *testing.T, header http.Header, form url.Values) {
	t.Helper()
	assert.Equal(t, socBClientID, form.Get("client_id"))
	assert.Equal(t, socBSecret, form.Get("client_secret"))
	assert.Empty(t, header.Get("Authorization"))
}

// socBCheckSecretInBasic checks client_secret_basic authentication.
func socBCheckSecretInBasic(t *testing.T, header http.Header, form url.Values) {
	t.Helper()
	req := &http.Request{Header: header}
	id, secret, ok := req.BasicAuth()
	require.True(t, ok, "HTTP Basic client authentication")
	assert.Equal(t, socBClientID, id)
	assert.Equal(t, socBSecret, secret)
	assert.Empty(t, form.Get("client_secret"), "the secret travels once, in the header")
}

// socBFlow runs Exchange then Profile, as the callback route does.
func socBFlow(p Provider) (*Profile, error) {
	tokens, err := p.Exchange(context.Background(), socBExchangeRequest())
	if err != nil {
		return nil, err
	}
	return p.Profile(context.Background(), tokens)
}

// socBErrorCase is one failure of a fake provider and the error value the
// flow must end with.
type socBErrorCase struct {
	name              string
	tokenStatus       int
	tokenBody         string
	profileStatus     int
	profileBody       string
	want              error
	wantNoProfileCall bool
}

// socBOversized is a JSON body larger than the 1 MiB cap.
var socBOversized = `{"id":"` + strings.Repeat("a", maxResponseBytes) + `"}`

// socBCommonErrorCases are the failures every provider maps the same way.
// refusal is the provider's own answer to a bad code.
func socBCommonErrorCases(refusalStatus int, refusal, goodProfile string) []socBErrorCase {
	return []socBErrorCase{
		{name: "token endpoint refuses the code", tokenStatus: refusalStatus, tokenBody: refusal, want: ErrInvalidGrant, wantNoProfileCall: true},
		{name: "token endpoint 5xx", tokenStatus: http.StatusBadGateway, tokenBody: `<html>bad gateway</html>`, want: ErrProviderUnavailable, wantNoProfileCall: true},
		{name: "token endpoint malformed", tokenStatus: http.StatusOK, tokenBody: `{"access_token":`, want: ErrProviderUnavailable, wantNoProfileCall: true},
		{name: "token endpoint without access token", tokenStatus: http.StatusOK, tokenBody: `{"token_type":"bearer"}`, want: ErrProviderUnavailable, wantNoProfileCall: true},
		{name: "profile 401", tokenStatus: http.StatusOK, tokenBody: socBTokenJSON, profileStatus: http.StatusUnauthorized, profileBody: `{}`, want: ErrInvalidGrant},
		{name: "profile 5xx", tokenStatus: http.StatusOK, tokenBody: socBTokenJSON, profileStatus: http.StatusServiceUnavailable, profileBody: `{}`, want: ErrProviderUnavailable},
		{name: "profile 429", tokenStatus: http.StatusOK, tokenBody: socBTokenJSON, profileStatus: http.StatusTooManyRequests, profileBody: `{}`, want: ErrProviderUnavailable},
		{name: "profile malformed", tokenStatus: http.StatusOK, tokenBody: socBTokenJSON, profileStatus: http.StatusOK, profileBody: `{"id":`, want: ErrProviderUnavailable},
		{name: "profile oversized", tokenStatus: http.StatusOK, tokenBody: socBTokenJSON, profileStatus: http.StatusOK, profileBody: socBOversized, want: ErrProviderUnavailable},
		{name: "profile without id", tokenStatus: http.StatusOK, tokenBody: socBTokenJSON, profileStatus: http.StatusOK, profileBody: `{}`, want: ErrProviderUnavailable},
		{name: "good flow", tokenStatus: http.StatusOK, tokenBody: socBTokenJSON, profileStatus: http.StatusOK, profileBody: goodProfile},
	}
}

// socBRunErrorCases drives each case through a fresh fake provider whose
// token endpoint is tokenRoute and profile endpoint profileRoute.
func socBRunErrorCases(t *testing.T, cases []socBErrorCase, tokenRoute, profileRoute string, build func(base string) Provider) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			token := socBRespond(tc.tokenStatus, tc.tokenBody)
			profile := socBRespond(tc.profileStatus, tc.profileBody)
			base := socBServer(t, map[string]*socBEndpoint{tokenRoute: token, profileRoute: profile})
			p, err := socBFlow(build(base))
			if tc.want == nil {
				require.NoError(t, err)
				require.NotNil(t, p)
				assert.NotEmpty(t, p.AccountID)
				return
			}
			require.Error(t, err)
			assert.Nil(t, p)
			assert.ErrorIs(t, err, tc.want)
			other := ErrInvalidGrant
			if errors.Is(tc.want, ErrInvalidGrant) {
				other = ErrProviderUnavailable
			}
			assert.NotErrorIs(t, err, other, "exactly one of the two error values")
			if tc.wantNoProfileCall {
				assert.Zero(t, profile.callCount(), "no profile call after a failed exchange")
			}
		})
	}
}

// socBGenericConfig is a valid OAuth2Config against base.
func socBGenericConfig(base string) OAuth2Config {
	return OAuth2Config{
		Name:         "gitea",
		DisplayName:  "Gitea",
		ClientID:     socBClientID,
		ClientSecret: socBSecret,
		AuthURL:      base + "/login/oauth/authorize",
		TokenURL:     base + "/login/oauth/access_token",
		Scopes:       []string{"read:user"},
		AuthStyle:    oauth2.AuthStyleInHeader,
		Issuer:       "https://gitea.example.com",
		Profile:      StandardUserInfo(base + "/login/oauth/userinfo"),
	}
}

func TestOAuth2ConfigValidation(t *testing.T) {
	cases := []struct {
		name   string
		change func(*OAuth2Config)
		want   string // substring of the error, "" for success
	}{
		{"valid", func(*OAuth2Config) {}, ""},
		{"http on 127.0.0.1 for tests", func(c *OAuth2Config) { c.AuthURL = "http://127.0.0.1:8080/a" }, ""},
		{"http on localhost for tests", func(c *OAuth2Config) { c.TokenURL = "http://localhost/t" }, ""},
		{"http on ::1 for tests", func(c *OAuth2Config) { c.TokenURL = "http://[::1]:9/t" }, ""},
		{"display name defaults", func(c *OAuth2Config) { c.DisplayName = "" }, ""},
		{"missing name", func(c *OAuth2Config) { c.Name = "" }, "Name"},
		{"name with a slash", func(c *OAuth2Config) { c.Name = "a/b" }, "Name"},
		{"upper-case name", func(c *OAuth2Config) { c.Name = "Gitea" }, "Name"},
		{"name too long", func(c *OAuth2Config) { c.Name = strings.Repeat("a", 65) }, "Name"},
		{"missing client id", func(c *OAuth2Config) { c.ClientID = "" }, "ClientID"},
		{"missing client secret", func(c *OAuth2Config) { c.ClientSecret = "" }, "ClientSecret"},
		{"missing profile", func(c *OAuth2Config) { c.Profile = nil }, "Profile"},
		{"missing auth url", func(c *OAuth2Config) { c.AuthURL = "" }, "AuthURL"},
		{"missing token url", func(c *OAuth2Config) { c.TokenURL = "" }, "TokenURL"},
		{"relative url", func(c *OAuth2Config) { c.TokenURL = "/token" }, "TokenURL"},
		{"http on a public host", func(c *OAuth2Config) { c.TokenURL = "http://gitea.example.com/token" }, "https"},
		{"http on a private address", func(c *OAuth2Config) { c.AuthURL = "http://10.0.0.1/a" }, "https"},
		{"http on a name that merely starts with localhost", func(c *OAuth2Config) { c.AuthURL = "http://localhost.evil.com/a" }, "https"},
		{"other scheme", func(c *OAuth2Config) { c.AuthURL = "javascript:alert(1)" }, "AuthURL"},
		{"credentials in url", func(c *OAuth2Config) { c.TokenURL = "https://u:p@gitea.example.com/t" }, "credentials"},
		{"fragment in url", func(c *OAuth2Config) { c.AuthURL = "https://gitea.example.com/a#x" }, "fragment"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := socBGenericConfig("https://gitea.example.com")
			tc.change(&cfg)
			p, err := OAuth2(cfg)
			if tc.want == "" {
				require.NoError(t, err)
				assert.Equal(t, cfg.Name, p.Name())
				if cfg.DisplayName == "" {
					assert.Equal(t, cfg.Name, p.DisplayName())
				}
				return
			}
			require.Error(t, err)
			assert.Nil(t, p)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestOAuth2AuthCodeURL(t *testing.T) {
	p, err := OAuth2(socBGenericConfig("https://gitea.example.com"))
	require.NoError(t, err)
	assert.Equal(t, "Gitea", p.DisplayName())
	q := socBCheckAuthURL(t, p, "https://gitea.example.com/login/oauth/authorize")
	assert.Equal(t, "read:user", q.Get("scope"))
	assert.Empty(t, q.Get("nonce"), "a plain OAuth 2.0 provider sends no nonce")

	req := socBAuthRequest()
	req.Scopes = []string{"write:repo"}
	u, err := url.Parse(p.AuthCodeURL(req))
	require.NoError(t, err)
	assert.Equal(t, "read:user write:repo", u.Query().Get("scope"), "request scopes add to the defaults")
}

func TestOAuth2Flow(t *testing.T) {
	for _, style := range []struct {
		name  string
		style oauth2.AuthStyle
		check func(*testing.T, http.Header, url.Values)
	}{
		{"basic", oauth2.AuthStyleInHeader, socBCheckSecretInBasic},
		{"post", oauth2.AuthStyleInParams, socBCheckSecretInForm},
	} {
		t.Run(style.name, func(t *testing.T) {
			token := socBRespond(http.StatusOK, socBTokenJSON)
			userinfo := socBRespond(http.StatusOK, `{"sub":"42","email":"a@example.com","email_verified":true,"name":"Ann","picture":"https://img.example.com/a.png"}`)
			base := socBServer(t, map[string]*socBEndpoint{
				"POST /login/oauth/access_token": token,
				"GET /login/oauth/userinfo":      userinfo,
			})
			cfg := socBGenericConfig(base)
			cfg.AuthStyle = style.style
			p, err := OAuth2(cfg)
			require.NoError(t, err)

			profile, err := socBFlow(p)
			require.NoError(t, err)
			assert.Equal(t, &Profile{AccountID: "42", Email: "a@example.com", EmailVerified: true, Name: "Ann", AvatarURL: "https://img.example.com/a.png"}, profile)

			header, _, form, _ := token.last()
			socBCheckTokenForm(t, form)
			style.check(t, header, form)
			header, _, _, _ = userinfo.last()
			assert.Equal(t, "Bearer "+socBAccessToken, header.Get("Authorization"))
		})
	}
}

func TestOAuth2StandardUserInfo(t *testing.T) {
	cases := []struct {
		name string
		body string
		want *Profile
	}{
		{"verified", `{"sub":"u1","email":"a@example.com","email_verified":true}`, &Profile{AccountID: "u1", Email: "a@example.com", EmailVerified: true}},
		{"verified as a string", `{"sub":"u1","email":"a@example.com","email_verified":"true"}`, &Profile{AccountID: "u1", Email: "a@example.com", EmailVerified: true}},
		{"unverified", `{"sub":"u1","email":"a@example.com","email_verified":false}`, &Profile{AccountID: "u1", Email: "a@example.com"}},
		{"no email_verified claim", `{"sub":"u1","email":"a@example.com"}`, &Profile{AccountID: "u1", Email: "a@example.com"}},
		{"no email", `{"sub":"u1","email_verified":true}`, &Profile{AccountID: "u1"}},
		{"numeric sub keeps its digits", `{"sub":12345678901234567890}`, &Profile{AccountID: "12345678901234567890"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := socBServer(t, map[string]*socBEndpoint{
				"POST /login/oauth/access_token": socBRespond(http.StatusOK, socBTokenJSON),
				"GET /login/oauth/userinfo":      socBRespond(http.StatusOK, tc.body),
			})
			p, err := OAuth2(socBGenericConfig(base))
			require.NoError(t, err)
			profile, err := socBFlow(p)
			require.NoError(t, err)
			assert.Equal(t, tc.want, profile)
		})
	}
	for _, body := range []string{`{"sub":1.5}`, `{"sub":true}`, `{"sub":"u","email_verified":"yes"}`} {
		t.Run("refuses "+body, func(t *testing.T) {
			base := socBServer(t, map[string]*socBEndpoint{
				"POST /login/oauth/access_token": socBRespond(http.StatusOK, socBTokenJSON),
				"GET /login/oauth/userinfo":      socBRespond(http.StatusOK, body),
			})
			p, err := OAuth2(socBGenericConfig(base))
			require.NoError(t, err)
			_, err = socBFlow(p)
			assert.ErrorIs(t, err, ErrProviderUnavailable)
		})
	}
}

func TestOAuth2UserInfoJSON(t *testing.T) {
	type giteaUser struct {
		ID       int64  `json:"id"`
		Login    string `json:"login"`
		FullName string `json:"full_name"`
	}
	base := socBServer(t, map[string]*socBEndpoint{
		"POST /login/oauth/access_token": socBRespond(http.StatusOK, socBTokenJSON),
		"GET /api/v1/user":               socBRespond(http.StatusOK, `{"id":7,"login":"ann","full_name":"Ann A."}`),
	})
	cfg := socBGenericConfig(base)
	cfg.Profile = UserInfoJSON(base+"/api/v1/user", func(u *giteaUser) (*Profile, error) {
		return &Profile{AccountID: strconv.FormatInt(u.ID, 10), Name: u.FullName}, nil
	})
	p, err := OAuth2(cfg)
	require.NoError(t, err)
	profile, err := socBFlow(p)
	require.NoError(t, err)
	assert.Equal(t, &Profile{AccountID: "7", Name: "Ann A."}, profile)
}

func TestOAuth2ProfileErrors(t *testing.T) {
	cases := []struct {
		name    string
		profile func(context.Context, *http.Client, *oauth2.Token) (*Profile, error)
		want    error
	}{
		{"plain error becomes unavailable", func(context.Context, *http.Client, *oauth2.Token) (*Profile, error) {
			return nil, errors.New("boom")
		}, ErrProviderUnavailable},
		{"invalid grant kept", func(context.Context, *http.Client, *oauth2.Token) (*Profile, error) {
			return nil, ErrInvalidGrant
		}, ErrInvalidGrant},
		{"nil profile", func(context.Context, *http.Client, *oauth2.Token) (*Profile, error) {
			return nil, nil
		}, ErrProviderUnavailable},
		{"empty account id", func(context.Context, *http.Client, *oauth2.Token) (*Profile, error) {
			return &Profile{Email: "a@example.com", EmailVerified: true}, nil
		}, ErrProviderUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := socBGenericConfig("https://gitea.example.com")
			cfg.Profile = tc.profile
			p, err := OAuth2(cfg)
			require.NoError(t, err)
			profile, err := p.Profile(context.Background(), &Tokens{Token: &oauth2.Token{AccessToken: "t"}})
			assert.Nil(t, profile)
			assert.ErrorIs(t, err, tc.want)
		})
	}
	t.Run("no access token", func(t *testing.T) {
		p, err := OAuth2(socBGenericConfig("https://gitea.example.com"))
		require.NoError(t, err)
		for _, tokens := range []*Tokens{nil, {}, {Token: &oauth2.Token{}}} {
			_, err = p.Profile(context.Background(), tokens)
			assert.ErrorIs(t, err, ErrInvalidGrant)
		}
	})
}

func TestOAuth2Issuer(t *testing.T) {
	token := socBRespond(http.StatusOK, socBTokenJSON)
	base := socBServer(t, map[string]*socBEndpoint{"POST /login/oauth/access_token": token})
	p, err := OAuth2(socBGenericConfig(base))
	require.NoError(t, err)

	req := socBExchangeRequest()
	req.Issuer = "https://evil.example.com"
	_, err = p.Exchange(context.Background(), req)
	require.ErrorIs(t, err, ErrInvalidGrant)
	assert.Zero(t, token.callCount(), "a mixed-up callback never reaches the token endpoint")

	req.Issuer = "https://gitea.example.com"
	tokens, err := p.Exchange(context.Background(), req)
	require.NoError(t, err)
	assert.Equal(t, socBAccessToken, tokens.AccessToken)
}

func TestOAuth2Errors(t *testing.T) {
	cases := socBCommonErrorCases(http.StatusBadRequest, `{"error":"invalid_grant"}`, `{"sub":"u1"}`)
	socBRunErrorCases(t, cases, "POST /login/oauth/access_token", "GET /login/oauth/userinfo", func(base string) Provider {
		p, err := OAuth2(socBGenericConfig(base))
		require.NoError(t, err)
		return p
	})
}
