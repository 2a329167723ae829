package providers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"golang.org/x/oauth2"
)

// OAuth2Config configures OAuth2, the provider for an OAuth 2.0 service
// that has no file of its own in this package.
type OAuth2Config struct {
	// Name identifies the provider in routes and stored accounts, e.g.
	// "gitea". Required: lower-case letters, digits, '-' and '_', at most
	// 64 characters. It must never change once accounts are stored.
	Name string
	// DisplayName is shown to people; it defaults to Name.
	DisplayName string
	// ClientID and ClientSecret are the credentials the service issued.
	// Both are required: ginauth runs on a server and is a confidential
	// client.
	ClientID, ClientSecret string
	// AuthURL and TokenURL are the authorization and token endpoints.
	// Both are required and must be https URLs; plain http is accepted
	// only for a loopback host (localhost, 127.0.0.0/8, ::1), for tests.
	AuthURL, TokenURL string
	// Scopes are the scopes requested by default.
	Scopes []string
	// AuthStyle says how the client authenticates to the token endpoint.
	// The zero value, oauth2.AuthStyleAutoDetect, tries HTTP Basic and
	// then form parameters, and may so send a code twice: set
	// oauth2.AuthStyleInHeader or oauth2.AuthStyleInParams when the
	// service documents one.
	AuthStyle oauth2.AuthStyle
	// HTTPClient makes every call to the service; nil means
	// DefaultHTTPClient().
	HTTPClient *http.Client
	// Issuer is the service's issuer identifier, if it has one. When set,
	// an `iss` parameter on the callback (RFC 9207) must equal it.
	Issuer string
	// Profile reads the signed-in account with the token the exchange
	// returned; client is HTTPClient. Required. UserInfoJSON and
	// StandardUserInfo build it for the common "GET a JSON document with
	// the bearer token" case. It must set Profile.AccountID to the
	// service's immutable account id, never to an email or a login name,
	// and set EmailVerified only when the service says it verified the
	// email. Errors that wrap neither ErrInvalidGrant nor
	// ErrProviderUnavailable are reported as ErrProviderUnavailable.
	Profile func(ctx context.Context, client *http.Client, token *oauth2.Token) (*Profile, error)
}

// providerNamePattern is what a provider's Name may look like: it is a
// path segment in routes and a key in the database.
var providerNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)

// OAuth2 returns a provider for any OAuth 2.0 service from its endpoints
// and a profile function. The flow always carries state and the PKCE S256
// challenge; the exchange sends the PKCE verifier. It returns an error
// that names the field to fix when cfg is incomplete or uses an insecure
// URL.
func OAuth2(cfg OAuth2Config) (Provider, error) {
	if !providerNamePattern.MatchString(cfg.Name) {
		return nil, fmt.Errorf("providers: OAuth2 Name %q must be 1 to 64 lower-case letters, digits, '-' or '_'", cfg.Name)
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("providers: OAuth2 %q: "+format, append([]any{cfg.Name}, args...)...)
	}
	switch {
	case cfg.ClientID == "":
		return nil, fail("ClientID is required")
	case cfg.ClientSecret == "":
		return nil, fail("ClientSecret is required")
	case cfg.Profile == nil:
		return nil, fail("Profile is required (see UserInfoJSON)")
	}
	if err := checkEndpointURL("AuthURL", cfg.AuthURL); err != nil {
		return nil, fail("%v", err)
	}
	if err := checkEndpointURL("TokenURL", cfg.TokenURL); err != nil {
		return nil, fail("%v", err)
	}
	displayName := cfg.DisplayName
	if displayName == "" {
		displayName = cfg.Name
	}
	client := cfg.HTTPClient
	if client == nil {
		client = DefaultHTTPClient()
	}
	return &oauth2Provider{
		oauth2Flow: oauth2Flow{
			name:        cfg.Name,
			displayName: displayName,
			client:      client,
			issuer:      cfg.Issuer,
			config: oauth2.Config{
				ClientID:     cfg.ClientID,
				ClientSecret: cfg.ClientSecret,
				Endpoint:     oauth2.Endpoint{AuthURL: cfg.AuthURL, TokenURL: cfg.TokenURL, AuthStyle: cfg.AuthStyle},
				Scopes:       append([]string(nil), cfg.Scopes...),
			},
		},
		profile: cfg.Profile,
	}, nil
}

// oauth2Provider is the provider OAuth2 returns.
type oauth2Provider struct {
	oauth2Flow
	profile func(ctx context.Context, client *http.Client, token *oauth2.Token) (*Profile, error)
}

// Profile calls the configured profile function and checks its result.
func (p *oauth2Provider) Profile(ctx context.Context, tokens *Tokens) (*Profile, error) {
	if _, err := bearerOf(tokens); err != nil {
		return nil, err
	}
	return checkedProfile(p.profile(ctx, p.client, tokens.Token))
}

// UserInfoJSON returns an OAuth2Config.Profile function that GETs url
// with the access token as a bearer token, decodes the JSON answer into a
// T and maps it with mapping. The answer is capped at 1 MiB; a 401 or 403
// is ErrInvalidGrant, any other failure ErrProviderUnavailable. T is a
// struct of the fields the service documents, so a field of an
// unexpected type is a decoding error (ErrProviderUnavailable), never a
// panic; a missing field is its zero value.
func UserInfoJSON[T any](url string, mapping func(*T) (*Profile, error)) func(context.Context, *http.Client, *oauth2.Token) (*Profile, error) {
	return func(ctx context.Context, client *http.Client, token *oauth2.Token) (*Profile, error) {
		var doc T
		if err := getJSON(ctx, client, url, token.AccessToken, &doc); err != nil {
			return nil, err
		}
		return mapping(&doc)
	}
}

// StandardUserInfo returns an OAuth2Config.Profile function for a
// userinfo endpoint that answers with the standard OpenID Connect claims:
// sub (the AccountID), email, email_verified, name and picture.
func StandardUserInfo(url string) func(context.Context, *http.Client, *oauth2.Token) (*Profile, error) {
	return UserInfoJSON(url, func(c *standardClaims) (*Profile, error) {
		return &Profile{
			AccountID:     string(c.Subject),
			Email:         c.Email,
			EmailVerified: c.Email != "" && bool(c.EmailVerified),
			Name:          c.Name,
			AvatarURL:     c.Picture,
		}, nil
	})
}

// standardClaims are the OpenID Connect standard claims StandardUserInfo
// reads.
type standardClaims struct {
	Subject       jsonID      `json:"sub"`
	Email         string      `json:"email"`
	EmailVerified lenientBool `json:"email_verified"`
	Name          string      `json:"name"`
	Picture       string      `json:"picture"`
}

// jsonID is an account id that a service sends as a JSON string or as a
// JSON integer; integers keep all their digits.
type jsonID string

// UnmarshalJSON accepts a string, an integer or null.
func (id *jsonID) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*id = jsonID(v)
		return nil
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return fmt.Errorf("account id %s is neither a string nor an integer", s)
		}
	}
	*id = jsonID(s)
	return nil
}

// lenientBool is a boolean a service sends as true/false or, as some do
// for email_verified, as the strings "true"/"false".
type lenientBool bool

// UnmarshalJSON accepts true, false, "true", "false" or null.
func (b *lenientBool) UnmarshalJSON(data []byte) error {
	switch string(data) {
	case "true", `"true"`:
		*b = true
	case "false", `"false"`, "null":
		*b = false
	default:
		return fmt.Errorf("boolean expected, got %s", data)
	}
	return nil
}

// oauth2Flow is the authorization-code flow shared by the plain OAuth 2.0
// providers: Name, DisplayName, AuthCodeURL and Exchange. A provider
// embeds it and adds Profile.
type oauth2Flow struct {
	name, displayName string
	config            oauth2.Config
	client            *http.Client
	// issuer, when known, is checked against the callback's `iss`.
	issuer string
	// sendNonce adds the request's nonce (OpenID Connect providers).
	sendNonce bool
	// authParams are extra fixed parameters of the authorization URL.
	authParams []oauth2.AuthCodeOption
}

// newOAuth2Flow builds a flow from a provider's defaults and the caller's
// options (name, display name, scopes, HTTP client).
func newOAuth2Flow(name, displayName string, cfg oauth2.Config, o options) oauth2Flow {
	if o.name != "" {
		name = o.name
	}
	if o.scopes != nil {
		cfg.Scopes = append([]string(nil), o.scopes...)
	}
	if o.displayName != "" {
		displayName = o.displayName
	}
	return oauth2Flow{name: name, displayName: displayName, config: cfg, client: o.httpClient}
}

// Name is the provider's identifier in routes and stored accounts.
func (f *oauth2Flow) Name() string { return f.name }

// DisplayName is the provider's name for people.
func (f *oauth2Flow) DisplayName() string { return f.displayName }

// AuthCodeURL carries state, redirect URI, scopes, the PKCE S256
// challenge and, for OpenID Connect providers, the nonce.
func (f *oauth2Flow) AuthCodeURL(req AuthRequest) string {
	extra := f.authParams
	if f.sendNonce && req.Nonce != "" {
		extra = append(append([]oauth2.AuthCodeOption(nil), extra...), oauth2.SetAuthURLParam("nonce", req.Nonce))
	}
	return authCodeURL(f.config, req, extra...)
}

// Exchange checks the callback's issuer, then redeems the code with the
// PKCE verifier.
func (f *oauth2Flow) Exchange(ctx context.Context, req ExchangeRequest) (*Tokens, error) {
	if err := f.checkIssuer(req.Issuer); err != nil {
		return nil, err
	}
	token, err := exchange(ctx, f.client, f.config, req)
	if err != nil {
		return nil, err
	}
	return &Tokens{Token: token}, nil
}

// checkIssuer refuses a callback whose `iss` (RFC 9207) is not the
// provider's issuer. A provider without a known issuer cannot check it.
func (f *oauth2Flow) checkIssuer(iss string) error {
	if iss != "" && f.issuer != "" && iss != f.issuer {
		return fmt.Errorf("%w: callback issuer %q is not %q", ErrInvalidGrant, iss, f.issuer)
	}
	return nil
}

// bearerOf returns the access token of tokens, or ErrInvalidGrant when
// there is none.
func bearerOf(tokens *Tokens) (string, error) {
	if tokens == nil || tokens.Token == nil || tokens.AccessToken == "" {
		return "", fmt.Errorf("%w: no access token", ErrInvalidGrant)
	}
	return tokens.AccessToken, nil
}

// checkedProfile is the last step of every Profile: errors become one of
// the package's error values, and a profile without an account id is
// refused, since accounts are keyed on it.
func checkedProfile(p *Profile, err error) (*Profile, error) {
	if err != nil {
		if errors.Is(err, ErrInvalidGrant) || errors.Is(err, ErrProviderUnavailable) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: profile: %v", ErrProviderUnavailable, err)
	}
	if p == nil || p.AccountID == "" {
		return nil, fmt.Errorf("%w: profile has no account id", ErrProviderUnavailable)
	}
	return p, nil
}

// baseOr returns the WithBaseURL override without its trailing slash, or
// def when there is none. Providers whose endpoints live on several hosts
// put them all under the one override, each on its own path, so one test
// server can play every host.
func baseOr(override, def string) string {
	if override == "" {
		return def
	}
	return strings.TrimRight(override, "/")
}

// checkEndpointURL refuses an endpoint that is not an absolute https URL
// (http only for a loopback host), or that carries credentials or a
// fragment.
func checkEndpointURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("%s %q must be an absolute https URL", field, raw)
	}
	if u.User != nil || u.Fragment != "" {
		return fmt.Errorf("%s %q must not carry credentials or a fragment", field, raw)
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && isLoopbackHost(u.Hostname()):
		return nil
	default:
		return fmt.Errorf("%s %q must use https (http only on a loopback host)", field, raw)
	}
}

// readCapped reads a provider's answer body, refusing one larger than
// maxResponseBytes.
func readCapped(resp *http.Response, path string) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrProviderUnavailable, path, err)
	}
	if len(body) > maxResponseBytes {
		return nil, fmt.Errorf("%w: %s: response larger than %d bytes", ErrProviderUnavailable, path, maxResponseBytes)
	}
	return body, nil
}

// isLoopbackHost reports whether host is localhost or a loopback IP.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
