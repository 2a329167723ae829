package providers

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"
)

// oidcDefaultScopes are the scopes every OpenID Connect provider asks for
// unless WithScopes replaces them; "openid" is always sent.
var oidcDefaultScopes = []string{oidc.ScopeOpenID, oidc.ScopeEmail, oidc.ScopeProfile}

// maxIDTokenBytes caps an id_token before it is parsed.
const maxIDTokenBytes = 64 << 10

// OIDC returns any OpenID Connect provider, configured by discovery from
// issuer's /.well-known/openid-configuration. The issuer the document
// reports must equal issuer exactly, trailing slash included.
//
// OIDC tries discovery once, waiting at most until ctx ends (the request
// itself is bounded by the HTTP client's timeout). When the issuer cannot
// be reached (it is down at startup, or ctx ends first) OIDC still
// returns the provider, which tries again on later use and answers
// ErrProviderUnavailable until it succeeds. The provider implements
// Checker: ginauth.New calls Check to learn whether discovery succeeded.
//
// Discovery is done again once the document is a day old, by the first
// call after that while the others go on with the old one, and sooner (at
// most once a minute) after an id_token signed with an algorithm or a key
// the document does not announce: the sign-in after an issuer changes
// algorithms works. A refresh that fails, or whose document would fail
// the first discovery (another issuer, say), keeps the configuration that
// works and is tried again a few seconds later.
//
// Sign-in uses the authorization code flow with PKCE S256 and a nonce.
// Exchange verifies the id_token against the issuer's JWKS (signature with
// an asymmetric algorithm the issuer advertises, iss exactly, aud, exp,
// nonce, at_hash when present, azp when present) and the RFC 9207 iss
// callback parameter, ExchangeRequest.Issuer: when present it must equal
// the issuer, and it must be present when discovery says the issuer sends
// it (authorization_response_iss_parameter_supported). Profile reads the
// id_token's claims and, when email, email_verified or name is missing,
// the userinfo endpoint, whose sub must be the id_token's. AccountID is
// `sub`.
//
// Name is "oidc" unless WithName; DisplayName is WithDisplayName or the
// issuer's host. Scopes are openid, email and profile unless WithScopes.
// WithBaseURL is ignored: issuer says where the provider is.
func OIDC(ctx context.Context, issuer, clientID, clientSecret string, opts ...Option) Provider {
	o := buildOptions(opts)
	display := issuer
	if u, err := url.Parse(issuer); err == nil && u.Hostname() != "" {
		display = u.Hostname()
	}
	p := newOIDCProvider(oidcSpec{
		name:         "oidc",
		displayName:  display,
		issuer:       issuer,
		discoveryURL: oidcDiscoveryURL(issuer),
		scopes:       oidcDefaultScopes,
	}, clientID, clientSecret, o)
	_ = p.Check(ctx) // the error is kept and reported by later calls
	return p
}

// oidcSpec is one configuration of the OpenID Connect machinery: what
// Google, Microsoft, Okta and FranceConnect change.
type oidcSpec struct {
	name        string
	displayName string
	// issuer is what discovery must report and, unless tenantIssuer, what
	// every id_token's iss must equal.
	issuer       string
	discoveryURL string
	scopes       []string
	// authParams are extra authorization request parameters.
	authParams []oauth2.AuthCodeOption
	// noUserInfo keeps Profile from calling the userinfo endpoint.
	noUserInfo bool
	// tenantIssuer marks a multi-tenant issuer: issuer holds "{tenantid}",
	// and a token's iss must be issuer with it replaced by the token's
	// tid claim, which allowTenant (when set) must accept.
	tenantIssuer bool
	allowTenant  func(tid string) bool
}

// oidcProvider is the Provider of every OpenID Connect configuration.
type oidcProvider struct {
	spec         oidcSpec
	name         string
	displayName  string
	clientID     string
	clientSecret string
	scopes       []string
	client       *http.Client

	// now decides when discovery is tried again (tests move it);
	// refreshEvery is how old a discovery may get before it is done again
	// (tests shorten it).
	now          func() time.Time
	refreshEvery time.Duration
	group        singleflight.Group

	mu sync.Mutex
	// ready is the configuration, discovered at readyAt.
	ready   *oidcEndpoints
	readyAt time.Time
	// lastErr is why the first discovery failed.
	lastErr error
	// retryAt is when discovery may be tried again after a failure.
	retryAt time.Time
	// refreshing is set while ready is discovered again; earlyAt is when
	// the last discovery brought forward by verifyIDToken started.
	refreshing bool
	earlyAt    time.Time
}

// newOIDCProvider applies the options to spec. It does not touch the
// network.
func newOIDCProvider(spec oidcSpec, clientID, clientSecret string, o options) *oidcProvider {
	p := &oidcProvider{
		spec:         spec,
		name:         spec.name,
		displayName:  spec.displayName,
		clientID:     clientID,
		clientSecret: clientSecret,
		scopes:       spec.scopes,
		client:       oidcCappedClient(o.httpClient),
		now:          time.Now,
		refreshEvery: oidcRefreshInterval,
	}
	if o.name != "" {
		p.name = o.name
	}
	if o.displayName != "" {
		p.displayName = o.displayName
	}
	if o.scopes != nil {
		p.scopes = o.scopes
		if !slices.Contains(p.scopes, oidc.ScopeOpenID) {
			p.scopes = append([]string{oidc.ScopeOpenID}, p.scopes...)
		}
	}
	return p
}

// Name implements Provider.
func (p *oidcProvider) Name() string { return p.name }

// DisplayName implements Provider.
func (p *oidcProvider) DisplayName() string { return p.displayName }

// Check implements Checker: nil once discovery succeeded.
func (p *oidcProvider) Check(ctx context.Context) error {
	_, err := p.endpoints(ctx)
	return err
}

// config is the oauth2 configuration of the discovered endpoints.
func (p *oidcProvider) config(e *oidcEndpoints) oauth2.Config {
	return oauth2.Config{
		ClientID:     p.clientID,
		ClientSecret: p.clientSecret,
		Endpoint:     e.endpoint,
		Scopes:       p.scopes,
	}
}

// AuthCodeURL implements Provider. It returns "" while discovery fails;
// call Check first to tell that apart.
func (p *oidcProvider) AuthCodeURL(req AuthRequest) string {
	ctx, cancel := context.WithTimeout(context.Background(), oidcDiscoveryWait)
	defer cancel()
	e, err := p.endpoints(ctx)
	if err != nil {
		return ""
	}
	extra := slices.Clone(p.spec.authParams)
	if req.Nonce != "" {
		extra = append(extra, oidc.Nonce(req.Nonce))
	}
	return authCodeURL(p.config(e), req, extra...)
}

// Exchange implements Provider: the code exchange, then every check of
// the id_token. The RFC 9207 iss parameter is checked before the code is
// sent anywhere.
func (p *oidcProvider) Exchange(ctx context.Context, req ExchangeRequest) (*Tokens, error) {
	e, err := p.endpoints(ctx)
	if err != nil {
		return nil, err
	}
	if req.Nonce == "" {
		return nil, fmt.Errorf("%w: no nonce to check the id_token against", ErrInvalidGrant)
	}
	switch {
	case req.Issuer == "" && e.issParam:
		return nil, fmt.Errorf("%w: no iss parameter, which the issuer says it sends (RFC 9207)", ErrInvalidGrant)
	case req.Issuer != "" && !p.callbackIssuerOK(e, req.Issuer):
		return nil, fmt.Errorf("%w: iss parameter %q is not the issuer %q (RFC 9207)", ErrInvalidGrant, req.Issuer, e.issuer)
	}
	token, err := exchange(ctx, p.client, p.config(e), req)
	if err != nil {
		return nil, err
	}
	if token.TokenType != "" && !strings.EqualFold(token.TokenType, "bearer") {
		return nil, fmt.Errorf("%w: token_type %q is not bearer", ErrInvalidGrant, token.TokenType)
	}
	raw, _ := token.Extra("id_token").(string)
	switch {
	case raw == "":
		return nil, fmt.Errorf("%w: no id_token in the token response", ErrInvalidGrant)
	case len(raw) > maxIDTokenBytes:
		return nil, fmt.Errorf("%w: id_token longer than %d bytes", ErrInvalidGrant, maxIDTokenBytes)
	}
	idToken, err := p.verifyIDToken(ctx, e, raw)
	if err != nil {
		return nil, err
	}
	var claims oidcClaims
	if err := idToken.Claims(&claims); err != nil {
		return nil, fmt.Errorf("%w: id_token claims: %v", ErrInvalidGrant, err)
	}
	if err := p.checkIDToken(idToken, &claims, req, token.AccessToken); err != nil {
		return nil, err
	}
	return &Tokens{Token: token, IDTokenClaims: claims.idTokenClaims(idToken)}, nil
}

// callbackIssuerOK reports whether the callback's iss parameter names
// this provider: exactly its issuer, or for a multi-tenant issuer, the
// issuer of some tenant (Exchange then requires it to be the token's).
func (p *oidcProvider) callbackIssuerOK(e *oidcEndpoints, iss string) bool {
	if !p.spec.tenantIssuer {
		return iss == e.issuer
	}
	before, after, _ := strings.Cut(e.issuer, "{tenantid}")
	tid, ok := strings.CutPrefix(iss, before)
	if ok {
		tid, ok = strings.CutSuffix(tid, after)
	}
	return ok && tid != "" && !strings.ContainsAny(tid, "/?#")
}

// checkIDToken makes the checks go-oidc leaves to its caller: the tenant
// issuer, nonce, azp, at_hash and a subject.
func (p *oidcProvider) checkIDToken(idToken *oidc.IDToken, claims *oidcClaims, req ExchangeRequest, accessToken string) error {
	if p.spec.tenantIssuer {
		want := strings.Replace(p.spec.issuer, "{tenantid}", claims.TenantID, 1)
		switch {
		case claims.TenantID == "" || idToken.Issuer != want:
			return fmt.Errorf("%w: id_token iss %q is not the issuer of its tenant %q", ErrInvalidGrant, idToken.Issuer, claims.TenantID)
		case p.spec.allowTenant != nil && !p.spec.allowTenant(claims.TenantID):
			return fmt.Errorf("%w: tenant %q may not sign in here", ErrInvalidGrant, claims.TenantID)
		case req.Issuer != "" && req.Issuer != idToken.Issuer:
			return fmt.Errorf("%w: iss parameter %q is not the id_token's issuer %q (RFC 9207)", ErrInvalidGrant, req.Issuer, idToken.Issuer)
		}
	}
	if idToken.Nonce == "" || subtle.ConstantTimeCompare([]byte(idToken.Nonce), []byte(req.Nonce)) != 1 {
		return fmt.Errorf("%w: id_token nonce missing or not the one sent", ErrInvalidGrant)
	}
	if claims.AuthorizedParty != "" && claims.AuthorizedParty != p.clientID {
		return fmt.Errorf("%w: id_token azp %q is not this client", ErrInvalidGrant, claims.AuthorizedParty)
	}
	if idToken.AccessTokenHash != "" {
		if err := idToken.VerifyAccessToken(accessToken); err != nil {
			return fmt.Errorf("%w: at_hash: %v", ErrInvalidGrant, err)
		}
	}
	if idToken.Subject == "" {
		return fmt.Errorf("%w: id_token has no sub", ErrInvalidGrant)
	}
	return nil
}
