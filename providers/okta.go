package providers

// Okta returns an Okta provider. issuer is the authorization server's
// issuer URL, taken as given: the org authorization server
// ("https://example.okta.com") or a custom one
// ("https://example.okta.com/oauth2/default"). It must equal the issuer
// in Okta's discovery document exactly, so mind the trailing slash.
// WithBaseURL, when set, replaces issuer.
//
// Okta is OpenID Connect: the id_token is verified like OIDC's, and when
// Okta leaves the profile claims out of it (it may, when it also issues an
// access token), Profile reads them from the userinfo endpoint, whose sub
// must match. AccountID is Okta's user id (`sub`).
//
// Name is "okta" unless WithName. Okta is discovered on first use; it
// implements Checker.
func Okta(issuer, clientID, clientSecret string, opts ...Option) Provider {
	o := buildOptions(opts)
	if o.baseURL != "" {
		issuer = o.baseURL
	}
	return newOIDCProvider(oidcSpec{
		name:         "okta",
		displayName:  "Okta",
		issuer:       issuer,
		discoveryURL: oidcDiscoveryURL(issuer),
		scopes:       oidcDefaultScopes,
	}, clientID, clientSecret, o)
}
