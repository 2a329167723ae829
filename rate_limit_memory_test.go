package ginauth

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeClock is a settable clock for the limiters.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func newTestMemoryLimiter() (*MemoryRateLimiter, *fakeClock) {
	clock := newFakeClock()
	m := NewMemoryRateLimiter()
	m.now = clock.Now
	return m, clock
}

// mustAllow calls Allow and fails the test on an error.
func mustAllow(t *testing.T, l RateLimiter, key string, rate Rate) (bool, time.Duration) {
	t.Helper()
	ok, retry, err := l.Allow(context.Background(), key, rate)
	require.NoError(t, err)
	return ok, retry
}

func TestMemoryRateLimiterBurstThenRefuse(t *testing.T) {
	cases := []struct {
		name      string
		rate      Rate
		wantRetry time.Duration
	}{
		{"one per second", Rate{Limit: 1, Period: time.Second}, time.Second},
		{"login per IP", Rate{Limit: 30, Period: time.Minute}, 2 * time.Second},
		{"login per account", Rate{Limit: 10, Period: 15 * time.Minute}, 90 * time.Second},
		{"mail per address", Rate{Limit: 3, Period: time.Hour}, 20 * time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := newTestMemoryLimiter()
			for i := range tc.rate.Limit {
				ok, retry := mustAllow(t, m, "k", tc.rate)
				require.True(t, ok, "request %d of the burst", i+1)
				require.Zero(t, retry)
			}
			ok, retry := mustAllow(t, m, "k", tc.rate)
			assert.False(t, ok)
			assert.Equal(t, tc.wantRetry, retry)
		})
	}
}

func TestMemoryRateLimiterRefillsAtItsPace(t *testing.T) {
	m, clock := newTestMemoryLimiter()
	rate := Rate{Limit: 6, Period: time.Minute} // one every 10 s
	for range 6 {
		ok, _ := mustAllow(t, m, "k", rate)
		require.True(t, ok)
	}

	// Refused requests cost nothing: hammering does not push the next one back.
	for range 100 {
		ok, retry := mustAllow(t, m, "k", rate)
		require.False(t, ok)
		require.Equal(t, 10*time.Second, retry)
	}

	clock.Advance(10*time.Second - time.Millisecond)
	ok, retry := mustAllow(t, m, "k", rate)
	assert.False(t, ok)
	assert.Equal(t, time.Millisecond, retry)

	clock.Advance(time.Millisecond)
	ok, _ = mustAllow(t, m, "k", rate)
	assert.True(t, ok, "one request refilled after one interval")
	ok, retry = mustAllow(t, m, "k", rate)
	assert.False(t, ok, "and only one")
	assert.Equal(t, 10*time.Second, retry)

	clock.Advance(35 * time.Second) // 3.5 intervals
	allowed := 0
	for range 10 {
		if ok, _ := mustAllow(t, m, "k", rate); ok {
			allowed++
		}
	}
	assert.Equal(t, 3, allowed)

	clock.Advance(time.Hour) // far more than a period: a full burst, no more
	allowed = 0
	for range 10 {
		if ok, _ := mustAllow(t, m, "k", rate); ok {
			allowed++
		}
	}
	assert.Equal(t, 6, allowed)
}

func TestMemoryRateLimiterKeysAreIndependent(t *testing.T) {
	m, _ := newTestMemoryLimiter()
	rate := Rate{Limit: 2, Period: time.Minute}
	for range 2 {
		ok, _ := mustAllow(t, m, "a", rate)
		require.True(t, ok)
	}
	ok, _ := mustAllow(t, m, "a", rate)
	require.False(t, ok)

	for range 2 {
		ok, _ := mustAllow(t, m, "b", rate)
		assert.True(t, ok, "b has its own budget")
	}
	ok, _ = mustAllow(t, m, "b", rate)
	assert.False(t, ok)
}

func TestMemoryRateLimiterUnlimited(t *testing.T) {
	m, _ := newTestMemoryLimiter()
	for _, rate := range []Rate{Unlimited, {Limit: -1, Period: time.Second}} {
		for range 1000 {
			ok, retry := mustAllow(t, m, "k", rate)
			require.True(t, ok)
			require.Zero(t, retry)
		}
	}
	assert.Zero(t, m.len(), "unlimited requests are not tracked")
}

func TestMemoryRateLimiterRefusesInvalidRates(t *testing.T) {
	cases := map[string]Rate{
		"zero limit":      {Limit: 0, Period: time.Minute},
		"zero rate":       {},
		"no period":       {Limit: 5},
		"negative period": {Limit: 5, Period: -time.Second},
	}
	for name, rate := range cases {
		t.Run(name, func(t *testing.T) {
			m, _ := newTestMemoryLimiter()
			ok, _, err := m.Allow(context.Background(), "k", rate)
			assert.Error(t, err)
			assert.False(t, ok)
		})
	}
}

func TestMemoryRateLimiterTinyIntervals(t *testing.T) {
	// More requests than nanoseconds in the period: the interval is clamped
	// to 1 ns and the burst is still the limit.
	m, _ := newTestMemoryLimiter()
	rate := Rate{Limit: 10, Period: 5 * time.Nanosecond}
	for range 10 {
		ok, _ := mustAllow(t, m, "k", rate)
		require.True(t, ok)
	}
	ok, retry := mustAllow(t, m, "k", rate)
	assert.False(t, ok)
	assert.Equal(t, time.Nanosecond, retry)
}

func TestMemoryRateLimiterSweepsExpiredKeys(t *testing.T) {
	m, clock := newTestMemoryLimiter()
	m.sweepGap = 100
	rate := Rate{Limit: 5, Period: time.Minute} // a key lives 12 s after one request
	for i := range 10_000 {
		ok, _ := mustAllow(t, m, fmt.Sprintf("ip-%d", i), rate)
		require.True(t, ok)
		clock.Advance(time.Second)
		// At most 12 keys are live, plus those since the last sweep.
		require.LessOrEqual(t, m.len(), 12+m.sweepGap)
	}
	clock.Advance(time.Minute)
	for range m.sweepGap {
		_, _ = mustAllow(t, m, "one", rate)
	}
	assert.Equal(t, 1, m.len(), "a sweep forgets every key whose bucket is full again")
}

func TestMemoryRateLimiterCapsKeysAndKeepsSpentBudgets(t *testing.T) {
	m, _ := newTestMemoryLimiter()
	m.maxKeys = 50
	rate := Rate{Limit: 5, Period: time.Hour}

	// The victim's budget is spent (an account under a guessing attack)...
	for range 5 {
		ok, _ := mustAllow(t, m, "victim", rate)
		require.True(t, ok)
	}
	// ...then the attacker floods the limiter with fresh keys, on a frozen
	// clock, so nothing expires.
	for i := range 5000 {
		ok, _ := mustAllow(t, m, fmt.Sprintf("flood-%d", i), rate)
		require.True(t, ok, "a new key is tracked, never refused for lack of room")
		require.LessOrEqual(t, m.len(), 50)
	}
	ok, _ := mustAllow(t, m, "victim", rate)
	assert.False(t, ok, "the spent budget outlives the flood: keys nearest a full bucket are evicted first")
	ok, _ = mustAllow(t, m, "flood-4999", rate)
	assert.True(t, ok, "the newest key is still tracked")
}

func TestMemoryRateLimiterConcurrentUse(t *testing.T) {
	m, _ := newTestMemoryLimiter()
	m.sweepGap = 64 // sweeps run concurrently with the calls too
	rate := Rate{Limit: 100, Period: time.Hour}
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for g := range 50 {
		wg.Go(func() {
			for i := range 100 {
				if ok, _, err := m.Allow(context.Background(), fmt.Sprintf("k%d", (g+i)%5), rate); err == nil && ok {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(5*100), allowed.Load(), "exactly the burst of each of the 5 keys")
}
