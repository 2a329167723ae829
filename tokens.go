package ginauth

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strconv"
	"strings"
	"sync"
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
	// auth is the Auth that verified the claims: CurrentUser loads the
	// user from its store. With it in the claims, RequireAuth stores one
	// value in the gin.Context instead of two.
	auth *Auth
}

// errDateNotNumber refuses a token whose exp, iat or nbf is not a JSON
// number, as RFC 7519 §2 requires (golang-jwt also reads quoted numbers).
var errDateNotNumber = errors.New("ginauth: exp, iat and nbf must be JSON numbers")

// UnmarshalJSON decodes the claims of a token, refusing dates that are
// not JSON numbers. Most tokens this package issued are read by
// parseIssuedForm instead and never come here; those it leaves to the
// general parser (within ClockSkew of exp or iat, for example) pay this
// one extra decoding.
func (c *Claims) UnmarshalJSON(b []byte) error {
	var dates struct {
		Exp json.RawMessage `json:"exp"`
		Iat json.RawMessage `json:"iat"`
		Nbf json.RawMessage `json:"nbf"`
	}
	if err := json.Unmarshal(b, &dates); err != nil {
		return err
	}
	for _, d := range []json.RawMessage{dates.Exp, dates.Iat, dates.Nbf} {
		if len(d) > 0 && (d[0] < '0' || d[0] > '9') && d[0] != '-' {
			return errDateNotNumber
		}
	}
	type plain Claims // the same fields, without this method
	return json.Unmarshal(b, (*plain)(c))
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
	return a.verifyAccessToken(token, a.now())
}

// verifyAccessToken is VerifyAccessToken at now, so that RequireAuth reads
// the clock once per request.
func (a *Auth) verifyAccessToken(token string, now time.Time) (*Claims, error) {
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

// parseAccessToken is the full verification, without the cache. A token in
// the exact form issueAccessToken writes is verified by parseIssuedForm;
// any other, valid or not, by the general parser.
func (a *Auth) parseAccessToken(token string) (*Claims, error) {
	if !compactJWS(token) {
		return nil, ErrInvalidToken
	}
	claims, ok := a.parseIssuedForm(token)
	if !ok {
		claims = &Claims{auth: a}
		if _, err := a.parser.ParseWithClaims(token, claims, a.accessTokenKey); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidToken, err)
		}
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

// compactJWS reports whether token is at most maxTokenBytes of three
// unpadded base64url segments. Go's base64 decoder skips CR and LF even in
// strict mode, so without this check a token with line breaks in its
// signature would verify as another string than the one that was issued.
func compactJWS(token string) bool {
	if len(token) > maxTokenBytes {
		return false
	}
	dots := 0
	for i := 0; i < len(token); i++ {
		if b := token[i]; b == '.' {
			dots++
		} else if !base64URLAlphabet[b] {
			return false
		}
	}
	return dots == 2
}

// base64URLAlphabet marks the 64 bytes of the base64url alphabet (a table
// lookup per byte is several times faster than comparing ranges).
var base64URLAlphabet = func() (set [256]bool) {
	for _, c := range []byte("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") {
		set[c] = true
	}
	return set
}()

// newAccessTokenParser builds the parser of parseAccessToken once: the
// algorithms are the configured keys' own, and exp, iat, iss and aud are
// all required. parseIssuedForm accepts only what this parser accepts: a
// check added here must be added there too (or make it give up).
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

// strictBase64 decodes JWS segments as the parser does (WithStrictDecoding).
var strictBase64 = base64.RawURLEncoding.Strict()

// parseIssuedForm is the fast path of parseAccessToken. Nearly every token
// RequireAuth sees was written by issueAccessToken, in one exact form; for
// those it checks the signature and decodes the claims directly, several
// times faster than the general parser, most of whose cost is
// encoding/json's reflection and allocation.
//
// It only ever accepts: ok is true only for a token that the general
// parser, with accessTokenKey and the same options, would accept with the
// very same claims. Anything else, valid or not, it leaves to the general
// parser, so it never decides a refusal. Hence every check here is the
// general one or a stricter one:
//   - the header is exactly {"alg":A,"kid":K,"typ":"at+jwt"}, as written,
//     with K a configured key, A its algorithm, registered and allowed;
//   - the signature verifies, with the same method and key;
//   - the payload holds only claims issueAccessToken writes, each at most
//     once, in plain JSON: no whitespace, no escapes or non-ASCII in strings,
//     whole seconds for exp and iat (see issuedClaims);
//   - iss and aud are the configured ones, exp has not passed and iat is
//     not in the future, both without the ClockSkew leeway, and there is
//     no nbf.
//
// Whatever parseAccessToken checks after either parser it checks here too.
func (a *Auth) parseIssuedForm(token string) (*Claims, bool) {
	headerSeg, rest, _ := strings.Cut(token, ".")
	payloadSeg, signatureSeg, _ := strings.Cut(rest, ".")
	header, err := strictBase64.DecodeString(headerSeg)
	if err != nil {
		return nil, false
	}
	alg, kid, ok := issuedHeader(header)
	if !ok {
		return nil, false
	}
	vk, ok := a.keys.byKID[string(kid)]
	method := jwt.GetSigningMethod(string(alg))
	if !ok || method == nil || method.Alg() != vk.method.Alg() || !slices.Contains(a.keys.algorithms, method.Alg()) {
		return nil, false
	}
	signature, err := strictBase64.DecodeString(signatureSeg)
	if err != nil {
		return nil, false
	}
	signingString := token[:len(headerSeg)+1+len(payloadSeg)]
	if key, isHMAC := vk.key.([]byte); isHMAC && len(key) > 0 && method == jwt.SigningMethod(jwt.SigningMethodHS256) {
		if !verifyHS256(signingString, signature, key) {
			return nil, false
		}
	} else if method.Verify(signingString, signature, vk.key) != nil {
		return nil, false
	}
	payload, err := strictBase64.DecodeString(payloadSeg)
	if err != nil {
		return nil, false
	}
	claims, ok := issuedClaims(string(payload))
	if !ok {
		return nil, false
	}
	if _, custom := any(claims).(jwt.ClaimsValidator); custom {
		return nil, false // the general validator would call its Validate
	}
	now := a.now()
	if a.cfg.Issuer == "" || claims.Issuer != a.cfg.Issuer ||
		a.cfg.Audience == "" || !slices.Contains(claims.Audience, a.cfg.Audience) ||
		claims.ExpiresAt == nil || !now.Before(claims.ExpiresAt.Time) ||
		claims.IssuedAt == nil || now.Before(claims.IssuedAt.Time) {
		return nil, false
	}
	claims.auth = a
	return claims, true
}

// issuedHeader matches a decoded JOSE header against the one
// issueAccessToken writes (encoding/json sorts the keys), and returns its
// alg and kid. Both are restricted to base64url characters, so nothing in
// them can be a quote or an escape.
func issuedHeader(header []byte) (alg, kid []byte, ok bool) {
	rest, ok := bytes.CutPrefix(header, []byte(`{"alg":"`))
	if !ok {
		return nil, nil, false
	}
	alg, rest, ok = bytes.Cut(rest, []byte(`","kid":"`))
	if !ok {
		return nil, nil, false
	}
	kid, ok = bytes.CutSuffix(rest, []byte(`","typ":"`+accessTokenType+`"}`))
	return alg, kid, ok && base64URLName(alg) && base64URLName(kid)
}

// base64URLName reports whether b is non-empty and only [A-Za-z0-9_-].
func base64URLName(b []byte) bool {
	for _, c := range b {
		if !base64URLAlphabet[c] {
			return false
		}
	}
	return len(b) > 0
}

// verifyHS256 is jwt.SigningMethodHS256.Verify(signingString, signature,
// key) == nil, the same HMAC-SHA256 and constant-time comparison, without
// a new HMAC and its key schedule per token: keyed states are pooled, and
// one is reused only for the very key slice it was made with.
func verifyHS256(signingString string, signature, key []byte) bool {
	h, _ := hs256Pool.Get().(*hs256State)
	if h == nil || len(key) == 0 || len(h.key) != len(key) || &h.key[0] != &key[0] {
		h = &hs256State{key: key, mac: hmac.New(sha256.New, key)}
	} else {
		h.mac.Reset()
	}
	h.buf = append(h.buf[:0], signingString...)
	h.mac.Write(h.buf)
	ok := hmac.Equal(signature, h.mac.Sum(h.sum[:0]))
	hs256Pool.Put(h)
	return ok
}

// hs256Pool holds *hs256State: scratch for verifyHS256, not configuration.
var hs256Pool sync.Pool

type hs256State struct {
	key []byte // the key mac was made with
	mac hash.Hash
	buf []byte
	sum [sha256.Size]byte
}

// issuedClaims decodes a payload in the form json.Marshal gives the Claims
// of issueAccessToken, into the very Claims json.Unmarshal would give: an
// object of the claims iss, sub, aud, exp, iat, jti, sid, scope and fresh,
// in any order, each at most once; strings of printable ASCII without
// quotes or backslashes (json.Unmarshal keeps those bytes as they are); aud
// a string or an array of such strings; exp and iat non-negative integers
// of at most 15 digits (exact as float64, as NumericDate reads them);
// fresh true or false; no whitespace anywhere, nothing after the object.
// ok is false for anything else, which the general parser then decides.
func issuedClaims(payload string) (*Claims, bool) {
	d := plainJSON{s: payload}
	c := &Claims{}
	if !d.skip('{') {
		return nil, false
	}
	var seen uint
	for {
		key, ok := d.str()
		if !ok || !d.skip(':') {
			return nil, false
		}
		var bit uint
		switch key {
		case "iss":
			bit = 1 << 0
			c.Issuer, ok = d.str()
		case "sub":
			bit = 1 << 1
			c.Subject, ok = d.str()
		case "aud":
			bit = 1 << 2
			c.Audience, ok = d.audience()
		case "exp":
			bit = 1 << 3
			c.ExpiresAt, ok = d.seconds()
		case "iat":
			bit = 1 << 4
			c.IssuedAt, ok = d.seconds()
		case "jti":
			bit = 1 << 5
			c.ID, ok = d.str()
		case "sid":
			bit = 1 << 6
			c.SessionID, ok = d.str()
		case "scope":
			bit = 1 << 7
			c.Scope, ok = d.str()
		case "fresh":
			bit = 1 << 8
			c.Fresh, ok = d.boolean()
		default:
			return nil, false
		}
		if !ok || seen&bit != 0 {
			return nil, false
		}
		seen |= bit
		if d.skip('}') {
			return c, d.i == len(d.s)
		}
		if !d.skip(',') {
			return nil, false
		}
	}
}

// plainJSON reads the subset of JSON issuedClaims accepts.
type plainJSON struct {
	s string
	i int
}

func (d *plainJSON) skip(c byte) bool {
	if d.i < len(d.s) && d.s[d.i] == c {
		d.i++
		return true
	}
	return false
}

// str reads a string of printable ASCII without quote or backslash.
func (d *plainJSON) str() (string, bool) {
	if !d.skip('"') {
		return "", false
	}
	for start := d.i; d.i < len(d.s); d.i++ {
		switch c := d.s[d.i]; {
		case c == '"':
			d.i++
			return d.s[start : d.i-1], true
		case c < 0x20 || c > 0x7e || c == '\\':
			return "", false
		}
	}
	return "", false
}

// audience reads aud as jwt.ClaimStrings reads it: one string, or an array
// of strings (nil when empty).
func (d *plainJSON) audience() (jwt.ClaimStrings, bool) {
	if !d.skip('[') {
		s, ok := d.str()
		return jwt.ClaimStrings{s}, ok
	}
	var list jwt.ClaimStrings
	if d.skip(']') {
		return list, true
	}
	for {
		s, ok := d.str()
		if !ok {
			return nil, false
		}
		list = append(list, s)
		if d.skip(']') {
			return list, true
		}
		if !d.skip(',') {
			return nil, false
		}
	}
}

// seconds reads a NumericDate written as whole seconds: 0, or 1 to 15
// digits without a leading zero. A fraction or exponent stops at the '.'
// or 'e', where the caller finds no ',' or '}'.
func (d *plainJSON) seconds() (*jwt.NumericDate, bool) {
	start := d.i
	for d.i < len(d.s) && '0' <= d.s[d.i] && d.s[d.i] <= '9' {
		d.i++
	}
	digits := d.s[start:d.i]
	if len(digits) == 0 || len(digits) > 15 || len(digits) > 1 && digits[0] == '0' {
		return nil, false
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil {
		return nil, false
	}
	// json.Number → float64 → time.Unix(whole, 0), as NumericDate.UnmarshalJSON.
	return jwt.NewNumericDate(time.Unix(n, 0)), true
}

func (d *plainJSON) boolean() (bool, bool) {
	switch {
	case strings.HasPrefix(d.s[d.i:], "true"):
		d.i += len("true")
		return true, true
	case strings.HasPrefix(d.s[d.i:], "false"):
		d.i += len("false")
		return false, true
	}
	return false, false
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
