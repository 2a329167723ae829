package ginauth

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/ginauth/ginauth/providers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regressions found by driving the example app against another real
// OpenID provider (node oidc-provider): a callback parameter sent twice
// passed when its first copy was the right one (?iss=<issuer>&iss=<evil>
// signed in), the associate callback's 401 lacked the callback headers,
// and a refused callback left nothing in the log to tell why.

// TestOAuthCallbackRepeatedParams: RFC 6749 §3.1 forbids a parameter twice
// in a response. A repeated state is an invalid state; a repeated code,
// iss or error is refused as the provider's error. Either way the state
// cookie is spent and the code never reaches the provider.
func TestOAuthCallbackRepeatedParams(t *testing.T) {
	cases := []struct {
		name, extra string
		code        ErrorCode
	}{
		{"iss, the right one first", "iss=https%3A%2F%2Fevil.tld", CodeOAuthProviderError},
		{"code", "code=other-code", CodeOAuthProviderError},
		{"error", "error=access_denied", CodeOAuthProviderError},
		{"state", "state=other-state", CodeOAuthInvalidState},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newOAEnv(t, nil)
			b := e.browser(t)
			cb := e.github.approve(t, b.authorize("/auth/github/authorize", nil))
			if tc.name == "iss, the right one first" {
				cb.RawQuery += "&iss=" + url.QueryEscape("https://github.provider.test")
			}
			good := *cb
			cb.RawQuery += "&" + tc.extra
			res := b.visit(cb)
			oaRequireError(t, res, http.StatusBadRequest, tc.code)
			assert.Equal(t, "no-referrer", res.Header.Get("Referrer-Policy"))
			assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
			assert.Equal(t, 0, e.github.exchangeCount(), "the code must not be sent to the provider")
			assert.Less(t, oaFindCookie(t, res, oaStateCookieName(e.baseURL, good.Query().Get("state"))).MaxAge, 0, "the state is spent")
			// The same browser cannot then finish with the clean URL.
			oaRequireError(t, b.visit(&good), http.StatusBadRequest, CodeOAuthInvalidState)
		})
	}

	t.Run("posted form", func(t *testing.T) {
		e := newOAEnv(t, nil)
		b := e.browser(t)
		cb := e.github.approve(t, b.authorize("/auth/github/authorize", nil))
		form := cb.Query()
		form.Add("code", "other-code")
		req, err := http.NewRequest(http.MethodPost, e.srv.URL+cb.Path, bytes.NewBufferString(form.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := b.client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
		assert.Equal(t, 0, e.github.exchangeCount())
	})

	t.Run("one of each still signs in", func(t *testing.T) {
		e := newOAEnv(t, nil)
		b := e.browser(t)
		cb := e.github.approve(t, b.authorize("/auth/github/authorize", nil))
		cb.RawQuery += "&iss=" + url.QueryEscape("https://github.provider.test")
		oaTokens(t, b.visit(cb))
		assert.Equal(t, "https://github.provider.test", e.github.lastExchange().Issuer)
	})
}

// TestOAuthAssociateCallbackHeadersOn401: the associate callback URL
// carries a code and a state even when the request has no token, so its
// 401 sends the callback headers too.
func TestOAuthAssociateCallbackHeadersOn401(t *testing.T) {
	e := newOAEnv(t, nil)
	res := e.browser(t).request(http.MethodGet, "/auth/github/associate/callback?code=c&state=s", nil)
	oaRequireError(t, res, http.StatusUnauthorized, CodeUnauthorized)
	assert.Equal(t, "no-referrer", res.Header.Get("Referrer-Policy"))
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
}

// lockedBuffer is a log sink the server's goroutines write while the test
// reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestOAuthCallbackRefusalLogged: a 400 OAUTH_PROVIDER_ERROR says nothing
// to the client, so the reason goes to the log (a wrong client secret
// must be diagnosable), without the code.
func TestOAuthCallbackRefusalLogged(t *testing.T) {
	logs := &lockedBuffer{}
	e := newOAEnv(t, func(cfg *Config) { cfg.Logger = slog.New(slog.NewTextHandler(logs, nil)) })
	e.github.setErrors(fmt.Errorf("%w: invalid_client", providers.ErrInvalidGrant), nil)
	b := e.browser(t)
	cb := e.github.approve(t, b.authorize("/auth/github/authorize", nil))
	oaRequireError(t, b.visit(cb), http.StatusBadRequest, CodeOAuthProviderError)
	out := logs.String()
	assert.Contains(t, out, "OAuth callback refused")
	assert.Contains(t, out, "provider=github")
	assert.Contains(t, out, "invalid_client")
	assert.NotContains(t, out, cb.Query().Get("code"))
	assert.NotContains(t, out, cb.Query().Get("state"))

	// The user cancelling at the provider is logged the same way.
	e.github.setErrors(nil, nil)
	b = e.browser(t)
	oaRequireError(t, b.visit(e.github.deny(t, b.authorize("/auth/github/authorize", nil))), http.StatusBadRequest, CodeOAuthProviderError)
	assert.Contains(t, logs.String(), `access_denied`)
}
