package ginauth

import (
	"context"
	"strconv"
	"testing"
	"time"
)

// BenchmarkRateLimiterAllow measures one Allow, the cost a limited route
// pays per limit: in memory and, side by side in the same run when
// GINAUTH_TEST_REDIS_URL is set, in Redis (one EVALSHA round trip on
// loopback). The keys cycle over 1000 clients.
//
//	GINAUTH_TEST_REDIS_URL=redis://127.0.0.1:6379/0 go test -run '^$' -bench RateLimiterAllow -benchmem .
func BenchmarkRateLimiterAllow(b *testing.B) {
	keys := make([]string, 1000)
	for i := range keys {
		keys[i] = "bench-" + randomHex(4) + ":" + strconv.Itoa(i)
	}
	rate := Rate{Limit: 1 << 30, Period: time.Second}
	run := func(b *testing.B, limiter RateLimiter) {
		ctx := context.Background()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if ok, _, err := limiter.Allow(ctx, keys[i%len(keys)], rate); !ok || err != nil {
				b.Fatalf("refused: %v", err)
			}
			i++
		}
	}
	b.Run("memory", func(b *testing.B) { run(b, NewMemoryRateLimiter()) })
	b.Run("redis", func(b *testing.B) {
		limiter, err := OpenRedisRateLimiter(testRedisURL(b))
		if err != nil {
			b.Fatal(err)
		}
		defer limiter.Close()
		run(b, limiter)
	})
}
