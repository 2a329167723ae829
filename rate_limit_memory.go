package ginauth

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Bounds of a MemoryRateLimiter.
const (
	// memoryLimiterMaxKeys caps the keys tracked at once (~10 MB).
	memoryLimiterMaxKeys = 100_000
	// memoryLimiterSweepEvery is how many calls pass between two sweeps of
	// the expired keys: amortised, sweeping costs under a hundred map
	// entries per call.
	memoryLimiterSweepEvery = 1024
	// memoryLimiterEvictSample is how many keys are compared to pick the
	// one to evict when the limiter is full.
	memoryLimiterEvictSample = 16
)

// MemoryRateLimiter is a RateLimiter that counts in this process, with the
// generic cell rate algorithm (GCRA): per key it keeps one time, the
// theoretical arrival time (TAT) of the next request if requests came at
// exactly Limit per Period. A request is allowed while the TAT is less than
// Period ahead of now, so a fresh key has a burst of Limit, and the budget
// refills at one request per Period/Limit. Refused requests cost nothing,
// so hammering a spent budget does not push the next allowed request back.
//
// Its memory is bounded: keys whose bucket is full again (TAT in the past)
// are forgotten, swept every 1024 calls, and at most 100 000 keys are kept.
// When the map is full of live keys, a new key evicts, out of a random
// sample of 16 keys, the one whose TAT is earliest: the key closest to a full
// bucket, which loses the least by being forgotten. An attacker who fills
// the map with one request per address thus evicts its own entries before
// it evicts a key whose budget it has spent (such as the account it is
// guessing passwords for). Refusing new keys instead would lock out every
// new client, and not tracking them would not limit them.
//
// Use it for a single instance; when the app runs on several, use
// NewRedisRateLimiter so they share one budget. It is safe for concurrent
// use.
type MemoryRateLimiter struct {
	mu        sync.Mutex
	tats      map[string]time.Time
	calls     int // since the last sweep
	now       func() time.Time
	maxKeys   int
	sweepGap  int
	evictSize int
}

// NewMemoryRateLimiter returns an empty MemoryRateLimiter.
func NewMemoryRateLimiter() *MemoryRateLimiter {
	return &MemoryRateLimiter{
		tats:      make(map[string]time.Time),
		now:       time.Now,
		maxKeys:   memoryLimiterMaxKeys,
		sweepGap:  memoryLimiterSweepEvery,
		evictSize: memoryLimiterEvictSample,
	}
}

// Allow takes one request from key's budget under rate. It never fails but
// for an invalid rate (see Rate); a negative Limit allows every request.
func (m *MemoryRateLimiter) Allow(_ context.Context, key string, rate Rate) (bool, time.Duration, error) {
	if rate.Limit < 0 {
		return true, 0, nil
	}
	if err := rate.validate("rate"); err != nil {
		return false, 0, fmt.Errorf("%w (key %q)", err, key)
	}
	interval, window := gcraParams(rate, time.Nanosecond)
	now := m.now()

	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.calls >= m.sweepGap {
		m.sweepLocked(now)
	}
	tat, tracked := m.tats[key]
	if !tat.After(now) {
		tat = now
	}
	next := tat.Add(time.Duration(interval))
	if wait := next.Sub(now) - time.Duration(window); wait > 0 {
		return false, wait, nil
	}
	if !tracked && len(m.tats) >= m.maxKeys {
		m.makeRoomLocked(now)
	}
	m.tats[key] = next
	return true, 0, nil
}

// sweepLocked forgets every key whose bucket is full again.
func (m *MemoryRateLimiter) sweepLocked(now time.Time) {
	m.calls = 0
	for k, tat := range m.tats {
		if !tat.After(now) {
			delete(m.tats, k)
		}
	}
}

// makeRoomLocked frees one entry for a new key: it sweeps when a sweep is
// worth it (not more often than every sweepGap/8 calls, so a full map of live
// keys does not cost a scan per request), then, if still full, evicts the
// earliest TAT of a random sample (Go randomises map iteration).
func (m *MemoryRateLimiter) makeRoomLocked(now time.Time) {
	if m.calls >= m.sweepGap/8 {
		m.sweepLocked(now)
		if len(m.tats) < m.maxKeys {
			return
		}
	}
	var victim string
	var earliest time.Time
	seen := 0
	for k, tat := range m.tats {
		if seen == 0 || tat.Before(earliest) {
			victim, earliest = k, tat
		}
		if seen++; seen >= m.evictSize {
			break
		}
	}
	delete(m.tats, victim)
}

// len reports how many keys are tracked (for tests).
func (m *MemoryRateLimiter) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.tats)
}
