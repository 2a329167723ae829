package ginauth

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// isolateDefault empties the package's default instance for one test and
// puts the previous one back when it ends, closing any default the test
// built in between. Tests using it must not be parallel.
func isolateDefault(t *testing.T) {
	t.Helper()
	defaultMu.Lock()
	saved := defaultAuth
	defaultAuth = nil
	defaultMu.Unlock()
	t.Cleanup(func() {
		defaultMu.Lock()
		current := defaultAuth
		defaultAuth = saved
		defaultMu.Unlock()
		if current != nil && current != saved {
			_ = current.Close()
		}
	})
}

// inReleaseMode switches gin to release mode for one test. Tests using it
// must not be parallel: the mode is global.
func inReleaseMode(t *testing.T) {
	t.Helper()
	previous := gin.Mode()
	gin.SetMode(gin.ReleaseMode)
	t.Cleanup(func() { gin.SetMode(previous) })
}

// randomSecret returns a secret as `openssl rand -base64 48` makes one.
func randomSecret(t testing.TB) string {
	t.Helper()
	b := make([]byte, 48)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(b)
}

// tempDatabaseURL names a SQLite file in the test's temporary directory, so
// that a New that unexpectedly succeeds never writes into the repository.
func tempDatabaseURL(t testing.TB) string {
	t.Helper()
	return "sqlite://" + filepath.Join(t.TempDir(), "x.db")
}

// newOrClose runs New and closes what it opened when the test ends.
func newOrClose(t testing.TB, cfg Config) (*Auth, error) {
	t.Helper()
	a, err := New(cfg)
	if a != nil {
		t.Cleanup(func() { _ = a.Close() })
	}
	return a, err
}

// TestNewRefusesInsecureConfig proves that New refuses weak secrets, bad
// base URLs, long access tokens, negative durations and weak Argon2
// parameters, with an error that names the setting and what to do.
func TestNewRefusesInsecureConfig(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Config)
		want []string // every one must appear in the error
	}{
		{"short secret", func(c *Config) { c.Secret = "too-short" }, []string{"Secret is 9 bytes", "at least 32"}},
		{"31 bytes", func(c *Config) { c.Secret = "Zx9!kQ2#mW7$pL4^rT8&vN1*bJ6(hF3" }, []string{"Secret is 31 bytes", "at least 32", "openssl rand"}},
		{"changeme repeated", func(c *Config) { c.Secret = "changemechangemechangemechangeme" }, []string{"Secret", "openssl rand"}},
		{"CHANGEME with separators", func(c *Config) { c.Secret = "CHANGEME_CHANGEME_CHANGEME_CHANGEME" }, []string{"Secret looks like a placeholder", "openssl rand"}},
		{"changeme with digits", func(c *Config) { c.Secret = "changeme0123456789changeme0123456789" }, []string{"Secret looks like a placeholder"}},
		{"your-secret-key", func(c *Config) { c.Secret = "your-secret-key-change-this-in-production" }, []string{"Secret looks like a placeholder"}},
		{"your-super-secret tutorial key", func(c *Config) { c.Secret = "your-super-secret-jwt-key-change-this-in-production-2024!" }, []string{"Secret looks like a placeholder"}},
		{"change-me tutorial key", func(c *Config) { c.Secret = "super-secret-jwt-key-change-me-in-production-2024!" }, []string{"Secret looks like a placeholder"}},
		{"your-256-bit-secret", func(c *Config) { c.Secret = "your-256-bit-secret-your-256-bit-secret" }, []string{"Secret looks like a placeholder"}},
		{"replace-me", func(c *Config) { c.Secret = "replace-me-with-a-long-random-string-please" }, []string{"Secret looks like a placeholder"}},
		{"insecure development key", func(c *Config) { c.Secret = "insecure-default-key-for-development-only" }, []string{"Secret looks like a placeholder"}},
		{"secret repeated", func(c *Config) { c.Secret = "secretsecretsecretsecretsecretsecret" }, []string{"Secret", "openssl rand"}},
		{"xxxx", func(c *Config) { c.Secret = strings.Repeat("x", 40) }, []string{"Secret", "openssl rand"}},
		{"one letter", func(c *Config) { c.Secret = strings.Repeat("a", 64) }, []string{"Secret has too little variety", "openssl rand"}},
		{"short cycle", func(c *Config) { c.Secret = strings.Repeat("abcd", 10) }, []string{"too little variety"}},
		{"two digits", func(c *Config) { c.Secret = strings.Repeat("01", 20) }, []string{"too little variety"}},
		{"short previous secret", func(c *Config) { c.PreviousSecrets = []string{"old-short"} }, []string{"previous secret", "at least 32"}},
		{"placeholder previous secret", func(c *Config) { c.PreviousSecrets = []string{"changemechangemechangemechangeme"} }, []string{"previous secret", "openssl rand"}},
		{"empty previous secret", func(c *Config) { c.PreviousSecrets = []string{""} }, []string{"PreviousSecrets[0] is empty", "remove it"}},
		{"BaseURL without scheme", func(c *Config) { c.BaseURL = "example.com" }, []string{"BaseURL", "absolute http(s) URL"}},
		{"relative BaseURL", func(c *Config) { c.BaseURL = "/auth" }, []string{"BaseURL", "absolute http(s) URL"}},
		{"BaseURL without host", func(c *Config) { c.BaseURL = "https://" }, []string{"BaseURL", "absolute http(s) URL"}},
		{"ftp BaseURL", func(c *Config) { c.BaseURL = "ftp://example.com" }, []string{"BaseURL", "absolute http(s) URL"}},
		{"javascript BaseURL", func(c *Config) { c.BaseURL = "javascript:alert(1)" }, []string{"BaseURL", "absolute http(s) URL"}},
		{"garbage BaseURL", func(c *Config) { c.BaseURL = "ht tp://exa mple.com" }, []string{"BaseURL", "absolute http(s) URL"}},
		{"control character in BaseURL", func(c *Config) { c.BaseURL = "https://example.com/\n" }, []string{"BaseURL", "absolute http(s) URL"}},
		{"access token TTL over an hour", func(c *Config) { c.AccessTokenTTL = time.Hour + time.Second }, []string{"AccessTokenTTL", "at most one hour"}},
		{"negative access token TTL", func(c *Config) { c.AccessTokenTTL = -time.Minute }, []string{"durations", "must not be negative"}},
		{"negative idle timeout", func(c *Config) { c.SessionIdleTimeout = -time.Hour }, []string{"must not be negative"}},
		{"negative clock skew", func(c *Config) { c.ClockSkew = -time.Second }, []string{"must not be negative"}},
		{"argon2 memory", func(c *Config) { c.Argon2.MemoryKiB = 1024 }, []string{"Argon2", "OWASP minimum", "8 MiB"}},
		{"argon2 iterations", func(c *Config) { c.Argon2.Iterations = 0 }, []string{"Argon2", "1 pass"}},
		{"argon2 parallelism", func(c *Config) { c.Argon2.Parallelism = 0 }, []string{"Argon2"}},
		{"argon2 salt", func(c *Config) { c.Argon2.SaltLength = 8 }, []string{"Argon2", "16-byte salt"}},
		{"argon2 key", func(c *Config) { c.Argon2.KeyLength = 8 }, []string{"Argon2", "16-byte salt and key"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Secret: testSecret, DatabaseURL: tempDatabaseURL(t), Argon2: fastArgon2}
			tc.edit(&cfg)
			a, err := newOrClose(t, cfg)
			require.Error(t, err)
			assert.Nil(t, a)
			for _, want := range tc.want {
				assert.Contains(t, err.Error(), want)
			}
			assert.True(t, strings.HasPrefix(err.Error(), "ginauth: "), "error %q does not say where it comes from", err)
		})
	}
}

// TestNewAcceptsRandomSecrets proves that the placeholder and variety
// checks do not refuse real secrets: many random ones in the usual
// encodings, and the 32-byte minimum itself.
func TestNewAcceptsRandomSecrets(t *testing.T) {
	for i := 0; i < 2000; i++ {
		raw := make([]byte, 48)
		_, err := rand.Read(raw)
		require.NoError(t, err)
		for _, secret := range []string{
			base64.StdEncoding.EncodeToString(raw),
			base64.RawURLEncoding.EncodeToString(raw),
			hex.EncodeToString(raw[:32]),
			string(raw[:32]), // raw bytes, as New's own development secret
		} {
			require.NoError(t, checkSecret(secret, true), "refused the random secret %q", secret)
		}
	}
	require.NoError(t, checkSecret("Zx9!kQ2#mW7$pL4^rT8&vN1*bJ6(hF3@", true))

	a, err := newOrClose(t, Config{Secret: randomSecret(t), PreviousSecrets: []string{randomSecret(t)}, DatabaseURL: tempDatabaseURL(t), Argon2: fastArgon2})
	require.NoError(t, err)
	assert.False(t, a.UsesDevelopmentSecret())
}

// TestNewReleaseMode proves the stricter rules of GIN_MODE=release: a
// secret is required (no development secret) and BaseURL must be https,
// the default http://localhost:8080 included.
func TestNewReleaseMode(t *testing.T) {
	inReleaseMode(t)
	cases := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"missing secret", Config{BaseURL: "https://app.example.com"}, []string{"Secret (GINAUTH_SECRET)", "at least 32 bytes", "required in release mode"}},
		{"http BaseURL", Config{Secret: testSecret, BaseURL: "http://app.example.com"}, []string{"BaseURL", "must use https in release mode"}},
		{"default BaseURL", Config{Secret: testSecret}, []string{"BaseURL \"http://localhost:8080\"", "must use https"}},
		{"short secret", Config{Secret: "short", BaseURL: "https://app.example.com"}, []string{"at least 32"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.DatabaseURL, tc.cfg.Argon2 = tempDatabaseURL(t), fastArgon2
			a, err := newOrClose(t, tc.cfg)
			require.Error(t, err)
			assert.Nil(t, a)
			for _, want := range tc.want {
				assert.Contains(t, err.Error(), want)
			}
		})
	}

	t.Run("https and a secret", func(t *testing.T) {
		a, err := newOrClose(t, Config{Secret: testSecret, BaseURL: "https://app.example.com", DatabaseURL: tempDatabaseURL(t), Argon2: fastArgon2})
		require.NoError(t, err)
		assert.False(t, a.UsesDevelopmentSecret())
	})
}

// TestNewFillsDefaults proves the documented defaults: Issuer is the base
// URL, Audience "ginauth", the token and session lifetimes, the caps, and
// that issued tokens carry the configured iss and aud.
func TestNewFillsDefaults(t *testing.T) {
	t.Run("zero config", func(t *testing.T) {
		a := newTestAuth(t, nil)
		cfg := a.Config()
		assert.Equal(t, "http://localhost:8080", cfg.BaseURL)
		assert.Equal(t, "http://localhost:8080", cfg.Issuer)
		assert.Equal(t, "ginauth", cfg.Audience)
		assert.Equal(t, "sqlite://ginauth.db", cfg.DatabaseURL)
		assert.Equal(t, 15*time.Minute, cfg.AccessTokenTTL)
		assert.Equal(t, 30*24*time.Hour, cfg.SessionIdleTimeout)
		assert.Equal(t, 90*24*time.Hour, cfg.SessionMaxLifetime)
		assert.Equal(t, 5*time.Second, cfg.SessionCheckInterval)
		assert.Equal(t, 10*time.Second, cfg.ClockSkew)
		assert.Equal(t, 10_000, cfg.TokenCacheSize)
		assert.Equal(t, int64(64<<10), cfg.MaxBodyBytes)
		assert.Equal(t, 2*runtime.GOMAXPROCS(0), cfg.MaxConcurrentHashes)
		assert.Equal(t, fastArgon2, cfg.Argon2)
		assert.Same(t, slog.Default(), cfg.Logger)
		require.NotNil(t, cfg.Now)
		assert.WithinDuration(t, time.Now(), cfg.Now(), time.Minute)
		assert.False(t, a.UsesDevelopmentSecret())

		tokens, _, err := a.Login(context.Background(), "nobody@example.com", routePassword, ClientInfo{})
		assert.ErrorIs(t, err, ErrBadCredentials)
		assert.Nil(t, tokens)
	})

	t.Run("default Argon2", func(t *testing.T) {
		a, err := newOrClose(t, Config{Secret: testSecret, DatabaseURL: tempDatabaseURL(t)})
		require.NoError(t, err)
		assert.Equal(t, DefaultArgon2Params, a.Config().Argon2)
		assert.Equal(t, Argon2Params{MemoryKiB: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}, DefaultArgon2Params)
	})

	t.Run("default Mailer and RateLimiter", func(t *testing.T) {
		a, err := newOrClose(t, Config{Secret: testSecret, DatabaseURL: tempDatabaseURL(t)})
		require.NoError(t, err)
		cfg := a.Config()
		assert.NotNil(t, cfg.Mailer, "NewLogMailer")
		assert.IsType(t, &MemoryRateLimiter{}, cfg.RateLimiter)
		assert.Same(t, cfg.RateLimiter, a.cfg.RateLimiter)
	})

	t.Run("issuer follows BaseURL", func(t *testing.T) {
		a := newTestAuth(t, func(cfg *Config) { cfg.BaseURL = "https://auth.example.com/" })
		assert.Equal(t, "https://auth.example.com", a.Config().BaseURL, "the trailing slash is dropped")
		assert.Equal(t, "https://auth.example.com", a.Config().Issuer)
		claims := loginClaims(t, a)
		assert.Equal(t, "https://auth.example.com", claims.Issuer)
		assert.Equal(t, []string{"ginauth"}, []string(claims.Audience))
		assert.WithinDuration(t, claims.IssuedAt.Add(15*time.Minute), claims.ExpiresAt.Time, time.Second)
	})

	t.Run("explicit values are kept", func(t *testing.T) {
		a := newTestAuth(t, func(cfg *Config) {
			cfg.BaseURL, cfg.Issuer, cfg.Audience = "https://app.example.com", "https://issuer.example.com", "my-api"
			cfg.AccessTokenTTL, cfg.MaxBodyBytes, cfg.TokenCacheSize = 5*time.Minute, 1024, -1
		})
		cfg := a.Config()
		assert.Equal(t, "https://issuer.example.com", cfg.Issuer)
		assert.Equal(t, "my-api", cfg.Audience)
		assert.Equal(t, 5*time.Minute, cfg.AccessTokenTTL)
		assert.Equal(t, int64(1024), cfg.MaxBodyBytes)
		assert.Equal(t, -1, cfg.TokenCacheSize)
		claims := loginClaims(t, a)
		assert.Equal(t, "https://issuer.example.com", claims.Issuer)
		assert.Equal(t, []string{"my-api"}, []string(claims.Audience))
	})

	t.Run("an hour is allowed", func(t *testing.T) {
		a := newTestAuth(t, func(cfg *Config) { cfg.AccessTokenTTL = time.Hour })
		assert.Equal(t, time.Hour, a.Config().AccessTokenTTL)
	})
}

// loginClaims creates a user, signs in and returns the verified claims of
// the access token.
func loginClaims(t *testing.T, a *Auth) *Claims {
	t.Helper()
	ctx := context.Background()
	_, err := a.CreateUser(ctx, NewUser{Email: "claims@example.com", Password: routePassword})
	require.NoError(t, err)
	tokens, _, err := a.Login(ctx, "claims@example.com", routePassword, ClientInfo{})
	require.NoError(t, err)
	claims, err := a.VerifyAccessToken(tokens.AccessToken)
	require.NoError(t, err)
	return claims
}

// TestNewDevelopmentSecret proves that an empty Secret outside release
// mode gets a random development secret, says so loudly on the configured
// logger, works end to end, and differs from one instance to the next.
func TestNewDevelopmentSecret(t *testing.T) {
	var logs bytes.Buffer
	a := newTestAuth(t, func(cfg *Config) {
		cfg.Secret = ""
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	assert.True(t, a.UsesDevelopmentSecret())
	assert.Contains(t, logs.String(), "level=WARN")
	assert.Contains(t, logs.String(), "GINAUTH_SECRET is not set")
	assert.Contains(t, logs.String(), "DEVELOPMENT")
	assert.Contains(t, logs.String(), "at least 32 bytes")
	assert.Equal(t, "(redacted)", a.Config().Secret)

	srv := newTestServer(t, a)
	tokens := registerAndLogin(t, srv, "dev@example.com", routePassword)
	me := routeJSON(t, srv, http.MethodGet, "/api/me", nil, tokens.AccessToken)
	require.Equal(t, http.StatusOK, me.Status, "body: %s", me.Body)

	other := newTestAuth(t, func(cfg *Config) {
		cfg.Secret, cfg.Logger = "", slog.New(slog.NewTextHandler(io.Discard, nil))
	})
	_, err := other.VerifyAccessToken(tokens.AccessToken)
	assert.ErrorIs(t, err, ErrInvalidToken, "two development secrets must differ")

	var quiet bytes.Buffer
	configured := newTestAuth(t, func(cfg *Config) { cfg.Logger = slog.New(slog.NewTextHandler(&quiet, nil)) })
	assert.False(t, configured.UsesDevelopmentSecret())
	assert.NotContains(t, quiet.String(), "DEVELOPMENT")
}

// TestConfigRedactsSecrets proves that Config() can be logged: the secret,
// previous secrets, signing key and the database password are not in it,
// and changing the copy does not change the instance.
func TestConfigRedactsSecrets(t *testing.T) {
	_, signingKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	previous := randomSecret(t)
	a := newTestAuth(t, func(cfg *Config) {
		cfg.PreviousSecrets = []string{previous}
		cfg.SigningKey = signingKey
		cfg.DatabaseURL = "postgres://app:hunter2-db-password@db.internal:5432/app" // unused: Store is set
	})
	cfg := a.Config()
	assert.Equal(t, "(redacted)", cfg.Secret)
	assert.Nil(t, cfg.PreviousSecrets)
	assert.Nil(t, cfg.SigningKey)
	assert.NotContains(t, cfg.DatabaseURL, "hunter2")
	assert.Contains(t, cfg.DatabaseURL, "db.internal:5432/app")

	printed := fmt.Sprintf("%+v %#v", cfg, cfg)
	for _, secret := range []string{testSecret, previous, "hunter2", string(signingKey), fmt.Sprint([]byte(signingKey))} {
		assert.NotContains(t, printed, secret)
	}

	cfg.Audience, cfg.BaseURL = "changed", "https://changed.example.com"
	assert.Equal(t, "ginauth", a.Config().Audience)
	assert.Equal(t, "http://localhost:8080", a.Config().BaseURL)

	// The redaction is of the copy only: the instance still signs.
	claims := loginClaims(t, a)
	assert.Equal(t, "ginauth", claims.Audience[0])
}

// TestSetupReplacesDefault proves that Setup installs an instance as the
// default used by the package-level Register, RegisterUsers and
// RequireAuth, that a second Setup replaces it, and that a refused Setup
// keeps the previous default.
func TestSetupReplacesDefault(t *testing.T) {
	isolateDefault(t)
	firstStore, secondStore := openTestStore(t, "sqlite"), openTestStore(t, "sqlite")

	require.NoError(t, Setup(Config{Secret: testSecret, Store: firstStore, Argon2: fastArgon2, Audience: "first"}))
	first := Default()
	require.NotNil(t, first)
	assert.Same(t, first, Default(), "Default must not build another instance")
	assert.Same(t, firstStore, first.Store())

	srv := newPackageLevelServer(t)
	tokens := registerAndLogin(t, srv, "quinn@example.com", routePassword)
	me := routeJSON(t, srv, http.MethodGet, "/api/me", nil, tokens.AccessToken)
	require.Equal(t, http.StatusOK, me.Status, "body: %s", me.Body)
	assert.Equal(t, "quinn@example.com", me.JSON(t)["email"])
	users := routeJSON(t, srv, http.MethodGet, "/users/me", nil, tokens.AccessToken)
	require.Equal(t, http.StatusOK, users.Status, "body: %s", users.Body)
	_, err := firstStore.UserByEmail(context.Background(), "quinn@example.com")
	require.NoError(t, err, "the package-level routes must use the Setup instance's store")

	require.NoError(t, Setup(Config{Secret: testSecret, Store: secondStore, Argon2: fastArgon2, Audience: "second"}))
	second := Default()
	assert.NotSame(t, first, second)
	assert.Equal(t, "second", second.Config().Audience)

	srv2 := newPackageLevelServer(t)
	res := routeJSON(t, srv2, http.MethodPost, "/auth/login", map[string]string{"email": "quinn@example.com", "password": routePassword}, "")
	assertExactJSON(t, res, http.StatusBadRequest, `{"detail":"LOGIN_BAD_CREDENTIALS"}`)
	res = routeJSON(t, srv2, http.MethodGet, "/api/me", nil, tokens.AccessToken)
	assertExactJSON(t, res, http.StatusUnauthorized, `{"detail":"UNAUTHORIZED"}`)

	err = Setup(Config{Secret: "short", Store: secondStore, Argon2: fastArgon2})
	require.Error(t, err)
	assert.Same(t, second, Default(), "a refused Setup must keep the previous default")
}

// newPackageLevelServer mounts the kit with the package-level functions,
// exactly as the two-line use of the package documentation.
func newPackageLevelServer(t *testing.T) *httptest.Server {
	t.Helper()
	r := gin.New()
	Register(r.Group("/auth"))
	RegisterUsers(r.Group("/users"))
	api := r.Group("/api", RequireAuth())
	api.GET("/me", func(c *gin.Context) {
		user, err := CurrentUser(c)
		if err != nil {
			c.AbortWithStatus(http.StatusUnauthorized)
			return
		}
		c.JSON(http.StatusOK, gin.H{"id": user.ID, "email": user.Email})
	})
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
}

// TestDefaultFromEnvironment proves that without Setup, Default builds the
// instance once from GINAUTH_SECRET, GINAUTH_BASE_URL and
// GINAUTH_DATABASE_URL, concurrent callers included, and that it signs
// with the secret from the environment.
func TestDefaultFromEnvironment(t *testing.T) {
	isolateDefault(t)
	secret := randomSecret(t)
	dbPath := filepath.Join(t.TempDir(), "x.db")
	t.Setenv("GINAUTH_SECRET", secret)
	t.Setenv("GINAUTH_BASE_URL", "http://127.0.0.1:8080")
	t.Setenv("GINAUTH_DATABASE_URL", "sqlite://"+dbPath)

	var wg sync.WaitGroup
	got := make([]*Auth, 4)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = Default()
		}()
	}
	wg.Wait()
	a := got[0]
	require.NotNil(t, a)
	for _, other := range got {
		assert.Same(t, a, other, "Default built more than one instance")
	}
	assert.False(t, a.UsesDevelopmentSecret())
	assert.Equal(t, "http://127.0.0.1:8080", a.Config().BaseURL)
	assert.Equal(t, "sqlite://"+dbPath, a.Config().DatabaseURL)
	_, err := os.Stat(dbPath)
	require.NoError(t, err, "the database of GINAUTH_DATABASE_URL was not created")

	srv := newPackageLevelServer(t)
	tokens := registerAndLogin(t, srv, "rita@example.com", routePassword)

	// Another service holding the same secret verifies the token.
	verifier := newTestAuth(t, func(cfg *Config) { cfg.Secret, cfg.BaseURL = secret, "http://127.0.0.1:8080" })
	claims, err := verifier.VerifyAccessToken(tokens.AccessToken)
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:8080", claims.Issuer)
}

// TestDefaultPanicsOnBadEnvironment proves that Default refuses to start
// with an invalid environment, with a message that says what to change,
// and leaves no half-built default behind.
func TestDefaultPanicsOnBadEnvironment(t *testing.T) {
	cases := []struct {
		name, secret, databaseURL, baseURL string
		want                               []string
	}{
		{"unknown database scheme", testSecret, "mongodb://localhost/app", "", []string{"cannot start", "GINAUTH_DATABASE_URL", "mongodb", "accepted: sqlite://", "postgres://", "mysql://"}},
		{"short secret", "short", "", "", []string{"cannot start", "at least 32"}},
		{"bad base URL", testSecret, "", "localhost:8080", []string{"cannot start", "BaseURL", "absolute http(s) URL"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			isolateDefault(t)
			if tc.databaseURL == "" {
				tc.databaseURL = tempDatabaseURL(t)
			}
			t.Setenv("GINAUTH_SECRET", tc.secret)
			t.Setenv("GINAUTH_DATABASE_URL", tc.databaseURL)
			t.Setenv("GINAUTH_BASE_URL", tc.baseURL)

			var recovered any
			func() {
				defer func() { recovered = recover() }()
				Default()
			}()
			require.NotNil(t, recovered, "Default did not panic")
			message := fmt.Sprint(recovered)
			for _, want := range tc.want {
				assert.Contains(t, message, want)
			}
			defaultMu.Lock()
			defer defaultMu.Unlock()
			assert.Nil(t, defaultAuth)
		})
	}
}
