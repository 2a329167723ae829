package ginauth

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rateServer serves a's auth routes on an engine that believes
// X-Forwarded-For only from the given proxies (nil: from nobody).
func rateServer(t testing.TB, a *Auth, trustedProxies []string) *httptest.Server {
	t.Helper()
	r := gin.New()
	require.NoError(t, r.SetTrustedProxies(trustedProxies))
	a.Register(r.Group("/auth"))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
}

// postFrom posts JSON with an X-Forwarded-For header (none when empty).
func postFrom(t testing.TB, srv *httptest.Server, path, forwardedFor string, body string) apiResponse {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", forwardedFor)
	}
	return send(t, req)
}

// assertLimited checks the contract's 429.
func assertLimited(t testing.TB, res apiResponse) {
	t.Helper()
	require.Equal(t, http.StatusTooManyRequests, res.Status, "%s", res.Body)
	assert.Equal(t, string(CodeTooManyRequests), res.Detail(t))
	seconds, err := strconv.Atoi(res.Header.Get("Retry-After"))
	require.NoError(t, err, "Retry-After is whole seconds")
	assert.Positive(t, seconds)
}

// limitsWith is noRateLimits with some limits set.
func limitsWith(edit func(*RateLimits)) func(*Config) {
	return func(c *Config) {
		c.RateLimits = noRateLimits
		edit(&c.RateLimits)
	}
}

// TestLoginLimitedPerIP proves that logins from one client are limited
// whatever account they try, and that an untrusted peer cannot escape the
// limit by rotating X-Forwarded-For.
func TestLoginLimitedPerIP(t *testing.T) {
	a := newTestAuth(t, limitsWith(func(l *RateLimits) { l.LoginPerIP = Rate{Limit: 3, Period: time.Minute} }))
	srv := rateServer(t, a, nil)
	for i := range 3 {
		res := postFrom(t, srv, "/auth/login", "198.51.100."+strconv.Itoa(i), `{"email":"user`+strconv.Itoa(i)+`@example.com","password":"whatever it is"}`)
		assert.Equal(t, http.StatusBadRequest, res.Status)
	}
	for _, xff := range []string{"203.0.113.9", "2001:db8::1", ""} {
		assertLimited(t, postFrom(t, srv, "/auth/login", xff, `{"email":"fresh@example.com","password":"whatever it is"}`))
	}
}

// TestLoginLimitedPerAccount proves that one account cannot be guessed at
// from many addresses: the per-account budget counts every client, and
// variants of the address share it.
func TestLoginLimitedPerAccount(t *testing.T) {
	a := newTestAuth(t, limitsWith(func(l *RateLimits) { l.LoginPerAccount = Rate{Limit: 2, Period: time.Minute} }))
	srv := rateServer(t, a, []string{"127.0.0.1"})
	_, err := a.CreateUser(context.Background(), NewUser{Email: "target@example.com", Password: lifecyclePassword})
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadRequest, postFrom(t, srv, "/auth/login", "198.51.100.1", `{"email":"target@example.com","password":"guess number 1"}`).Status)
	assert.Equal(t, http.StatusBadRequest, postFrom(t, srv, "/auth/login", "198.51.100.2", `{"email":"TARGET@example.com ","password":"guess number 2"}`).Status)
	assertLimited(t, postFrom(t, srv, "/auth/login", "198.51.100.3", `{"email":"target@example.com","password":"`+lifecyclePassword+`"}`))
	// Another account is not affected.
	assert.Equal(t, http.StatusBadRequest, postFrom(t, srv, "/auth/login", "198.51.100.4", `{"email":"other@example.com","password":"guess number 3"}`).Status)
}

// TestLimitsBucketIPv6Per64 proves that addresses of one IPv6 /64 share a
// budget (a client holds a whole /64) while another /64 has its own, with
// the client address taken from a trusted proxy's X-Forwarded-For.
func TestLimitsBucketIPv6Per64(t *testing.T) {
	a := newTestAuth(t, limitsWith(func(l *RateLimits) { l.RegisterPerIP = Rate{Limit: 2, Period: time.Hour} }))
	srv := rateServer(t, a, []string{"127.0.0.1"})
	register := func(xff, email string) apiResponse {
		return postFrom(t, srv, "/auth/register", xff, `{"email":"`+email+`","password":"`+lifecyclePassword+`"}`)
	}
	assert.Equal(t, http.StatusCreated, register("2001:db8:1:2::1", "v6a@example.com").Status)
	assert.Equal(t, http.StatusCreated, register("2001:db8:1:2:ffff:ffff:ffff:ffff", "v6b@example.com").Status)
	assertLimited(t, register("2001:db8:1:2:abcd::99", "v6c@example.com"))
	assert.Equal(t, http.StatusCreated, register("2001:db8:1:3::1", "v6d@example.com").Status, "another /64")
	assert.Equal(t, http.StatusCreated, register("192.0.2.7", "v4@example.com").Status, "an IPv4 client")
}

// TestRegisterLimitedPerAddress proves the per-address register limit.
func TestRegisterLimitedPerAddress(t *testing.T) {
	a := newTestAuth(t, limitsWith(func(l *RateLimits) { l.RegisterPerAddress = Rate{Limit: 2, Period: time.Hour} }))
	srv := rateServer(t, a, []string{"127.0.0.1"})
	body := `{"email":"taken@example.com","password":"` + lifecyclePassword + `"}`
	assert.Equal(t, http.StatusCreated, postFrom(t, srv, "/auth/register", "198.51.100.1", body).Status)
	assert.Equal(t, string(CodeRegisterUserAlreadyExists), postFrom(t, srv, "/auth/register", "198.51.100.2", body).Detail(t))
	assertLimited(t, postFrom(t, srv, "/auth/register", "198.51.100.3", body))
}

// TestMailRoutesLimited proves both mail limits: per client IP a 429, per
// address a silent cap that keeps answering 202 but sends no more mail.
func TestMailRoutesLimited(t *testing.T) {
	box := newOutbox()
	a := newTestAuth(t, func(c *Config) {
		limitsWith(func(l *RateLimits) {
			l.MailPerIP = Rate{Limit: 5, Period: time.Hour}
			l.MailPerAddress = Rate{Limit: 2, Period: time.Hour}
		})(c)
		c.Mailer = box
	})
	srv := rateServer(t, a, nil)
	_, err := a.CreateUser(context.Background(), NewUser{Email: "flooded@example.com", Password: lifecyclePassword})
	require.NoError(t, err)
	paths := []string{"/auth/forgot-password", "/auth/request-verify-token", "/auth/forgot-password", "/auth/forgot-password", "/auth/request-verify-token"}
	for _, path := range paths {
		res := postFrom(t, srv, path, "", `{"email":"flooded@example.com"}`)
		assert.Equal(t, http.StatusAccepted, res.Status, "the answer never tells")
	}
	assertLimited(t, postFrom(t, srv, "/auth/forgot-password", "", `{"email":"someone@example.com"}`))
	a.background.Wait()
	assert.Equal(t, 2, box.count(), "two mails to the address, then silence")
}

// TestTokenRoutesLimitedPerIP proves that /verify and /reset-password,
// where tokens could be guessed, are limited per client IP.
func TestTokenRoutesLimitedPerIP(t *testing.T) {
	a := newTestAuth(t, limitsWith(func(l *RateLimits) { l.TokenPerIP = Rate{Limit: 2, Period: time.Minute} }))
	srv := rateServer(t, a, nil)
	assert.Equal(t, http.StatusBadRequest, postFrom(t, srv, "/auth/verify", "", `{"token":"x"}`).Status)
	assert.Equal(t, http.StatusBadRequest, postFrom(t, srv, "/auth/reset-password", "", `{"token":"x","password":"whatever it is"}`).Status)
	assertLimited(t, postFrom(t, srv, "/auth/verify", "", `{"token":"y"}`))
	assertLimited(t, postFrom(t, srv, "/auth/reset-password", "", `{"token":"y","password":"whatever it is"}`))
}

// TestRedisLimitsSharedByInstances proves that two instances of the app
// with their own Redis clients share one budget: attempts split between
// them are limited as if they hit one instance. Needs the Redis server.
func TestRedisLimitsSharedByInstances(t *testing.T) {
	url := testRedisURL(t)
	secret := "redis-shared-" + randomHex(16) // fresh budgets on every run
	store := openTestStore(t, "sqlite")
	instance := func() *httptest.Server {
		limiter, err := OpenRedisRateLimiter(url)
		require.NoError(t, err)
		t.Cleanup(func() { _ = limiter.Close() })
		a := newTestAuthOn(t, store, func(c *Config) {
			c.Secret, c.RateLimiter = secret, limiter
			c.RateLimits = noRateLimits
			c.RateLimits.LoginPerIP = Rate{Limit: 4, Period: time.Minute}
		})
		return rateServer(t, a, nil)
	}
	first, second := instance(), instance()
	body := `{"email":"shared@example.com","password":"whatever it is"}`
	for i := range 4 {
		srv := first
		if i%2 == 1 {
			srv = second
		}
		assert.Equal(t, http.StatusBadRequest, postFrom(t, srv, "/auth/login", "", body).Status, "attempt %d", i)
	}
	assertLimited(t, postFrom(t, first, "/auth/login", "", body))
	assertLimited(t, postFrom(t, second, "/auth/login", "", body))
}
