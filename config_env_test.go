package ginauth

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ginauth/ginauth/providers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// setEnv sets the three variables FromEnv reads; an empty value is unset
// for FromEnv.
func setEnv(t *testing.T, secret, baseURL, databaseURL string) {
	t.Helper()
	t.Setenv("GINAUTH_SECRET", secret)
	t.Setenv("GINAUTH_BASE_URL", baseURL)
	t.Setenv("GINAUTH_DATABASE_URL", databaseURL)
	t.Setenv("GINAUTH_TRANSPORT", "")
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
