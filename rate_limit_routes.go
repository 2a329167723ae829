package ginauth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
)

// allowRequest enforces rate on the bucket named name for subject (a client IP key or a canonical email). It answers 429 {"detail":"TOO_MANY_REQUESTS"} with a Retry-After header (whole seconds, rounded up, at least 1) and returns false when the budget is spent.
//
// A limiter error is logged and the request allowed: ginauth's limiters
// fail only on an invalid rate, which New refuses, and a custom limiter
// that cannot count should not take the login down with it (RedisRateLimiter
// counts in memory instead). When the client has already gone, the request
// is refused quietly (503, which nobody reads): allowing it would let a
// client that hangs up at once skip the limit.
func (a *Auth) allowRequest(c *gin.Context, name string, rate Rate, subject string) bool {
	allowed, retryAfter := a.takeRequest(c.Request.Context(), name, rate, subject)
	if allowed {
		return true
	}
	if c.Request.Context().Err() != nil {
		abortWithCode(c, http.StatusServiceUnavailable, CodeServiceUnavailable)
		return false
	}
	c.Header("Retry-After", strconv.FormatInt(retryAfterSeconds(retryAfter), 10))
	abortWithCode(c, http.StatusTooManyRequests, CodeTooManyRequests)
	return false
}

// allowQuietly is allowRequest without an answer: for the per-address mail cap, where the response must stay 202.
func (a *Auth) allowQuietly(ctx context.Context, name string, rate Rate, subject string) bool {
	allowed, _ := a.takeRequest(ctx, name, rate, subject)
	return allowed
}

// takeRequest asks the limiter for one request of subject's budget.
func (a *Auth) takeRequest(ctx context.Context, name string, rate Rate, subject string) (bool, time.Duration) {
	if rate.Limit < 0 || a.limiter == nil {
		return true, 0
	}
	if ctx.Err() != nil {
		return false, 0
	}
	allowed, retryAfter, err := a.limiter.Allow(ctx, rateLimitKey([]byte(a.cfg.Secret), name, subject), rate)
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
// name, ":", then the first 16 bytes of an HMAC-SHA256 of subject, in
// base64url. The HMAC key is derived from the secret, so emails never sit
// in Redis in clear and cannot be recovered by hashing a list of addresses;
// every instance sharing the secret computes the same key. Rotating the
// secret starts every budget afresh.
func rateLimitKey(secret []byte, name, subject string) string {
	mac := hmac.New(sha256.New, deriveKey(secret, "rate-limit"))
	mac.Write([]byte(subject))
	return name + ":" + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:16])
}

// retryAfterSeconds is d in whole seconds, rounded up, at least 1, as the
// Retry-After header wants.
func retryAfterSeconds(d time.Duration) int64 {
	s := int64((d + time.Second - 1) / time.Second)
	return max(s, 1)
}
