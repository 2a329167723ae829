package providers

import (
	"strings"

	"golang.org/x/oauth2"
)

// franceConnectURL is the host of FranceConnect's production platform.
const franceConnectURL = "https://oidc.franceconnect.gouv.fr"

// FranceConnect returns the FranceConnect (v2) provider, the French
// state's sign-in: OpenID Connect with the issuer
// https://oidc.franceconnect.gouv.fr/api/v2. WithBaseURL replaces the host,
// e.g. with FranceConnect's integration platform; the issuer is then
// base URL + "/api/v2".
//
// The authorization request asks for acr_values=eidas1 and the scopes
// openid, given_name, family_name and email (WithScopes replaces those;
// FranceConnect grants only the scopes the service was authorised for).
// FranceConnect's id_token carries only `sub` (pairwise, immutable:
// AccountID); the identity comes from the userinfo endpoint, which answers
// with a JWT signed by FranceConnect's keys. Name is the given names and
// family name. FranceConnect does not say whether it verified the email,
// so EmailVerified is false unless an email_verified claim says true.
//
// Name is "franceconnect" unless WithName. FranceConnect is discovered on
// first use; it implements Checker.
func FranceConnect(clientID, clientSecret string, opts ...Option) Provider {
	o := buildOptions(opts)
	base := franceConnectURL
	if o.baseURL != "" {
		base = strings.TrimSuffix(o.baseURL, "/")
	}
	issuer := base + "/api/v2"
	return newOIDCProvider(oidcSpec{
		name:         "franceconnect",
		displayName:  "FranceConnect",
		issuer:       issuer,
		discoveryURL: oidcDiscoveryURL(issuer),
		scopes:       []string{"openid", "given_name", "family_name", "email"},
		authParams:   []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("acr_values", "eidas1")},
	}, clientID, clientSecret, o)
}
