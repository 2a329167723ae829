package providers

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

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
// and not in the id_token: Profile.Name comes from ExchangeRequest.FormUser
// and is "" on later sign-ins or when the field is malformed. That field
// is unsigned, so it gives the name and nothing else.
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
	keys := newOIDCKeySet(oidcCappedClient(o.httpClient), issuer+"/auth/keys")
	p := &appleProvider{
		oauth2Flow: newOAuth2Flow("apple", "Apple", cfg, o),
		teamID:     teamID,
		keyID:      keyID,
		key:        privateKey,
		verifier: oidc.NewVerifier(issuer, keys, &oidc.Config{
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
	return &Tokens{Token: token, IDTokenClaims: claims, formName: appleFormName(req.FormUser)}, nil
}

// Profile maps the claims of the id_token Exchange verified; Apple has no
// user-info endpoint. Name alone comes from the callback's unsigned `user`
// field (see appleFormName).
func (p *appleProvider) Profile(_ context.Context, tokens *Tokens) (*Profile, error) {
	if tokens == nil || tokens.IDTokenClaims == nil || tokens.IDTokenClaims.Subject == "" {
		return nil, fmt.Errorf("%w: apple: no verified id_token", ErrInvalidGrant)
	}
	c := tokens.IDTokenClaims
	return &Profile{
		AccountID:     c.Subject,
		Email:         c.Email,
		EmailVerified: c.Email != "" && c.EmailVerified != nil && *c.EmailVerified,
		Name:          tokens.formName,
	}, nil
}

// appleFormUser is the JSON of the `user` field Apple posts with the
// callback on an account's first authorization.
type appleFormUser struct {
	Name struct {
		FirstName string `json:"firstName"`
		LastName  string `json:"lastName"`
	} `json:"name"`
}

// maxAppleNameBytes is the longest name kept from the `user` field.
const maxAppleNameBytes = 256

// appleFormName reads the person's name from the callback's `user` field:
// "" when the field is absent, malformed, too long or holds control
// characters. The field is not signed (the id_token is, and has no name):
// whoever posts the callback writes it. So it is used for the display
// name only; its email is never read, and the account id and email come
// from the verified id_token alone.
func appleFormName(raw string) string {
	if raw == "" {
		return ""
	}
	var u appleFormUser
	if err := json.Unmarshal([]byte(raw), &u); err != nil {
		return ""
	}
	name := strings.Join(strings.Fields(u.Name.FirstName+" "+u.Name.LastName), " ")
	if len(name) > maxAppleNameBytes || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return ""
	}
	return name
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
	idToken, err := oidcVerify(ctx, p.verifier, raw, "apple: id_token")
	if err != nil {
		return nil, err
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
