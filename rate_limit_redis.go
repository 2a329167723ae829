package ginauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Tuning of a RedisRateLimiter.
const (
	// redisLimiterPrefix starts every key the limiter writes.
	redisLimiterPrefix = "ginauth:rl:"
	// redisLimiterTimeout bounds one call to Redis: a login must not wait on
	// a sick Redis for longer than that.
	redisLimiterTimeout = 200 * time.Millisecond
	// redisLimiterBackoff is how long the limiter counts in memory after a
	// Redis failure before it asks Redis again, so that a Redis that times
	// out does not add redisLimiterTimeout to every request.
	redisLimiterBackoff = time.Second
	// redisLimiterWarnEvery spaces the warnings about a failing Redis.
	redisLimiterWarnEvery = time.Minute
)

// gcraScript is the GCRA of MemoryRateLimiter, run atomically in Redis on
// the Redis server's clock, so instances whose clocks disagree still share
// one budget. Times are in microseconds. KEYS[1] holds the TAT and expires
// when the bucket is full again. ARGV: emission interval, window (Limit
// intervals). It returns {1, 0} when allowed, {0, wait} when refused.
var gcraScript = redis.NewScript(`
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local new_tat = tat + interval
local wait = new_tat - now - window
if wait > 0 then return {0, wait} end
-- %.0f: Redis would write a large or round number as 1e+07, which SET refuses.
redis.call('SET', KEYS[1], string.format('%.0f', new_tat),
  'PX', string.format('%.0f', math.ceil((new_tat - now) / 1000)))
return {1, 0}
`)

// RedisRateLimiter is a RateLimiter whose counts live in Redis, so every
// instance of the app shares one budget per key. It runs the GCRA of
// MemoryRateLimiter in one Lua script on the Redis server's clock; its keys
// start with "ginauth:rl:" and expire as soon as their bucket is full again.
//
// When Redis fails (down, unreachable, slower than 200 ms), the limiter
// neither lets every request through nor refuses them all: it counts in
// this process with an embedded MemoryRateLimiter, for that call and for
// the next second, and logs a warning at most once a minute. Allow then
// returns no error, because the request was limited, if only per instance:
// while Redis is down, N instances allow up to N times the limit. It is
// safe for concurrent use.
type RedisRateLimiter struct {
	// Logger receives the warnings about a failing Redis. Nil means
	// slog.Default(). Set it before the first call to Allow.
	Logger *slog.Logger

	client   redis.UniversalClient
	owned    bool // Close closes client
	prefix   string
	timeout  time.Duration
	fallback *MemoryRateLimiter
	now      func() time.Time

	downUntil atomic.Int64 // unix ns; until then count in memory
	lastWarn  atomic.Int64 // unix ns of the last warning
	degraded  atomic.Bool  // a failure was logged and Redis has not answered since
}

// NewRedisRateLimiter returns a RedisRateLimiter on client, which the caller
// keeps and closes. Each call is bounded to 200 ms through its context;
// unless client was made with ContextTimeoutEnabled, go-redis applies its
// own ReadTimeout and WriteTimeout instead of that deadline once connected.
func NewRedisRateLimiter(client redis.UniversalClient) *RedisRateLimiter {
	return &RedisRateLimiter{
		client:   client,
		prefix:   redisLimiterPrefix,
		timeout:  redisLimiterTimeout,
		fallback: NewMemoryRateLimiter(),
		now:      time.Now,
	}
}

// OpenRedisRateLimiter returns a RedisRateLimiter on a new client for
// rawURL (redis://[user:password@]host:port/db, rediss:// for TLS, or
// unix://; see redis.ParseURL), with context deadlines enabled. It does not
// connect: a Redis that is down at startup is handled like one that fails
// later. Close closes the client.
func OpenRedisRateLimiter(rawURL string) (*RedisRateLimiter, error) {
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		// A *url.Error repeats the URL, password included: keep its reason.
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		return nil, fmt.Errorf("ginauth: invalid Redis URL: %w", err)
	}
	opts.ContextTimeoutEnabled = true
	l := NewRedisRateLimiter(redis.NewClient(opts))
	l.owned = true
	return l, nil
}

// Close closes the client opened by OpenRedisRateLimiter. For a limiter
// made with NewRedisRateLimiter it does nothing: the client is the caller's.
func (l *RedisRateLimiter) Close() error {
	if !l.owned {
		return nil
	}
	return l.client.Close()
}

// Allow takes one request from key's budget under rate, in Redis, or in
// memory while Redis fails (see RedisRateLimiter). It returns an error only
// for an invalid rate; a negative Limit allows every request.
func (l *RedisRateLimiter) Allow(ctx context.Context, key string, rate Rate) (bool, time.Duration, error) {
	if rate.Limit < 0 {
		return true, 0, nil
	}
	if err := rate.validate("rate"); err != nil {
		return false, 0, fmt.Errorf("%w (key %q)", err, key)
	}
	if ctx.Err() != nil || l.now().UnixNano() < l.downUntil.Load() {
		return l.fallback.Allow(ctx, key, rate)
	}

	interval, window := gcraParams(rate, time.Microsecond)
	callCtx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	res, err := gcraScript.Run(callCtx, l.client, []string{l.prefix + key},
		strconv.FormatInt(interval, 10), strconv.FormatInt(window, 10)).Int64Slice()
	if err == nil && len(res) != 2 {
		err = fmt.Errorf("unexpected script reply %v", res)
	}
	if err != nil {
		if ctx.Err() == nil { // not the caller giving up
			l.failed(ctx, err)
		}
		return l.fallback.Allow(ctx, key, rate)
	}
	if l.degraded.Swap(false) {
		l.logger().InfoContext(ctx, "ginauth: Redis rate limiter is back; counting in Redis again")
	}
	if res[0] == 1 {
		return true, 0, nil
	}
	return false, time.Duration(res[1]) * time.Microsecond, nil
}

// failed switches to memory for redisLimiterBackoff and warns, at most once
// per redisLimiterWarnEvery.
func (l *RedisRateLimiter) failed(ctx context.Context, err error) {
	now := l.now().UnixNano()
	l.downUntil.Store(now + int64(redisLimiterBackoff))
	l.degraded.Store(true)
	last := l.lastWarn.Load()
	if last != 0 && now-last < int64(redisLimiterWarnEvery) {
		return
	}
	if l.lastWarn.CompareAndSwap(last, now) {
		l.logger().WarnContext(ctx, "ginauth: Redis rate limiter failed; counting in this process until Redis answers "+
			"(each instance now allows the full limit)", "error", err)
	}
}

func (l *RedisRateLimiter) logger() *slog.Logger {
	if l.Logger != nil {
		return l.Logger
	}
	return slog.Default()
}
