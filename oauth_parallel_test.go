package ginauth

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Each flow has a state cookie of its own, named after its state, so one
// browser can run several sign-ins at once (two tabs, GitHub then Google)
// as Authlib allows; a single cookie per browser made the second sign-in
// end the first with OAUTH_INVALID_STATE.

// TestOAuthParallelFlows proves two authorizations in one browser, with
// the same provider twice and with two providers, all finish when the
// callbacks come in reverse order, each state works once, and a finished
// flow clears its own cookie only.
func TestOAuthParallelFlows(t *testing.T) {
	for _, tc := range []struct {
		name   string
		first  func(e *oaEnv) *oaFake
		second func(e *oaEnv) *oaFake
	}{
		{"same provider twice", func(e *oaEnv) *oaFake { return e.github }, func(e *oaEnv) *oaFake { return e.github }},
		{"two providers", func(e *oaEnv) *oaFake { return e.github }, func(e *oaEnv) *oaFake { return e.google }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newOAEnv(t, nil)
			b := e.browser(t)
			p1, p2 := tc.first(e), tc.second(e)
			cb1 := p1.approve(t, b.authorize("/auth/"+p1.name+"/authorize", nil))
			cb2 := p2.approve(t, b.authorize("/auth/"+p2.name+"/authorize", nil))
			require.Len(t, b.stateCookies(), 2)

			oaTokens(t, b.visit(cb2))
			assert.Nil(t, b.flowCookie(cb2))
			require.NotNil(t, b.flowCookie(cb1), "finishing one flow leaves the other's cookie")
			oaTokens(t, b.visit(cb1))
			assert.Empty(t, b.stateCookies())

			before := e.github.exchangeCount() + e.google.exchangeCount()
			for _, cb := range []*url.URL{cb1, cb2} {
				oaRequireError(t, b.visit(cb), http.StatusBadRequest, CodeOAuthInvalidState)
			}
			assert.Equal(t, before, e.github.exchangeCount()+e.google.exchangeCount(), "a used state never reaches the provider")
		})
	}

	t.Run("html redirects and associate", func(t *testing.T) {
		e := newOAEnv(t, nil)
		tokens := registerAndLogin(t, e.srv, "both@example.com", "correct horse battery")
		b := e.browser(t)
		res := b.request(http.MethodGet, "/auth/google/authorize", http.Header{"Accept": {"text/html"}})
		require.Equal(t, http.StatusFound, res.Status, "body: %s", res.Body)
		signIn := e.google.approve(t, res.Header.Get("Location"))
		b.bearer = tokens.AccessToken
		link := e.github.approve(t, b.authorize("/auth/github/associate/authorize", nil))

		res = b.visit(link)
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		b.bearer = ""
		oaTokens(t, b.visit(signIn))
	})
}

// TestOAuthStateCookieSwapped proves a flow's cookie works for its own
// state only: with two flows in one browser, swapping the cookies' values
// (or their names) fails both callbacks with 400 OAUTH_INVALID_STATE
// before any code is spent. The value is sealed under its name and holds
// its state, which the callback compares; the name is only an index.
func TestOAuthStateCookieSwapped(t *testing.T) {
	e := newOAEnv(t, nil)
	b := e.browser(t)
	cb1 := e.github.approve(t, b.authorize("/auth/github/authorize", nil))
	cb2 := e.github.approve(t, b.authorize("/auth/github/authorize", nil))
	c1, c2 := b.flowCookie(cb1), b.flowCookie(cb2)
	require.NotNil(t, c1)
	require.NotNil(t, c2)
	b.setCookie(c1.Name, c2.Value)
	b.setCookie(c2.Name, c1.Value)

	for _, cb := range []*url.URL{cb1, cb2} {
		oaRequireError(t, b.visit(cb), http.StatusBadRequest, CodeOAuthInvalidState)
	}
	assert.Equal(t, 0, e.github.exchangeCount())

	// Sending one flow's code with another flow's state, when the browser
	// holds that state's cookie (here a copy), passes the state check; the
	// code is bound to its own flow by PKCE, so the provider refuses it.
	other := e.browser(t)
	cb3 := e.github.approve(t, other.authorize("/auth/github/authorize", nil))
	c3 := other.flowCookie(cb3)
	thief := e.browser(t)
	thief.setCookie(c3.Name, c3.Value)
	cb4 := e.github.approve(t, thief.authorize("/auth/github/authorize", nil))
	q := cb4.Query()
	q.Set("state", cb3.Query().Get("state"))
	cb4.RawQuery = q.Encode()
	res := thief.visit(cb4)
	oaRequireError(t, res, http.StatusBadRequest, CodeOAuthProviderError)
	assert.Equal(t, 1, e.github.exchangeCount())
}

// TestOAuthStateCookieCap proves a browser holds at most 5 state cookies:
// 7 flows begun in one browser leave 5, the 5 newest, which all finish
// (in any order), while the 2 oldest fail with 400 OAUTH_INVALID_STATE
// without spending their code.
func TestOAuthStateCookieCap(t *testing.T) {
	e := newOAEnv(t, nil)
	b := e.browser(t)
	var cbs []*url.URL
	for i := range 7 {
		p := []*oaFake{e.github, e.google}[i%2]
		cbs = append(cbs, p.approve(t, b.authorize("/auth/"+p.name+"/authorize", nil)))
		assert.LessOrEqual(t, len(b.stateCookies()), maxStateCookies)
	}
	require.Len(t, b.stateCookies(), 5)
	for _, cb := range cbs[:2] {
		assert.Nil(t, b.flowCookie(cb), "the oldest flows were cleared")
	}

	for i := len(cbs) - 1; i >= 2; i-- {
		oaTokens(t, b.visit(cbs[i]))
	}
	before := e.github.exchangeCount() + e.google.exchangeCount()
	for _, cb := range cbs[:2] {
		oaRequireError(t, b.visit(cb), http.StatusBadRequest, CodeOAuthInvalidState)
	}
	assert.Equal(t, before, e.github.exchangeCount()+e.google.exchangeCount())
	assert.Empty(t, b.stateCookies())

	t.Run("long redirect_to", func(t *testing.T) {
		b := e.browser(t)
		long := url.Values{"redirect_to": {oaTrustedOrigin + "/" + strings.Repeat("a", 2000)}}
		var cbs []*url.URL
		for range 3 {
			cbs = append(cbs, e.github.approve(t, b.authorize("/auth/github/authorize", long)))
			total := 0
			for _, c := range b.stateCookies() {
				total += len(c.Name) + len(c.Value) + 3
			}
			assert.LessOrEqual(t, total, maxStateCookieBytes, "the state cookies fit a Cookie header")
		}
		res := b.visit(cbs[2])
		require.Equal(t, http.StatusFound, res.Status, "the newest flow finishes: %s", res.Body)
		oaRequireError(t, b.visit(cbs[0]), http.StatusBadRequest, CodeOAuthInvalidState)
	})
}

// TestOAuthParallelFlowExpired proves an expired flow fails while a later
// one in the same browser finishes: the sealed expiry decides, even when
// the browser still sends the cookie; and the next authorize clears the
// expired cookie.
func TestOAuthParallelFlowExpired(t *testing.T) {
	e := newOAEnv(t, nil)
	b := e.browser(t)
	old := e.github.approve(t, b.authorize("/auth/github/authorize", nil))
	e.clock.advance(6 * time.Minute)
	fresh := e.github.approve(t, b.authorize("/auth/github/authorize", nil))
	require.NotNil(t, b.flowCookie(old), "a live flow is not cleared by a new one")
	e.clock.advance(4*time.Minute + time.Second)

	res := b.visit(old)
	oaRequireError(t, res, http.StatusBadRequest, CodeOAuthInvalidState)
	assert.Equal(t, 0, e.github.exchangeCount())
	oaTokens(t, b.visit(fresh))

	stale := e.github.approve(t, b.authorize("/auth/github/authorize", nil))
	e.clock.advance(10 * time.Minute)
	b.setCookie(b.flowCookie(stale).Name, b.flowCookie(stale).Value) // the browser has not dropped it yet
	b.authorize("/auth/google/authorize", nil)
	assert.Nil(t, b.flowCookie(stale), "authorize clears an expired state cookie")
	assert.Len(t, b.stateCookies(), 1)
}
