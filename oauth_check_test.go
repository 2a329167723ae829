package ginauth

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ginauth/ginauth/providers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ocChecker is a provider that must reach the network before it serves, as
// OpenID Connect providers do: Check fails while down is set. It records
// its calls and the deadline of the first call's context.
type ocChecker struct {
	*oaFake
	down     atomic.Bool
	calls    atomic.Int32
	mu       sync.Mutex
	deadline time.Time
}

// Check implements providers.Checker.
func (p *ocChecker) Check(ctx context.Context) error {
	if p.calls.Add(1) == 1 {
		p.mu.Lock()
		p.deadline, _ = ctx.Deadline()
		p.mu.Unlock()
	}
	if p.down.Load() {
		return fmt.Errorf("%w: discovery: connection refused", providers.ErrProviderUnavailable)
	}
	return nil
}

// ocLogs returns a logger writing to a buffer, read once New has returned.
func ocLogs() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewTextHandler(&buf, nil)), &buf
}

// TestOAuthProviderCheckAtStartup proves New calls Check on the providers
// that implement providers.Checker, within a bounded time, and that a
// provider whose check fails does not fail New: it is logged as a warning
// naming it, stays listed, and answers 502 OAUTH_PROVIDER_UNAVAILABLE on
// authorize until its check succeeds.
func TestOAuthProviderCheckAtStartup(t *testing.T) {
	t.Run("a failing check is a warning, then 502 until it passes", func(t *testing.T) {
		idp := &ocChecker{oaFake: newOAFake("corp", "Corp")}
		idp.down.Store(true)
		logger, logs := ocLogs()
		before := time.Now()
		e := newOAEnv(t, func(cfg *Config) {
			cfg.Providers = append(cfg.Providers, idp)
			cfg.Logger = logger
		})
		assert.EqualValues(t, 1, idp.calls.Load(), "New checks the provider once")
		idp.mu.Lock()
		deadline := idp.deadline
		idp.mu.Unlock()
		require.False(t, deadline.IsZero(), "New's check has a deadline")
		assert.WithinDuration(t, before.Add(providerCheckTimeout), deadline, 2*time.Second)
		assert.LessOrEqual(t, providerCheckTimeout, 10*time.Second)
		out := logs.String()
		assert.Contains(t, out, "level=WARN")
		assert.Contains(t, out, "provider=corp")
		assert.Contains(t, out, "connection refused")
		assert.NotContains(t, out, "provider=github", "providers without Check are not reported")

		res := do(t, e.srv, http.MethodGet, "/auth/providers", nil, "")
		assert.Contains(t, string(res.Body), `"name":"corp"`, "the provider stays configured")
		res = do(t, e.srv, http.MethodGet, "/auth/corp/authorize", nil, "")
		oaRequireError(t, res, http.StatusBadGateway, CodeOAuthProviderUnavailable)
		assert.Empty(t, res.Header.Values("Set-Cookie"), "no state is issued for a provider that cannot serve")

		idp.down.Store(false)
		res = do(t, e.srv, http.MethodGet, "/auth/corp/authorize", nil, "")
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		assert.NotEmpty(t, res.JSON(t)["authorization_url"])
	})

	t.Run("an OpenID Connect issuer that refuses connections", func(t *testing.T) {
		issuer := "http://" + closedPort(t) // mail_smtp_test.go
		const secret = "oidc-client-secret-do-not-log"
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		oidc := providers.OIDC(ctx, issuer, "client", secret)
		logger, logs := ocLogs()
		start := time.Now()
		e := newOAEnv(t, func(cfg *Config) {
			cfg.Providers = []providers.Provider{oidc}
			cfg.Logger = logger
		})
		assert.Less(t, time.Since(start), providerCheckTimeout, "a refused connection does not hold New to the timeout")
		out := logs.String()
		assert.Contains(t, out, "level=WARN")
		assert.Contains(t, out, "provider=oidc")
		assert.Contains(t, out, "refused")
		assert.NotContains(t, out, secret)

		res := do(t, e.srv, http.MethodGet, "/auth/oidc/authorize", nil, "")
		oaRequireError(t, res, http.StatusBadGateway, CodeOAuthProviderUnavailable)
	})

	t.Run("an OpenID provider that is up", func(t *testing.T) {
		op := startE2EOP(t)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		oidc := providers.OIDC(ctx, op.Issuer, op.ClientID, op.ClientSecret, providers.WithHTTPClient(op.Client()))
		logger, logs := ocLogs()
		a := newTestAuthOn(t, openTestStore(t, "sqlite"), func(cfg *Config) {
			cfg.BaseURL = e2eBaseURL
			cfg.Providers = []providers.Provider{oidc}
			cfg.Logger = logger
		})
		assert.NotContains(t, logs.String(), "provider=oidc")
		srv := newTestServer(t, a)
		oaTokens(t, e2eSignIn(t, op, newOABrowser(t, srv, e2eBaseURL), op.Username))
	})

}

// TestOAuthProviderCheckTimeout proves New waits for a check that never
// answers only until providerCheckTimeout, then logs it and goes on.
func TestOAuthProviderCheckTimeout(t *testing.T) {
	t.Parallel()
	blocked := &ocBlockingChecker{oaFake: newOAFake("corp", "Corp")}
	logger, logs := ocLogs()
	start := time.Now()
	newOAEnv(t, func(cfg *Config) {
		cfg.Providers = append(cfg.Providers, blocked)
		cfg.Logger = logger
	})
	assert.Less(t, time.Since(start), providerCheckTimeout+5*time.Second)
	assert.InDelta(t, providerCheckTimeout, blocked.waited, float64(2*time.Second))
	assert.Contains(t, logs.String(), "provider=corp")
	assert.Contains(t, logs.String(), "deadline exceeded")
}

// ocBlockingChecker's Check waits for its context to end, as a check of an
// issuer that accepts connections and never answers would.
type ocBlockingChecker struct {
	*oaFake
	waited time.Duration
}

// Check implements providers.Checker.
func (p *ocBlockingChecker) Check(ctx context.Context) error {
	start := time.Now()
	<-ctx.Done()
	p.waited = time.Since(start)
	return fmt.Errorf("%w: discovery: %w", providers.ErrProviderUnavailable, ctx.Err())
}
