package ginauth

import (
	"context"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ginauth/ginauth/internal/smtptest"
	"github.com/ginauth/ginauth/providers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// setEnv sets the three variables FromEnv reads and empties the optional
// ones; an empty value is unset for FromEnv.
func setEnv(t *testing.T, secret, baseURL, databaseURL string) {
	t.Helper()
	t.Setenv("GINAUTH_SECRET", secret)
	t.Setenv("GINAUTH_BASE_URL", baseURL)
	t.Setenv("GINAUTH_DATABASE_URL", databaseURL)
	t.Setenv("GINAUTH_TRANSPORT", "")
	t.Setenv("GINAUTH_SMTP_URL", "")
	t.Setenv("GINAUTH_REDIS_URL", "")
}

// TestFromEnv proves that FromEnv reads GINAUTH_SECRET, GINAUTH_BASE_URL
// and GINAUTH_DATABASE_URL into a Config, trims the URLs, leaves unset
// variables to New's defaults, and accepts every documented database
// scheme.
func TestFromEnv(t *testing.T) {
	t.Run("all set", func(t *testing.T) {
		setEnv(t, testSecret, " https://app.example.com \n", " postgres://app:pw@db:5432/app?sslmode=disable ")
		cfg, err := FromEnv()
		require.NoError(t, err)
		assert.Equal(t, testSecret, cfg.Secret)
		assert.Equal(t, "https://app.example.com", cfg.BaseURL)
		assert.Equal(t, "postgres://app:pw@db:5432/app?sslmode=disable", cfg.DatabaseURL)
		assert.Equal(t, Config{Secret: cfg.Secret, BaseURL: cfg.BaseURL, DatabaseURL: cfg.DatabaseURL}, cfg, "FromEnv sets nothing else")
	})

	t.Run("nothing set", func(t *testing.T) {
		setEnv(t, "", "", "")
		cfg, err := FromEnv()
		require.NoError(t, err)
		assert.Equal(t, Config{}, cfg)
	})

	for _, databaseURL := range []string{
		"sqlite://ginauth.db", "sqlite:///var/lib/app/auth.db", "sqlite3://x.db", "sqlite://:memory:",
		"postgres://u:p@localhost:5432/db", "postgresql://localhost/db", "POSTGRES://localhost/db",
		"mysql://root@127.0.0.1:3306/test", "mariadb://root@127.0.0.1/test",
	} {
		t.Run("accepts "+databaseURL, func(t *testing.T) {
			setEnv(t, "", "", databaseURL)
			cfg, err := FromEnv()
			require.NoError(t, err)
			assert.Equal(t, databaseURL, cfg.DatabaseURL)
		})
	}
}

// TestFromEnvRefusesDatabaseURL proves that a GINAUTH_DATABASE_URL that
// OpenStore cannot use is refused at once, with an error naming the
// variable and the accepted schemes, and never quoting a password.
func TestFromEnvRefusesDatabaseURL(t *testing.T) {
	cases := []struct {
		name, databaseURL string
		want              []string
	}{
		{"unknown scheme", "mongodb://app:hunter2@db/app", []string{`unsupported database URL scheme "mongodb"`}},
		{"redis scheme", "redis://localhost:6379/0", []string{`unsupported database URL scheme "redis"`}},
		{"file path", "ginauth.db", []string{"no scheme"}},
		{"host:port with a password", "app:hunter2@db.internal:5432/app", []string{"no scheme"}},
		{"key=value DSN", "host=db user=app password=hunter2 dbname=app", []string{"no scheme"}},
		{"password before the scheme", "app:hunter2@db://x", []string{"no scheme"}},
		{"mysql URL that does not parse", "mysql://app:hunter2@db:port/app", []string{"invalid database URL", "port"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			setEnv(t, testSecret, "", tc.databaseURL)
			cfg, err := FromEnv()
			require.Error(t, err)
			assert.Equal(t, Config{}, cfg)
			assert.True(t, strings.HasPrefix(err.Error(), "GINAUTH_DATABASE_URL: "), "the error must name the variable: %v", err)
			for _, want := range tc.want {
				assert.Contains(t, err.Error(), want)
			}
			if !strings.HasPrefix(tc.databaseURL, "mysql://") { // its scheme is fine: no list of schemes needed
				assertAcceptedSchemes(t, err.Error())
			}
			assert.NotContains(t, err.Error(), "hunter2", "the error quotes the password")
		})
	}
}

// assertAcceptedSchemes checks that an error lists every database scheme
// OpenStore accepts.
func assertAcceptedSchemes(t testing.TB, message string) {
	t.Helper()
	assert.Contains(t, message, "accepted: ")
	for _, scheme := range []string{"sqlite://", "postgres://", "postgresql://", "mysql://"} {
		assert.Contains(t, message, scheme)
	}
}

// TestFromEnvFeedsNew proves that FromEnv's Config is what New needs: the
// environment alone starts a working instance on the named database.
func TestFromEnvFeedsNew(t *testing.T) {
	setEnv(t, testSecret, "https://auth.example.com", "sqlite://"+filepath.Join(t.TempDir(), "env.db"))
	cfg, err := FromEnv()
	require.NoError(t, err)
	cfg.Argon2 = fastArgon2
	a, err := newOrClose(t, cfg)
	require.NoError(t, err)
	assert.False(t, a.UsesDevelopmentSecret())
	assert.Equal(t, "https://auth.example.com", a.Config().Issuer)
	claims := loginClaims(t, a)
	assert.Equal(t, "https://auth.example.com", claims.Issuer)
}

// TestFromEnvProviders proves the provider variables of the contract turn
// providers on, in a fixed order, and that half a pair is an error that
// names the missing variable rather than a provider silently off.
func TestFromEnvProviders(t *testing.T) {
	for _, prefix := range []string{"GITHUB", "GOOGLE", "DISCORD", "OIDC"} {
		t.Setenv(prefix+"_CLIENT_ID", "")
		t.Setenv(prefix+"_CLIENT_SECRET", "")
	}
	t.Run("none", func(t *testing.T) {
		cfg, err := FromEnv()
		require.NoError(t, err)
		assert.Empty(t, cfg.Providers)
	})
	t.Run("github google discord", func(t *testing.T) {
		t.Setenv("GITHUB_CLIENT_ID", "gh-id")
		t.Setenv("GITHUB_CLIENT_SECRET", "gh-secret")
		t.Setenv("GOOGLE_CLIENT_ID", "g-id")
		t.Setenv("GOOGLE_CLIENT_SECRET", "g-secret")
		t.Setenv("DISCORD_CLIENT_ID", "d-id")
		t.Setenv("DISCORD_CLIENT_SECRET", "d-secret")
		cfg, err := FromEnv()
		require.NoError(t, err)
		var names []string
		for _, p := range cfg.Providers {
			names = append(names, p.Name())
		}
		assert.Equal(t, []string{"github", "google", "discord"}, names)
	})
	t.Run("github enterprise", func(t *testing.T) {
		t.Setenv("GITHUB_CLIENT_ID", "gh-id")
		t.Setenv("GITHUB_CLIENT_SECRET", "gh-secret")
		t.Setenv("GITHUB_BASE_URL", "https://github.example.com")
		cfg, err := FromEnv()
		require.NoError(t, err)
		require.Len(t, cfg.Providers, 1)
		authURL := cfg.Providers[0].AuthCodeURL(providers.AuthRequest{State: "s", RedirectURL: "https://app/cb", CodeVerifier: strings.Repeat("v", 43)})
		assert.True(t, strings.HasPrefix(authURL, "https://github.example.com/login/oauth/authorize?"), authURL)
	})
	t.Run("half a pair", func(t *testing.T) {
		t.Setenv("DISCORD_CLIENT_ID", "d-id")
		_, err := FromEnv()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "DISCORD_CLIENT_SECRET")
	})
	t.Run("oidc needs an issuer", func(t *testing.T) {
		t.Setenv("OIDC_CLIENT_ID", "o-id")
		t.Setenv("OIDC_CLIENT_SECRET", "o-secret")
		_, err := FromEnv()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "OIDC_ISSUER")
	})
	t.Run("github enterprise must be https off loopback", func(t *testing.T) {
		t.Setenv("GITHUB_CLIENT_ID", "g-id")
		t.Setenv("GITHUB_CLIENT_SECRET", "g-secret")
		t.Setenv("GITHUB_BASE_URL", "http://github.corp.example.com")
		_, err := FromEnv()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "GITHUB_BASE_URL")
	})
	t.Run("oidc issuer must be https off loopback", func(t *testing.T) {
		t.Setenv("OIDC_CLIENT_ID", "o-id")
		t.Setenv("OIDC_CLIENT_SECRET", "o-secret")
		t.Setenv("OIDC_ISSUER", "http://idp.example.com/realms/app")
		_, err := FromEnv()
		require.Error(t, err)
		assert.Contains(t, err.Error(), "https")
	})
	t.Run("associate by email", func(t *testing.T) {
		t.Setenv("GINAUTH_ASSOCIATE_BY_EMAIL", "true")
		t.Setenv("GINAUTH_TRUSTED_ORIGINS", "https://app.example.com, http://localhost:3000")
		cfg, err := FromEnv()
		require.NoError(t, err)
		assert.True(t, cfg.AssociateByEmail)
		assert.Equal(t, []string{"https://app.example.com", "http://localhost:3000"}, cfg.TrustedOrigins)
		t.Setenv("GINAUTH_ASSOCIATE_BY_EMAIL", "maybe")
		_, err = FromEnv()
		assert.Error(t, err)
	})
}

// TestFromEnvSMTP proves that GINAUTH_SMTP_URL sets an SMTP Mailer that
// really delivers, from no-reply@ the base URL's host or from the URL's
// from parameter, and that it connects only when it sends.
func TestFromEnvSMTP(t *testing.T) {
	send := func(t *testing.T, cfg Config, to string) {
		t.Helper()
		require.NotNil(t, cfg.Mailer)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, cfg.Mailer.SendMail(ctx, &Mail{To: to, Subject: "Hello", Text: "hello"}))
	}

	t.Run("unset: nil, New logs mail", func(t *testing.T) {
		setEnv(t, "", "", "")
		cfg, err := FromEnv()
		require.NoError(t, err)
		assert.Nil(t, cfg.Mailer)
	})

	t.Run("from the base URL's host", func(t *testing.T) {
		server := smtptest.Start(t, smtptest.WithAuth("mailer", "s3cret: pass"))
		setEnv(t, "", "https://app.example.com:8443/", "")
		t.Setenv("GINAUTH_SMTP_URL", server.URL())
		cfg, err := FromEnv()
		require.NoError(t, err)
		send(t, cfg, "bob@example.net")
		msg := server.WaitFor(t, "bob@example.net")
		assert.Equal(t, "no-reply@app.example.com", msg.From)
		assert.Equal(t, "Hello", msg.Subject)
	})

	t.Run("from the default base URL", func(t *testing.T) {
		server := smtptest.Start(t)
		setEnv(t, "", "", "")
		t.Setenv("GINAUTH_SMTP_URL", server.URL())
		cfg, err := FromEnv()
		require.NoError(t, err)
		send(t, cfg, "bob@example.net")
		assert.Equal(t, "no-reply@localhost", server.WaitFor(t, "bob@example.net").From)
	})

	t.Run("from parameter", func(t *testing.T) {
		server := smtptest.Start(t, smtptest.WithAuth("mailer", "pw"))
		setEnv(t, "", "https://app.example.com", "")
		t.Setenv("GINAUTH_SMTP_URL", server.URL()+"?from="+url.QueryEscape("Example App <hello@example.org>"))
		cfg, err := FromEnv()
		require.NoError(t, err)
		send(t, cfg, "carol@example.net")
		msg := server.WaitFor(t, "carol@example.net")
		assert.Equal(t, "hello@example.org", msg.From)
		assert.Contains(t, string(msg.Data), "Example App")
	})

	t.Run("lazy: no server needed to configure", func(t *testing.T) {
		setEnv(t, "", "", "")
		for _, raw := range []string{"smtp://user:pw@127.0.0.1:1", "smtps://mail.invalid", "smtp://mail.invalid:2525?from=a%40b.example"} {
			t.Setenv("GINAUTH_SMTP_URL", raw)
			cfg, err := FromEnv()
			require.NoError(t, err, raw)
			assert.NotNil(t, cfg.Mailer, raw)
		}
	})
}

// TestFromEnvRefusesSMTPURL proves that a GINAUTH_SMTP_URL NewSMTPMailer
// cannot use is refused at once, naming the variable, never quoting the
// password.
func TestFromEnvRefusesSMTPURL(t *testing.T) {
	cases := []struct{ name, raw, want string }{
		{"scheme", "http://u:hunter2@mail.example.com", "scheme"},
		{"port that does not parse", "smtp://u:hunter2@mail.example.com:port", "invalid SMTP URL"},
		{"port out of range", "smtp://u:hunter2@mail.example.com:99999", "port"},
		{"no host", "smtp://u:hunter2@:587", "host"},
		{"bad from", "smtp://u:hunter2@mail.example.com?from=not+an+address", "From"},
		{"no scheme", "u:hunter2@mail.example.com:587", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			setEnv(t, "", "", "")
			t.Setenv("GINAUTH_SMTP_URL", tc.raw)
			cfg, err := FromEnv()
			require.Error(t, err)
			assert.Equal(t, Config{}, cfg)
			assert.True(t, strings.HasPrefix(err.Error(), "GINAUTH_SMTP_URL: "), "the error must name the variable: %v", err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "hunter2", "the error quotes the password")
		})
	}
}

// TestFromEnvRedis proves that GINAUTH_REDIS_URL sets a Redis RateLimiter
// without connecting (no server needed), which the caller closes, and
// which still limits, in memory, while Redis cannot be reached.
func TestFromEnvRedis(t *testing.T) {
	t.Run("unset: nil, New counts in memory", func(t *testing.T) {
		setEnv(t, "", "", "")
		cfg, err := FromEnv()
		require.NoError(t, err)
		assert.Nil(t, cfg.RateLimiter)
		assert.Nil(t, cfg.RevocationBus)
	})
	t.Run("set", func(t *testing.T) {
		setEnv(t, "", "", "")
		t.Setenv("GINAUTH_REDIS_URL", "redis://:pw@127.0.0.1:1/2")
		cfg, err := FromEnv()
		require.NoError(t, err)
		limiter, ok := cfg.RateLimiter.(*RedisRateLimiter)
		require.True(t, ok, "RateLimiter is %T", cfg.RateLimiter)
		t.Cleanup(func() { assert.NoError(t, limiter.Close()) })
		bus, ok := cfg.RevocationBus.(*RedisRevocationBus)
		require.True(t, ok, "RevocationBus is %T", cfg.RevocationBus)
		assert.Same(t, limiter.client, bus.client, "one Redis client for both")
		limiter.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))

		rate := Rate{Limit: 1, Period: time.Minute}
		allowed, _, err := limiter.Allow(context.Background(), "k", rate)
		require.NoError(t, err)
		assert.True(t, allowed)
		allowed, _, err = limiter.Allow(context.Background(), "k", rate)
		require.NoError(t, err)
		assert.False(t, allowed, "Redis down: counted in memory")
	})
}

// TestFromEnvRefusesRedisURL proves that a GINAUTH_REDIS_URL that does not
// parse is refused at once, naming the variable, never quoting the
// password.
func TestFromEnvRefusesRedisURL(t *testing.T) {
	for _, raw := range []string{
		"redis://u:hunter2@cache.internal:port/0",
		"redis://u:hunter2@cache.internal/abc",
		"redis://u:hunter2@cache.internal/0/1",
		"memcached://u:hunter2@cache.internal",
		"u:hunter2@cache.internal:6379",
	} {
		t.Run(raw, func(t *testing.T) {
			setEnv(t, "", "", "")
			t.Setenv("GINAUTH_REDIS_URL", raw)
			cfg, err := FromEnv()
			require.Error(t, err)
			assert.Equal(t, Config{}, cfg)
			assert.True(t, strings.HasPrefix(err.Error(), "GINAUTH_REDIS_URL: "), "the error must name the variable: %v", err)
			assert.NotContains(t, err.Error(), "hunter2", "the error quotes the password")
		})
	}
}
