package oidctest

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

const testRedirect = "http://127.0.0.1:1/auth/oidc/callback"

// discovery is the part of the discovery document the tests use.
type discovery struct {
	Issuer                string   `json:"issuer"`
	AuthorizationEndpoint string   `json:"authorization_endpoint"`
	TokenEndpoint         string   `json:"token_endpoint"`
	CodeChallengeMethods  []string `json:"code_challenge_methods_supported"`
}

// startFlow starts an OP and returns it, an oauth2 config for its client
// and a browser with a cookie jar.
func startFlow(t *testing.T) (*OP, oauth2.Config, *http.Client) {
	t.Helper()
	op := Start(t, testRedirect)
	resp, err := op.Client().Get(op.Issuer + "/.well-known/openid-configuration")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var d discovery
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&d))
	require.Equal(t, op.Issuer, d.Issuer)
	require.Contains(t, d.CodeChallengeMethods, "S256")
	cfg := oauth2.Config{
		ClientID: op.ClientID, ClientSecret: op.ClientSecret, RedirectURL: testRedirect,
		Endpoint: oauth2.Endpoint{AuthURL: d.AuthorizationEndpoint, TokenURL: d.TokenEndpoint},
		Scopes:   []string{"openid", "email", "profile"},
	}
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return op, cfg, &http.Client{Jar: jar}
}

// TestLoginDrivesTheRealProvider proves the harness: a browser login at the
// example OP ends on the registered redirect_uri with the state and a code
// that the token endpoint trades, with the PKCE verifier, for an id_token.
func TestLoginDrivesTheRealProvider(t *testing.T) {
	op, cfg, browser := startFlow(t)
	verifier := oauth2.GenerateVerifier()
	state := rand.Text()
	authURL := cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", rand.Text()))

	callback, err := op.Login(browser, authURL)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:1", callback.Host)
	assert.Equal(t, "/auth/oidc/callback", callback.Path)
	assert.Equal(t, state, callback.Query().Get("state"))
	code := callback.Query().Get("code")
	require.NotEmpty(t, code)

	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, op.Client())
	_, err = cfg.Exchange(ctx, code, oauth2.VerifierOption("wrong-"+verifier))
	require.Error(t, err, "the OP must check the PKCE verifier")

	callback, err = op.Login(browser, cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)))
	require.NoError(t, err)
	token, err := cfg.Exchange(ctx, callback.Query().Get("code"), oauth2.VerifierOption(verifier))
	require.NoError(t, err)
	assert.NotEmpty(t, token.AccessToken)
	assert.NotEmpty(t, token.Extra("id_token"))
}

// TestLoginAsOtherUserAndWrongPassword proves LoginAs signs the second
// example user in and reports refused credentials as ErrLoginRefused.
func TestLoginAsOtherUserAndWrongPassword(t *testing.T) {
	op, cfg, browser := startFlow(t)
	authURL := cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))

	_, err := op.LoginAs(browser, authURL, Username2, "wrong")
	require.ErrorIs(t, err, ErrLoginRefused)

	callback, err := op.LoginAs(browser, authURL, Username2, Password)
	require.NoError(t, err)
	assert.NotEmpty(t, callback.Query().Get("code"))
}

// TestUnregisteredRedirectURIIsRefused proves the OP checks redirect URIs
// exactly, so a test of a wrong callback URL can fail, and that
// AllowRedirectURI registers one while the OP runs.
func TestUnregisteredRedirectURIIsRefused(t *testing.T) {
	op, cfg, browser := startFlow(t)
	cfg.RedirectURL = "http://127.0.0.1:2/auth/oidc/callback"
	authURL := cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))

	_, err := op.Login(browser, authURL)
	require.Error(t, err)

	op.AllowRedirectURI(cfg.RedirectURL)
	callback, err := op.Login(browser, authURL)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:2", callback.Host)
	_, err = url.Parse(callback.String())
	require.NoError(t, err)
}
