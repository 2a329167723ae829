package providers

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"golang.org/x/oauth2"
)

// slackIssuer is the issuer of Sign in with Slack.
const slackIssuer = "https://slack.com"

// Slack returns the provider for "Sign in with Slack" (OpenID Connect).
// The default scopes are "openid", "profile" and "email".
//
// The profile comes from openid.connect.userInfo, called with the access
// token that the code exchange (client secret and PKCE verifier) just
// returned; the id_token is not used, so Tokens.IDTokenClaims stays nil.
//
// AccountID is "<team id>:<user id>" (the https://slack.com/team_id claim,
// a colon, then `sub`), never the user id alone: a Slack user id is only
// guaranteed unique within its workspace, so two workspaces may each have
// a U0123 and keying on it alone would let one sign in as the other. The
// pair is unique and immutable. A consequence: one person signing in from
// two workspaces (also two workspaces of one Enterprise Grid org) gets two
// accounts.
//
// Slack answers most errors with HTTP 200 and {"ok": false, "error": ...}.
// At the token endpoint, "ratelimited", "internal_error", "fatal_error",
// "service_unavailable", "request_timeout" and "team_added_to_org", like
// HTTP 429 and 5xx, are ErrProviderUnavailable; every other error ends the
// attempt with ErrInvalidGrant. At userinfo, token errors ("invalid_auth",
// "token_revoked", ...) are ErrInvalidGrant and the rest
// ErrProviderUnavailable.
//
// A callback `iss` (RFC 9207) must equal "https://slack.com". WithBaseURL
// replaces https://slack.com.
func Slack(clientID, clientSecret string, opts ...Option) Provider {
	o := buildOptions(opts)
	base := baseOr(o.baseURL, "https://slack.com")
	cfg := oauth2.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   base + "/openid/connect/authorize",
			TokenURL:  base + "/api/openid.connect.token",
			AuthStyle: oauth2.AuthStyleInParams, // the documented arguments
		},
		Scopes: []string{"openid", "profile", "email"},
	}
	flow := newOAuth2Flow("slack", "Slack", cfg, o)
	flow.issuer = slackIssuer
	flow.sendNonce = true
	return &slackProvider{oauth2Flow: flow, userInfoURL: base + "/api/openid.connect.userInfo"}
}

type slackProvider struct {
	oauth2Flow
	userInfoURL string
}

// slackTransientErrors are the Slack error codes that say "try again
// later" rather than "no".
var slackTransientErrors = map[string]bool{
	"ratelimited": true, "internal_error": true, "fatal_error": true,
	"service_unavailable": true, "request_timeout": true, "team_added_to_org": true,
}

// slackTokenErrors are the userinfo error codes that mean the access token
// is not (or no longer) good.
var slackTokenErrors = map[string]bool{
	"not_authed": true, "invalid_auth": true, "account_inactive": true,
	"token_revoked": true, "token_expired": true, "no_permission": true,
	"missing_scope": true, "not_allowed_token_type": true,
}

// Exchange redeems the code, mapping Slack's HTTP 200 errors.
func (s *slackProvider) Exchange(ctx context.Context, req ExchangeRequest) (*Tokens, error) {
	if err := s.checkIssuer(req.Issuer); err != nil {
		return nil, err
	}
	cfg := s.config
	cfg.RedirectURL = req.RedirectURL
	token, err := cfg.Exchange(withClient(ctx, s.client), req.Code, oauth2.VerifierOption(req.CodeVerifier))
	if err != nil {
		var retrieve *oauth2.RetrieveError
		if !errors.As(err, &retrieve) || retrieve.Response == nil ||
			retrieve.Response.StatusCode == http.StatusTooManyRequests || retrieve.Response.StatusCode >= 500 ||
			slackTransientErrors[retrieve.ErrorCode] {
			return nil, fmt.Errorf("%w: slack token endpoint: %v", ErrProviderUnavailable, err)
		}
		return nil, fmt.Errorf("%w: slack: %s", ErrInvalidGrant, retrieve.ErrorCode)
	}
	return &Tokens{Token: token}, nil
}

// slackUserInfo is the answer of openid.connect.userInfo.
type slackUserInfo struct {
	OK            bool   `json:"ok"`
	Error         string `json:"error"`
	Subject       string `json:"sub"`
	TeamID        string `json:"https://slack.com/team_id"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
	Name          string `json:"name"`
	Picture       string `json:"picture"`
}

// Profile reads openid.connect.userInfo.
func (s *slackProvider) Profile(ctx context.Context, tokens *Tokens) (*Profile, error) {
	token, err := bearerOf(tokens)
	if err != nil {
		return nil, err
	}
	var u slackUserInfo
	if err := getJSON(ctx, s.client, s.userInfoURL, token, &u); err != nil {
		return nil, err
	}
	switch {
	case !u.OK && slackTokenErrors[u.Error]:
		return nil, fmt.Errorf("%w: slack userinfo: %s", ErrInvalidGrant, u.Error)
	case !u.OK:
		return nil, fmt.Errorf("%w: slack userinfo: %q", ErrProviderUnavailable, u.Error)
	case u.Subject == "" || u.TeamID == "":
		return nil, fmt.Errorf("%w: slack userinfo without sub or team_id", ErrProviderUnavailable)
	}
	return checkedProfile(&Profile{
		AccountID:     u.TeamID + ":" + u.Subject,
		Email:         u.Email,
		EmailVerified: u.Email != "" && u.EmailVerified,
		Name:          u.Name,
		AvatarURL:     u.Picture,
	}, nil)
}
