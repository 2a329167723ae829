package ginauth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ginauth/ginauth/internal/oidctest"
	"github.com/ginauth/ginauth/providers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The app's public URL in these tests: the OP redirects the browser there,
// and the browser reaches the app's test server in its stead.
const e2eBaseURL = "http://localhost:8080"

// startE2EOP starts the real OpenID provider with the app's callbacks
// registered.
func startE2EOP(t *testing.T) *oidctest.OP {
	t.Helper()
	return oidctest.Start(t, e2eBaseURL+"/auth/oidc/callback", e2eBaseURL+"/auth/oidc/associate/callback")
}

// newE2EApp runs one instance of the app on store with the OpenID provider
// configured by discovery.
func newE2EApp(t *testing.T, op *oidctest.OP, store *GormStore) *httptest.Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	oidc := providers.OIDC(ctx, op.Issuer, op.ClientID, op.ClientSecret, providers.WithHTTPClient(op.Client()))
	if checker, ok := oidc.(interface{ Check(context.Context) error }); ok {
		require.NoError(t, checker.Check(ctx), "discovery at %s", op.Issuer)
	}
	a := newTestAuthOn(t, store, func(cfg *Config) {
		cfg.BaseURL = e2eBaseURL
		cfg.Providers = []providers.Provider{oidc}
	})
	return newTestServer(t, a)
}

// e2eSignIn runs authorize → the OP's login page → callback in browser b
// and returns the callback's answer.
func e2eSignIn(t *testing.T, op *oidctest.OP, b *oaBrowser, username string) apiResponse {
	t.Helper()
	authURL := b.authorize("/auth/oidc/authorize", nil)
	callback, err := op.LoginAs(b.client, authURL, username, oidctest.Password)
	require.NoError(t, err)
	return b.visit(callback)
}

// TestOAuthE2EOIDC proves the whole OAuth flow against a real OpenID
// provider (zitadel/oidc's example OP, by discovery, id_token verified by
// providers.OIDC): sign-up creates a verified user that GET /api/me
// knows, signing in again finds the same user, a signed-in local user
// associates another OP account and unlinks it, and a replayed callback
// is refused.
func TestOAuthE2EOIDC(t *testing.T) {
	op := startE2EOP(t)
	store := openTestStore(t, "sqlite")
	srv := newE2EApp(t, op, store)

	res := e2eSignIn(t, op, newOABrowser(t, srv, e2eBaseURL), op.Username)
	tokens := oaTokens(t, res)
	assert.Equal(t, "no-referrer", res.Header.Get("Referrer-Policy"))
	api := do(t, srv, http.MethodGet, "/api/me", nil, tokens.AccessToken)
	require.Equal(t, http.StatusOK, api.Status, "body: %s", api.Body)
	assert.Equal(t, oidctest.Email, api.JSON(t)["email"])
	me := oaMe(t, srv, tokens.AccessToken)
	assert.True(t, me.IsVerified, "the OP verified the email")
	assert.Equal(t, []OAuthAccountRead{{OAuthName: "oidc", AccountID: oidctest.Subject, AccountEmail: oidctest.Email}}, me.OAuthAccounts)
	acc, err := store.OAuthAccount(context.Background(), "oidc", oidctest.Subject)
	require.NoError(t, err)
	access, _, err := testAuthFor(t, store).ProviderTokens(acc)
	require.NoError(t, err)
	assert.NotEmpty(t, access, "the OP's access token is stored, sealed")
	assert.NotContains(t, acc.AccessToken, access)

	t.Run("sign in again", func(t *testing.T) {
		again := oaTokens(t, e2eSignIn(t, op, newOABrowser(t, srv, e2eBaseURL), op.Username))
		assert.Equal(t, me.ID, oaMe(t, srv, again.AccessToken).ID)
	})

	t.Run("associate and unlink", func(t *testing.T) {
		local := registerAndLogin(t, srv, "local@example.com", "correct horse battery")
		b := newOABrowser(t, srv, e2eBaseURL).withBearer(local.AccessToken)
		authURL := b.authorize("/auth/oidc/associate/authorize", nil)
		callback, err := op.LoginAs(b.client, authURL, oidctest.Username2, oidctest.Password)
		require.NoError(t, err)
		assert.Equal(t, "/auth/oidc/associate/callback", callback.Path)
		res := b.visit(callback)
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		var read UserRead
		require.NoError(t, json.Unmarshal(res.Body, &read))
		assert.Equal(t, "local@example.com", read.Email)
		assert.Equal(t, []OAuthAccountRead{{OAuthName: "oidc", AccountID: oidctest.Subject2, AccountEmail: oidctest.Email2}}, read.OAuthAccounts)

		// The second OP user now signs in as the local user.
		viaOP := oaTokens(t, e2eSignIn(t, op, newOABrowser(t, srv, e2eBaseURL), oidctest.Username2))
		assert.Equal(t, read.ID, oaMe(t, srv, viaOP.AccessToken).ID)

		del := do(t, srv, http.MethodDelete, "/auth/oidc/associate", nil, local.AccessToken)
		require.Equal(t, http.StatusNoContent, del.Status, "body: %s", del.Body)
		assert.Empty(t, oaMe(t, srv, local.AccessToken).OAuthAccounts)

		// The OP-only user cannot unlink its only way in.
		del = do(t, srv, http.MethodDelete, "/auth/oidc/associate", nil, tokens.AccessToken)
		oaRequireError(t, del, http.StatusBadRequest, CodeOAuthLastLoginMethod)
	})

	t.Run("replayed callback", func(t *testing.T) {
		b := newOABrowser(t, srv, e2eBaseURL)
		authURL := b.authorize("/auth/oidc/authorize", nil)
		callback, err := op.Login(b.client, authURL)
		require.NoError(t, err)
		saved := b.flowCookie(callback)
		require.NotNil(t, saved)
		oaTokens(t, b.visit(callback))
		oaRequireError(t, b.visit(callback), http.StatusBadRequest, CodeOAuthInvalidState)

		// With a saved copy of the cookie the state passes; the OP refuses
		// the used code.
		thief := newOABrowser(t, srv, e2eBaseURL)
		thief.setCookie(saved.Name, saved.Value)
		oaRequireError(t, thief.visit(callback), http.StatusBadRequest, CodeOAuthProviderError)
	})
}

// testAuthFor builds an Auth with the test secret on store, for reading
// what the apps stored.
func testAuthFor(t *testing.T, store *GormStore) *Auth {
	t.Helper()
	return newTestAuthOn(t, store, nil)
}

// TestOAuthE2ETwoInstances proves a flow begun on one instance of the app
// finishes on another that shares only the database and the secret: the
// sealed state cookie the browser carries is the whole state, and the
// tokens work on both instances.
func TestOAuthE2ETwoInstances(t *testing.T) {
	op := startE2EOP(t)
	store := openTestStore(t, "sqlite")
	first, second := newE2EApp(t, op, store), newE2EApp(t, op, store)

	b := newOABrowser(t, first, e2eBaseURL)
	authURL := b.authorize("/auth/oidc/authorize", nil)
	callback, err := op.Login(b.client, authURL)
	require.NoError(t, err)
	b.srv = second // the load balancer sends the callback to the other instance
	tokens := oaTokens(t, b.visit(callback))

	for _, srv := range []*httptest.Server{first, second} {
		res := do(t, srv, http.MethodGet, "/api/me", nil, tokens.AccessToken)
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		assert.Equal(t, oidctest.Email, res.JSON(t)["email"])
	}
}
