package ginauth

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// accessTokenType is the JWT `typ` header of access tokens (RFC 9068).
const accessTokenType = "at+jwt"

// maxTokenBytes is the longest access token looked at; longer ones are
// refused before any parsing (golang-jwt CVE-2025-30204).
const maxTokenBytes = 4096

// Claims are the verified claims of an access token (RFC 9068 profile).
// The *Claims a request carries is shared with the token cache: read it,
// never modify it.
type Claims struct {
	jwt.RegisteredClaims
	// SessionID is the `sid` claim: the session the token was issued in.
	SessionID string `json:"sid"`
	// Scope is the space-separated `scope` claim.
	Scope string `json:"scope,omitempty"`
	// Fresh is true for a token issued by a sign-in with credentials,
	// false for one issued by a refresh.
	Fresh bool `json:"fresh,omitempty"`

	userID    uuid.UUID
	sessionID uuid.UUID
}

// UserID is the user the token was issued to (the `sub` claim).
func (c *Claims) UserID() uuid.UUID { return c.userID }

// Session is the session the token was issued in (the `sid` claim).
func (c *Claims) Session() uuid.UUID { return c.sessionID }

// HasScope reports whether the `scope` claim contains scope.
func (c *Claims) HasScope(scope string) bool {
	rest := c.Scope
	for rest != "" {
		var s string
		s, rest, _ = strings.Cut(rest, " ")
		if s == scope {
			return true
		}
	}
	return false
}

// Scopes returns the scopes of the `scope` claim.
func (c *Claims) Scopes() []string { return strings.Fields(c.Scope) }

// issueAccessToken signs a new access token for a session. Its lifetime is
// the configured one, cut short at the session's absolute expiry.
func (a *Auth) issueAccessToken(sess *Session, scopes []string, fresh bool, now time.Time) (token string, expiresIn int, err error) {
	expires := now.Add(a.cfg.AccessTokenTTL)
	if sess.ExpiresAt.Before(expires) {
		expires = sess.ExpiresAt
	}
	claims := &Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    a.cfg.Issuer,
			Subject:   sess.UserID.String(),
			Audience:  jwt.ClaimStrings{a.cfg.Audience},
			ExpiresAt: jwt.NewNumericDate(expires),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        randomID(),
		},
		SessionID: sess.ID.String(),
		Scope:     strings.Join(scopes, " "),
		Fresh:     fresh,
	}
	jwtToken := jwt.NewWithClaims(a.keys.signingMethod, claims)
	jwtToken.Header["typ"] = accessTokenType
	jwtToken.Header["kid"] = a.keys.signingKID
	token, err = jwtToken.SignedString(a.keys.signingKey)
	if err != nil {
		return "", 0, fmt.Errorf("ginauth: sign access token: %w", err)
	}
	return token, int(expires.Sub(now).Seconds()), nil
}

// VerifyAccessToken checks an access token and returns its claims. It
// checks the signature with a configured key chosen by `kid` (the algorithm
// is the key's, never the header's choice), the `typ` header, the required
// `exp`, `iat`, `iss`, `aud`, `sub`, `sid` and `jti` claims, and refuses
// `crit` and key-carrying headers. It does not check the session: see
// RequireAuth for that. Tokens seen before are answered from a cache.
func (a *Auth) VerifyAccessToken(token string) (*Claims, error) {
	now := a.now()
	if claims, ok := a.tokenCache.get(token, now); ok {
		return claims, nil
	}
	claims, err := a.parseAccessToken(token)
	if err != nil {
		return nil, err
	}
	a.tokenCache.put(token, claims, claims.ExpiresAt.Time, now)
	return claims, nil
}

// parseAccessToken is the full verification, without the cache.
func (a *Auth) parseAccessToken(token string) (*Claims, error) {
	if len(token) > maxTokenBytes || strings.Count(token, ".") != 2 {
		return nil, ErrInvalidToken
	}
	claims := &Claims{}
	if _, err := a.parser.ParseWithClaims(token, claims, a.accessTokenKey); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if claims.IssuedAt == nil || claims.ID == "" {
		return nil, fmt.Errorf("%w: iat and jti are required", ErrInvalidToken)
	}
	var err error
	if claims.userID, err = uuid.Parse(claims.Subject); err != nil {
		return nil, fmt.Errorf("%w: sub is not a user id", ErrInvalidToken)
	}
	if claims.sessionID, err = uuid.Parse(claims.SessionID); err != nil {
		return nil, fmt.Errorf("%w: sid is not a session id", ErrInvalidToken)
	}
	return claims, nil
}

// newAccessTokenParser builds the parser of parseAccessToken once: the
// algorithms are the configured keys' own, and exp, iat, iss and aud are
// all required.
func (a *Auth) newAccessTokenParser() *jwt.Parser {
	return jwt.NewParser(
		jwt.WithValidMethods(a.keys.algorithms),
		jwt.WithIssuer(a.cfg.Issuer),
		jwt.WithAudience(a.cfg.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(a.cfg.ClockSkew),
		jwt.WithStrictDecoding(),
		jwt.WithTimeFunc(a.now),
	)
}

// accessTokenKey is the jwt.Keyfunc: it checks the header and picks the
// verification key by kid.
func (a *Auth) accessTokenKey(t *jwt.Token) (any, error) {
	typ, _ := t.Header["typ"].(string)
	if !strings.EqualFold(typ, accessTokenType) && !strings.EqualFold(typ, "application/"+accessTokenType) {
		return nil, errors.New("typ is not at+jwt")
	}
	for _, h := range []string{"crit", "jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256"} {
		if _, ok := t.Header[h]; ok {
			return nil, fmt.Errorf("header %q is not accepted", h)
		}
	}
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		kid = a.keys.signingKID
	}
	vk, ok := a.keys.byKID[kid]
	if !ok {
		return nil, errors.New("unknown kid")
	}
	if t.Method.Alg() != vk.method.Alg() {
		return nil, errors.New("alg does not match the key")
	}
	return vk.key, nil
}

// randomID returns 16 random bytes, base64url-encoded: token ids.
func randomID() string {
	return randomToken(16)
}

// randomToken returns n random bytes, base64url-encoded without padding.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
