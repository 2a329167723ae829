package providers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// oidcDiscoveryWait bounds how long AuthCodeURL, which has no context,
// waits for discovery.
const oidcDiscoveryWait = 30 * time.Second

// oidcRetryDelay is how long a failed discovery is remembered before the
// next call tries again, so a dead issuer costs one request every few
// seconds, not one per sign-in.
const oidcRetryDelay = 5 * time.Second

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
	verifier    *oidc.IDTokenVerifier
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
		host := u.Hostname()
		if host == "localhost" {
			return true
		}
		ip := net.ParseIP(host)
		return ip != nil && ip.IsLoopback()
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
func (p *oidcProvider) endpoints(ctx context.Context) (*oidcEndpoints, error) {
	p.mu.Lock()
	ready, lastErr, retryAt := p.ready, p.lastErr, p.retryAt
	p.mu.Unlock()
	if ready != nil {
		return ready, nil
	}
	if lastErr != nil && p.now().Before(retryAt) {
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
		p.ready, p.lastErr = e, nil
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

// oidcKeyFetchKey holds, in a Verify context, where to record a JWKS fetch
// failure.
type oidcKeyFetchKey struct{}

// VerifySignature implements oidc.KeySet.
func (k *oidcKeySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.remote.VerifySignature(ctx, jwt)
	// RemoteKeySet wraps (%w) the error only when fetching keys failed; a
	// bad signature is a plain errors.New.
	if err != nil && errors.Unwrap(err) != nil {
		if rec, ok := ctx.Value(oidcKeyFetchKey{}).(*error); ok {
			*rec = err
		}
	}
	return payload, err
}

// oidcVerify verifies a JWT with v; a JWKS that could not be fetched is
// ErrProviderUnavailable, anything else ErrInvalidGrant.
func oidcVerify(ctx context.Context, v *oidc.IDTokenVerifier, raw, what string) (*oidc.IDToken, error) {
	var fetchErr error
	tok, err := v.Verify(context.WithValue(ctx, oidcKeyFetchKey{}, &fetchErr), raw)
	switch {
	case fetchErr != nil:
		return nil, fmt.Errorf("%w: jwks: %v", ErrProviderUnavailable, fetchErr)
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
