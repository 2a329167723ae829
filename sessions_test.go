package ginauth

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sessPassword is the password of every user the session tests create.
const sessPassword = "correct horse battery staple"

// sessClock is a controllable clock for Config.Now: it moves only when a
// test advances it, so expiry is tested without sleeping.
type sessClock struct{ ns atomic.Int64 }

// newSessClock starts a clock on a whole second, so that JWT NumericDates
// (whole seconds) and expires_in values compare exactly.
func newSessClock() *sessClock {
	c := &sessClock{}
	c.ns.Store(time.Unix(1_700_000_000, 0).UnixNano())
	return c
}

func (c *sessClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *sessClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// sessNewUser creates an active user with sessPassword through the Go API.
func sessNewUser(t testing.TB, a *Auth, email string) *User {
	t.Helper()
	user, err := a.CreateUser(context.Background(), NewUser{Email: email, Password: sessPassword})
	require.NoError(t, err)
	return user
}

// sessLogin signs a user in through the Go API and returns its first pair.
func sessLogin(t testing.TB, a *Auth, email string) *TokenResponse {
	t.Helper()
	tokens, _, err := a.Login(context.Background(), email, sessPassword, ClientInfo{UserAgent: "test", IP: "192.0.2.1"})
	require.NoError(t, err)
	return tokens
}

// sessIDOf returns the session id a refresh token carries.
func sessIDOf(t testing.TB, refresh string) uuid.UUID {
	t.Helper()
	id, ok := sessionIDOfRefreshToken(refresh)
	require.True(t, ok, "refresh token %q is not well formed", refresh)
	return id
}

// sessMe calls the protected GET /api/me with an access token and returns
// the status; a 401 must carry the contract's body and header.
func sessMe(t testing.TB, srv *httptest.Server, access string) int {
	t.Helper()
	res := do(t, srv, http.MethodGet, "/api/me", nil, access)
	if res.Status == http.StatusUnauthorized {
		assert.Equal(t, string(CodeUnauthorized), res.Detail(t))
		assert.Equal(t, `Bearer error="invalid_token"`, res.Header.Get("WWW-Authenticate"))
	}
	return res.Status
}

// sessRevoked reports whether the store has the session revoked.
func sessRevoked(t testing.TB, a *Auth, id uuid.UUID) bool {
	t.Helper()
	sess, err := a.Store().SessionByID(context.Background(), id)
	require.NoError(t, err)
	return sess.RevokedAt != nil
}

// TestRefreshRotatesOnEveryUse proves that each refresh issues a new refresh
// token in the same session, that the presented one is no longer the
// session's token, that the new one works, and that refreshed access tokens
// are not fresh while the sign-in's one is.
func TestRefreshRotatesOnEveryUse(t *testing.T) {
	ctx := context.Background()
	clock := newSessClock()
	a := newTestAuth(t, func(c *Config) { c.Now = clock.Now })
	sessNewUser(t, a, "rotate@example.com")
	first := sessLogin(t, a, "rotate@example.com")
	sid := sessIDOf(t, first.RefreshToken)

	claims, err := a.VerifyAccessToken(first.AccessToken)
	require.NoError(t, err)
	assert.True(t, claims.Fresh, "the sign-in's access token is fresh")

	seen := map[string]bool{first.RefreshToken: true}
	current := first
	for i := range 3 {
		clock.Advance(time.Minute)
		next, err := a.Refresh(ctx, current.RefreshToken)
		require.NoError(t, err, "refresh %d", i)
		assert.False(t, seen[next.RefreshToken], "refresh %d returned a refresh token already issued", i)
		seen[next.RefreshToken] = true
		assert.NotEqual(t, current.AccessToken, next.AccessToken)
		assert.Equal(t, sid, sessIDOf(t, next.RefreshToken), "rotation keeps the session")

		_, err = a.Store().SessionByRefreshHash(ctx, hashRefreshToken(current.RefreshToken))
		assert.ErrorIs(t, err, ErrNotFound, "the presented refresh token is no longer the session's")
		sess, err := a.Store().SessionByRefreshHash(ctx, hashRefreshToken(next.RefreshToken))
		require.NoError(t, err)
		assert.Equal(t, sid, sess.ID)
		assert.Nil(t, sess.RevokedAt)
		assert.True(t, sess.LastUsedAt.Equal(clock.Now()), "last_used_at is the refresh time")
		assert.True(t, sess.IdleExpiresAt.Equal(clock.Now().Add(a.Config().SessionIdleTimeout)), "the idle deadline moves on")

		claims, err := a.VerifyAccessToken(next.AccessToken)
		require.NoError(t, err)
		assert.False(t, claims.Fresh, "a refreshed access token is not fresh")
		assert.Equal(t, sid, claims.Session())
		current = next
	}
}

// TestRefreshReuseRevokesSession proves RFC 9700 §4.14 reuse detection:
// presenting a refresh token that was already rotated away is refused with
// ErrRefreshTokenInvalid and ends the whole session, so the thief's or the
// victim's newer pair dies too: its refresh token is refused and its access
// token gets 401 from RequireAuth at once.
func TestRefreshReuseRevokesSession(t *testing.T) {
	ctx := context.Background()
	for _, via := range []string{"go api", "http"} {
		t.Run(via, func(t *testing.T) {
			a := newTestAuth(t, nil)
			srv := newTestServer(t, a)
			sessNewUser(t, a, "reuse@example.com")
			old := sessLogin(t, a, "reuse@example.com")
			sid := sessIDOf(t, old.RefreshToken)

			fresh, err := a.Refresh(ctx, old.RefreshToken)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, sessMe(t, srv, fresh.AccessToken), "the new pair works before the reuse")

			if via == "go api" {
				_, err = a.Refresh(ctx, old.RefreshToken)
				require.ErrorIs(t, err, ErrRefreshTokenInvalid)
			} else {
				res := do(t, srv, http.MethodPost, "/auth/refresh", map[string]string{"refresh_token": old.RefreshToken}, "")
				require.Equal(t, http.StatusUnauthorized, res.Status)
				assert.Equal(t, string(CodeRefreshTokenInvalid), res.Detail(t))
			}

			assert.True(t, sessRevoked(t, a, sid), "reuse revokes the session in the store")
			_, err = a.Refresh(ctx, fresh.RefreshToken)
			assert.ErrorIs(t, err, ErrRefreshTokenInvalid, "the new pair's refresh token dies")
			assert.Equal(t, http.StatusUnauthorized, sessMe(t, srv, fresh.AccessToken), "the new pair's access token dies")
			assert.Equal(t, http.StatusUnauthorized, sessMe(t, srv, old.AccessToken), "the old access token dies")
		})
	}
}

// sessBarrierStore holds the first n SessionByRefreshHash calls until all
// n have read, so that n concurrent refreshes all see the session before
// any of them rotates it: the interleaving where reuse is only detected by
// the losing RotateRefreshToken. Later calls pass straight through.
type sessBarrierStore struct {
	Store
	n       int32
	arrived atomic.Int32
	all     chan struct{}
}

func newSessBarrierStore(inner Store, n int32) *sessBarrierStore {
	return &sessBarrierStore{Store: inner, n: n, all: make(chan struct{})}
}

func (s *sessBarrierStore) SessionByRefreshHash(ctx context.Context, hash string) (*Session, error) {
	sess, err := s.Store.SessionByRefreshHash(ctx, hash)
	switch k := s.arrived.Add(1); {
	case k == s.n:
		close(s.all)
	case k < s.n:
		<-s.all
	}
	return sess, err
}

// sessRace refreshes one token from n goroutines at once and returns the
// successful responses; every failure must be ErrRefreshTokenInvalid.
func sessRace(t *testing.T, a *Auth, refresh string, n int) []*TokenResponse {
	t.Helper()
	start := make(chan struct{})
	results := make([]*TokenResponse, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i], errs[i] = a.Refresh(context.Background(), refresh)
		}()
	}
	close(start)
	wg.Wait()
	var winners []*TokenResponse
	for i := range n {
		if errs[i] == nil {
			winners = append(winners, results[i])
			continue
		}
		assert.ErrorIs(t, errs[i], ErrRefreshTokenInvalid, "racer %d: never a store error", i)
	}
	return winners
}

// TestRefreshConcurrentSameToken proves that when one refresh token is
// presented by several goroutines at once, at most one gets a new pair, every
// other one gets ErrRefreshTokenInvalid (never a store error), and the
// session ends up revoked, so even the winner's pair is dead. Run with -race.
// The second case forces the interleaving where every racer has read the
// session before any rotates it: the losers learn of the reuse only from
// RotateRefreshToken's conditional update, and must still revoke.
func TestRefreshConcurrentSameToken(t *testing.T) {
	ctx := context.Background()
	checkWinners := func(t *testing.T, a *Auth, srv *httptest.Server, winners []*TokenResponse) {
		t.Helper()
		for _, w := range winners {
			_, err := a.Refresh(ctx, w.RefreshToken)
			assert.ErrorIs(t, err, ErrRefreshTokenInvalid, "the winner's refresh token is dead")
			assert.Equal(t, http.StatusUnauthorized, sessMe(t, srv, w.AccessToken), "the winner's access token is dead")
		}
	}

	t.Run("free for all", func(t *testing.T) {
		a := newTestAuth(t, nil)
		srv := newTestServer(t, a)
		sessNewUser(t, a, "race@example.com")
		for round := range 4 {
			tokens := sessLogin(t, a, "race@example.com")
			winners := sessRace(t, a, tokens.RefreshToken, 8)
			assert.LessOrEqual(t, len(winners), 1, "round %d: at most one refresh succeeds", round)
			assert.True(t, sessRevoked(t, a, sessIDOf(t, tokens.RefreshToken)), "round %d: the session ends revoked", round)
			checkWinners(t, a, srv, winners)
		}
	})

	t.Run("all read before any rotates", func(t *testing.T) {
		const racers = 3
		barrier := newSessBarrierStore(openTestStore(t, "sqlite"), racers)
		a := newTestAuthOn(t, barrier, nil)
		srv := newTestServer(t, a)
		sessNewUser(t, a, "race@example.com")
		tokens := sessLogin(t, a, "race@example.com")

		winners := sessRace(t, a, tokens.RefreshToken, racers)
		require.EqualValues(t, racers, barrier.arrived.Load(), "every racer read the session first")
		assert.Len(t, winners, 1, "the conditional rotation lets exactly one through")
		assert.True(t, sessRevoked(t, a, sessIDOf(t, tokens.RefreshToken)), "the losers revoke the session")
		checkWinners(t, a, srv, winners)
	})
}

// TestSessionIdleTimeout proves that a session not refreshed for
// SessionIdleTimeout can no longer be refreshed, and that every refresh
// pushes the idle deadline on.
func TestSessionIdleTimeout(t *testing.T) {
	ctx := context.Background()
	clock := newSessClock()
	a := newTestAuth(t, func(c *Config) {
		c.Now = clock.Now
		c.SessionIdleTimeout = time.Hour
		c.SessionMaxLifetime = 24 * time.Hour
	})
	sessNewUser(t, a, "idle@example.com")
	tokens := sessLogin(t, a, "idle@example.com")
	sid := sessIDOf(t, tokens.RefreshToken)

	// Two refreshes 59 minutes apart: 118 minutes in all, more than the
	// idle timeout, so the deadline must have moved.
	for i := range 2 {
		clock.Advance(59 * time.Minute)
		next, err := a.Refresh(ctx, tokens.RefreshToken)
		require.NoError(t, err, "refresh %d within the idle timeout", i)
		tokens = next
	}

	t.Run("refused once idle for the timeout", func(t *testing.T) {
		clock.Advance(time.Hour)
		_, err := a.Refresh(ctx, tokens.RefreshToken)
		require.ErrorIs(t, err, ErrRefreshTokenInvalid)
		sess, err := a.Store().SessionByID(ctx, sid)
		require.NoError(t, err)
		assert.False(t, sess.liveAt(clock.Now()))
	})
}

// TestSessionAbsoluteLifetime proves that a session ends SessionMaxLifetime
// after sign-in however often it is refreshed.
func TestSessionAbsoluteLifetime(t *testing.T) {
	ctx := context.Background()
	clock := newSessClock()
	a := newTestAuth(t, func(c *Config) {
		c.Now = clock.Now
		c.SessionIdleTimeout = time.Hour
		c.SessionMaxLifetime = 3 * time.Hour
	})
	sessNewUser(t, a, "absolute@example.com")
	tokens := sessLogin(t, a, "absolute@example.com")

	for i := range 3 { // at 50, 100 and 150 minutes: well within the idle timeout
		clock.Advance(50 * time.Minute)
		next, err := a.Refresh(ctx, tokens.RefreshToken)
		require.NoError(t, err, "refresh %d", i)
		tokens = next
	}
	assert.Equal(t, 30*60, tokens.RefreshExpiresIn, "at 150 min the refresh token lives until the 180 min absolute end")

	clock.Advance(30 * time.Minute) // 180 minutes: idle deadline is 210
	_, err := a.Refresh(ctx, tokens.RefreshToken)
	require.ErrorIs(t, err, ErrRefreshTokenInvalid)
}

// TestSessionAccessTokenCappedAtAbsoluteExpiry proves that an access token
// never outlives its session: near the absolute end, exp (and expires_in) is
// cut to the session's ExpiresAt, and RequireAuth refuses the token after it.
func TestSessionAccessTokenCappedAtAbsoluteExpiry(t *testing.T) {
	ctx := context.Background()
	clock := newSessClock()
	a := newTestAuth(t, func(c *Config) {
		c.Now = clock.Now
		c.AccessTokenTTL = 15 * time.Minute
		c.SessionIdleTimeout = 30 * time.Minute
		c.SessionMaxLifetime = time.Hour
	})
	srv := newTestServer(t, a)
	sessNewUser(t, a, "cap@example.com")
	tokens := sessLogin(t, a, "cap@example.com")
	sess, err := a.Store().SessionByID(ctx, sessIDOf(t, tokens.RefreshToken))
	require.NoError(t, err)
	assert.Equal(t, 15*60, tokens.ExpiresIn, "far from the end: the full TTL")

	for range 2 { // refresh at 25 and 50 minutes, within the idle timeout
		clock.Advance(25 * time.Minute)
		tokens, err = a.Refresh(ctx, tokens.RefreshToken)
		require.NoError(t, err)
	}
	assert.Equal(t, 10*60, tokens.ExpiresIn, "expires_in is cut to the session's end")
	assert.Equal(t, 10*60, tokens.RefreshExpiresIn, "refresh_expires_in too")
	claims, err := a.VerifyAccessToken(tokens.AccessToken)
	require.NoError(t, err)
	assert.True(t, claims.ExpiresAt.Time.Equal(sess.ExpiresAt), "exp %v is the session's ExpiresAt %v", claims.ExpiresAt.Time, sess.ExpiresAt)
	assert.Equal(t, http.StatusOK, sessMe(t, srv, tokens.AccessToken))

	clock.Advance(10*time.Minute + a.Config().ClockSkew + time.Second)
	assert.Equal(t, http.StatusUnauthorized, sessMe(t, srv, tokens.AccessToken), "the token dies with its session")
	_, err = a.Refresh(ctx, tokens.RefreshToken)
	assert.ErrorIs(t, err, ErrRefreshTokenInvalid)
}

// TestSessionTokenResponseLifetimes proves the expires_in and
// refresh_expires_in values: the access TTL, and the nearer of the idle and
// absolute deadlines, in seconds, on the Go API and on the wire.
func TestSessionTokenResponseLifetimes(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		edit      func(*Config)
		expiresIn int
		refresh   int // at sign-in
		refreshed int // after a refresh one hour later
	}{
		{"defaults", nil, 900, 30 * 24 * 3600, 30 * 24 * 3600},
		{"short access TTL", func(c *Config) { c.AccessTokenTTL = 5 * time.Minute }, 300, 30 * 24 * 3600, 30 * 24 * 3600},
		{"absolute end before idle end", func(c *Config) {
			c.SessionIdleTimeout = 48 * time.Hour
			c.SessionMaxLifetime = 24 * time.Hour
		}, 900, 24 * 3600, 23 * 3600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newSessClock()
			a := newTestAuth(t, func(c *Config) {
				c.Now = clock.Now
				if tt.edit != nil {
					tt.edit(c)
				}
			})
			srv := newTestServer(t, a)
			sessNewUser(t, a, "lifetimes@example.com")

			res := do(t, srv, http.MethodPost, "/auth/login", map[string]string{"email": "lifetimes@example.com", "password": sessPassword}, "")
			require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
			body := res.JSON(t)
			assert.Equal(t, "bearer", body["token_type"])
			assert.EqualValues(t, tt.expiresIn, body["expires_in"])
			assert.EqualValues(t, tt.refresh, body["refresh_expires_in"])

			var tokens TokenResponse
			require.NoError(t, json.Unmarshal(res.Body, &tokens))
			clock.Advance(time.Hour)
			next, err := a.Refresh(ctx, tokens.RefreshToken)
			require.NoError(t, err)
			assert.Equal(t, tt.expiresIn, next.ExpiresIn)
			// The idle deadline restarts at the refresh; the absolute one does not.
			assert.Equal(t, tt.refreshed, next.RefreshExpiresIn)
		})
	}
}

// TestRefreshMalformedTokens proves that a refresh token that is not well
// formed (wrong decoded length, bad base64, padding, random bytes) is
// ErrRefreshTokenInvalid and revokes nothing: the real session, whose id some
// of them carry, still refreshes afterwards and its access token still works.
func TestRefreshMalformedTokens(t *testing.T) {
	ctx := context.Background()
	a := newTestAuth(t, nil)
	srv := newTestServer(t, a)
	sessNewUser(t, a, "malformed@example.com")
	tokens := sessLogin(t, a, "malformed@example.com")
	sid := sessIDOf(t, tokens.RefreshToken)
	raw, err := base64.RawURLEncoding.DecodeString(tokens.RefreshToken)
	require.NoError(t, err)

	randomBytes := func(n int) []byte {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		return b
	}
	enc := base64.RawURLEncoding.EncodeToString
	cases := map[string]string{
		"empty":                       "",
		"short, real session id":      enc(raw[:refreshTokenBytes-1]),
		"long, real session id":       enc(append(append([]byte{}, raw...), 0)),
		"session id only":             enc(raw[:16]),
		"standard base64 character":   tokens.RefreshToken[:len(tokens.RefreshToken)-1] + "+",
		"padded":                      tokens.RefreshToken + "==",
		"surrounding spaces":          " " + tokens.RefreshToken + " ",
		"not base64":                  "!!not-a-refresh-token!!",
		"a JWT":                       tokens.AccessToken,
		"huge":                        strings.Repeat("A", 1<<16),
		"random bytes, right length":  enc(randomBytes(refreshTokenBytes)),
		"random bytes, wrong length":  enc(randomBytes(refreshTokenBytes + 3)),
		"random base64url characters": strings.Repeat("Zm9v", 16),
	}
	for name, token := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := a.Refresh(ctx, token)
			require.ErrorIs(t, err, ErrRefreshTokenInvalid)
			assert.False(t, sessRevoked(t, a, sid), "a malformed token revokes nothing")
		})
	}

	t.Run("over http", func(t *testing.T) {
		res := do(t, srv, http.MethodPost, "/auth/refresh", map[string]string{"refresh_token": "garbage"}, "")
		require.Equal(t, http.StatusUnauthorized, res.Status)
		assert.Equal(t, string(CodeRefreshTokenInvalid), res.Detail(t))
	})

	require.Equal(t, http.StatusOK, sessMe(t, srv, tokens.AccessToken), "the real access token still works")
	_, err = a.Refresh(ctx, tokens.RefreshToken)
	require.NoError(t, err, "the real refresh token still works")
}

// TestRefreshForgedTokenRevokesNothing proves that a well-formed token
// carrying a real session id (readable in any access token's `sid`) but not
// issued by this deployment is refused without revoking the session: only a
// genuine old token counts as reuse. Nobody can end another's session by
// forging a refresh token.
func TestRefreshForgedTokenRevokesNothing(t *testing.T) {
	ctx := context.Background()
	a := newTestAuth(t, nil)
	srv := newTestServer(t, a)
	sessNewUser(t, a, "forged@example.com")
	victim := sessLogin(t, a, "forged@example.com")
	sid := sessIDOf(t, victim.RefreshToken)

	raw, err := base64.RawURLEncoding.DecodeString(victim.RefreshToken)
	require.NoError(t, err)
	forgeries := map[string][]byte{}
	for name, at := range map[string]int{"nonce changed": 16, "tag changed": len(raw) - 1} {
		forged := append([]byte(nil), raw...)
		forged[at] ^= 0x01
		forgeries[name] = forged
	}
	otherAuth := newTestAuth(t, func(cfg *Config) { cfg.Secret = testSecret + "-another-deployment" })
	otherToken, _ := otherAuth.newRefreshToken(sid) // genuine elsewhere, with another secret
	otherRaw, err := base64.RawURLEncoding.DecodeString(otherToken)
	require.NoError(t, err)
	forgeries["tagged with another secret"] = otherRaw

	for name, forged := range forgeries {
		t.Run(name, func(t *testing.T) {
			token := base64.RawURLEncoding.EncodeToString(forged)
			require.Equal(t, sid, sessIDOf(t, token))
			_, err := a.Refresh(ctx, token)
			require.ErrorIs(t, err, ErrRefreshTokenInvalid)
			assert.False(t, sessRevoked(t, a, sid), "a forged token revokes nothing")
			assert.Equal(t, http.StatusOK, sessMe(t, srv, victim.AccessToken))
		})
	}
	_, err = a.Refresh(ctx, victim.RefreshToken)
	assert.NoError(t, err, "the session's real refresh token still works")
}

// TestRefreshReuseDetectedAcrossSecretRotation proves that a genuine old
// refresh token, issued before the secret was rotated into
// PreviousSecrets, is still recognised as reuse and revokes its session.
func TestRefreshReuseDetectedAcrossSecretRotation(t *testing.T) {
	ctx := context.Background()
	store := openTestStore(t, "sqlite")
	before := newTestAuthOn(t, store, nil)
	sessNewUser(t, before, "rotate@example.com")
	first := sessLogin(t, before, "rotate@example.com")
	second, err := before.Refresh(ctx, first.RefreshToken)
	require.NoError(t, err)

	after := newTestAuthOn(t, store, func(cfg *Config) {
		cfg.Secret, cfg.PreviousSecrets = testSecret+"-rotated-in", []string{testSecret}
	})
	_, err = after.Refresh(ctx, first.RefreshToken)
	require.ErrorIs(t, err, ErrRefreshTokenInvalid)
	assert.True(t, sessRevoked(t, after, sessIDOf(t, first.RefreshToken)), "reuse of a genuine old token revokes the session")
	_, err = after.Refresh(ctx, second.RefreshToken)
	assert.ErrorIs(t, err, ErrRefreshTokenInvalid, "the current token died with the session")
}

// TestRefreshInactiveOrDeletedUser proves that a session whose user was
// deactivated or deleted cannot be refreshed.
func TestRefreshInactiveOrDeletedUser(t *testing.T) {
	ctx := context.Background()
	t.Run("inactive", func(t *testing.T) {
		store := openTestStore(t, "sqlite")
		a := newTestAuthOn(t, store, nil)
		user := sessNewUser(t, a, "inactive@example.com")
		tokens := sessLogin(t, a, "inactive@example.com")
		require.NoError(t, store.DB().Model(&User{}).Where("id = ?", user.ID).Update("is_active", false).Error)

		_, err := a.Refresh(ctx, tokens.RefreshToken)
		require.ErrorIs(t, err, ErrRefreshTokenInvalid)
	})
	t.Run("deleted", func(t *testing.T) {
		a := newTestAuth(t, nil)
		user := sessNewUser(t, a, "deleted@example.com")
		tokens := sessLogin(t, a, "deleted@example.com")
		require.NoError(t, a.Store().DeleteUser(ctx, user.ID))

		_, err := a.Refresh(ctx, tokens.RefreshToken)
		require.ErrorIs(t, err, ErrRefreshTokenInvalid)
	})
}

// TestSessionRevokeUserSessions proves that RevokeUserSessions ends every
// session of the user but the excepted one (refresh and access tokens
// alike), leaves other users alone, and with uuid.Nil ends them all.
func TestSessionRevokeUserSessions(t *testing.T) {
	ctx := context.Background()
	a := newTestAuth(t, nil)
	srv := newTestServer(t, a)
	user := sessNewUser(t, a, "many@example.com")
	sessNewUser(t, a, "bystander@example.com")
	s1 := sessLogin(t, a, "many@example.com")
	s2 := sessLogin(t, a, "many@example.com")
	s3 := sessLogin(t, a, "many@example.com")
	bystander := sessLogin(t, a, "bystander@example.com")
	for _, s := range []*TokenResponse{s1, s2, s3, bystander} {
		require.Equal(t, http.StatusOK, sessMe(t, srv, s.AccessToken))
	}

	require.NoError(t, a.RevokeUserSessions(ctx, user.ID, sessIDOf(t, s2.RefreshToken)))
	for name, s := range map[string]*TokenResponse{"s1": s1, "s3": s3} {
		assert.Equal(t, http.StatusUnauthorized, sessMe(t, srv, s.AccessToken), "%s access token", name)
		_, err := a.Refresh(ctx, s.RefreshToken)
		assert.ErrorIs(t, err, ErrRefreshTokenInvalid, "%s refresh token", name)
	}
	assert.Equal(t, http.StatusOK, sessMe(t, srv, s2.AccessToken), "the excepted session lives")
	s2, err := a.Refresh(ctx, s2.RefreshToken)
	require.NoError(t, err, "the excepted session still refreshes")
	assert.Equal(t, http.StatusOK, sessMe(t, srv, bystander.AccessToken), "another user's session lives")

	require.NoError(t, a.RevokeUserSessions(ctx, user.ID, uuid.Nil))
	assert.Equal(t, http.StatusUnauthorized, sessMe(t, srv, s2.AccessToken))
	_, err = a.Refresh(ctx, s2.RefreshToken)
	assert.ErrorIs(t, err, ErrRefreshTokenInvalid)
	live, err := a.Store().SessionsOf(ctx, user.ID, time.Now())
	require.NoError(t, err)
	assert.Empty(t, live)
	assert.Equal(t, http.StatusOK, sessMe(t, srv, bystander.AccessToken))
	_, err = a.Refresh(ctx, bystander.RefreshToken)
	assert.NoError(t, err)
}

// TestSessionStoresOnlyRefreshTokenHashes proves that the store holds the
// SHA-256 of the current refresh token and never the token itself: no
// column of the sessions table, and no byte of the SQLite files (WAL
// included), contains any refresh token issued.
func TestSessionStoresOnlyRefreshTokenHashes(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := OpenStore(ctx, "sqlite://"+filepath.Join(dir, "hashes.db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	a := newTestAuthOn(t, store, nil)
	sessNewUser(t, a, "hashes@example.com")

	first := sessLogin(t, a, "hashes@example.com")
	second, err := a.Refresh(ctx, first.RefreshToken)
	require.NoError(t, err)
	other := sessLogin(t, a, "hashes@example.com")
	issued := []string{first.RefreshToken, second.RefreshToken, other.RefreshToken}

	var rows []map[string]any
	require.NoError(t, store.DB().Raw("SELECT * FROM sessions").Scan(&rows).Error)
	require.Len(t, rows, 2)
	stored := map[string]bool{}
	for _, row := range rows {
		stored[sessColumnText(row["refresh_token_hash"])] = true
		for col, v := range row {
			for _, tok := range issued {
				assert.NotContains(t, sessColumnText(v), tok, "column %s holds a refresh token", col)
			}
		}
	}
	assert.Equal(t, map[string]bool{hashRefreshToken(second.RefreshToken): true, hashRefreshToken(other.RefreshToken): true}, stored)

	files, err := filepath.Glob(filepath.Join(dir, "hashes.db*"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, tok := range issued {
			assert.False(t, bytes.Contains(data, []byte(tok)), "%s holds a refresh token", filepath.Base(f))
		}
	}
}

// sessColumnText renders a scanned column value as text.
func sessColumnText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case nil:
		return ""
	default:
		raw, _ := json.Marshal(v)
		return string(raw)
	}
}

// TestRefreshStoreFailureIsNotInvalid proves that a store failure during a
// refresh is reported as such, never disguised as ErrRefreshTokenInvalid
// (which would tell a client to sign in again for a transient outage).
func TestRefreshStoreFailureIsNotInvalid(t *testing.T) {
	store := openTestStore(t, "sqlite")
	a := newTestAuthOn(t, store, nil)
	sessNewUser(t, a, "outage@example.com")
	tokens := sessLogin(t, a, "outage@example.com")
	require.NoError(t, store.Close())

	_, err := a.Refresh(context.Background(), tokens.RefreshToken)
	require.Error(t, err)
	assert.False(t, errors.Is(err, ErrRefreshTokenInvalid), "got %v", err)
	assert.ErrorIs(t, err, ErrStoreUnavailable)
}
