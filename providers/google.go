package providers

// googleIssuer is Google's OpenID Connect issuer.
const googleIssuer = "https://accounts.google.com"

// Google returns the "Sign in with Google" provider: OpenID Connect with
// the issuer https://accounts.google.com (WithBaseURL replaces the issuer,
// for tests). Google puts email, email_verified, name and picture in the
// id_token for the default scopes, so Profile reads them there and
// EmailVerified is Google's email_verified claim; AccountID is `sub`,
// never the email.
//
// Name is "google" unless WithName. Google is discovered on first use; it
// implements Checker.
func Google(clientID, clientSecret string, opts ...Option) Provider {
	o := buildOptions(opts)
	issuer := googleIssuer
	if o.baseURL != "" {
		issuer = o.baseURL
	}
	return newOIDCProvider(oidcSpec{
		name:         "google",
		displayName:  "Google",
		issuer:       issuer,
		discoveryURL: oidcDiscoveryURL(issuer),
		scopes:       oidcDefaultScopes,
	}, clientID, clientSecret, o)
}
