package ginauth

import (
	"sync"
	"time"
)

// tokenCache remembers access tokens that passed full verification, keyed by
// the exact token string, so a token seen before costs a map lookup instead
// of a signature check. An entry dies at the token's exp. The cache holds at
// most max entries: when full, expired entries go first, then the oldest
// (a dropped entry only costs one more verification).
//
// Lookups take no lock (sync.Map), so concurrent requests presenting the same
// token do not contend on a shared lock word. Writers are serialized by mu,
// which also guards order: every entry, oldest first, so that eviction walks
// a slice instead of the map.
type tokenCache struct {
	entries sync.Map // token string → *cachedToken
	mu      sync.Mutex
	order   []*cachedToken
	max     int
}

type cachedToken struct {
	token   string
	claims  *Claims
	expires time.Time
	slot    int // index in order, guarded by mu; never read by get
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{max: max}
}

// get returns the verified claims of token when it is cached and not expired.
func (tc *tokenCache) get(token string, now time.Time) (*Claims, bool) {
	if tc.max <= 0 {
		return nil, false
	}
	v, ok := tc.entries.Load(token)
	if !ok {
		return nil, false
	}
	entry := v.(*cachedToken)
	if !now.Before(entry.expires) {
		return nil, false
	}
	return entry.claims, true
}

// put caches the claims of a verified token until its expiry.
func (tc *tokenCache) put(token string, claims *Claims, expires, now time.Time) {
	if tc.max <= 0 {
		return
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if len(tc.order) >= tc.max {
		tc.evictLocked(now)
	}
	entry := &cachedToken{token: token, claims: claims, expires: expires}
	if v, loaded := tc.entries.Swap(token, entry); loaded {
		entry.slot = v.(*cachedToken).slot
		tc.order[entry.slot] = entry
		return
	}
	entry.slot = len(tc.order)
	tc.order = append(tc.order, entry)
}

// evictLocked drops expired entries and, if that is not enough, about an
// eighth of the rest, oldest first.
func (tc *tokenCache) evictLocked(now time.Time) {
	kept := tc.order[:0]
	for _, entry := range tc.order {
		if now.Before(entry.expires) {
			entry.slot = len(kept)
			kept = append(kept, entry)
		} else {
			tc.entries.Delete(entry.token)
		}
	}
	clear(tc.order[len(kept):])
	tc.order = kept
	excess := len(tc.order) - tc.max + max(tc.max/8, 1)
	if excess <= 0 {
		return
	}
	for _, entry := range tc.order[:excess] {
		tc.entries.Delete(entry.token)
	}
	n := copy(tc.order, tc.order[excess:])
	clear(tc.order[n:])
	tc.order = tc.order[:n]
	for i, entry := range tc.order {
		entry.slot = i
	}
}
