package ginauth

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// Environment variables naming the databases of the store tests. .ci/run
// sets both; without them those tests skip and say so.
const (
	postgresEnv = "GINAUTH_TEST_POSTGRES_URL" // e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable
	mysqlEnv    = "GINAUTH_TEST_MYSQL_URL"    // e.g. mysql://root@127.0.0.1:3306/test
)

// testSecret is a valid secret for tests.
const testSecret = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"

// fastArgon2 keeps tests quick; it is at the minimum New accepts.
var fastArgon2 = Argon2Params{MemoryKiB: 8 * 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}

func init() { gin.SetMode(gin.TestMode) }

// testDatabases lists the databases a store test runs on: "sqlite" always,
// "postgres" and "mysql" when their variables are set.
func testDatabases() []string {
	return []string{"sqlite", "postgres", "mysql"}
}

// openTestStore opens a migrated, empty store of the given kind, isolated
// from every other test (its own file, schema or database), and removes it
// when the test ends. It skips the test when the database is not configured.
func openTestStore(t testing.TB, kind string) *GormStore {
	t.Helper()
	ctx := context.Background()
	name := "ginauth_t_" + randomHex(6)
	var databaseURL string
	switch kind {
	case "sqlite":
		databaseURL = "sqlite://" + filepath.Join(t.TempDir(), "ginauth.db")
	case "postgres":
		base := os.Getenv(postgresEnv)
		if base == "" {
			t.Skipf("PostgreSQL tests need %s (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)", postgresEnv)
		}
		admin := openAdmin(t, base)
		require.NoError(t, admin.Exec("CREATE SCHEMA "+name).Error)
		t.Cleanup(func() { admin.Exec("DROP SCHEMA " + name + " CASCADE") })
		databaseURL = withQuery(base, "search_path="+name)
	case "mysql":
		base := os.Getenv(mysqlEnv)
		if base == "" {
			t.Skipf("MariaDB/MySQL tests need %s (e.g. mysql://root@127.0.0.1:3306/test)", mysqlEnv)
		}
		admin := openAdmin(t, base)
		require.NoError(t, admin.Exec("CREATE DATABASE "+name+" CHARACTER SET utf8mb4").Error)
		t.Cleanup(func() { admin.Exec("DROP DATABASE " + name) })
		databaseURL = replaceDatabase(base, name)
	default:
		t.Fatalf("unknown database kind %q", kind)
	}
	store, err := OpenStore(ctx, databaseURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })
	return store
}

// openAdmin opens the base database for creating and dropping test schemas.
func openAdmin(t testing.TB, databaseURL string) *gorm.DB {
	t.Helper()
	dialector, err := dialectorFor(databaseURL)
	require.NoError(t, err)
	db, err := gorm.Open(dialector, gormConfig())
	require.NoError(t, err)
	t.Cleanup(func() {
		if sqlDB, err := db.DB(); err == nil {
			_ = sqlDB.Close()
		}
	})
	return db
}

func withQuery(databaseURL, param string) string {
	if strings.Contains(databaseURL, "?") {
		return databaseURL + "&" + param
	}
	return databaseURL + "?" + param
}

// replaceDatabase swaps the database name of a mysql:// URL.
func replaceDatabase(databaseURL, name string) string {
	rest, query, _ := strings.Cut(databaseURL, "?")
	slash := strings.LastIndex(rest, "/")
	if slash < len("mysql://") {
		rest += "/"
		slash = len(rest) - 1
	}
	out := rest[:slash+1] + name
	if query != "" {
		out += "?" + query
	}
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// newTestAuth builds an Auth on a fresh SQLite store with test defaults;
// edit adjusts the Config first.
func newTestAuth(t testing.TB, edit func(*Config)) *Auth {
	t.Helper()
	return newTestAuthOn(t, openTestStore(t, "sqlite"), edit)
}

// newTestAuthOn builds an Auth on the given store.
func newTestAuthOn(t testing.TB, store Store, edit func(*Config)) *Auth {
	t.Helper()
	cfg := Config{Secret: testSecret, Store: store, Argon2: fastArgon2, RateLimits: noRateLimits, Mailer: discardMail}
	if edit != nil {
		edit(&cfg)
	}
	a, err := New(cfg)
	require.NoError(t, err)
	return a
}

// testRedisURL returns the Redis of the tests (GINAUTH_TEST_REDIS_URL,
// which .ci/run sets), or skips the test or benchmark when it is unset.
func testRedisURL(tb testing.TB) string {
	tb.Helper()
	raw := os.Getenv("GINAUTH_TEST_REDIS_URL")
	if raw == "" {
		tb.Skip("set GINAUTH_TEST_REDIS_URL=redis://127.0.0.1:6379/0 to run the tests that need Redis")
	}
	return raw
}

// noRateLimits turns every limit off, for tests that sign in more often
// than a person would; the rate-limit tests set their own.
var noRateLimits = RateLimits{
	LoginPerIP: Unlimited, LoginPerAccount: Unlimited, RegisterPerIP: Unlimited, RegisterPerAddress: Unlimited,
	MailPerIP: Unlimited, MailPerAddress: Unlimited, TokenPerIP: Unlimited,
}

// discardMail is the tests' default Mailer: tests that read mail set their own.
var discardMail = MailerFunc(func(context.Context, *Mail) error { return nil })

// newTestServer mounts the kit as the example does: /auth, /users and a
// protected GET /api/me answering {"id", "email"}.
func newTestServer(t testing.TB, a *Auth) *httptest.Server {
	t.Helper()
	r := gin.New()
	a.Register(r.Group("/auth"))
	a.RegisterUsers(r.Group("/users"))
	r.GET("/api/me", a.RequireAuth(), func(c *gin.Context) {
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

// apiResponse is a response read whole.
type apiResponse struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map.
func (r apiResponse) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.Body, &m), "body: %s", r.Body)
	return m
}

// Detail returns the `detail` of an error body when it is a string.
func (r apiResponse) Detail(t testing.TB) string {
	t.Helper()
	d, _ := r.JSON(t)["detail"].(string)
	return d
}

// do sends a request; body, when not nil, is sent as JSON; token, when not
// empty, as a bearer token.
func do(t testing.TB, srv *httptest.Server, method, path string, body any, token string) apiResponse {
	t.Helper()
	var reader *bytes.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		reader = bytes.NewReader(raw)
	} else {
		reader = bytes.NewReader(nil)
	}
	req, err := http.NewRequest(method, srv.URL+path, reader)
	require.NoError(t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return send(t, req)
}

// send performs a prepared request and reads the whole response.
func send(t testing.TB, req *http.Request) apiResponse {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, err = buf.ReadFrom(resp.Body)
	require.NoError(t, err)
	return apiResponse{Status: resp.StatusCode, Header: resp.Header, Body: buf.Bytes()}
}

// registerAndLogin creates a user through the API and returns its tokens.
func registerAndLogin(t testing.TB, srv *httptest.Server, email, password string) TokenResponse {
	t.Helper()
	res := do(t, srv, http.MethodPost, "/auth/register", map[string]string{"email": email, "password": password}, "")
	require.Equal(t, http.StatusCreated, res.Status, "register: %s", res.Body)
	return login(t, srv, email, password)
}

// login signs in through the API and returns the tokens.
func login(t testing.TB, srv *httptest.Server, email, password string) TokenResponse {
	t.Helper()
	res := do(t, srv, http.MethodPost, "/auth/login", map[string]string{"email": email, "password": password}, "")
	require.Equal(t, http.StatusOK, res.Status, "login: %s", res.Body)
	var tokens TokenResponse
	require.NoError(t, json.Unmarshal(res.Body, &tokens))
	return tokens
}
