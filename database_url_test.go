package ginauth

import (
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
)

// stSQLiteDefaults is the query every SQLite DSN gets unless the URL sets
// the parameter itself.
var stSQLiteDefaults = url.Values{
	"_journal_mode": {"WAL"},
	"_busy_timeout": {"10000"},
	"_txlock":       {"immediate"},
	"_foreign_keys": {"on"},
	"_synchronous":  {"NORMAL"},
}

// stWithSQLiteDefaults returns stSQLiteDefaults overridden by extra.
func stWithSQLiteDefaults(extra url.Values) url.Values {
	out := url.Values{}
	for k, v := range stSQLiteDefaults {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

// stSplitDSN splits a DSN into its path and parsed query.
func stSplitDSN(t *testing.T, dsn string) (string, url.Values) {
	t.Helper()
	path, rawQuery, ok := strings.Cut(dsn, "?")
	require.True(t, ok, "DSN %q has no query", dsn)
	query, err := url.ParseQuery(rawQuery)
	require.NoError(t, err)
	return path, query
}

// TestDialectorFor proves that dialectorFor picks the driver by scheme
// (case-insensitively, with the sqlite3 / postgresql / mariadb aliases),
// hands PostgreSQL URLs to pgx unchanged, converts the others to their
// driver's DSN, and refuses anything else with an error that names the
// accepted schemes.
func TestDialectorFor(t *testing.T) {
	cases := []struct {
		name    string
		url     string
		driver  string // "sqlite", "postgres" or "mysql"; empty when an error is expected
		dsn     string // for postgres: the exact DSN; for sqlite: the path
		wantErr []string
	}{
		{name: "sqlite relative", url: "sqlite://ginauth.db", driver: "sqlite", dsn: "ginauth.db"},
		{name: "sqlite absolute", url: "sqlite:///var/lib/app/auth.db", driver: "sqlite", dsn: "/var/lib/app/auth.db"},
		{name: "sqlite3 alias", url: "sqlite3://data/auth.db", driver: "sqlite", dsn: "data/auth.db"},
		{name: "scheme case", url: "SQLite://auth.db", driver: "sqlite", dsn: "auth.db"},
		{name: "postgres", url: "postgres://app:pw@db:5432/auth?sslmode=disable", driver: "postgres", dsn: "postgres://app:pw@db:5432/auth?sslmode=disable"},
		{name: "postgresql", url: "postgresql://app@db/auth", driver: "postgres", dsn: "postgresql://app@db/auth"},
		{name: "mysql", url: "mysql://app:pw@db:3306/auth", driver: "mysql"},
		{name: "mariadb alias", url: "mariadb://app:pw@db/auth", driver: "mysql"},
		{name: "unknown scheme", url: "redis://localhost:6379/0", wantErr: []string{`"redis"`, "sqlite://", "postgres://", "postgresql://", "mysql://"}},
		{name: "no scheme", url: "ginauth.db", wantErr: []string{"no scheme", "sqlite://", "postgres://", "mysql://"}},
		{name: "empty", url: "", wantErr: []string{"no scheme", "sqlite://"}},
		{name: "bare colon", url: "sqlite:ginauth.db", wantErr: []string{"no scheme"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := dialectorFor(tc.url)
			if tc.wantErr != nil {
				require.Error(t, err)
				assert.Nil(t, d)
				for _, want := range tc.wantErr {
					assert.Contains(t, err.Error(), want)
				}
				return
			}
			require.NoError(t, err)
			switch tc.driver {
			case "sqlite":
				sd, ok := d.(*sqlite.Dialector)
				require.True(t, ok, "got %T", d)
				path, query := stSplitDSN(t, sd.DSN)
				assert.Equal(t, tc.dsn, path)
				assert.Equal(t, stSQLiteDefaults, query)
			case "postgres":
				pd, ok := d.(*postgres.Dialector)
				require.True(t, ok, "got %T", d)
				assert.Equal(t, tc.dsn, pd.DSN)
			case "mysql":
				md, ok := d.(*mysql.Dialector)
				require.True(t, ok, "got %T", d)
				cfg, err := gomysql.ParseDSN(md.DSN)
				require.NoError(t, err, md.DSN)
				assert.Equal(t, "app", cfg.User)
				assert.Equal(t, "pw", cfg.Passwd)
				assert.Equal(t, "auth", cfg.DBName)
				assert.Equal(t, "tcp", cfg.Net)
				assert.Equal(t, "db:3306", cfg.Addr)
			}
		})
	}
}

// TestDialectorSQLiteDSN proves that sqliteDSN adds the concurrency and
// integrity settings (WAL, busy timeout, immediate transactions, foreign
// keys) to every SQLite path, keeps a parameter the URL sets itself, and
// turns :memory: into a private in-memory database (no cache=shared).
func TestDialectorSQLiteDSN(t *testing.T) {
	cases := []struct {
		name  string
		in    string
		path  string
		query url.Values
	}{
		{name: "relative", in: "ginauth.db", path: "ginauth.db", query: stSQLiteDefaults},
		{name: "relative in a directory", in: "var/auth.db", path: "var/auth.db", query: stSQLiteDefaults},
		{name: "absolute", in: "/var/lib/app/auth.db", path: "/var/lib/app/auth.db", query: stSQLiteDefaults},
		{name: "memory", in: ":memory:", path: "file::memory:", query: stSQLiteDefaults},
		{name: "params kept", in: "auth.db?_busy_timeout=500&mode=ro", path: "auth.db",
			query: stWithSQLiteDefaults(url.Values{"_busy_timeout": {"500"}, "mode": {"ro"}})},
		{name: "a default can be overridden", in: "auth.db?_journal_mode=DELETE&_txlock=deferred", path: "auth.db",
			query: stWithSQLiteDefaults(url.Values{"_journal_mode": {"DELETE"}, "_txlock": {"deferred"}})},
		{name: "file URI", in: "file:auth.db?cache=private", path: "file:auth.db",
			query: stWithSQLiteDefaults(url.Values{"cache": {"private"}})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path, query := stSplitDSN(t, sqliteDSN(tc.in))
			assert.Equal(t, tc.path, path)
			assert.Equal(t, tc.query, query)
		})
	}
}

// TestDialectorMySQLDSN proves that mysqlDSN turns a mysql:// URL into a
// DSN that go-sql-driver/mysql parses back to the same user, password
// (special characters included), address (port 3306 by default) and
// database, with parseTime, UTC and utf8mb4 set, the URL's own parameters
// kept, and affected rows counted as matched rows, as the other databases
// count them.
func TestDialectorMySQLDSN(t *testing.T) {
	cases := []struct {
		name                 string
		in                   string
		user, pass, addr, db string
		charset              string
		params               map[string]string
		timeout              time.Duration
	}{
		{name: "user, no password", in: "mysql://root@127.0.0.1:3306/test", user: "root", addr: "127.0.0.1:3306", db: "test", charset: "utf8mb4"},
		{name: "user and password", in: "mysql://app:pw@db.internal:3307/auth", user: "app", pass: "pw", addr: "db.internal:3307", db: "auth", charset: "utf8mb4"},
		{name: "password with special characters", in: "mysql://app:p%40ss%3Aw%2Ford%3F@db/auth", user: "app", pass: "p@ss:w/ord?", addr: "db:3306", db: "auth", charset: "utf8mb4"},
		{name: "no port", in: "mysql://app@db/auth", user: "app", addr: "db:3306", db: "auth", charset: "utf8mb4"},
		{name: "IPv6 without port", in: "mysql://app@[::1]/auth", user: "app", addr: "[::1]:3306", db: "auth", charset: "utf8mb4"},
		{name: "no user", in: "mysql://db:3306/auth", addr: "db:3306", db: "auth", charset: "utf8mb4"},
		{name: "query kept", in: "mysql://app@db/auth?timeout=5s&charset=latin1&parseTime=false&loc=Local", user: "app", addr: "db:3306", db: "auth",
			charset: "latin1", timeout: 5 * time.Second},
		{name: "unknown params passed to the server", in: "mysql://app@db/auth?sql_mode=ANSI", user: "app", addr: "db:3306", db: "auth",
			charset: "utf8mb4", params: map[string]string{"sql_mode": "ANSI"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dsn, err := mysqlDSN(tc.in)
			require.NoError(t, err)
			cfg, err := gomysql.ParseDSN(dsn)
			require.NoError(t, err, dsn)
			assert.Equal(t, tc.user, cfg.User)
			assert.Equal(t, tc.pass, cfg.Passwd)
			assert.Equal(t, "tcp", cfg.Net)
			assert.Equal(t, tc.addr, cfg.Addr)
			assert.Equal(t, tc.db, cfg.DBName)
			assert.True(t, cfg.ParseTime, "parseTime is forced")
			assert.Equal(t, time.UTC, cfg.Loc, "loc is forced to UTC")
			assert.True(t, cfg.ClientFoundRows, "RowsAffected must count matched rows")
			assert.Equal(t, tc.timeout, cfg.Timeout)
			query, err := url.ParseQuery(dsn[strings.LastIndex(dsn, "?")+1:])
			require.NoError(t, err)
			assert.Equal(t, tc.charset, query.Get("charset"))
			for k, v := range tc.params {
				assert.Equal(t, v, cfg.Params[k], k)
			}
		})
	}
}

// TestDialectorRedactsPassword proves that no error about a database URL
// repeats its password, whatever shape the mistake takes: a DSN in a
// driver's native form instead of a URL, a bad port, an unknown scheme.
func TestDialectorRedactsPassword(t *testing.T) {
	const secret = "s3cretpw"
	cases := map[string]string{
		"go-sql-driver DSN":            "root:" + secret + "@tcp(localhost:3306)/auth",
		"libpq keyword DSN":            "host=localhost user=app password=" + secret + " dbname=auth",
		"host:port with a password":    "localhost:5432/auth?password=" + secret,
		"DSN with a URL in its query":  "root:" + secret + "@tcp(db:3306)/auth?next=http://example.com",
		"mysql URL with a bad port":    "mysql://root:" + secret + "@localhost:port/auth",
		"mysql URL with a bad escape":  "mysql://root:" + secret + "%zz@localhost/auth",
		"unknown scheme with password": "ftp://root:" + secret + "@localhost/auth",
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := dialectorFor(raw)
			require.Error(t, err)
			assert.NotContains(t, err.Error(), secret)
			assert.Contains(t, err.Error(), "ginauth:")
		})
	}
}

// TestOpenStoreErrors proves that OpenStore fails, without repeating the
// password, when the database cannot be reached or the URL is not
// understood, instead of returning a store that fails later.
func TestOpenStoreErrors(t *testing.T) {
	const secret = "s3cretpw"
	cases := map[string]string{
		"postgres refused":     "postgres://app:" + secret + "@127.0.0.1:1/auth?sslmode=disable&connect_timeout=5",
		"postgres bad port":    "postgres://app:" + secret + "@127.0.0.1:port/auth",
		"mysql refused":        "mysql://app:" + secret + "@127.0.0.1:1/auth?timeout=5s",
		"sqlite missing dir":   "sqlite://" + filepath.Join(t.TempDir(), "missing", "dir", "auth.db") + "?password=" + secret,
		"unsupported database": "oracle://app:" + secret + "@db/auth",
	}
	for name, raw := range cases {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			store, err := OpenStore(ctx, raw)
			require.Error(t, err)
			assert.Nil(t, store)
			assert.NotContains(t, err.Error(), secret)
		})
	}
}

// TestOpenStoreSQLite proves that OpenStore on a SQLite file turns on what
// concurrent requests need (WAL, a busy timeout, foreign keys) on the
// connections it hands out, and that opening the same file again migrates
// an existing database without losing its rows.
func TestOpenStoreSQLite(t *testing.T) {
	ctx := context.Background()
	databaseURL := "sqlite://" + filepath.Join(t.TempDir(), "auth.db")
	first, err := OpenStore(ctx, databaseURL)
	require.NoError(t, err)
	u := stNewUser("kept@example.com")
	require.NoError(t, first.CreateUser(ctx, u))

	var journal string
	var busy, fk int
	db := first.DB()
	require.NoError(t, db.Raw("PRAGMA journal_mode").Scan(&journal).Error)
	require.NoError(t, db.Raw("PRAGMA busy_timeout").Scan(&busy).Error)
	require.NoError(t, db.Raw("PRAGMA foreign_keys").Scan(&fk).Error)
	assert.Equal(t, "wal", strings.ToLower(journal))
	assert.Equal(t, 10000, busy)
	assert.Equal(t, 1, fk)
	require.NoError(t, first.Close())

	again, err := OpenStore(ctx, databaseURL)
	require.NoError(t, err)
	t.Cleanup(func() { _ = again.Close() })
	got, err := again.UserByEmail(ctx, "kept@example.com")
	require.NoError(t, err)
	assert.Equal(t, u.ID, got.ID)
}

// TestOpenStoreSQLiteMemory proves that sqlite://:memory: opens a working,
// migrated store whose tables every query sees (a plain :memory: database
// exists per connection), and that two such stores are two databases: an
// in-memory store is private to whoever opened it, as each test needs.
func TestOpenStoreSQLiteMemory(t *testing.T) {
	ctx := context.Background()
	open := func() *GormStore {
		store, err := OpenStore(ctx, "sqlite://:memory:")
		require.NoError(t, err)
		t.Cleanup(func() { _ = store.Close() })
		return store
	}
	store := open()
	u := stNewUser("memory@example.com")
	require.NoError(t, store.CreateUser(ctx, u))
	sess := stNewSession(u.ID, time.Now().UTC())
	require.NoError(t, store.CreateSession(ctx, sess))
	owner, live, err := store.SessionLive(ctx, sess.ID, time.Now().UTC())
	require.NoError(t, err)
	assert.True(t, live)
	assert.Equal(t, u.ID, owner)
	assert.ErrorIs(t, store.CreateUser(ctx, stNewUser("memory@example.com")), ErrDuplicate)

	other := open()
	_, err = other.UserByEmail(ctx, "memory@example.com")
	assert.ErrorIs(t, err, ErrNotFound, "another in-memory store sees this one's users")
	assert.NoError(t, other.CreateUser(ctx, stNewUser("memory@example.com")))
	_, err = store.UserByID(ctx, u.ID)
	assert.NoError(t, err, "closing or using one store must not empty the other")
}

// TestOpenStoreMigrateTwice proves, on every database, that Migrate is
// idempotent: running it twice more on a store with rows in every table
// succeeds, keeps the rows, and keeps the unique indexes and the cascading
// foreign keys the store relies on.
func TestOpenStoreMigrateTwice(t *testing.T) {
	for _, kind := range testDatabases() {
		t.Run(kind, func(t *testing.T) {
			s := openTestStore(t, kind)
			ctx := context.Background()
			u := stCreateUser(t, s, "migrate@example.com")
			now := time.Now().UTC()
			require.NoError(t, stLinkAccount(s, u.ID, "github", "1", now))
			sess := stCreateSession(t, s, u.ID, now)

			require.NoError(t, s.Migrate(ctx))
			require.NoError(t, s.Migrate(ctx))

			migrator := s.DB().Migrator()
			assert.True(t, migrator.HasIndex(&User{}, "ux_users_email"))
			assert.True(t, migrator.HasIndex(&OAuthAccount{}, "ux_oauth_accounts_account"))
			assert.True(t, migrator.HasIndex(&Session{}, "ux_sessions_refresh_token_hash"))

			got, err := s.SessionByRefreshHash(ctx, sess.RefreshTokenHash)
			require.NoError(t, err)
			assert.Equal(t, sess.ID, got.ID)
			assert.ErrorIs(t, s.CreateUser(ctx, stNewUser("migrate@example.com")), ErrDuplicate)
			assert.ErrorIs(t, stLinkAccount(s, stCreateUser(t, s, "x@example.com").ID, "github", "1", now), gorm.ErrDuplicatedKey)

			require.NoError(t, s.DeleteUser(ctx, u.ID))
			assert.EqualValues(t, 0, stCount(t, s, "sessions", "user_id = ?", u.ID))
			assert.EqualValues(t, 0, stCount(t, s, "oauth_accounts", "user_id = ?", u.ID))
		})
	}
}

// TestDialectorRedactURL proves that redactURL, used wherever a database
// URL is logged or shown, masks the user-info password and password query
// parameters of a URL, hides a value that is not a URL whole (a native DSN
// puts its password where the URL parser cannot see it), and leaves a URL
// without secrets readable.
func TestDialectorRedactURL(t *testing.T) {
	const secret = "s3cretpw"
	cases := []struct {
		name, in, want string
	}{
		{"user-info password", "postgres://app:" + secret + "@db:5432/auth?sslmode=disable", "postgres://app:xxxxx@db:5432/auth?sslmode=disable"},
		{"password parameter", "postgres://app@db/auth?password=" + secret, "postgres://app@db/auth?password=xxxxx"},
		{"both", "mysql://app:" + secret + "@db/auth?password=" + secret, "mysql://app:xxxxx@db/auth?password=xxxxx"},
		{"no secret", "sqlite:///var/lib/app/auth.db", "sqlite:///var/lib/app/auth.db"},
		{"user without password", "mysql://root@127.0.0.1:3306/test", "mysql://root@127.0.0.1:3306/test"},
		{"go-sql-driver DSN", "root:" + secret + "@tcp(db:3306)/auth", "(redacted)"},
		{"libpq keyword DSN", "host=db user=app password=" + secret, "(redacted)"},
		{"unparsable", "mysql://root:" + secret + "@db:port/auth", "(redacted)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := redactURL(tc.in)
			assert.Equal(t, tc.want, got)
			assert.NotContains(t, got, secret)
		})
	}
}
