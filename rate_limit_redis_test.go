package ginauth

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// openTestRedis returns a new client on the test Redis, closed when the
// test ends, and skips the test when GINAUTH_TEST_REDIS_URL is unset.
func openTestRedis(t *testing.T) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(testRedisURL(t))
	require.NoError(t, err)
	client := redis.NewClient(opts)
	t.Cleanup(func() { _ = client.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	require.NoError(t, client.Ping(ctx).Err(), "GINAUTH_TEST_REDIS_URL is set but Redis does not answer")
	return client
}

// testRedisPrefix is a key prefix of its own for one test, whose keys are
// deleted when the test ends, so runs never share a budget.
func testRedisPrefix(t *testing.T, client *redis.Client) string {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	prefix := redisLimiterPrefix + "test-" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := client.Scan(ctx, 0, prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			client.Del(ctx, iter.Val())
		}
	})
	return prefix
}

// newTestRedisLimiter is a limiter on client with the given key prefix,
// logging into the returned buffer.
func newTestRedisLimiter(client redis.UniversalClient, prefix string) (*RedisRateLimiter, *syncBuffer) {
	logs := &syncBuffer{}
	l := NewRedisRateLimiter(client)
	l.prefix = prefix
	l.Logger = slog.New(slog.NewTextHandler(logs, nil))
	return l, logs
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestRedisRateLimiterBurstThenRefuse(t *testing.T) {
	cases := []struct {
		name     string
		rate     Rate
		interval time.Duration
	}{
		{"five per minute", Rate{Limit: 5, Period: time.Minute}, 12 * time.Second},
		{"login per account", Rate{Limit: 10, Period: 15 * time.Minute}, 90 * time.Second},
		{"one per ten thousand seconds", Rate{Limit: 1, Period: 10_000 * time.Second}, 10_000 * time.Second},
	}
	client := openTestRedis(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, logs := newTestRedisLimiter(client, testRedisPrefix(t, client))
			for i := range tc.rate.Limit {
				ok, retry := mustAllow(t, l, "k", tc.rate)
				require.True(t, ok, "request %d of the burst", i+1)
				require.Zero(t, retry)
			}
			ok, retry := mustAllow(t, l, "k", tc.rate)
			assert.False(t, ok)
			assert.LessOrEqual(t, retry, tc.interval)
			assert.Greater(t, retry, tc.interval-5*time.Second, "about one interval")

			ok, _ = mustAllow(t, l, "other", tc.rate)
			assert.True(t, ok, "another key has its own budget")
			assert.Empty(t, logs.String(), "Redis answered: no fallback")
		})
	}
}

func TestRedisRateLimiterSharedByEveryInstance(t *testing.T) {
	// Two app instances: two clients, two limiters, one budget.
	clientA := openTestRedis(t)
	clientB := openTestRedis(t)
	prefix := testRedisPrefix(t, clientA)
	a, _ := newTestRedisLimiter(clientA, prefix)
	b, _ := newTestRedisLimiter(clientB, prefix)

	rate := Rate{Limit: 10, Period: time.Hour}
	allowed := 0
	for i := range 30 {
		l := a
		if i%2 == 1 {
			l = b
		}
		if ok, _ := mustAllow(t, l, "shared", rate); ok {
			allowed++
		}
	}
	assert.Equal(t, 10, allowed, "the two instances share one burst")

	ok, _ := mustAllow(t, a, "shared", rate)
	assert.False(t, ok)
	ok, _ = mustAllow(t, b, "shared", rate)
	assert.False(t, ok)
}

func TestRedisRateLimiterConcurrentInstances(t *testing.T) {
	client := openTestRedis(t)
	prefix := testRedisPrefix(t, client)
	rate := Rate{Limit: 25, Period: time.Hour}
	var mu sync.Mutex
	allowed := 0
	var wg sync.WaitGroup
	for range 4 {
		l, _ := newTestRedisLimiter(client, prefix)
		for range 5 {
			wg.Go(func() {
				for range 10 {
					ok, _, err := l.Allow(context.Background(), "hot", rate)
					if err == nil && ok {
						mu.Lock()
						allowed++
						mu.Unlock()
					}
				}
			})
		}
	}
	wg.Wait()
	assert.Equal(t, 25, allowed, "the script is atomic: 200 racing requests, 25 allowed")
}

func TestRedisRateLimiterKeysExpire(t *testing.T) {
	client := openTestRedis(t)
	prefix := testRedisPrefix(t, client)
	l, _ := newTestRedisLimiter(client, prefix)
	ctx := context.Background()

	rate := Rate{Limit: 3, Period: 2 * time.Second}
	for i := range 4 {
		_, _ = mustAllow(t, l, "k", rate)
		ttl, err := client.PTTL(ctx, prefix+"k").Result()
		require.NoError(t, err)
		assert.Greater(t, ttl, time.Duration(0), "after request %d", i+1)
		assert.LessOrEqual(t, ttl, rate.Period, "after request %d", i+1)
	}

	// A key vanishes once its bucket is full again. Redis has its own clock,
	// so this part waits for real.
	short := Rate{Limit: 2, Period: 100 * time.Millisecond}
	_, _ = mustAllow(t, l, "short", short)
	require.Equal(t, int64(1), client.Exists(ctx, prefix+"short").Val())
	require.Eventually(t, func() bool {
		return client.Exists(ctx, prefix+"short").Val() == 0
	}, 2*time.Second, 10*time.Millisecond)

	ok, _ := mustAllow(t, l, "unlimited", Unlimited)
	assert.True(t, ok)
	assert.Equal(t, int64(0), client.Exists(ctx, prefix+"unlimited").Val(), "Unlimited never reaches Redis")
}

func TestRedisRateLimiterFallsBackToMemory(t *testing.T) {
	// Nothing listens on port 1: every call to Redis fails at once. This
	// test needs no Redis.
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { _ = down.Close() })
	l, logs := newTestRedisLimiter(down, redisLimiterPrefix)
	clock := newFakeClock()
	l.now = clock.Now
	l.fallback.now = clock.Now

	rate := Rate{Limit: 3, Period: time.Minute}
	for i := range 3 {
		ok, _, err := l.Allow(context.Background(), "k", rate)
		require.NoError(t, err, "a Redis failure is not the caller's error")
		require.True(t, ok, "request %d of the burst", i+1)
	}
	ok, retry, err := l.Allow(context.Background(), "k", rate)
	require.NoError(t, err)
	assert.False(t, ok, "still limited, in memory")
	assert.Equal(t, 20*time.Second, retry)

	clock.Advance(5 * time.Second) // past the backoff: Redis is asked again, and fails again
	ok, _, err = l.Allow(context.Background(), "k", rate)
	require.NoError(t, err)
	assert.False(t, ok)
	assert.Equal(t, 1, strings.Count(logs.String(), "level=WARN"), "one warning per minute, not one per request")
	assert.Contains(t, logs.String(), "Redis rate limiter failed")

	clock.Advance(2 * time.Minute)
	ok, _, err = l.Allow(context.Background(), "k", rate)
	require.NoError(t, err)
	assert.True(t, ok, "refilled in memory")
	assert.Equal(t, 2, strings.Count(logs.String(), "level=WARN"), "warns again a minute later")
}

func TestRedisRateLimiterTimesOut(t *testing.T) {
	// A Redis that accepts connections and never answers: the call gives
	// up after the limiter's timeout and counts in memory.
	client := openTestRedis(t)
	prefix := testRedisPrefix(t, client)
	ctx := context.Background()
	// CLIENT PAUSE would stop every test; instead hold the only connection
	// of a pool of one with a blocking call.
	opts := *client.Options()
	opts.PoolSize = 1
	opts.ContextTimeoutEnabled = true
	slow := redis.NewClient(&opts)
	t.Cleanup(func() { _ = slow.Close() })
	go slow.BLPop(ctx, 3*time.Second, prefix+"never")
	require.Eventually(t, func() bool { // BLPOP holds the connection
		st := slow.PoolStats()
		return st.TotalConns == 1 && st.IdleConns == 0
	}, 2*time.Second, 5*time.Millisecond)

	l, logs := newTestRedisLimiter(slow, prefix)
	start := time.Now()
	ok, _, err := l.Allow(ctx, "k", Rate{Limit: 1, Period: time.Minute})
	require.NoError(t, err)
	assert.True(t, ok)
	assert.Less(t, time.Since(start), time.Second, "bounded by the 200 ms timeout")
	assert.Contains(t, logs.String(), "Redis rate limiter failed")
}

func TestRedisRateLimiterCanceledCallerCountsInMemory(t *testing.T) {
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1})
	t.Cleanup(func() { _ = down.Close() })
	l, logs := newTestRedisLimiter(down, redisLimiterPrefix)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ok, _, err := l.Allow(ctx, "k", Rate{Limit: 1, Period: time.Minute})
	require.NoError(t, err)
	assert.True(t, ok)
	ok, _, _ = l.Allow(ctx, "k", Rate{Limit: 1, Period: time.Minute})
	assert.False(t, ok)
	assert.Empty(t, logs.String(), "a caller giving up is not a Redis failure")
}

func TestRedisRateLimiterRefusesInvalidRates(t *testing.T) {
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { _ = down.Close() })
	l, _ := newTestRedisLimiter(down, redisLimiterPrefix)
	for _, rate := range []Rate{{}, {Limit: 0, Period: time.Minute}, {Limit: 3}} {
		_, _, err := l.Allow(context.Background(), "k", rate)
		assert.Error(t, err, "%+v", rate)
	}
}

func TestOpenRedisRateLimiter(t *testing.T) {
	t.Run("bad URLs", func(t *testing.T) {
		for _, rawURL := range []string{
			"http://127.0.0.1:6379/0",
			"redis://user:hunter2@host:badport/0",
			"redis://:hunter2@127.0.0.1:6379/notadb",
		} {
			l, err := OpenRedisRateLimiter(rawURL)
			assert.Nil(t, l)
			require.Error(t, err, rawURL)
			assert.NotContains(t, err.Error(), "hunter2", "the password never reaches an error")
		}
	})
	t.Run("owns its client", func(t *testing.T) {
		rawURL := testRedisURL(t)
		l, err := OpenRedisRateLimiter(rawURL)
		require.NoError(t, err)
		client := l.client.(*redis.Client)
		l.prefix = testRedisPrefix(t, openTestRedis(t))
		ok, _ := mustAllow(t, l, "k", Rate{Limit: 1, Period: time.Minute})
		assert.True(t, ok)
		require.NoError(t, l.Close())
		assert.Error(t, client.Ping(context.Background()).Err(), "Close closed the client")
	})
	t.Run("leaves a given client open", func(t *testing.T) {
		client := openTestRedis(t)
		require.NoError(t, NewRedisRateLimiter(client).Close())
		assert.NoError(t, client.Ping(context.Background()).Err())
	})
}
