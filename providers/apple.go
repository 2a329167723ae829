package providers

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2"
)

// appleIssuer is Sign in with Apple's issuer, host of all its endpoints.
const appleIssuer = "https://appleid.apple.com"

// appleClientSecretLifetime is how long each client-secret JWT is valid.
// Apple accepts up to six months; a fresh one is signed per exchange.
const appleClientSecretLifetime = 5 * time.Minute

// Apple returns the Sign in with Apple provider: name "apple", scopes
// "name" and "email". clientID is the Services ID, teamID the Apple
// Developer team, keyID and privateKey the Sign in with Apple key (the
// .p8 file, an ECDSA P-256 key; parse it with x509.ParsePKCS8PrivateKey).
//
// Apple answers with response_mode=form_post: the callback is a POST
// form, and the provider implements ResponseModer to say so. Apple sends
// the user's name only in that form's `user` field, on the first sign-in,
// and not in the id_token: Profile.Name is "".
//
// Exchange authenticates with a client-secret JWT (ES256, kid keyID, iss
// teamID, sub clientID, aud https://appleid.apple.com) signed for this
// exchange alone and valid for five minutes. The id_token is verified
// before anything is returned: RS256 signature against Apple's JWKS
// (https://appleid.apple.com/auth/keys, cached, refetched for an unknown
// kid), iss, aud = clientID, exp, the nonce of the attempt and, when
// present, at_hash. The profile comes from its claims: AccountID is
// `sub`; EmailVerified is `email_verified`, which Apple sends as a bool
// or as the string "true". A private relay address
// (@privaterelay.appleid.com, `is_private_email`) is a verified address
// like any other.
//
// WithBaseURL replaces https://appleid.apple.com everywhere, endpoints,
// JWKS, expected issuer and client-secret audience: it is for tests.
func Apple(clientID, teamID, keyID string, privateKey *ecdsa.PrivateKey, opts ...Option) Provider {
	o := buildOptions(opts)
	issuer := baseOr(o.baseURL, appleIssuer)
	cfg := oauth2.Config{
		ClientID: clientID,
		Endpoint: oauth2.Endpoint{
			AuthURL:   issuer + "/auth/authorize",
			TokenURL:  issuer + "/auth/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		Scopes: []string{"name", "email"},
	}
	keys := oidc.NewRemoteKeySet(oidc.ClientContext(context.Background(), appleKeysClient(o.httpClient)), issuer+"/auth/keys")
	p := &appleProvider{
		oauth2Flow: newOAuth2Flow("apple", "Apple", cfg, o),
		teamID:     teamID,
		keyID:      keyID,
		key:        privateKey,
		verifier: oidc.NewVerifier(issuer, appleKeySet{keys}, &oidc.Config{
			ClientID:             clientID,
			SupportedSigningAlgs: []string{oidc.RS256},
		}),
	}
	p.issuer = issuer
	p.sendNonce = true
	p.authParams = []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("response_mode", "form_post")}
	return p
}

type appleProvider struct {
	oauth2Flow
	teamID, keyID string
	key           *ecdsa.PrivateKey
	verifier      *oidc.IDTokenVerifier
}

// ResponseMode is "form_post": Apple POSTs the callback as a form.
func (p *appleProvider) ResponseMode() string { return "form_post" }

// Exchange trades the code for tokens with a fresh client-secret JWT and
// the PKCE verifier, then verifies the id_token. A token that does not
// verify is ErrInvalidGrant; failing to fetch Apple's keys is
// ErrProviderUnavailable.
func (p *appleProvider) Exchange(ctx context.Context, req ExchangeRequest) (*Tokens, error) {
	if err := p.checkIssuer(req.Issuer); err != nil {
		return nil, err
	}
	if req.Nonce == "" {
		return nil, fmt.Errorf("%w: apple: the sign-in attempt has no nonce", ErrInvalidGrant)
	}
	secret, err := p.clientSecret(time.Now())
	if err != nil {
		return nil, err
	}
	cfg := p.config
	cfg.ClientSecret = secret
	token, err := exchange(ctx, p.client, cfg, req)
	if err != nil {
		return nil, err
	}
	claims, err := p.verify(ctx, token, req.Nonce)
	if err != nil {
		return nil, err
	}
	return &Tokens{Token: token, IDTokenClaims: claims}, nil
}

// Profile maps the claims of the id_token Exchange verified; Apple has no
// user-info endpoint.
func (p *appleProvider) Profile(_ context.Context, tokens *Tokens) (*Profile, error) {
	if tokens == nil || tokens.IDTokenClaims == nil || tokens.IDTokenClaims.Subject == "" {
		return nil, fmt.Errorf("%w: apple: no verified id_token", ErrInvalidGrant)
	}
	c := tokens.IDTokenClaims
	return &Profile{
		AccountID:     c.Subject,
		Email:         c.Email,
		EmailVerified: c.Email != "" && c.EmailVerified != nil && *c.EmailVerified,
	}, nil
}

// clientSecret signs the client-secret JWT Apple's token endpoint takes
// in place of a client secret.
func (p *appleProvider) clientSecret(now time.Time) (string, error) {
	if p.key == nil || p.key.Curve != elliptic.P256() {
		return "", errors.New("providers: apple: the private key must be an ECDSA P-256 key (the .p8 file)")
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.MapClaims{
		"iss": p.teamID,
		"sub": p.config.ClientID,
		"aud": p.issuer,
		"iat": now.Unix(),
		"exp": now.Add(appleClientSecretLifetime).Unix(),
	})
	t.Header["kid"] = p.keyID
	signed, err := t.SignedString(p.key)
	if err != nil {
		return "", fmt.Errorf("providers: apple: signing the client secret: %w", err)
	}
	return signed, nil
}

// appleIDClaims are the id_token claims the profile uses.
type appleIDClaims struct {
	Subject       string      `json:"sub"`
	Email         string      `json:"email"`
	EmailVerified lenientBool `json:"email_verified"`
}

// verify checks the id_token of the token response and returns its
// claims.
func (p *appleProvider) verify(ctx context.Context, token *oauth2.Token, nonce string) (*IDTokenClaims, error) {
	raw, _ := token.Extra("id_token").(string)
	if raw == "" {
		return nil, fmt.Errorf("%w: apple: token response has no id_token", ErrInvalidGrant)
	}
	var keysErr error
	idToken, err := p.verifier.Verify(context.WithValue(ctx, appleKeysErrKey{}, &keysErr), raw)
	if err != nil {
		if errors.Is(keysErr, errAppleKeysUnavailable) {
			return nil, fmt.Errorf("%w: apple: %v", ErrProviderUnavailable, err)
		}
		return nil, fmt.Errorf("%w: apple: id_token: %v", ErrInvalidGrant, err)
	}
	if subtle.ConstantTimeCompare([]byte(idToken.Nonce), []byte(nonce)) != 1 {
		return nil, fmt.Errorf("%w: apple: id_token nonce does not match", ErrInvalidGrant)
	}
	if idToken.AccessTokenHash != "" {
		if err := idToken.VerifyAccessToken(token.AccessToken); err != nil {
			return nil, fmt.Errorf("%w: apple: id_token at_hash: %v", ErrInvalidGrant, err)
		}
	}
	var c appleIDClaims
	if err := idToken.Claims(&c); err != nil {
		return nil, fmt.Errorf("%w: apple: id_token claims: %v", ErrInvalidGrant, err)
	}
	if c.Subject == "" {
		return nil, fmt.Errorf("%w: apple: id_token has no sub", ErrInvalidGrant)
	}
	verified := bool(c.EmailVerified)
	return &IDTokenClaims{
		Issuer:        idToken.Issuer,
		Subject:       c.Subject,
		Email:         c.Email,
		EmailVerified: &verified,
	}, nil
}

// errAppleKeysUnavailable marks a failure to fetch Apple's JWKS, which
// is the provider being unavailable, not the id_token being bad.
var errAppleKeysUnavailable = errors.New("apple: JWKS unavailable")

// appleKeysErrKey is the context key under which verify leaves an
// *error for appleKeySet to fill: go-oidc's Verify flattens the key set's
// error into a string, so the cause travels beside it.
type appleKeysErrKey struct{}

// appleKeySet is the remote JWKS, recording its error for verify.
type appleKeySet struct{ remote *oidc.RemoteKeySet }

// VerifySignature verifies jwt against the remote key set.
func (k appleKeySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.remote.VerifySignature(ctx, jwt)
	if err != nil {
		if dst, ok := ctx.Value(appleKeysErrKey{}).(*error); ok {
			*dst = err
		}
	}
	return payload, err
}

// appleKeysClient returns a copy of c for fetching the JWKS: an answer
// that is not a 200 with at most maxResponseBytes of JSON becomes an
// error wrapping errAppleKeysUnavailable (go-oidc reads key sets without
// a size limit).
func appleKeysClient(c *http.Client) *http.Client {
	cp := *c
	cp.Transport = appleKeysTransport{base: c.Transport}
	return &cp
}

type appleKeysTransport struct{ base http.RoundTripper }

// RoundTrip fetches the key set and checks the answer before go-oidc
// reads it.
func (t appleKeysTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errAppleKeysUnavailable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%w: %v", errAppleKeysUnavailable, err)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%w: answered %d", errAppleKeysUnavailable, resp.StatusCode)
	case len(body) > maxResponseBytes:
		return nil, fmt.Errorf("%w: larger than %d bytes", errAppleKeysUnavailable, maxResponseBytes)
	case !json.Valid(body):
		return nil, fmt.Errorf("%w: malformed JSON", errAppleKeysUnavailable)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	return resp, nil
}
