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
type tokenCache struct {
	mu      sync.RWMutex
	entries map[string]cachedToken
	max     int
}

type cachedToken struct {
	claims  *Claims
	expires time.Time
}

func newTokenCache(max int) *tokenCache {
	return &tokenCache{entries: make(map[string]cachedToken, min(max, 1024)), max: max}
}

// get returns the verified claims of token when it is cached and not expired.
func (tc *tokenCache) get(token string, now time.Time) (*Claims, bool) {
	if tc.max <= 0 {
		return nil, false
	}
	tc.mu.RLock()
	entry, ok := tc.entries[token]
	tc.mu.RUnlock()
	if !ok || !now.Before(entry.expires) {
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
	if len(tc.entries) >= tc.max {
		tc.evictLocked(now)
	}
	tc.entries[token] = cachedToken{claims: claims, expires: expires}
}

// evictLocked drops expired entries and, if that is not enough, about an
// eighth of the rest (map iteration order is random in Go).
func (tc *tokenCache) evictLocked(now time.Time) {
	for token, entry := range tc.entries {
		if !now.Before(entry.expires) {
			delete(tc.entries, token)
		}
	}
	excess := len(tc.entries) - tc.max + max(tc.max/8, 1)
	for token := range tc.entries {
		if excess <= 0 {
			break
		}
		delete(tc.entries, token)
		excess--
	}
}
