package ginauth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/driver/sqlite"
	"gorm.io/gorm"
)

// acceptedDatabaseSchemes names the URL schemes OpenStore understands.
const acceptedDatabaseSchemes = "sqlite:// (or sqlite3://), postgres:// (or postgresql://), mysql:// (or mariadb://)"

// sqliteParams make SQLite safe under concurrent requests: WAL so readers do
// not block the writer, a busy timeout so writers wait instead of failing
// with "database is locked", IMMEDIATE transactions so a transaction never
// has to upgrade its lock, and foreign keys on (SQLite has them off).
var sqliteParams = map[string]string{
	"_journal_mode": "WAL",
	"_busy_timeout": "10000",
	"_txlock":       "immediate",
	"_foreign_keys": "on",
	"_synchronous":  "NORMAL",
}

// OpenStore opens the database named by a URL and migrates its tables:
//
//	sqlite://ginauth.db           (relative path)
//	sqlite:///var/lib/app/auth.db (absolute path)
//	postgres://user:pass@host:5432/db?sslmode=disable
//	mysql://user:pass@host:3306/db
func OpenStore(ctx context.Context, databaseURL string) (*GormStore, error) {
	dialector, err := dialectorFor(databaseURL)
	if err != nil {
		return nil, err
	}
	db, err := gorm.Open(dialector, gormConfig())
	if err != nil {
		return nil, fmt.Errorf("ginauth: open database: %w", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("ginauth: open database: %w", err)
	}
	if strings.Contains(databaseURL, ":memory:") {
		// Every connection would get its own empty database, and the one
		// connection must never be closed for idleness: the data goes with it.
		sqlDB.SetMaxOpenConns(1)
		sqlDB.SetMaxIdleConns(1)
	} else {
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("ginauth: connect to database: %w", err)
	}
	store := NewGormStore(db)
	if err := store.Migrate(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, err
	}
	return store, nil
}

// dialectorFor picks the GORM driver for a database URL.
func dialectorFor(databaseURL string) (gorm.Dialector, error) {
	scheme, rest, ok := strings.Cut(databaseURL, "://")
	if !ok || !validScheme(scheme) {
		// The value is not echoed: it may be a driver DSN holding a password.
		return nil, fmt.Errorf("ginauth: database URL has no scheme; accepted: %s", acceptedDatabaseSchemes)
	}
	switch strings.ToLower(scheme) {
	case "sqlite", "sqlite3":
		return sqlite.Open(sqliteDSN(rest)), nil
	case "postgres", "postgresql":
		return postgres.Open(databaseURL), nil
	case "mysql", "mariadb":
		dsn, err := mysqlDSN(databaseURL)
		if err != nil {
			return nil, err
		}
		return mysql.Open(dsn), nil
	default:
		return nil, fmt.Errorf("ginauth: unsupported database URL scheme %q; accepted: %s", scheme, acceptedDatabaseSchemes)
	}
}

// sqliteDSN turns the part after sqlite:// into a go-sqlite3 DSN with the
// concurrency settings, keeping any parameter the URL sets itself.
func sqliteDSN(pathAndQuery string) string {
	path, rawQuery, _ := strings.Cut(pathAndQuery, "?")
	query, err := url.ParseQuery(rawQuery)
	if err != nil {
		query = url.Values{}
	}
	for key, value := range sqliteParams {
		if !query.Has(key) {
			query.Set(key, value)
		}
	}
	if path == ":memory:" {
		// Private to this store (OpenStore gives it a single connection):
		// cache=shared would make every :memory: store of the process one
		// database.
		path = "file::memory:"
	}
	return path + "?" + query.Encode()
}

// mysqlDSN turns mysql://user:pass@host:port/db?params into the
// go-sql-driver/mysql DSN form, with parseTime, UTC and utf8mb4 set.
func mysqlDSN(databaseURL string) (string, error) {
	u, err := url.Parse(databaseURL)
	if err != nil {
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err // *url.Error repeats the URL, password included
		}
		return "", fmt.Errorf("ginauth: invalid database URL: %w", err)
	}
	host := u.Host
	if u.Port() == "" {
		host += ":3306"
	}
	query := u.Query()
	query.Set("parseTime", "true")
	query.Set("loc", "UTC")
	// RowsAffected counts matched rows, as on the other databases, so an
	// UPDATE that leaves a row unchanged is not taken for a missing row.
	query.Set("clientFoundRows", "true")
	if !query.Has("charset") {
		query.Set("charset", "utf8mb4")
	}
	var user string
	if u.User != nil {
		user = u.User.Username()
		if pass, ok := u.User.Password(); ok {
			user += ":" + pass
		}
		user += "@"
	}
	return fmt.Sprintf("%stcp(%s)/%s?%s", user, host, strings.TrimPrefix(u.Path, "/"), query.Encode()), nil
}

// validScheme reports whether s is a URL scheme (RFC 3986 §3.1).
func validScheme(s string) bool {
	for i, c := range s {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// redactURL hides the password of a database URL in logs and error
// messages: the user-info password and any password query parameter. A
// value that is not a scheme:// URL (a driver's native DSN, say) is hidden
// whole, since where its password sits is unknown.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Opaque != "" {
		return "(redacted)"
	}
	query := u.Query()
	for key := range query {
		if strings.Contains(strings.ToLower(key), "password") {
			query.Set(key, "xxxxx")
		}
	}
	u.RawQuery = query.Encode()
	return u.Redacted()
}
