package ginauth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// resetPasswordPurpose is the purpose of reset-password tokens, the one
// kind bound to the password hash.
const resetPasswordPurpose = "reset-password"

// accountTokenKind is one kind of mailed token (verify, reset-password):
// an HS256 JWT signed with a key derived from the secret for that purpose
// alone, with its own audience and typ, so that no other token of the
// deployment (access, refresh, state, the other kind) is ever accepted in
// its place.
type accountTokenKind struct {
	purpose string
	typ     string   // JWT typ header
	keys    [][]byte // [0] signs; all verify (secret rotation)
	ttl     time.Duration
	// bindsPassword binds the tokens to the password hash too, so that a
	// password change, this token's use included, kills them: set for
	// reset-password tokens.
	bindsPassword bool
}

func newAccountTokenKind(secrets [][]byte, purpose string, ttl time.Duration) *accountTokenKind {
	kind := &accountTokenKind{purpose: purpose, typ: "ginauth-" + purpose + "+jwt", ttl: ttl,
		bindsPassword: purpose == resetPasswordPurpose}
	for _, s := range secrets {
		kind.keys = append(kind.keys, deriveKey(s, purpose+"-token"))
	}
	return kind
}

// audience of this kind's tokens.
func (k *accountTokenKind) audience() string { return "ginauth:" + k.purpose }

// accountClaims are the claims of a mailed token. It is bound to the user,
// to the email it was sent to and, for a reset token, to the password hash
// at the time: a password change or an email change kills it. The email
// and the hash are present only as keyed fingerprints, so a link that
// lands in a browser history or a log shows neither.
type accountClaims struct {
	jwt.RegisteredClaims
	Email       string `json:"eml"`           // fingerprint of the email
	Fingerprint string `json:"pwd,omitempty"` // reset tokens: fingerprint of the password hash
}

// accountToken is a verified mailed token.
type accountToken struct {
	claims accountClaims
	key    []byte // the key that verified it
	userID uuid.UUID
}

// errAccountToken is any refusal of a mailed token; the routes answer with
// their own *_BAD_TOKEN code.
var errAccountToken = errors.New("ginauth: bad account token")

// passwordFingerprint binds a reset token to the password hash without
// putting the hash, or anything a guess can be checked against, in the
// token.
func passwordFingerprint(key []byte, hash string) string {
	return fingerprint(key, "password-hash", hash)
}

// emailFingerprint binds a token to an email without showing it.
func emailFingerprint(key []byte, email string) string {
	return fingerprint(key, "email", email)
}

// fingerprint is a keyed 128-bit digest of value, in base64url.
func fingerprint(key []byte, label, value string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(label + "\x00" + value))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:16])
}

// matches reports whether tok was issued for user as it is now: the same
// email and, for a kind that binds the password, the same password hash.
func (k *accountTokenKind) matches(tok *accountToken, user *User) bool {
	ok := subtle.ConstantTimeCompare([]byte(tok.claims.Email), []byte(emailFingerprint(tok.key, user.Email))) == 1
	if k.bindsPassword {
		ok = subtle.ConstantTimeCompare([]byte(tok.claims.Fingerprint), []byte(passwordFingerprint(tok.key, user.HashedPassword))) == 1 && ok
	}
	return ok
}

// issueAccountToken makes a token of kind for user.
func (a *Auth) issueAccountToken(kind *accountTokenKind, user *User) (string, error) {
	now := a.now()
	claims := accountClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    a.cfg.Issuer,
			Subject:   user.ID.String(),
			Audience:  jwt.ClaimStrings{kind.audience()},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(kind.ttl)),
			ID:        uuid.NewString(),
		},
		Email: emailFingerprint(kind.keys[0], user.Email),
	}
	if kind.bindsPassword {
		claims.Fingerprint = passwordFingerprint(kind.keys[0], user.HashedPassword)
	}
	token := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	token.Header["typ"] = kind.typ
	return token.SignedString(kind.keys[0])
}

// parseAccountToken verifies a token of kind. Every refusal is
// errAccountToken.
func (a *Auth) parseAccountToken(kind *accountTokenKind, raw string) (*accountToken, error) {
	if !compactJWS(raw) {
		return nil, errAccountToken
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(a.cfg.Issuer),
		jwt.WithAudience(kind.audience()),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(a.cfg.ClockSkew),
		jwt.WithStrictDecoding(),
		jwt.WithTimeFunc(a.now),
	)
	for _, key := range kind.keys {
		tok := &accountToken{key: key}
		_, err := parser.ParseWithClaims(raw, &tok.claims, func(t *jwt.Token) (any, error) {
			if typ, _ := t.Header["typ"].(string); !strings.EqualFold(typ, kind.typ) {
				return nil, fmt.Errorf("typ is not %s", kind.typ)
			}
			if _, ok := t.Header["crit"]; ok {
				return nil, errors.New("crit is not accepted")
			}
			return key, nil
		})
		if err != nil {
			if errors.Is(err, jwt.ErrTokenSignatureInvalid) {
				continue // maybe signed with a previous secret
			}
			return nil, errAccountToken
		}
		if tok.userID, err = uuid.Parse(tok.claims.Subject); err != nil || tok.claims.Email == "" {
			return nil, errAccountToken
		}
		return tok, nil
	}
	return nil, errAccountToken
}

// userOfAccountToken verifies a token of kind and returns its user, who
// must exist, be active and still have the email (and, for a kind that
// binds the password, the password hash) the token was issued for. Every
// refusal is errAccountToken; other errors are the store's.
func (a *Auth) userOfAccountToken(ctx context.Context, kind *accountTokenKind, raw string) (*User, error) {
	tok, err := a.parseAccountToken(kind, raw)
	if err != nil {
		return nil, err
	}
	user, err := a.store.UserByID(ctx, tok.userID)
	if errors.Is(err, ErrNotFound) {
		return nil, errAccountToken
	}
	if err != nil {
		return nil, err
	}
	if !user.IsActive || !kind.matches(tok, user) {
		return nil, errAccountToken
	}
	return user, nil
}

// checkLinkTemplate refuses a mailed-link template that has no place for
// the token or is not an absolute http(s) URL.
func checkLinkTemplate(link string) error {
	if !strings.Contains(link, "{token}") {
		return fmt.Errorf("ginauth: link template %q has no {token}", link)
	}
	if !strings.HasPrefix(link, "https://") && !strings.HasPrefix(link, "http://") {
		return fmt.Errorf("ginauth: link template %q must be an absolute http(s) URL", link)
	}
	return nil
}

// accountLink fills a link template with a token.
func accountLink(template, token string) string {
	return strings.ReplaceAll(template, "{token}", token)
}
