package ginauth

import (
	"context"
	"time"

	"github.com/gin-gonic/gin"
)

// rateLimitedError is a request refused by a rate limit: abortWithError
// answers it 429 TOO_MANY_REQUESTS with a Retry-After header.
type rateLimitedError struct {
	retryAfter time.Duration // until the budget allows one more
}

func (e *rateLimitedError) Error() string { return "ginauth: too many requests" }

// allowRequest enforces rate on the bucket named name for subject (a
// client IP key or a canonical email). When the budget is spent it answers
// 429 {"detail":"TOO_MANY_REQUESTS"} with a Retry-After header (whole
// seconds, rounded up, at least 1) and returns false.
func (a *Auth) allowRequest(c *gin.Context, name string, rate Rate, subject string) bool {
	if err := a.limitRequest(c.Request.Context(), name, rate, subject); err != nil {
		a.abortWithError(c, err, "")
		return false
	}
	return true
}

// limitRequest takes one request of subject's budget in the bucket named
// name: nil when allowed, a *rateLimitedError when the budget is spent.
//
// A limiter error is logged and the request allowed: ginauth's limiters
// fail only on an invalid rate, which New refuses, and a custom limiter
// that cannot count should not take the login down with it (RedisRateLimiter
// counts in memory instead). When the client has already gone, the request
// is refused with the context's error (503, which nobody reads): allowing
// it would let a client that hangs up at once skip the limit.
func (a *Auth) limitRequest(ctx context.Context, name string, rate Rate, subject string) error {
	allowed, retryAfter := a.takeRequest(ctx, name, rate, subject)
	switch {
	case allowed:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	default:
		return &rateLimitedError{retryAfter: retryAfter}
	}
}

// allowQuietly is allowRequest without an answer: for the per-address mail cap, where the response must stay 202.
func (a *Auth) allowQuietly(ctx context.Context, name string, rate Rate, subject string) bool {
	allowed, _ := a.takeRequest(ctx, name, rate, subject)
	return allowed
}

// takeRequest asks the limiter for one request of subject's budget.
func (a *Auth) takeRequest(ctx context.Context, name string, rate Rate, subject string) (bool, time.Duration) {
	if rate.Limit < 0 {
		return true, 0
	}
	if ctx.Err() != nil {
		return false, 0
	}
	allowed, retryAfter, err := a.cfg.RateLimiter.Allow(ctx, rateLimitKey(a.rateLimitKey, name, subject), rate)
	if err != nil {
		if ctx.Err() != nil {
			return false, 0
		}
		a.logger.ErrorContext(ctx, "ginauth: rate limiter failed; request allowed", "limit", name, "error", err)
		return true, 0
	}
	return allowed, retryAfter
}

// rateLimitKey is the limiter key of subject in the bucket named name:
// name, ":", then the fingerprint of subject (HMAC-SHA256 labelled with
// name, 16 bytes, base64url). The HMAC key (Auth.rateLimitKey) is derived
// from the secret once, in New, so
// emails never sit in Redis in clear and cannot be recovered by hashing a
// list of addresses; every instance sharing the secret computes the same
// key. Rotating the secret starts every budget afresh.
func rateLimitKey(key []byte, name, subject string) string {
	return name + ":" + fingerprint(key, name, subject)
}

// retryAfterSeconds is d in whole seconds, rounded up, at least 1, as the
// Retry-After header wants.
func retryAfterSeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	return max(s, 1)
}
