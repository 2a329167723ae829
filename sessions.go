package ginauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// refreshTokenBytes is the decoded length of a refresh token: the 16-byte
// session id followed by 32 random bytes.
const refreshTokenBytes = 16 + 32

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
func newRefreshToken(sessionID uuid.UUID) (token, hash string) {
	var raw [refreshTokenBytes]byte
	copy(raw[:16], sessionID[:])
	if _, err := rand.Read(raw[16:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	token = base64.RawURLEncoding.EncodeToString(raw[:])
	return token, hashRefreshToken(token)
}

// hashRefreshToken is the stored form of a refresh token. The token holds
// 256 random bits, so a plain SHA-256 is enough.
func hashRefreshToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// sessionIDOfRefreshToken reads the session id a well-formed refresh token
// carries.
func sessionIDOfRefreshToken(token string) (uuid.UUID, bool) {
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) != refreshTokenBytes {
		return uuid.Nil, false
	}
	return uuid.UUID(raw[:16]), true
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
	refresh, hash := newRefreshToken(sess.ID)
	sess.RefreshTokenHash = hash
	if err := a.store.CreateSession(ctx, sess); err != nil {
		return nil, err
	}
	a.liveness.markLive(sess.ID, now)
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
// the whole session, the new pair included. Any failure is
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
	refresh, newHash := newRefreshToken(sess.ID)
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
// issued in it stop working, at once on this instance and within
// Config.SessionCheckInterval on the others.
func (a *Auth) RevokeSession(ctx context.Context, sessionID uuid.UUID) error {
	if err := a.store.RevokeSession(ctx, sessionID, a.now()); err != nil {
		return err
	}
	a.liveness.markDead(sessionID, a.now())
	return nil
}

// RevokeUserSessions ends every session of a user but except (uuid.Nil
// ends them all).
func (a *Auth) RevokeUserSessions(ctx context.Context, userID, except uuid.UUID) error {
	now := a.now()
	ids, err := a.store.RevokeUserSessions(ctx, userID, except, now)
	for _, id := range ids {
		a.liveness.markDead(id, now)
	}
	return err
}

// sessionLive reports whether the session of an access token may still be
// used, from the liveness cache when its entry is recent enough.
func (a *Auth) sessionLive(ctx context.Context, sessionID uuid.UUID) (bool, error) {
	now := a.now()
	if live, ok := a.liveness.get(sessionID, now); ok {
		return live, nil
	}
	v, err, _ := a.livenessChecks.Do(sessionID.String(), func() (any, error) {
		live, err := a.store.SessionLive(ctx, sessionID, now)
		if err != nil {
			return false, err
		}
		if live {
			a.liveness.markLive(sessionID, now)
		} else {
			a.liveness.markDead(sessionID, now)
		}
		return live, nil
	})
	if err != nil {
		return false, err
	}
	return v.(bool), nil
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
