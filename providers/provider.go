// Package providers holds the OAuth 2.0 and OpenID Connect identity
// providers ginauth signs users in with: one small Provider interface and
// one file per provider. Nothing here knows about users or databases: a
// provider turns an authorization code into tokens and a Profile.
package providers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/oauth2"
)

// Provider is one identity provider. Implementations are safe for
// concurrent use.
type Provider interface {
	// Name is the provider's identifier in routes and in stored accounts,
	// e.g. "github". It must be URL-safe and must never change.
	Name() string
	// DisplayName is the provider's name for people, e.g. "GitHub".
	DisplayName() string
	// AuthCodeURL returns the URL the browser is sent to. It always
	// carries the PKCE S256 challenge of req.CodeVerifier and, for OpenID
	// Connect providers, req.Nonce. A provider that also implements
	// Checker returns "" while Check fails.
	AuthCodeURL(req AuthRequest) string
	// Exchange trades an authorization code for tokens. OpenID Connect
	// providers verify the id_token (signature via JWKS, iss, aud, exp,
	// nonce, at_hash) before returning.
	Exchange(ctx context.Context, req ExchangeRequest) (*Tokens, error)
	// Profile reads the signed-in account's profile.
	Profile(ctx context.Context, tokens *Tokens) (*Profile, error)
}

// Checker is implemented by providers that must reach the network before
// they can serve, such as OpenID Connect providers, which read their
// issuer's discovery document. Check returns nil once the provider is
// ready, or an error wrapping ErrProviderUnavailable. After a failure it
// tries again on a later call (at most every few seconds), so it is cheap
// to call: ginauth.New calls it to report a wrong issuer at startup, and
// the authorize route calls it before AuthCodeURL to answer 502 rather
// than redirect the browser nowhere.
type Checker interface {
	Check(ctx context.Context) error
}

// ResponseModer is implemented by providers whose authorization response
// does not come back as a query string on a GET. ResponseMode returns
// the OAuth 2.0 response_mode they request: "form_post" (Sign in with
// Apple) means the browser POSTs the callback as a form
// (application/x-www-form-urlencoded) from the provider's origin, so the
// callback route must accept POST for that provider, and a SameSite=Lax
// state cookie is not sent with that cross-site POST. Providers that do
// not implement it use the default "query" mode.
type ResponseModer interface {
	ResponseMode() string
}

// AuthRequest is what AuthCodeURL needs for one sign-in attempt.
type AuthRequest struct {
	// State is the opaque, single-use value the callback must return.
	State string
	// RedirectURL is the callback URL registered with the provider.
	RedirectURL string
	// CodeVerifier is the PKCE verifier; only its S256 challenge is sent.
	CodeVerifier string
	// Nonce binds the id_token to this attempt (OpenID Connect).
	Nonce string
	// Scopes are requested in addition to the provider's defaults.
	Scopes []string
}

// ExchangeRequest is what Exchange needs to finish a sign-in attempt.
type ExchangeRequest struct {
	Code         string
	RedirectURL  string
	CodeVerifier string
	// Nonce is the nonce sent in AuthCodeURL; the id_token must carry it.
	Nonce string
	// Issuer is the `iss` parameter of the callback (RFC 9207), or "".
	// When set it must equal the provider's issuer.
	Issuer string
	// FormUser is the `user` parameter of a form_post callback, or "".
	// Sign in with Apple sends it on an account's first authorization
	// only, as JSON holding the person's name, which its id_token lacks.
	// It is unsigned: anyone who can post the callback can write it, so a
	// provider may use it for display (Profile.Name) and never for
	// AccountID, Email or EmailVerified.
	FormUser string
}

// Tokens are the provider's tokens for the signed-in account.
type Tokens struct {
	// Token is the OAuth 2.0 token response.
	*oauth2.Token
	// IDTokenClaims are the verified claims of the id_token, nil for
	// providers without OpenID Connect.
	IDTokenClaims *IDTokenClaims

	// formName is the name Exchange read from ExchangeRequest.FormUser:
	// unsigned, for Profile.Name only.
	formName string
}

// IDTokenClaims are the claims of a verified id_token that profiles use.
type IDTokenClaims struct {
	Issuer        string `json:"iss"`
	Subject       string `json:"sub"`
	Email         string `json:"email"`
	EmailVerified *bool  `json:"email_verified"`
	Name          string `json:"name"`
	Picture       string `json:"picture"`
}

// Profile is the signed-in account as the provider describes it.
type Profile struct {
	// AccountID is the provider's immutable account id (`sub`, GitHub's
	// numeric id): accounts are keyed on it, never on email or login.
	AccountID string
	// Email is the account's email, "" when the provider gave none.
	Email string
	// EmailVerified is true only when the provider says it verified Email.
	EmailVerified bool
	// Name and AvatarURL are for display.
	Name      string
	AvatarURL string
}

// ErrProviderUnavailable wraps failures to reach the provider or to read
// its answers (network errors, 5xx, malformed bodies).
var ErrProviderUnavailable = errors.New("providers: provider unavailable")

// ErrInvalidGrant means the provider refused the code or the id_token did
// not verify: the sign-in attempt is over.
var ErrInvalidGrant = errors.New("providers: authorization refused")

// maxResponseBytes caps every body read from a provider.
const maxResponseBytes = 1 << 20

// DefaultHTTPClient is the client providers use unless given another:
// every call has a timeout.
func DefaultHTTPClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second}
}

// Option adjusts a provider built by this package.
type Option func(*options)

type options struct {
	httpClient  *http.Client
	scopes      []string
	name        string
	displayName string
	baseURL     string
}

// WithHTTPClient sets the HTTP client for every call to the provider.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithScopes replaces the provider's default scopes.
func WithScopes(scopes ...string) Option { return func(o *options) { o.scopes = scopes } }

// WithName sets the provider's Name, for two instances of one provider.
func WithName(name string) Option { return func(o *options) { o.name = name } }

// WithDisplayName sets the provider's DisplayName.
func WithDisplayName(name string) Option { return func(o *options) { o.displayName = name } }

// WithBaseURL points the provider at another host: GitHub Enterprise
// Server, a self-hosted GitLab, an Okta org, a test server.
func WithBaseURL(url string) Option { return func(o *options) { o.baseURL = url } }

func buildOptions(opts []Option) options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.httpClient == nil {
		o.httpClient = DefaultHTTPClient()
	}
	return o
}

// withClient makes oauth2 calls use the provider's HTTP client.
func withClient(ctx context.Context, c *http.Client) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, c)
}

// authCodeURL is the AuthCodeURL of a plain OAuth 2.0 provider: state,
// redirect and the S256 PKCE challenge, always.
func authCodeURL(cfg oauth2.Config, req AuthRequest, extra ...oauth2.AuthCodeOption) string {
	cfg.RedirectURL = req.RedirectURL
	cfg.Scopes = append(append([]string(nil), cfg.Scopes...), req.Scopes...)
	opts := append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(req.CodeVerifier)}, extra...)
	return cfg.AuthCodeURL(req.State, opts...)
}

// exchange is the code exchange of a plain OAuth 2.0 provider, with the
// PKCE verifier. A refusal by the provider is ErrInvalidGrant; anything
// else is ErrProviderUnavailable.
func exchange(ctx context.Context, client *http.Client, cfg oauth2.Config, req ExchangeRequest, extra ...oauth2.AuthCodeOption) (*oauth2.Token, error) {
	cfg.RedirectURL = req.RedirectURL
	opts := append([]oauth2.AuthCodeOption{oauth2.VerifierOption(req.CodeVerifier)}, extra...)
	token, err := cfg.Exchange(withClient(ctx, client), req.Code, opts...)
	if err != nil {
		var retrieve *oauth2.RetrieveError
		if errors.As(err, &retrieve) && grantRefused(retrieve) {
			return nil, fmt.Errorf("%w: %s", ErrInvalidGrant, retrieve.ErrorCode)
		}
		return nil, fmt.Errorf("%w: token endpoint: %v", ErrProviderUnavailable, err)
	}
	return token, nil
}

// grantRefused tells a refusal of the code (RFC 6749 §5.2: 400 or 401, or
// 403 as some providers answer, or an error code in a 200) from a provider
// in trouble (rate limits, 5xx, a wrong URL answering 404), which is
// ErrProviderUnavailable.
func grantRefused(e *oauth2.RetrieveError) bool {
	if e.Response == nil {
		return false
	}
	switch code := e.Response.StatusCode; {
	case code == http.StatusBadRequest, code == http.StatusUnauthorized, code == http.StatusForbidden:
		return e.ErrorCode != "server_error" && e.ErrorCode != "temporarily_unavailable"
	case code >= 200 && code < 300:
		return e.ErrorCode != "" && e.ErrorCode != "server_error" && e.ErrorCode != "temporarily_unavailable"
	default:
		return false
	}
}
