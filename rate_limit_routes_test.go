package ginauth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const rateLimitTestSecret = "rate-limit-test-secret-0123456789-abcdefghij"

// rateLimitedAuth is an Auth with only what allowRequest uses.
func rateLimitedAuth(limiter RateLimiter) (*Auth, *syncBuffer) {
	logs := &syncBuffer{}
	return &Auth{
		cfg:          Config{Secret: rateLimitTestSecret, RateLimiter: limiter, RateLimits: RateLimits{}.withDefaults()},
		rateLimitKey: deriveKey([]byte(rateLimitTestSecret), "rate-limit"),
		logger:       slog.New(slog.NewTextHandler(logs, nil)),
	}, logs
}

// limitedEngine serves POST /login, limited to rate per client IP.
func limitedEngine(t *testing.T, a *Auth, rate Rate) *gin.Engine {
	t.Helper()
	engine := gin.New()
	require.NoError(t, engine.SetTrustedProxies(nil))
	engine.POST("/login", func(c *gin.Context) {
		if !a.allowRequest(c, "login-ip", rate, clientIPKey(c)) {
			return
		}
		c.Status(http.StatusNoContent)
	})
	return engine
}

func postLogin(engine *gin.Engine, remoteAddr string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader("{}"))
	req.RemoteAddr = remoteAddr
	w := httptest.NewRecorder()
	engine.ServeHTTP(w, req)
	return w
}

func TestRateLimitAllowRequestAnswers429(t *testing.T) {
	m, clock := newTestMemoryLimiter()
	a, _ := rateLimitedAuth(m)
	engine := limitedEngine(t, a, Rate{Limit: 2, Period: time.Minute})

	for range 2 {
		w := postLogin(engine, "203.0.113.7:1000")
		require.Equal(t, http.StatusNoContent, w.Code)
		require.Empty(t, w.Header().Get("Retry-After"))
	}
	w := postLogin(engine, "203.0.113.7:1001")
	assert.Equal(t, http.StatusTooManyRequests, w.Code)
	assert.JSONEq(t, `{"detail":"TOO_MANY_REQUESTS"}`, w.Body.String())
	assert.Equal(t, "30", w.Header().Get("Retry-After"))

	clock.Advance(29*time.Second + time.Millisecond)
	w = postLogin(engine, "203.0.113.7:1002")
	assert.Equal(t, http.StatusTooManyRequests, w.Code)
	assert.Equal(t, "1", w.Header().Get("Retry-After"), "rounded up, never 0")

	w = postLogin(engine, "203.0.113.8:1000")
	assert.Equal(t, http.StatusNoContent, w.Code, "another IP has its own budget")

	clock.Advance(time.Second)
	w = postLogin(engine, "203.0.113.7:1003")
	assert.Equal(t, http.StatusNoContent, w.Code, "refilled")
}

func TestRateLimitRetryAfterSeconds(t *testing.T) {
	cases := []struct {
		in   time.Duration
		want int64
	}{
		{0, 1},
		{time.Nanosecond, 1},
		{time.Second, 1},
		{time.Second + time.Nanosecond, 2},
		{30 * time.Second, 30},
		{20*time.Minute - time.Millisecond, 1200},
	}
	for _, tc := range cases {
		t.Run(tc.in.String(), func(t *testing.T) {
			assert.Equal(t, tc.want, retryAfterSeconds(tc.in))
		})
	}
}

func TestRateLimitUnlimitedSkipsTheLimiter(t *testing.T) {
	a, _ := rateLimitedAuth(RateLimiterFunc(func(context.Context, string, Rate) (bool, time.Duration, error) {
		t.Fatal("the limiter was called for an unlimited rate")
		return false, 0, nil
	}))
	engine := limitedEngine(t, a, Unlimited)
	for range 5 {
		assert.Equal(t, http.StatusNoContent, postLogin(engine, "203.0.113.7:1").Code)
	}
	assert.True(t, a.allowQuietly(context.Background(), "mail-address", Unlimited, "a@example.com"))
}

func TestRateLimitLimiterErrorIsLoggedAndAllowed(t *testing.T) {
	a, logs := rateLimitedAuth(RateLimiterFunc(func(context.Context, string, Rate) (bool, time.Duration, error) {
		return false, 0, errors.New("counter on fire")
	}))
	engine := limitedEngine(t, a, Rate{Limit: 1, Period: time.Minute})
	assert.Equal(t, http.StatusNoContent, postLogin(engine, "203.0.113.7:1").Code)
	assert.Contains(t, logs.String(), "counter on fire")
	assert.Contains(t, logs.String(), "login-ip")
}

func TestRateLimitCanceledRequestIsRefused(t *testing.T) {
	called := false
	a, logs := rateLimitedAuth(RateLimiterFunc(func(context.Context, string, Rate) (bool, time.Duration, error) {
		called = true
		return true, 0, nil
	}))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequestWithContext(ctx, http.MethodPost, "/login", nil)
	assert.False(t, a.allowRequest(c, "login-ip", Rate{Limit: 1, Period: time.Minute}, "203.0.113.7"))
	assert.True(t, c.IsAborted())
	assert.False(t, called)
	assert.Empty(t, logs.String())
}

func TestRateLimitAllowQuietly(t *testing.T) {
	m, _ := newTestMemoryLimiter()
	a, _ := rateLimitedAuth(m)
	rate := Rate{Limit: 3, Period: time.Hour}
	for range 3 {
		require.True(t, a.allowQuietly(context.Background(), "mail-address", rate, "a@example.com"))
	}
	assert.False(t, a.allowQuietly(context.Background(), "mail-address", rate, "a@example.com"))
	assert.True(t, a.allowQuietly(context.Background(), "mail-address", rate, "b@example.com"))
	assert.True(t, a.allowQuietly(context.Background(), "mail-ip", rate, "a@example.com"),
		"each name is its own bucket")
}

func TestRateLimitKeysHideTheSubject(t *testing.T) {
	var keys []string
	a, _ := rateLimitedAuth(RateLimiterFunc(func(_ context.Context, key string, _ Rate) (bool, time.Duration, error) {
		keys = append(keys, key)
		return true, 0, nil
	}))
	rate := Rate{Limit: 3, Period: time.Hour}
	a.allowQuietly(context.Background(), "mail-address", rate, "alice@example.com")
	a.allowQuietly(context.Background(), "mail-address", rate, "alice@example.com")
	a.allowQuietly(context.Background(), "mail-address", rate, "bob@example.com")
	require.Len(t, keys, 3)

	assert.True(t, strings.HasPrefix(keys[0], "mail-address:"))
	assert.NotContains(t, keys[0], "alice")
	assert.Len(t, strings.TrimPrefix(keys[0], "mail-address:"), 22, "16 bytes in base64url")
	assert.Equal(t, keys[0], keys[1], "one subject, one key")
	assert.NotEqual(t, keys[0], keys[2])

	// The key depends on the secret, so a list of addresses hashed offline
	// does not name the keys found in Redis.
	other := rateLimitKey(deriveKey([]byte("another-secret-0123456789-abcdefghijklmnop"), "rate-limit"), "mail-address", "alice@example.com")
	assert.NotEqual(t, keys[0], other)
}

func TestRateLimitsWithDefaults(t *testing.T) {
	got := RateLimits{LoginPerIP: Rate{Limit: 5, Period: time.Second}, MailPerAddress: Unlimited}.withDefaults()
	assert.Equal(t, RateLimits{
		LoginPerIP:         Rate{Limit: 5, Period: time.Second},
		LoginPerAccount:    Rate{Limit: 10, Period: 15 * time.Minute},
		RegisterPerIP:      Rate{Limit: 20, Period: time.Hour},
		RegisterPerAddress: Rate{Limit: 5, Period: time.Hour},
		MailPerIP:          Rate{Limit: 20, Period: time.Hour},
		MailPerAddress:     Unlimited,
		TokenPerIP:         Rate{Limit: 30, Period: 10 * time.Minute},
	}, got)
	assert.NoError(t, got.validate())
	assert.Equal(t, Rate{Limit: 30, Period: time.Minute}, RateLimits{}.withDefaults().LoginPerIP)
}

func TestRateLimitValidateRate(t *testing.T) {
	cases := []struct {
		name    string
		rate    Rate
		wantErr string
	}{
		{"positive", Rate{Limit: 3, Period: time.Hour}, ""},
		{"unlimited", Unlimited, ""},
		{"negative with a period", Rate{Limit: -5, Period: time.Hour}, ""},
		{"zero limit", Rate{Limit: 0, Period: time.Hour}, "Limit 0"},
		{"no period", Rate{Limit: 3}, "Period must be positive"},
		{"negative period", Rate{Limit: 3, Period: -time.Hour}, "Period must be positive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.rate.validate("RateLimits.LoginPerIP")
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wantErr)
			assert.Contains(t, err.Error(), "RateLimits.LoginPerIP")
		})
	}
	err := RateLimits{TokenPerIP: Rate{Limit: 4}}.withDefaults().validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "RateLimits.TokenPerIP")
}
