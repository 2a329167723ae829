package providers

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/ginauth/ginauth/internal/loopback"
	"golang.org/x/oauth2"
)

// oidcDiscoveryWait bounds how long AuthCodeURL, which has no context,
// waits for discovery.
const oidcDiscoveryWait = 30 * time.Second

// oidcRetryDelay is how long a failed discovery is remembered before the
// next call tries again, so a dead issuer costs one request every few
// seconds, not one per sign-in.
const oidcRetryDelay = 5 * time.Second

// oidcRefreshInterval is how long a discovery document is used before it
// is fetched again, so that an issuer's new algorithms, moved endpoints or
// RFC 9207 support are picked up without a restart.
const oidcRefreshInterval = 24 * time.Hour

// oidcEarlyRefreshDelay is the least time between two discoveries brought
// forward by id_tokens that a newer document could explain (see
// verifyIDToken).
const oidcEarlyRefreshDelay = time.Minute

// oidcSigningAlgs are the id_token algorithms accepted at all: asymmetric
// only. A discovery document that advertises "none" or HS256 does not make
// them acceptable.
var oidcSigningAlgs = []string{
	oidc.RS256, oidc.RS384, oidc.RS512,
	oidc.ES256, oidc.ES384, oidc.ES512,
	oidc.PS256, oidc.PS384, oidc.PS512,
	oidc.EdDSA,
}

// oidcDiscoveryDoc is the part of the discovery document this package uses.
type oidcDiscoveryDoc struct {
	Issuer            string   `json:"issuer"`
	AuthURL           string   `json:"authorization_endpoint"`
	TokenURL          string   `json:"token_endpoint"`
	UserInfoURL       string   `json:"userinfo_endpoint"`
	JWKSURL           string   `json:"jwks_uri"`
	Algorithms        []string `json:"id_token_signing_alg_values_supported"`
	TokenAuthMethods  []string `json:"token_endpoint_auth_methods_supported"`
	IssParamSupported bool     `json:"authorization_response_iss_parameter_supported"`
}

// oidcEndpoints is a provider's configuration once discovery succeeded.
type oidcEndpoints struct {
	issuer string
	// issParam is set when the issuer says it sends the RFC 9207 iss
	// parameter: a callback without it is then refused.
	issParam    bool
	endpoint    oauth2.Endpoint
	userInfoURL string
	// algs are the id_token algorithms accepted: those of oidcSigningAlgs
	// the document lists.
	algs     []string
	verifier *oidc.IDTokenVerifier
	// userInfoVerifier checks the signature of a userinfo answer sent as
	// a JWT; iss and aud are checked by hand as they are optional there.
	userInfoVerifier *oidc.IDTokenVerifier
}

// SecureIssuer reports whether an issuer (or any provider URL) may be
// trusted for discovery and keys: https, or http on a loopback host
// (localhost, 127.0.0.0/8, ::1) for development.
func SecureIssuer(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return false
	}
	switch u.Scheme {
	case "https":
		return true
	case "http":
		return loopback.Host(u.Hostname())
	}
	return false
}

// oidcDiscoveryURL is where the spec puts the discovery document of issuer.
func oidcDiscoveryURL(issuer string) string {
	return strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
}

// discover reads the discovery document and builds the endpoints and the
// id_token verifier. The issuer it reports must be exactly the configured
// one: no trailing-slash or case normalisation.
func (p *oidcProvider) discover(ctx context.Context) (*oidcEndpoints, error) {
	if !SecureIssuer(p.spec.discoveryURL) {
		// Discovery over plain HTTP lets anyone on the path swap the JWKS
		// and sign id_tokens for any account.
		return nil, fmt.Errorf("%w: issuer %s must use https (plain http only on a loopback host, for development)", ErrProviderUnavailable, p.spec.issuer)
	}
	var doc oidcDiscoveryDoc
	if err := getJSON(ctx, p.client, p.spec.discoveryURL, "", &doc); err != nil {
		if !errors.Is(err, ErrProviderUnavailable) { // a 401 or 403 on a public document
			err = fmt.Errorf("%w: %v", ErrProviderUnavailable, err)
		}
		return nil, err
	}
	if doc.Issuer != p.spec.issuer {
		return nil, fmt.Errorf("%w: discovery at %s reports issuer %q, configured %q", ErrProviderUnavailable, p.spec.discoveryURL, doc.Issuer, p.spec.issuer)
	}
	if doc.AuthURL == "" || doc.TokenURL == "" || doc.JWKSURL == "" {
		return nil, fmt.Errorf("%w: discovery at %s lacks authorization_endpoint, token_endpoint or jwks_uri", ErrProviderUnavailable, p.spec.discoveryURL)
	}
	for _, endpoint := range []string{doc.AuthURL, doc.TokenURL, doc.JWKSURL, doc.UserInfoURL} {
		if endpoint != "" && !SecureIssuer(endpoint) {
			return nil, fmt.Errorf("%w: discovery at %s names the endpoint %s, which is not https", ErrProviderUnavailable, p.spec.discoveryURL, endpoint)
		}
	}
	var algs []string
	for _, a := range doc.Algorithms {
		if slices.Contains(oidcSigningAlgs, a) {
			algs = append(algs, a)
		}
	}
	if len(algs) == 0 {
		algs = []string{oidc.RS256} // the default of OpenID Connect Discovery
	}
	keys := newOIDCKeySet(p.client, doc.JWKSURL)
	return &oidcEndpoints{
		issuer:   doc.Issuer,
		issParam: doc.IssParamSupported,
		endpoint: oauth2.Endpoint{
			AuthURL:   doc.AuthURL,
			TokenURL:  doc.TokenURL,
			AuthStyle: oidcAuthStyle(doc.TokenAuthMethods),
		},
		userInfoURL: doc.UserInfoURL,
		algs:        algs,
		verifier: oidc.NewVerifier(doc.Issuer, keys, &oidc.Config{
			ClientID:             p.clientID,
			SupportedSigningAlgs: algs,
			// A multi-tenant issuer is a template: iss is checked against
			// the token's tenant in Exchange instead (see microsoft.go).
			SkipIssuerCheck: p.spec.tenantIssuer,
		}),
		userInfoVerifier: oidc.NewVerifier(doc.Issuer, keys, &oidc.Config{
			SupportedSigningAlgs: algs,
			SkipClientIDCheck:    true,
			SkipIssuerCheck:      true,
			SkipExpiryCheck:      true,
		}),
	}, nil
}

// oidcAuthStyle picks how the client secret is sent from what the issuer
// advertises, so a code is never sent twice as oauth2's auto-detection
// would after a refusal. The spec's default is client_secret_basic.
func oidcAuthStyle(methods []string) oauth2.AuthStyle {
	if len(methods) == 0 || slices.Contains(methods, "client_secret_basic") {
		return oauth2.AuthStyleInHeader
	}
	if slices.Contains(methods, "client_secret_post") {
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleInHeader
}

// endpoints returns the discovered configuration, discovering it first if
// needed. Concurrent callers share one discovery request; a failure is
// remembered for oidcRetryDelay. ctx bounds the wait, not the shared
// request, which the HTTP client's timeout bounds.
//
// Once the configuration is older than p.refreshEvery, the next caller
// discovers again (see refresh) while the others go on with it.
func (p *oidcProvider) endpoints(ctx context.Context) (*oidcEndpoints, error) {
	p.mu.Lock()
	now := p.now()
	ready, lastErr, retryAt := p.ready, p.lastErr, p.retryAt
	stale := ready != nil && !p.refreshing && now.Sub(p.readyAt) >= p.refreshEvery && !now.Before(retryAt)
	if stale {
		p.refreshing = true
	}
	p.mu.Unlock()
	switch {
	case stale:
		return p.refresh(ctx, ready), nil
	case ready != nil:
		return ready, nil
	case lastErr != nil && now.Before(retryAt):
		return nil, lastErr
	}
	shared := context.WithoutCancel(ctx)
	ch := p.group.DoChan("discovery", func() (any, error) {
		e, err := p.discover(shared)
		p.mu.Lock()
		defer p.mu.Unlock()
		if err != nil {
			p.lastErr, p.retryAt = err, p.now().Add(oidcRetryDelay)
			return nil, err
		}
		p.ready, p.readyAt, p.lastErr = e, p.now(), nil
		return e, nil
	})
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: discovery: %v", ErrProviderUnavailable, ctx.Err())
	case r := <-ch:
		if r.Err != nil {
			return nil, r.Err
		}
		return r.Val.(*oidcEndpoints), nil
	}
}

// refresh discovers again for the one caller that set p.refreshing, and
// returns the endpoints it should use: the new ones, or old when discovery
// failed (old keeps working; the next try is after oidcRetryDelay) or ctx
// ended first. Meanwhile the other callers use old without waiting. A
// document that fails any check of discover, a changed issuer included,
// is a failure. The request is bounded by the HTTP client's timeout, not
// by ctx.
func (p *oidcProvider) refresh(ctx context.Context, old *oidcEndpoints) *oidcEndpoints {
	done := make(chan *oidcEndpoints, 1)
	go func() {
		e, err := p.discover(context.WithoutCancel(ctx))
		p.mu.Lock()
		defer p.mu.Unlock()
		p.refreshing = false
		if err != nil {
			p.retryAt = p.now().Add(oidcRetryDelay)
			done <- old
			return
		}
		p.ready, p.readyAt = e, p.now()
		done <- e
	}()
	select {
	case <-ctx.Done():
		return old
	case e := <-done:
		return e
	}
}

// verifyIDToken verifies an id_token with e. When it fails in a way a
// newer discovery document could explain, verifyIDToken discovers again
// before it returns the error, so that the next sign-in uses what the
// issuer says now rather than waiting for p.refreshEvery: the token's
// algorithm is one oidcSigningAlgs accepts but e does not list, or no key
// of e's JWKS, fetched again by go-oidc, verifies it (an unknown kid, as
// when jwks_uri moved). Such discoveries are at least
// oidcEarlyRefreshDelay apart, whatever the failures.
func (p *oidcProvider) verifyIDToken(ctx context.Context, e *oidcEndpoints, raw string) (*oidc.IDToken, error) {
	var keys oidcKeyOutcome
	tok, err := oidcVerifyOutcome(ctx, e.verifier, raw, "id_token", &keys)
	if err != nil && (keys.noKey || e.algUnlisted(raw)) {
		p.refreshEarly(ctx, e)
	}
	return tok, err
}

// refreshEarly discovers again now, unless e is no longer the current
// configuration, a refresh is running, or the last early one is less than
// oidcEarlyRefreshDelay old.
func (p *oidcProvider) refreshEarly(ctx context.Context, e *oidcEndpoints) {
	p.mu.Lock()
	now := p.now()
	start := p.ready == e && !p.refreshing && now.Sub(p.earlyAt) >= oidcEarlyRefreshDelay
	if start {
		p.refreshing, p.earlyAt = true, now
	}
	p.mu.Unlock()
	if start {
		p.refresh(ctx, e)
	}
}

// algUnlisted reports whether the JWT raw names an algorithm that
// oidcSigningAlgs accepts but e's document does not list. The header is
// read unverified: the answer only decides whether to discover again.
func (e *oidcEndpoints) algUnlisted(raw string) bool {
	header, _, _ := strings.Cut(raw, ".")
	b, err := base64.RawURLEncoding.DecodeString(header)
	if err != nil {
		return false
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(b, &h) != nil {
		return false
	}
	return slices.Contains(oidcSigningAlgs, h.Alg) && !slices.Contains(e.algs, h.Alg)
}

// oidcKeySet is go-oidc's RemoteKeySet, telling a JWKS that could not be
// fetched (the provider is unavailable) from a signature that does not
// verify (the token is refused): go-oidc's Verify folds both into one
// error string.
type oidcKeySet struct {
	remote *oidc.RemoteKeySet
}

// newOIDCKeySet returns the JWKS at jwksURL, fetched with client, which
// should come from oidcCappedClient: go-oidc reads key sets without a size
// limit. Keys are cached and fetched again for an unknown kid; a fetch is
// bounded by client's timeout, and a caller waits at most until its
// Verify context ends.
func newOIDCKeySet(client *http.Client, jwksURL string) *oidcKeySet {
	return &oidcKeySet{remote: oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), client), jwksURL)}
}

// oidcKeyOutcomeKey holds, in a Verify context, the *oidcKeyOutcome to
// fill.
type oidcKeyOutcomeKey struct{}

// oidcKeyOutcome is why the key set refused a signature.
type oidcKeyOutcome struct {
	// fetchErr is set when the JWKS could not be fetched.
	fetchErr error
	// noKey is set when no key of the JWKS verifies the signature,
	// although RemoteKeySet fetched it again: the kid is unknown, or its
	// key is not the one that signed.
	noKey bool
}

// VerifySignature implements oidc.KeySet.
func (k *oidcKeySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.remote.VerifySignature(ctx, jwt)
	if rec, ok := ctx.Value(oidcKeyOutcomeKey{}).(*oidcKeyOutcome); ok && err != nil {
		// RemoteKeySet wraps (%w) the error only when fetching keys
		// failed; a signature no key verifies is a plain errors.New.
		if errors.Unwrap(err) != nil {
			rec.fetchErr = err
		} else {
			rec.noKey = true
		}
	}
	return payload, err
}

// oidcVerify verifies a JWT with v; a JWKS that could not be fetched is
// ErrProviderUnavailable, anything else ErrInvalidGrant.
func oidcVerify(ctx context.Context, v *oidc.IDTokenVerifier, raw, what string) (*oidc.IDToken, error) {
	return oidcVerifyOutcome(ctx, v, raw, what, &oidcKeyOutcome{})
}

// oidcVerifyOutcome is oidcVerify that also reports, in keys, why the key
// set refused the signature.
func oidcVerifyOutcome(ctx context.Context, v *oidc.IDTokenVerifier, raw, what string, keys *oidcKeyOutcome) (*oidc.IDToken, error) {
	tok, err := v.Verify(context.WithValue(ctx, oidcKeyOutcomeKey{}, keys), raw)
	switch {
	case keys.fetchErr != nil:
		return nil, fmt.Errorf("%w: jwks: %v", ErrProviderUnavailable, keys.fetchErr)
	case err != nil:
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidGrant, what, err)
	}
	return tok, nil
}

// oidcCappedClient returns a copy of c whose response bodies fail once
// they pass maxResponseBytes, so go-oidc's and oauth2's own reads are
// capped too.
func oidcCappedClient(c *http.Client) *http.Client {
	capped := *c
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	capped.Transport = oidcCappedTransport{base: base}
	return &capped
}

// oidcCappedTransport caps every response body at maxResponseBytes.
type oidcCappedTransport struct {
	base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t oidcCappedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = &oidcCappedBody{ReadCloser: resp.Body, left: maxResponseBytes}
	return resp, nil
}

// errOIDCTooLarge is the read error of a body past maxResponseBytes.
var errOIDCTooLarge = fmt.Errorf("response larger than %d bytes", maxResponseBytes)

// oidcCappedBody reads at most left bytes, then fails if more follow.
type oidcCappedBody struct {
	io.ReadCloser
	left int64
}

// Read implements io.Reader.
func (b *oidcCappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		var probe [1]byte
		n, err := b.ReadCloser.Read(probe[:])
		if n > 0 {
			return 0, errOIDCTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}
