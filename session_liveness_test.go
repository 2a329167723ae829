package ginauth

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// livenessCountingStore is a Store that counts SessionLive calls, so a test
// can tell an answer from the liveness cache from one read from the store.
type livenessCountingStore struct {
	Store
	sessionLiveCalls atomic.Int64
}

func (s *livenessCountingStore) SessionLive(ctx context.Context, id uuid.UUID, now time.Time) (uuid.UUID, bool, error) {
	s.sessionLiveCalls.Add(1)
	return s.Store.SessionLive(ctx, id, now)
}

// livenessT0 is an arbitrary instant the cache unit tests start from.
var livenessT0 = time.Unix(1_700_000_000, 0)

// livenessOwner is the user of the sessions in the cache unit tests.
var livenessOwner = uuid.MustParse("6f1d2c3b-4a59-4e68-8d7c-0b1a2f3e4d5c")

// TestLivenessCacheLiveEntryTrustedForTTL proves that a "live" answer is
// trusted for exactly ttl and must be re-checked afterwards, and that an
// unknown session is never answered from the cache.
func TestLivenessCacheLiveEntryTrustedForTTL(t *testing.T) {
	lc := newLivenessCache(5*time.Second, 15*time.Minute, 100)
	id := uuid.New()

	_, ok := lc.get(id, livenessOwner, livenessT0)
	assert.False(t, ok, "unknown session: ask the store")

	lc.markLive(id, livenessOwner, livenessT0)
	for _, at := range []time.Duration{0, time.Second, 5*time.Second - time.Nanosecond} {
		live, ok := lc.get(id, livenessOwner, livenessT0.Add(at))
		assert.True(t, ok, "at +%v the entry is trusted", at)
		assert.True(t, live, "at +%v", at)
	}
	for _, at := range []time.Duration{5 * time.Second, time.Minute} {
		_, ok := lc.get(id, livenessOwner, livenessT0.Add(at))
		assert.False(t, ok, "at +%v the entry must be re-checked", at)
	}

	t.Run("a re-check extends the trust", func(t *testing.T) {
		lc.markLive(id, livenessOwner, livenessT0.Add(5*time.Second))
		live, ok := lc.get(id, livenessOwner, livenessT0.Add(9*time.Second))
		assert.True(t, ok)
		assert.True(t, live)
	})
	t.Run("ttl zero caches nothing live", func(t *testing.T) {
		off := newLivenessCache(0, time.Minute, 100)
		off.markLive(id, livenessOwner, livenessT0)
		_, ok := off.get(id, livenessOwner, livenessT0)
		assert.False(t, ok)
	})
}

// TestLivenessCacheDeadIsFinal proves that once a session is marked dead, a
// late "live" (a store check that started before the revocation and
// finished after it) cannot resurrect it, for as long as the dead entry is
// kept (deadTTL, the lifetime of the session's access tokens), well past the
// live ttl.
func TestLivenessCacheDeadIsFinal(t *testing.T) {
	lc := newLivenessCache(5*time.Second, 15*time.Minute, 100)
	id := uuid.New()
	lc.markLive(id, livenessOwner, livenessT0)
	lc.markDead(id, livenessT0.Add(time.Second))

	for _, at := range []time.Duration{time.Second, 2 * time.Second, time.Minute, 15 * time.Minute} {
		lc.markLive(id, livenessOwner, livenessT0.Add(at)) // late answers from in-flight checks
		live, ok := lc.get(id, livenessOwner, livenessT0.Add(at))
		require.True(t, ok, "at +%v the dead entry is still kept", at)
		assert.False(t, live, "at +%v the session must stay dead", at)
	}

	t.Run("kept for deadTTL, then forgotten", func(t *testing.T) {
		_, ok := lc.get(id, livenessOwner, livenessT0.Add(time.Second+15*time.Minute))
		assert.False(t, ok, "after deadTTL the store answers again (and says dead)")
	})
}

// TestLivenessCacheBoundToOwner proves that an entry is live only for the
// session's owner: a stranger's lookup of a live session reads not-live
// without displacing it, and a dead entry is dead for everyone and final.
func TestLivenessCacheBoundToOwner(t *testing.T) {
	stranger := uuid.New()
	lookup := func(lc *livenessCache, id, user uuid.UUID) (live, ok bool) { return lc.get(id, user, livenessT0) }

	t.Run("a live entry is not live for another user", func(t *testing.T) {
		lc := newLivenessCache(time.Minute, time.Hour, 100)
		id := uuid.New()
		lc.markLive(id, livenessOwner, livenessT0) // what a forged check caches, too
		live, ok := lookup(lc, id, stranger)
		assert.True(t, ok, "answered from the cache")
		assert.False(t, live)
		live, ok = lookup(lc, id, livenessOwner)
		assert.True(t, ok)
		assert.True(t, live, "the owner's session stays live")
	})
	t.Run("dead is final for the owner", func(t *testing.T) {
		lc := newLivenessCache(time.Minute, time.Hour, 100)
		id := uuid.New()
		lc.markLive(id, livenessOwner, livenessT0)
		lc.markDead(id, livenessT0)
		lc.markLive(id, livenessOwner, livenessT0) // a late answer
		live, ok := lookup(lc, id, livenessOwner)
		assert.True(t, ok)
		assert.False(t, live)
	})
	t.Run("dead is dead for everyone", func(t *testing.T) {
		lc := newLivenessCache(time.Minute, time.Hour, 100)
		ids := []uuid.UUID{uuid.New(), uuid.New()}
		lc.markDeadAll(ids, livenessT0)
		for _, id := range ids {
			for _, user := range []uuid.UUID{livenessOwner, stranger, uuid.Nil} {
				lc.markLive(id, user, livenessT0)
				live, ok := lookup(lc, id, user)
				assert.True(t, ok)
				assert.False(t, live)
			}
		}
	})
}

// TestLivenessCacheEvictionBound proves that the cache never holds more
// than max entries, that expired entries go first, and that live entries are
// evicted before dead ones (a dropped live entry costs one store query; a
// dead one is what makes a local revocation immediate).
func TestLivenessCacheEvictionBound(t *testing.T) {
	const limit = 16
	t.Run("bounded", func(t *testing.T) {
		lc := newLivenessCache(time.Minute, time.Hour, limit)
		for i := range 1000 {
			if i%3 == 0 {
				lc.markDead(uuid.New(), livenessT0)
			} else {
				lc.markLive(uuid.New(), livenessOwner, livenessT0)
			}
			require.LessOrEqual(t, len(lc.entries), limit, "after %d inserts", i+1)
		}
	})
	t.Run("expired entries go first", func(t *testing.T) {
		lc := newLivenessCache(time.Minute, time.Hour, limit)
		for range limit {
			lc.markLive(uuid.New(), livenessOwner, livenessT0)
		}
		require.Len(t, lc.entries, limit)
		keep := uuid.New()
		lc.markLive(keep, livenessOwner, livenessT0.Add(time.Minute)) // every earlier entry has expired
		assert.Len(t, lc.entries, 1)
		_, ok := lc.get(keep, livenessOwner, livenessT0.Add(time.Minute))
		assert.True(t, ok)
	})
	t.Run("dead entries outlast live ones", func(t *testing.T) {
		lc := newLivenessCache(time.Minute, time.Hour, limit)
		dead := make([]uuid.UUID, limit/2)
		for i := range dead {
			dead[i] = uuid.New()
			lc.markDead(dead[i], livenessT0)
		}
		for range 500 {
			lc.markLive(uuid.New(), livenessOwner, livenessT0)
		}
		require.LessOrEqual(t, len(lc.entries), limit)
		for _, id := range dead {
			live, ok := lc.get(id, livenessOwner, livenessT0)
			assert.True(t, ok, "a dead entry was evicted while live ones remained")
			assert.False(t, live)
		}
	})
}

// TestLivenessCacheConcurrent hammers the cache from many goroutines (run
// with -race) and proves that no session marked dead reads live afterwards.
func TestLivenessCacheConcurrent(t *testing.T) {
	lc := newLivenessCache(time.Minute, time.Hour, 64)
	ids := make([]uuid.UUID, 32)
	for i := range ids {
		ids[i] = uuid.New()
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				id := ids[(g*7+i)%len(ids)]
				now := livenessT0.Add(time.Duration(i) * time.Millisecond)
				switch {
				case i%2 == 0 && (g*7+i)%len(ids) < len(ids)/2:
					lc.markDead(id, now)
				case i%3 == 0:
					lc.markLive(id, livenessOwner, now)
				default:
					lc.get(id, livenessOwner, now)
				}
			}
		}()
	}
	wg.Wait()
	require.LessOrEqual(t, len(lc.entries), 64)
	end := livenessT0.Add(2 * time.Second)
	for _, id := range ids[:len(ids)/2] {
		lc.markLive(id, livenessOwner, end)
		live, ok := lc.get(id, livenessOwner, end)
		assert.True(t, ok, "32 ids never fill 64 slots: nothing was evicted")
		assert.False(t, live, "a session marked dead read live")
	}
}

// TestLivenessRevokedLocallyIgnoresLateLive proves, on an Auth, that a
// session revoked by this instance stays dead even if a store check that
// said "live" reports after the revocation.
func TestLivenessRevokedLocallyIgnoresLateLive(t *testing.T) {
	ctx := context.Background()
	a := newTestAuth(t, nil)
	sessNewUser(t, a, "late@example.com")
	tokens := sessLogin(t, a, "late@example.com")
	claims, err := a.VerifyAccessToken(tokens.AccessToken)
	require.NoError(t, err)
	sid, uid := claims.Session(), claims.UserID()

	require.NoError(t, a.RevokeSession(ctx, sid))
	a.liveness.markLive(sid, uid, a.now()) // the late answer
	live, err := a.sessionLive(ctx, sid, uid)
	require.NoError(t, err)
	assert.False(t, live)
}

// TestLivenessAcrossInstances proves the cross-instance contract of
// SessionCheckInterval with two Auth instances on one store: a logout on A
// kills the access token on A at once (without asking the store), while B
// keeps answering from its cache, without a store query, until the interval
// has passed; then B asks the store once and refuses the token from then on.
func TestLivenessAcrossInstances(t *testing.T) {
	const interval = 2 * time.Second
	shared := openTestStore(t, "sqlite")
	clock := newSessClock()
	storeA := &livenessCountingStore{Store: shared}
	storeB := &livenessCountingStore{Store: shared}
	edit := func(c *Config) {
		c.Now = clock.Now
		c.SessionCheckInterval = interval
	}
	a := newTestAuthOn(t, storeA, edit)
	b := newTestAuthOn(t, storeB, edit)
	srvA, srvB := newTestServer(t, a), newTestServer(t, b)

	sessNewUser(t, a, "two@example.com")
	tokens := sessLogin(t, a, "two@example.com")
	other := sessLogin(t, a, "two@example.com")

	// B learns that the session is live: one store query, then the cache.
	require.Equal(t, http.StatusOK, sessMe(t, srvB, tokens.AccessToken))
	require.EqualValues(t, 1, storeB.sessionLiveCalls.Load())
	require.Equal(t, http.StatusOK, sessMe(t, srvB, tokens.AccessToken))
	require.EqualValues(t, 1, storeB.sessionLiveCalls.Load(), "B answers from its cache")
	// A knows it is live since the sign-in.
	require.Equal(t, http.StatusOK, sessMe(t, srvA, tokens.AccessToken))

	res := do(t, srvA, http.MethodPost, "/auth/logout", nil, tokens.AccessToken)
	require.Equal(t, http.StatusNoContent, res.Status, "%s", res.Body)

	t.Run("A refuses at once", func(t *testing.T) {
		before := storeA.sessionLiveCalls.Load()
		assert.Equal(t, http.StatusUnauthorized, sessMe(t, srvA, tokens.AccessToken))
		assert.Equal(t, before, storeA.sessionLiveCalls.Load(), "A knows without asking the store")
	})

	t.Run("B trusts its cache within the interval", func(t *testing.T) {
		clock.Advance(interval - time.Millisecond)
		assert.Equal(t, http.StatusOK, sessMe(t, srvB, tokens.AccessToken), "still cached live: the documented bound")
		assert.EqualValues(t, 1, storeB.sessionLiveCalls.Load(), "no store query within the interval")
	})

	t.Run("B refuses once the interval has passed", func(t *testing.T) {
		clock.Advance(time.Millisecond)
		assert.Equal(t, http.StatusUnauthorized, sessMe(t, srvB, tokens.AccessToken))
		assert.EqualValues(t, 2, storeB.sessionLiveCalls.Load(), "exactly one re-check")
		assert.Equal(t, http.StatusUnauthorized, sessMe(t, srvB, tokens.AccessToken))
		assert.EqualValues(t, 2, storeB.sessionLiveCalls.Load(), "dead is then answered from the cache")
	})

	t.Run("the user's other session is untouched on both", func(t *testing.T) {
		assert.Equal(t, http.StatusOK, sessMe(t, srvA, other.AccessToken))
		assert.Equal(t, http.StatusOK, sessMe(t, srvB, other.AccessToken))
	})
}
