package ginauth

import (
	"sync"
	"time"
)

// tokenCache remembers access tokens that passed full verification, keyed by
// the exact token string, so a token seen before costs a map lookup instead
// of a signature check. An entry dies at the token's exp. The cache holds at
// most max entries: when full, expired entries go first, then arbitrary ones
// (a dropped entry only costs one more verification).
//
// Lookups take no lock (sync.Map), so concurrent requests presenting the same
// token do not contend on a shared lock word; writers are serialized by mu.
type tokenCache struct {
	entries sync.Map // token string → *cachedToken
	mu      sync.Mutex
	n       int // len(entries), guarded by mu
	max     int
}

type cachedToken struct {
	claims  *Claims
	expires time.Time
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
	if tc.n >= tc.max {
		tc.evictLocked(now)
	}
	if _, loaded := tc.entries.Swap(token, &cachedToken{claims: claims, expires: expires}); !loaded {
		tc.n++
	}
}

// evictLocked drops expired entries and, if that is not enough, about an
// eighth of the rest (sync.Map iteration order is arbitrary).
func (tc *tokenCache) evictLocked(now time.Time) {
	tc.entries.Range(func(token, v any) bool {
		if !now.Before(v.(*cachedToken).expires) {
			tc.deleteLocked(token)
		}
		return true
	})
	excess := tc.n - tc.max + max(tc.max/8, 1)
	tc.entries.Range(func(token, _ any) bool {
		if excess <= 0 {
			return false
		}
		tc.deleteLocked(token)
		excess--
		return true
	})
}

func (tc *tokenCache) deleteLocked(token any) {
	if _, loaded := tc.entries.LoadAndDelete(token); loaded {
		tc.n--
	}
}
