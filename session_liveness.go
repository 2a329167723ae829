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
// A session is live only for the user it belongs to: an entry records the
// owner the store reported and reads not-live for anyone else, so a token
// signed with a leaked secret, claiming another user's id with the signer's
// own session, is refused, and its lookup caches the session's true state,
// so it cannot end the owner's session either.
type livenessCache struct {
	mu      sync.RWMutex
	entries map[uuid.UUID]liveness
	ttl     time.Duration // how long a "live" answer is trusted
	deadTTL time.Duration // how long a "dead" answer is kept
	max     int
}

type liveness struct {
	owner   uuid.UUID // the session's user, in a live entry
	live    bool      // a dead entry is dead for every user
	expires time.Time
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
	return entry.live && entry.owner == userID, true
}

// markLive records a session of owner as live as of now.
func (lc *livenessCache) markLive(id, owner uuid.UUID, now time.Time) {
	if lc.ttl <= 0 {
		return
	}
	lc.mu.Lock()
	defer lc.mu.Unlock()
	lc.setLocked(id, liveness{owner: owner, live: true, expires: now.Add(lc.ttl)}, now)
}

// markDead records a session as ended, for every user; it never becomes
// live again.
func (lc *livenessCache) markDead(id uuid.UUID, now time.Time) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	lc.setLocked(id, liveness{expires: now.Add(lc.deadTTL)}, now)
}

// markDeadAll is markDead for several sessions, under one lock.
func (lc *livenessCache) markDeadAll(ids []uuid.UUID, now time.Time) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	for _, id := range ids {
		lc.setLocked(id, liveness{expires: now.Add(lc.deadTTL)}, now)
	}
}

// setLocked stores entry unless a valid dead entry is there: dead is final.
func (lc *livenessCache) setLocked(id uuid.UUID, entry liveness, now time.Time) {
	if old, found := lc.entries[id]; found && !old.live && now.Before(old.expires) {
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
