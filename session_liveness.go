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
type livenessCache struct {
	mu      sync.RWMutex
	entries map[uuid.UUID]liveness
	ttl     time.Duration // how long a "live" answer is trusted
	deadTTL time.Duration // how long a "dead" answer is kept
	max     int
}

type liveness struct {
	live    bool
	expires time.Time
}

func newLivenessCache(ttl, deadTTL time.Duration, max int) *livenessCache {
	return &livenessCache{entries: make(map[uuid.UUID]liveness), ttl: ttl, deadTTL: deadTTL, max: max}
}

// get returns the cached liveness of a session, if the entry is still valid.
func (lc *livenessCache) get(id uuid.UUID, now time.Time) (live, ok bool) {
	lc.mu.RLock()
	entry, found := lc.entries[id]
	lc.mu.RUnlock()
	if !found || !now.Before(entry.expires) {
		return false, false
	}
	return entry.live, true
}

// markLive records a session as live as of now.
func (lc *livenessCache) markLive(id uuid.UUID, now time.Time) {
	if lc.ttl <= 0 {
		return
	}
	lc.set(id, liveness{live: true, expires: now.Add(lc.ttl)}, now)
}

// markDead records a session as ended; it never becomes live again.
func (lc *livenessCache) markDead(id uuid.UUID, now time.Time) {
	lc.set(id, liveness{live: false, expires: now.Add(lc.deadTTL)}, now)
}

func (lc *livenessCache) set(id uuid.UUID, entry liveness, now time.Time) {
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if old, found := lc.entries[id]; found && !old.live && now.Before(old.expires) {
		return // dead is final
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
