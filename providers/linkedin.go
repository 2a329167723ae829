package providers

import (
	"context"

	"golang.org/x/oauth2"
)

// linkedInIssuer is the issuer LinkedIn's discovery document names.
const linkedInIssuer = "https://www.linkedin.com/oauth"

// LinkedIn returns the provider for "Sign In with LinkedIn using OpenID
// Connect". The default scopes are "openid", "profile" and "email".
//
// The profile comes from the userinfo endpoint
// (https://api.linkedin.com/v2/userinfo), called with the access token
// that the code exchange (client secret and PKCE verifier) just returned;
// the id_token of the token response is not used, so Tokens.IDTokenClaims
// stays nil. LinkedIn has changed its id_token issuer before
// ("https://www.linkedin.com" then ".../oauth") and sends email_verified
// in it as a string, which makes the id_token a brittle source; userinfo
// carries the same claims.
//
// AccountID is `sub`, LinkedIn's immutable, app-scoped member id. Email
// and EmailVerified are userinfo's email and email_verified; with no
// "email" scope granted, Email is "". A callback `iss` (RFC 9207) must
// equal "https://www.linkedin.com/oauth". WithBaseURL replaces both
// www.linkedin.com and api.linkedin.com.
func LinkedIn(clientID, clientSecret string, opts ...Option) Provider {
	o := buildOptions(opts)
	www := baseOr(o.baseURL, "https://www.linkedin.com")
	api := baseOr(o.baseURL, "https://api.linkedin.com")
	cfg := oauth2.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   www + "/oauth/v2/authorization",
			TokenURL:  www + "/oauth/v2/accessToken",
			AuthStyle: oauth2.AuthStyleInParams, // LinkedIn documents client_secret_post
		},
		Scopes: []string{"openid", "profile", "email"},
	}
	flow := newOAuth2Flow("linkedin", "LinkedIn", cfg, o)
	flow.issuer = linkedInIssuer
	flow.sendNonce = true
	return &linkedInProvider{oauth2Flow: flow, userInfoURL: api + "/v2/userinfo"}
}

type linkedInProvider struct {
	oauth2Flow
	userInfoURL string
}

// linkedInUserInfo is the answer of GET /v2/userinfo. Its `locale` is an
// object ({"country","language"}) in practice though documented as a
// string, so it is not decoded.
type linkedInUserInfo struct {
	Subject       string      `json:"sub"`
	Name          string      `json:"name"`
	Picture       string      `json:"picture"`
	Email         string      `json:"email"`
	EmailVerified lenientBool `json:"email_verified"`
}

// Profile reads the userinfo endpoint.
func (l *linkedInProvider) Profile(ctx context.Context, tokens *Tokens) (*Profile, error) {
	token, err := bearerOf(tokens)
	if err != nil {
		return nil, err
	}
	var u linkedInUserInfo
	if err := getJSON(ctx, l.client, l.userInfoURL, token, &u); err != nil {
		return nil, err
	}
	return checkedProfile(&Profile{
		AccountID:     u.Subject,
		Email:         u.Email,
		EmailVerified: u.Email != "" && bool(u.EmailVerified),
		Name:          u.Name,
		AvatarURL:     u.Picture,
	}, nil)
}
