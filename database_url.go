package ginauth

import (
	"context"
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
const acceptedDatabaseSchemes = "sqlite://, postgres://, postgresql://, mysql://"

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
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	if strings.Contains(databaseURL, ":memory:") {
		sqlDB.SetMaxOpenConns(1) // every connection would get its own empty database
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
	if !ok {
		return nil, fmt.Errorf("ginauth: database URL %q has no scheme; accepted: %s", redactURL(databaseURL), acceptedDatabaseSchemes)
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
		path = "file::memory:"
		query.Set("cache", "shared")
	}
	return path + "?" + query.Encode()
}

// mysqlDSN turns mysql://user:pass@host:port/db?params into the
// go-sql-driver/mysql DSN form, with parseTime, UTC and utf8mb4 set.
func mysqlDSN(databaseURL string) (string, error) {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return "", fmt.Errorf("ginauth: invalid database URL: %w", err)
	}
	host := u.Host
	if u.Port() == "" {
		host += ":3306"
	}
	query := u.Query()
	query.Set("parseTime", "true")
	query.Set("loc", "UTC")
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

// redactURL hides the password of a URL in error messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}
