package ginauth

import (
	"sync"
	"time"

	"github.com/google/uuid"
)

// livenessCache remembers which sessions are live, so RequireAuth does not
// ask the store on every request. A "live" entry is trusted for ttl (the
// bound on how late another instance's revocation is seen); a "dead" entry
// is final and kept until every access token of the session has expired.
//
// A session is live only for the user it belongs to: a live entry records
// its owner and reads not-live for anyone else, so a token signed with a
// leaked secret, claiming another user's id with the signer's own session,
// is refused. The store's "not live for this user" cannot tell a dead
// session from one that belongs to someone else, so it is kept as dead for
// that user only, and never displaces a live entry of the owner.
type livenessCache struct {
	mu      sync.RWMutex
	entries map[uuid.UUID]liveness
	ttl     time.Duration // how long a "live" answer is trusted
	deadTTL time.Duration // how long a "dead" answer is kept
	max     int
}

type liveness struct {
	// user is the session's owner for a live entry, and the user the store
	// said the session is not live for in a dead entry that has not ended.
	user    uuid.UUID
	live    bool
	ended   bool // dead for every user
	expires time.Time
}

// final reports whether entry, valid at now, keeps a set of next from
// taking its place.
func (entry liveness) final(next liveness, now time.Time) bool {
	switch {
	case !now.Before(entry.expires):
		return false
	case entry.ended:
		return true // dead is final
	case entry.live:
		// A "not live for next.user" about another user says nothing of
		// the owner's session.
		return !next.live && !next.ended && next.user != entry.user
	default:
		// Dead for this user is final for this user.
		return !next.ended && next.user == entry.user
	}
}

func newLivenessCache(ttl, deadTTL time.Duration, max int) *livenessCache {
	return &livenessCache{entries: make(map[uuid.UUID]liveness), ttl: ttl, deadTTL: deadTTL, max: max}
}

// get returns the cached liveness of a session for a token of userID, if
// the entry is still valid and answers for that user.
func (lc *livenessCache) get(id, userID uuid.UUID, now time.Time) (live, ok bool) {
	lc.mu.RLock()
	entry, found := lc.entries[id]
	lc.mu.RUnlock()
	if !found || !now.Before(entry.expires) {
		return false, false
	}
	switch {
	case entry.live:
		return entry.user == userID, true
	case entry.ended || entry.user == userID:
		return false, true
	default:
		return false, false // dead for another user: ask the store
	}
}

// markLive records a session of userID as live as of now.
func (lc *livenessCache) markLive(id, userID uuid.UUID, now time.Time) {
	if lc.ttl <= 0 {
		return
	}
	lc.set(id, liveness{user: userID, live: true, expires: now.Add(lc.ttl)}, now)
}

// markDeadFor records the store's answer that a session is not live for
// userID as of now: it has ended, or it is not userID's.
func (lc *livenessCache) markDeadFor(id, userID uuid.UUID, now time.Time) {
	lc.set(id, liveness{user: userID, expires: now.Add(lc.deadTTL)}, now)
}

// markDead records a session as ended; it never becomes live again.
func (lc *livenessCache) markDead(id uuid.UUID, now time.Time) {
	lc.set(id, liveness{ended: true, expires: now.Add(lc.deadTTL)}, now)
}

func (lc *livenessCache) set(id uuid.UUID, entry liveness, now time.Time) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if old, found := lc.entries[id]; found && old.final(entry, now) {
		return
	}
	if len(lc.entries) >= lc.max {
		lc.evictLocked(now)
	}
	lc.entries[id] = entry
}

// evictLocked drops expired entries, then live ones if still full. Dropping
// an entry only costs one more store query; a dropped dead entry is found
// dead again by that query.
func (lc *livenessCache) evictLocked(now time.Time) {
	for id, entry := range lc.entries {
		if !now.Before(entry.expires) {
			delete(lc.entries, id)
		}
	}
	excess := len(lc.entries) - lc.max + max(lc.max/8, 1)
	for id, entry := range lc.entries {
		if excess <= 0 {
			break
		}
		if entry.live {
			delete(lc.entries, id)
			excess--
		}
	}
	for id := range lc.entries {
		if excess <= 0 {
			break
		}
		delete(lc.entries, id)
		excess--
	}
}
