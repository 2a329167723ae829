package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// superuserEnv points FromEnv at a fresh SQLite file, as the server would
// see it, with no optional variable set; it returns the file's path.
func superuserEnv(t *testing.T, password string) string {
	t.Helper()
	dbPath := filepath.Join(t.TempDir(), "x.db")
	t.Setenv("GINAUTH_DATABASE_URL", "sqlite://"+dbPath)
	t.Setenv("GINAUTH_SECRET", exampleSecret)
	t.Setenv("GINAUTH_SUPERUSER_PASSWORD", password)
	for _, name := range []string{
		"GINAUTH_BASE_URL", "GINAUTH_TRANSPORT", "GINAUTH_SMTP_URL", "GINAUTH_REDIS_URL",
		"GINAUTH_TRUSTED_ORIGINS", "GINAUTH_ASSOCIATE_BY_EMAIL",
		"GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET", "GOOGLE_CLIENT_ID", "GOOGLE_CLIENT_SECRET",
		"DISCORD_CLIENT_ID", "DISCORD_CLIENT_SECRET", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET",
	} {
		t.Setenv(name, "")
	}
	return dbPath
}

// noTerminal is a stdin that is not a terminal.
func noTerminal(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Open(os.DevNull)
	require.NoError(t, err)
	t.Cleanup(func() { _ = f.Close() })
	return f
}

// runCreateSuperuser runs the subcommand and returns its output.
func runCreateSuperuser(t *testing.T, args ...string) (stdout string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = createSuperuser(context.Background(), args, noTerminal(t), &out, &errOut)
	return out.String(), err
}

// TestCreateSuperuser proves that `example createsuperuser --email E`
// with GINAUTH_SUPERUSER_PASSWORD creates a verified superuser in the
// server's database, who then signs in and lists the users.
func TestCreateSuperuser(t *testing.T) {
	dbPath := superuserEnv(t, examplePassword)
	out, err := runCreateSuperuser(t, "--email", " Root@Example.com ")
	require.NoError(t, err)
	m := regexp.MustCompile(`^superuser root@example\.com created, id ([0-9a-f-]{36})\n$`).FindStringSubmatch(out)
	require.NotNil(t, m, "output: %q", out)
	id := m[1]

	srv := startExample(t, newExampleAuth(t, dbPath))
	tokens := requireTokens(t, call(t, srv, http.MethodPost, "/auth/login",
		map[string]string{"email": "root@example.com", "password": examplePassword}, ""))
	res := call(t, srv, http.MethodGet, "/users", nil, tokens.AccessToken)
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
	body := res.json(t)
	assert.EqualValues(t, 1, body["total"])
	items, ok := body["items"].([]any)
	require.True(t, ok, "body: %s", res.body)
	require.Len(t, items, 1)
	user := items[0].(map[string]any)
	assert.Equal(t, id, user["id"])
	assert.Equal(t, "root@example.com", user["email"])
	assert.Equal(t, true, user["is_superuser"])
	assert.Equal(t, true, user["is_verified"])
	assert.Equal(t, true, user["is_active"])

	res = call(t, srv, http.MethodGet, "/users/"+id, nil, tokens.AccessToken)
	require.Equal(t, http.StatusOK, res.status, "body: %s", res.body)
}

// TestCreateSuperuserRefuses proves each refusal is an error that says what
// to do: a taken email, a refused password (with the policy's reason), a
// malformed email, a missing --email, and no password at all without a
// terminal.
func TestCreateSuperuserRefuses(t *testing.T) {
	t.Run("taken email", func(t *testing.T) {
		superuserEnv(t, examplePassword)
		_, err := runCreateSuperuser(t, "--email", "root@example.com")
		require.NoError(t, err)
		out, err := runCreateSuperuser(t, "-email", "ROOT@example.com")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "a user with the email ROOT@example.com already exists")
		assert.Empty(t, out)
	})
	t.Run("refused password", func(t *testing.T) {
		superuserEnv(t, "short")
		_, err := runCreateSuperuser(t, "--email", "root@example.com")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "password refused: Password should be at least")
	})
	t.Run("malformed email", func(t *testing.T) {
		superuserEnv(t, examplePassword)
		_, err := runCreateSuperuser(t, "--email", "not-an-email")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "email")
	})
	t.Run("no email", func(t *testing.T) {
		superuserEnv(t, examplePassword)
		_, err := runCreateSuperuser(t)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "--email is required")
	})
	t.Run("extra argument", func(t *testing.T) {
		superuserEnv(t, examplePassword)
		_, err := runCreateSuperuser(t, "--email", "root@example.com", "oops")
		require.Error(t, err)
		assert.Contains(t, err.Error(), `unexpected argument "oops"`)
	})
	t.Run("no terminal and no variable", func(t *testing.T) {
		dbPath := superuserEnv(t, "")
		_, err := runCreateSuperuser(t, "--email", "root@example.com")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "set GINAUTH_SUPERUSER_PASSWORD")
		_, statErr := os.Stat(dbPath)
		assert.True(t, os.IsNotExist(statErr), "nothing is created")
	})
	t.Run("bad environment", func(t *testing.T) {
		superuserEnv(t, examplePassword)
		t.Setenv("GINAUTH_DATABASE_URL", "mongodb://x")
		_, err := runCreateSuperuser(t, "--email", "root@example.com")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "GINAUTH_DATABASE_URL")
	})
}

// TestRunUnknownCommand proves that a mistyped subcommand is an error, not
// a server started by surprise.
func TestRunUnknownCommand(t *testing.T) {
	err := run([]string{"createsuperusr"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `unknown command "createsuperusr"`)
}
