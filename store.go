package ginauth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Store keeps users, their OAuth accounts and their sessions. GormStore is
// the implementation ginauth ships; an app can supply its own.
//
// Methods return ErrNotFound for a missing record, an error wrapping
// ErrDuplicate when a unique constraint refuses a write, and an error
// wrapping ErrStoreUnavailable for every other failure.
type Store interface {
	// CreateUser inserts a user. A taken email is ErrDuplicate, decided by
	// the unique index, so concurrent registrations cannot both succeed.
	CreateUser(ctx context.Context, u *User) error
	// UserByID loads a user without its OAuth accounts.
	UserByID(ctx context.Context, id uuid.UUID) (*User, error)
	// UserByEmail loads a user by canonical email.
	UserByEmail(ctx context.Context, email string) (*User, error)
	// OAuthAccountsOf lists the provider accounts linked to a user.
	OAuthAccountsOf(ctx context.Context, userID uuid.UUID) ([]OAuthAccount, error)
	// UpdateUser sets the given fields of a user (see UserChanges). A
	// missing user or a failed precondition is ErrNotFound; a taken email
	// is ErrDuplicate.
	UpdateUser(ctx context.Context, id uuid.UUID, changes UserChanges) error
	// ListUsers returns a page of users in creation order, each with its
	// OAuthAccounts loaded, and the number of users the query matches in all.
	ListUsers(ctx context.Context, q UserQuery) ([]User, int64, error)
	// DeleteUser deletes a user; its OAuth accounts and sessions go with it.
	DeleteUser(ctx context.Context, id uuid.UUID) error

	// CreateSession inserts a session.
	CreateSession(ctx context.Context, s *Session) error
	// SessionByID loads a session.
	SessionByID(ctx context.Context, id uuid.UUID) (*Session, error)
	// SessionByRefreshHash loads the session whose current refresh token has
	// this hash.
	SessionByRefreshHash(ctx context.Context, hash string) (*Session, error)
	// RotateRefreshToken swaps the session's refresh token hash from oldHash
	// to newHash, atomically: when oldHash is no longer current (a concurrent
	// rotation won) or the session is revoked, it returns ErrNotFound.
	RotateRefreshToken(ctx context.Context, id uuid.UUID, oldHash, newHash string, usedAt, idleExpiresAt time.Time) error
	// RevokeSession marks a session revoked at the given time.
	RevokeSession(ctx context.Context, id uuid.UUID, at time.Time) error
	// RevokeUserSessions revokes every live session of a user except the one
	// with id except (uuid.Nil to revoke them all) and returns the revoked ids.
	RevokeUserSessions(ctx context.Context, userID, except uuid.UUID, at time.Time) ([]uuid.UUID, error)
	// SessionsOf lists the sessions of a user that are neither revoked nor
	// expired at now, newest first.
	SessionsOf(ctx context.Context, userID uuid.UUID, now time.Time) ([]Session, error)
	// SessionLive reports the user a session belongs to (owner) and whether
	// the session is live at now: it exists, is not revoked or expired, and
	// its user exists and is active. A missing session is uuid.Nil, false.
	// The caller must compare owner with the user a token claims.
	SessionLive(ctx context.Context, id uuid.UUID, now time.Time) (owner uuid.UUID, live bool, err error)

	// OAuthAccount loads the link of a provider account, by the provider's
	// name and its immutable account id.
	OAuthAccount(ctx context.Context, oauthName, accountID string) (*OAuthAccount, error)
	// CreateOAuthAccount links a provider account to an existing user. A
	// provider account linked already is ErrDuplicate.
	CreateOAuthAccount(ctx context.Context, acc *OAuthAccount) error
	// CreateUserWithOAuthAccount creates a user and its first provider
	// link in one transaction: a taken email or a linked account is
	// ErrDuplicate and leaves nothing behind.
	CreateUserWithOAuthAccount(ctx context.Context, u *User, acc *OAuthAccount) error
	// UpdateOAuthAccountTokens stores new provider tokens and email for a link.
	UpdateOAuthAccountTokens(ctx context.Context, acc *OAuthAccount) error
	// DeleteOAuthAccountUnlessLast removes a user's link to a provider,
	// unless the user has no password and no other provider linked: then
	// it deletes nothing and returns ErrOAuthLastLoginMethod. The check
	// and the delete are atomic, so concurrent unlinks of a user's last
	// two providers cannot both succeed. No such link is ErrNotFound.
	DeleteOAuthAccountUnlessLast(ctx context.Context, userID uuid.UUID, oauthName string) error
}

// GormStore is the Store on GORM: SQLite, PostgreSQL or MySQL/MariaDB.
// It writes every time in UTC: SQLite keeps a time as text in the zone it
// was given, and compares and sorts that text.
type GormStore struct {
	db *gorm.DB
}

var _ Store = (*GormStore)(nil)

// NewGormStore wraps an open *gorm.DB. Call Migrate before first use.
func NewGormStore(db *gorm.DB) *GormStore {
	return &GormStore{db: db}
}

// gormConfig is the GORM configuration of every database ginauth opens:
// UTC timestamps, errors translated to gorm.ErrDuplicatedKey, no SQL logging.
func gormConfig() *gorm.Config {
	return &gorm.Config{
		TranslateError: true,
		NowFunc:        func() time.Time { return time.Now().UTC() },
		Logger:         logger.Discard,
	}
}

// DB returns the underlying *gorm.DB, for the app's own tables.
func (s *GormStore) DB() *gorm.DB { return s.db }

// Migrate creates or updates the tables of User, OAuthAccount and Session.
func (s *GormStore) Migrate(ctx context.Context) error {
	if err := s.db.WithContext(ctx).AutoMigrate(&User{}, &OAuthAccount{}, &Session{}); err != nil {
		return fmt.Errorf("ginauth: migrate: %w", err)
	}
	if s.db.Dialector.Name() == "mysql" {
		// MySQL and MariaDB compare text case- and accent-insensitively by
		// default: emails and provider account ids must match exactly.
		for _, stmt := range mysqlExactColumns {
			if err := s.db.WithContext(ctx).Exec(stmt).Error; err != nil {
				return fmt.Errorf("ginauth: migrate: %w", err)
			}
		}
	}
	return nil
}

// mysqlExactColumns give the identifying columns a binary collation.
var mysqlExactColumns = []string{
	"ALTER TABLE users MODIFY email VARCHAR(254) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL",
	"ALTER TABLE oauth_accounts MODIFY oauth_name VARCHAR(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL",
	"ALTER TABLE oauth_accounts MODIFY account_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL",
	"ALTER TABLE sessions MODIFY refresh_token_hash VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL",
}

// Close closes the database connections.
func (s *GormStore) Close() error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// storeError maps a GORM error to the Store's error contract.
func storeError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gorm.ErrRecordNotFound):
		return ErrNotFound
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return fmt.Errorf("%w: %v", ErrDuplicate, err)
	case errors.Is(err, context.Canceled):
		return err // the client went away; nothing to report
	default:
		return fmt.Errorf("%w: %v", ErrStoreUnavailable, err)
	}
}

// mustAffect turns an UPDATE or DELETE that touched no row into ErrNotFound.
func mustAffect(res *gorm.DB) error {
	if res.Error != nil {
		return storeError(res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrNotFound
	}
	return nil
}

// CreateUser implements Store.
func (s *GormStore) CreateUser(ctx context.Context, u *User) error {
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return storeError(s.db.WithContext(ctx).Omit("OAuthAccounts").Create(u).Error)
}

// UserByID implements Store.
func (s *GormStore) UserByID(ctx context.Context, id uuid.UUID) (*User, error) {
	var u User
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&u).Error; err != nil {
		return nil, storeError(err)
	}
	return &u, nil
}

// UserByEmail implements Store.
func (s *GormStore) UserByEmail(ctx context.Context, email string) (*User, error) {
	var u User
	if err := s.db.WithContext(ctx).Where("email = ?", email).Take(&u).Error; err != nil {
		return nil, storeError(err)
	}
	if u.Email != email {
		// A case- or accent-insensitive collation matched another address
		// ("jose@" for "josé@"): that is not this user.
		return nil, ErrNotFound
	}
	return &u, nil
}

// OAuthAccountsOf implements Store.
func (s *GormStore) OAuthAccountsOf(ctx context.Context, userID uuid.UUID) ([]OAuthAccount, error) {
	var accounts []OAuthAccount
	err := s.db.WithContext(ctx).Where("user_id = ?", userID).Order("created_at, oauth_name").Find(&accounts).Error
	return accounts, storeError(err)
}

// DeleteUser implements Store.
func (s *GormStore) DeleteUser(ctx context.Context, id uuid.UUID) error {
	return mustAffect(s.db.WithContext(ctx).Where("id = ?", id).Delete(&User{}))
}

// CreateSession implements Store.
func (s *GormStore) CreateSession(ctx context.Context, sess *Session) error {
	sess.CreatedAt, sess.LastUsedAt = sess.CreatedAt.UTC(), sess.LastUsedAt.UTC()
	sess.IdleExpiresAt, sess.ExpiresAt = sess.IdleExpiresAt.UTC(), sess.ExpiresAt.UTC()
	if sess.RevokedAt != nil {
		revokedAt := sess.RevokedAt.UTC()
		sess.RevokedAt = &revokedAt
	}
	return storeError(s.db.WithContext(ctx).Omit("User").Create(sess).Error)
}

// SessionByID implements Store.
func (s *GormStore) SessionByID(ctx context.Context, id uuid.UUID) (*Session, error) {
	var sess Session
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&sess).Error; err != nil {
		return nil, storeError(err)
	}
	return &sess, nil
}

// SessionByRefreshHash implements Store.
func (s *GormStore) SessionByRefreshHash(ctx context.Context, hash string) (*Session, error) {
	var sess Session
	if err := s.db.WithContext(ctx).Where("refresh_token_hash = ?", hash).Take(&sess).Error; err != nil {
		return nil, storeError(err)
	}
	return &sess, nil
}

// RotateRefreshToken implements Store.
func (s *GormStore) RotateRefreshToken(ctx context.Context, id uuid.UUID, oldHash, newHash string, usedAt, idleExpiresAt time.Time) error {
	return mustAffect(s.db.WithContext(ctx).Model(&Session{}).
		Where("id = ? AND refresh_token_hash = ? AND revoked_at IS NULL", id, oldHash).
		Updates(map[string]any{"refresh_token_hash": newHash, "last_used_at": usedAt.UTC(), "idle_expires_at": idleExpiresAt.UTC()}))
}

// RevokeSession implements Store.
func (s *GormStore) RevokeSession(ctx context.Context, id uuid.UUID, at time.Time) error {
	res := s.db.WithContext(ctx).Model(&Session{}).Where("id = ? AND revoked_at IS NULL", id).Update("revoked_at", at.UTC())
	return storeError(res.Error)
}

// RevokeUserSessions implements Store.
func (s *GormStore) RevokeUserSessions(ctx context.Context, userID, except uuid.UUID, at time.Time) ([]uuid.UUID, error) {
	var ids []uuid.UUID
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Model(&Session{}).Where("user_id = ? AND id <> ? AND revoked_at IS NULL", userID, except).
			Pluck("id", &ids).Error; err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		return tx.Model(&Session{}).Where("id IN ?", ids).Update("revoked_at", at.UTC()).Error
	})
	return ids, storeError(err)
}

// SessionsOf implements Store.
func (s *GormStore) SessionsOf(ctx context.Context, userID uuid.UUID, now time.Time) ([]Session, error) {
	var all []Session
	if err := s.db.WithContext(ctx).Where("user_id = ? AND revoked_at IS NULL", userID).
		Order("created_at DESC").Find(&all).Error; err != nil {
		return nil, storeError(err)
	}
	live := all[:0]
	for _, sess := range all {
		if sess.liveAt(now) {
			live = append(live, sess)
		}
	}
	return live, nil
}

// SessionLive implements Store.
func (s *GormStore) SessionLive(ctx context.Context, id uuid.UUID, now time.Time) (uuid.UUID, bool, error) {
	var row struct {
		UserID        uuid.UUID
		RevokedAt     *time.Time
		IdleExpiresAt time.Time
		ExpiresAt     time.Time
		IsActive      bool
	}
	err := s.db.WithContext(ctx).Table("sessions").
		Select("sessions.user_id, sessions.revoked_at, sessions.idle_expires_at, sessions.expires_at, users.is_active").
		Joins("JOIN users ON users.id = sessions.user_id").
		Where("sessions.id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return uuid.Nil, false, nil
	}
	if err != nil {
		return uuid.Nil, false, storeError(err)
	}
	sess := Session{RevokedAt: row.RevokedAt, IdleExpiresAt: row.IdleExpiresAt, ExpiresAt: row.ExpiresAt}
	return row.UserID, row.IsActive && sess.liveAt(now), nil
}
