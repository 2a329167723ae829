package providers

import (
	"context"
	"fmt"
	"html"
	"net/http"

	"golang.org/x/oauth2"
)

// Reddit returns the Reddit provider: name "reddit", scope "identity",
// duration "temporary". The web flow runs at www.reddit.com and the API at
// oauth.reddit.com; WithBaseURL(base) moves both to base (tests).
//
// Reddit requires HTTP Basic client authentication and a descriptive
// User-Agent on every call. Every request gets the User-Agent
// "ginauth:<clientID> (github.com/ginauth/ginauth)"; to send your own
// (Reddit asks for "<platform>:<app id>:<version> (by /u/<user>)"), give
// WithHTTPClient a client whose Transport sets User-Agent: it runs after
// this default and overrides it.
//
// The profile's AccountID is the account's base36 `id`. Reddit never
// gives an email address: Email is "" and EmailVerified false.
func Reddit(clientID, clientSecret string, opts ...Option) Provider {
	o := buildOptions(opts)
	web := baseOr(o.baseURL, "https://www.reddit.com")
	api := baseOr(o.baseURL, "https://oauth.reddit.com")
	o.httpClient = redditWithUserAgent(o.httpClient, "ginauth:"+clientID+" (github.com/ginauth/ginauth)")
	cfg := oauth2.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   web + "/api/v1/authorize",
			TokenURL:  web + "/api/v1/access_token",
			AuthStyle: oauth2.AuthStyleInHeader,
		},
		Scopes: []string{"identity"},
	}
	flow := newOAuth2Flow("reddit", "Reddit", cfg, o)
	// Signing in needs no refresh token: ask for a temporary grant.
	flow.authParams = []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("duration", "temporary")}
	return &redditProvider{oauth2Flow: flow, meURL: api + "/api/v1/me"}
}

type redditProvider struct {
	oauth2Flow
	meURL string
}

type redditUser struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	IconImg string `json:"icon_img"`
}

// Profile reads GET /api/v1/me.
func (p *redditProvider) Profile(ctx context.Context, tokens *Tokens) (*Profile, error) {
	token, err := bearerOf(tokens)
	if err != nil {
		return nil, err
	}
	var user redditUser
	if err := getJSON(ctx, p.client, p.meURL, token, &user); err != nil {
		return nil, err
	}
	if user.ID == "" {
		return nil, fmt.Errorf("%w: reddit: /api/v1/me has no id", ErrProviderUnavailable)
	}
	return &Profile{
		AccountID: user.ID,
		Name:      user.Name,
		// Reddit HTML-escapes the query of icon_img ("&amp;").
		AvatarURL: html.UnescapeString(user.IconImg),
	}, nil
}

// redditWithUserAgent returns a copy of c that sets User-Agent to
// userAgent before c's own Transport runs; c itself is not changed.
func redditWithUserAgent(c *http.Client, userAgent string) *http.Client {
	cp := *c
	cp.Transport = redditUATransport{base: c.Transport, userAgent: userAgent}
	return &cp
}

type redditUATransport struct {
	base      http.RoundTripper
	userAgent string
}

// RoundTrip sends a copy of req with the default User-Agent.
func (t redditUATransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	req = req.Clone(req.Context())
	req.Header.Set("User-Agent", t.userAgent)
	return base.RoundTrip(req)
}
