package ginauth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// A refresh token is base64url(session id [16] || nonce [16] || tag [16]),
// where tag is an HMAC of the session id and nonce under a key derived from
// the secret. The tag lets a token that is no longer current be told apart:
// a genuine old token means theft and revokes its session; a forged one
// (a session id read from an access token's `sid`, say) is merely refused,
// so nobody can end another's session by guessing.
const (
	refreshNonceBytes = 16
	refreshTagBytes   = 16
	refreshTokenBytes = 16 + refreshNonceBytes + refreshTagBytes
)

// livenessQueryTimeout bounds the store query behind a liveness check.
const livenessQueryTimeout = 5 * time.Second

// TokenResponse is the body of a successful login or refresh (RFC 6749 §5.1).
type TokenResponse struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int    `json:"expires_in"`
	RefreshToken     string `json:"refresh_token"`
	RefreshExpiresIn int    `json:"refresh_expires_in"`
}

// ClientInfo describes the client a session was started from; it is shown
// to the user in their session list.
type ClientInfo struct {
	UserAgent string
	IP        string
}

// newRefreshToken makes an opaque refresh token for a session and the hash
// that is stored in its place.
func (a *Auth) newRefreshToken(sessionID uuid.UUID) (token, hash string) {
	var raw [refreshTokenBytes]byte
	copy(raw[:16], sessionID[:])
	if _, err := rand.Read(raw[16 : 16+refreshNonceBytes]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	copy(raw[16+refreshNonceBytes:], refreshTag(a.refreshKeys[0], raw[:16+refreshNonceBytes]))
	token = base64.RawURLEncoding.EncodeToString(raw[:])
	return token, hashRefreshToken(token)
}

// refreshTag authenticates the session id and nonce of a refresh token.
func refreshTag(key, idAndNonce []byte) []byte {
	mac := hmac.New(sha256.New, key)
	mac.Write(idAndNonce)
	return mac.Sum(nil)[:refreshTagBytes]
}

// hashRefreshToken is the stored form of a refresh token. The token holds
// 128 random bits and a tag, so a plain SHA-256 is enough.
func hashRefreshToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// decodeRefreshToken reads a well-formed refresh token: canonical
// base64url (no padding, no line breaks) of the right length.
func decodeRefreshToken(token string) ([]byte, bool) {
	if len(token) != base64.RawURLEncoding.EncodedLen(refreshTokenBytes) {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) != refreshTokenBytes {
		return nil, false
	}
	return raw, true
}

// sessionIDOfRefreshToken reads the session id a well-formed refresh token
// carries, whether or not the token is genuine.
func sessionIDOfRefreshToken(token string) (uuid.UUID, bool) {
	raw, ok := decodeRefreshToken(token)
	if !ok {
		return uuid.Nil, false
	}
	return uuid.UUID(raw[:16]), true
}

// issuedRefreshToken reports whether this deployment issued the token: its
// tag verifies under the current or a previous secret.
func (a *Auth) issuedRefreshToken(token string) bool {
	raw, ok := decodeRefreshToken(token)
	if !ok {
		return false
	}
	for _, key := range a.refreshKeys {
		if hmac.Equal(raw[16+refreshNonceBytes:], refreshTag(key, raw[:16+refreshNonceBytes])) {
			return true
		}
	}
	return false
}

// startSession creates a session for a user who just signed in and issues
// its first token pair. The tokens are fresh.
func (a *Auth) startSession(ctx context.Context, user *User, client ClientInfo) (*TokenResponse, error) {
	now := a.now()
	sess := &Session{
		ID:            uuid.New(),
		UserID:        user.ID,
		CreatedAt:     now,
		LastUsedAt:    now,
		IdleExpiresAt: now.Add(a.cfg.SessionIdleTimeout),
		ExpiresAt:     now.Add(a.cfg.SessionMaxLifetime),
		UserAgent:     truncate(client.UserAgent, 255),
		IP:            truncate(client.IP, 45),
	}
	refresh, hash := a.newRefreshToken(sess.ID)
	sess.RefreshTokenHash = hash
	if err := a.store.CreateSession(ctx, sess); err != nil {
		return nil, err
	}
	a.liveness.markLive(sess.ID, sess.UserID, now)
	return a.tokenResponse(ctx, user, sess, refresh, true, now)
}

// tokenResponse issues the access token that goes with a refresh token.
func (a *Auth) tokenResponse(ctx context.Context, user *User, sess *Session, refresh string, fresh bool, now time.Time) (*TokenResponse, error) {
	var scopes []string
	if a.cfg.TokenScopes != nil {
		scopes = a.cfg.TokenScopes(ctx, user)
	}
	access, expiresIn, err := a.issueAccessToken(sess, scopes, fresh, now)
	if err != nil {
		return nil, err
	}
	refreshEnds := sess.IdleExpiresAt
	if sess.ExpiresAt.Before(refreshEnds) {
		refreshEnds = sess.ExpiresAt
	}
	return &TokenResponse{
		AccessToken:      access,
		TokenType:        "bearer",
		ExpiresIn:        expiresIn,
		RefreshToken:     refresh,
		RefreshExpiresIn: int(refreshEnds.Sub(now).Seconds()),
	}, nil
}

// Refresh trades a refresh token for a new token pair. The presented token
// dies: a second use of it is taken as theft (RFC 9700 §4.14) and revokes
// the whole session, the new pair included. A token this deployment never
// issued is refused without revoking anything. Any failure is
// ErrRefreshTokenInvalid, but for a store failure.
func (a *Auth) Refresh(ctx context.Context, refreshToken string) (*TokenResponse, error) {
	sessionID, ok := sessionIDOfRefreshToken(refreshToken)
	if !ok {
		return nil, ErrRefreshTokenInvalid
	}
	now := a.now()
	oldHash := hashRefreshToken(refreshToken)
	sess, err := a.store.SessionByRefreshHash(ctx, oldHash)
	if errors.Is(err, ErrNotFound) {
		if !a.issuedRefreshToken(refreshToken) {
			return nil, ErrRefreshTokenInvalid // forged: refused, nothing revoked
		}
		return nil, a.refreshTokenReused(ctx, sessionID)
	}
	if err != nil {
		return nil, err
	}
	if sess.ID != sessionID || !sess.liveAt(now) {
		return nil, ErrRefreshTokenInvalid
	}
	user, err := a.store.UserByID(ctx, sess.UserID)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrRefreshTokenInvalid
	}
	if err != nil {
		return nil, err
	}
	if !user.IsActive {
		return nil, ErrRefreshTokenInvalid
	}
	refresh, newHash := a.newRefreshToken(sess.ID)
	idleExpires := now.Add(a.cfg.SessionIdleTimeout)
	err = a.store.RotateRefreshToken(ctx, sess.ID, oldHash, newHash, now, idleExpires)
	if errors.Is(err, ErrNotFound) {
		// A concurrent refresh with the same token won: the token was used twice.
		return nil, a.refreshTokenReused(ctx, sess.ID)
	}
	if err != nil {
		return nil, err
	}
	sess.RefreshTokenHash, sess.LastUsedAt, sess.IdleExpiresAt = newHash, now, idleExpires
	return a.tokenResponse(ctx, user, sess, refresh, false, now)
}

// refreshTokenReused handles a well-formed refresh token that is not the
// current one of its session: the session is revoked, whatever state it is in.
func (a *Auth) refreshTokenReused(ctx context.Context, sessionID uuid.UUID) error {
	if err := a.RevokeSession(ctx, sessionID); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	a.logger.WarnContext(ctx, "ginauth: refresh token reused; session revoked", "session_id", sessionID)
	return ErrRefreshTokenInvalid
}

// RevokeSession ends a session: its refresh token and every access token
// issued in it stop working, at once on this instance and on the others
// that share Config.RevocationBus, within Config.SessionCheckInterval on
// the rest.
func (a *Auth) RevokeSession(ctx context.Context, sessionID uuid.UUID) error {
	now := a.now()
	if err := a.store.RevokeSession(ctx, sessionID, now); err != nil {
		return err
	}
	a.sessionsEnded(ctx, []uuid.UUID{sessionID}, now)
	return nil
}

// RevokeUserSessions ends every session of a user but except (uuid.Nil
// ends them all).
func (a *Auth) RevokeUserSessions(ctx context.Context, userID, except uuid.UUID) error {
	now := a.now()
	ids, err := a.store.RevokeUserSessions(ctx, userID, except, now)
	a.sessionsEnded(ctx, ids, now)
	return err
}

// sessionLive reports whether the session of an access token may still be
// used by its user, from the liveness cache when its entry is recent enough.
func (a *Auth) sessionLive(ctx context.Context, sessionID, userID uuid.UUID) (bool, error) {
	return a.sessionLiveAt(ctx, sessionID, userID, a.now())
}

// sessionLiveAt is sessionLive for a request that has read the clock
// already. Concurrent misses for one session share a single store query,
// whoever the tokens claim: the store answers for the session, and the
// owner it reports is compared with userID after.
func (a *Auth) sessionLiveAt(ctx context.Context, sessionID, userID uuid.UUID, now time.Time) (bool, error) {
	if live, ok := a.liveness.get(sessionID, userID, now); ok {
		return live, nil
	}
	v, err, _ := a.livenessChecks.Do(string(sessionID[:]), func() (any, error) {
		// The query answers every request waiting on it, so it must not die
		// with the first one's context.
		queryCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), livenessQueryTimeout)
		defer cancel()
		owner, live, err := a.store.SessionLive(queryCtx, sessionID, now)
		if err != nil {
			return nil, err
		}
		if !live {
			a.liveness.markDead(sessionID, now)
			return uuid.Nil, nil
		}
		a.liveness.markLive(sessionID, owner, now)
		return owner, nil
	})
	if err != nil {
		return false, err
	}
	owner := v.(uuid.UUID) // uuid.Nil: not live
	return owner != uuid.Nil && owner == userID, nil
}

// truncate cuts s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
