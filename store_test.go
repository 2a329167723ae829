package ginauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
)

// stDBPrecision is the coarsest time precision of the databases under test:
// MariaDB/MySQL keep milliseconds (DATETIME(3)), PostgreSQL microseconds,
// SQLite nanoseconds. A time read back is compared within it.
const stDBPrecision = time.Millisecond

// stCase is one named case of a store test, run on a fresh store.
type stCase struct {
	name string
	run  func(t *testing.T, ctx context.Context, s *GormStore)
}

// stRunCases runs every case on every database, each on its own store.
func stRunCases(t *testing.T, cases []stCase) {
	t.Helper()
	for _, kind := range testDatabases() {
		t.Run(kind, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(t, context.Background(), openTestStore(t, kind))
				})
			}
		})
	}
}

// stNewUser returns an active, unsaved user with a password hash.
func stNewUser(email string) *User {
	now := time.Now().UTC()
	return &User{
		ID:             uuid.New(),
		Email:          email,
		HashedPassword: "$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaA",
		IsActive:       true,
		CreatedAt:      now,
		UpdatedAt:      now,
	}
}

// stCreateUser saves a new active user.
func stCreateUser(t *testing.T, s *GormStore, email string) *User {
	t.Helper()
	u := stNewUser(email)
	require.NoError(t, s.CreateUser(context.Background(), u))
	return u
}

// stHash returns a fresh refresh token hash.
func stHash() string { return hashRefreshToken(randomHex(32)) }

// stNewSession returns an unsaved session of a user, started at created,
// idle-expiring an hour later and expiring a day later.
func stNewSession(userID uuid.UUID, created time.Time) *Session {
	return &Session{
		ID:               uuid.New(),
		UserID:           userID,
		RefreshTokenHash: stHash(),
		CreatedAt:        created,
		LastUsedAt:       created,
		IdleExpiresAt:    created.Add(time.Hour),
		ExpiresAt:        created.Add(24 * time.Hour),
		UserAgent:        "store-test/1.0",
		IP:               "192.0.2.10",
	}
}

// stCreateSession saves a new session of a user started at created.
func stCreateSession(t *testing.T, s *GormStore, userID uuid.UUID, created time.Time) *Session {
	t.Helper()
	sess := stNewSession(userID, created)
	require.NoError(t, s.CreateSession(context.Background(), sess))
	return sess
}

// stLinkAccount inserts an OAuth account row directly, as the OAuth code does.
func stLinkAccount(s *GormStore, userID uuid.UUID, provider, accountID string, created time.Time) error {
	return s.DB().Create(&OAuthAccount{
		ID:           uuid.New(),
		UserID:       userID,
		OAuthName:    provider,
		AccountID:    accountID,
		AccountEmail: "linked@example.com",
		AccessToken:  "enc:access",
		RefreshToken: "enc:refresh",
		CreatedAt:    created,
		UpdatedAt:    created,
	}).Error
}

// stCount counts the rows of a table matching a condition.
func stCount(t *testing.T, s *GormStore, table, where string, args ...any) int64 {
	t.Helper()
	var n int64
	require.NoError(t, s.DB().Table(table).Where(where, args...).Count(&n).Error)
	return n
}

// stSessionIDs returns the ids of sessions, in order.
func stSessionIDs(sessions []Session) []uuid.UUID {
	ids := make([]uuid.UUID, len(sessions))
	for i, sess := range sessions {
		ids[i] = sess.ID
	}
	return ids
}

// TestStoreUsers proves the user half of the Store contract on every
// database: users round-trip, a taken email or id is ErrDuplicate (and not
// a 503), a missing user is ErrNotFound, and password updates and deletes
// touch exactly the user named.
func TestStoreUsers(t *testing.T) {
	stRunCases(t, []stCase{
		{"CreateUser then UserByID and UserByEmail return it", func(t *testing.T, ctx context.Context, s *GormStore) {
			u := stNewUser("alice@example.com")
			u.IsVerified, u.IsSuperuser = true, true
			require.NoError(t, s.CreateUser(ctx, u))
			for name, load := range map[string]func() (*User, error){
				"by id":    func() (*User, error) { return s.UserByID(ctx, u.ID) },
				"by email": func() (*User, error) { return s.UserByEmail(ctx, "alice@example.com") },
			} {
				got, err := load()
				require.NoError(t, err, name)
				assert.Equal(t, u.ID, got.ID, name)
				assert.Equal(t, "alice@example.com", got.Email, name)
				assert.Equal(t, u.HashedPassword, got.HashedPassword, name)
				assert.True(t, got.IsActive, name)
				assert.True(t, got.IsVerified, name)
				assert.True(t, got.IsSuperuser, name)
				assert.WithinDuration(t, u.CreatedAt, got.CreatedAt, stDBPrecision, name)
				assert.Empty(t, got.OAuthAccounts, name)
			}
		}},
		{"CreateUser keeps false flags false", func(t *testing.T, ctx context.Context, s *GormStore) {
			u := stNewUser("inactive@example.com")
			u.IsActive = false
			require.NoError(t, s.CreateUser(ctx, u))
			got, err := s.UserByID(ctx, u.ID)
			require.NoError(t, err)
			assert.False(t, got.IsActive)
			assert.False(t, got.IsVerified)
			assert.False(t, got.IsSuperuser)
		}},
		{"CreateUser with a taken email is ErrDuplicate", func(t *testing.T, ctx context.Context, s *GormStore) {
			stCreateUser(t, s, "taken@example.com")
			err := s.CreateUser(ctx, stNewUser("taken@example.com"))
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrDuplicate)
			assert.NotErrorIs(t, err, ErrStoreUnavailable)
			assert.EqualValues(t, 1, stCount(t, s, "users", "email = ?", "taken@example.com"))
		}},
		{"CreateUser with a taken id is ErrDuplicate", func(t *testing.T, ctx context.Context, s *GormStore) {
			first := stCreateUser(t, s, "first@example.com")
			again := stNewUser("second@example.com")
			again.ID = first.ID
			err := s.CreateUser(ctx, again)
			assert.ErrorIs(t, err, ErrDuplicate)
			_, err = s.UserByEmail(ctx, "second@example.com")
			assert.ErrorIs(t, err, ErrNotFound)
		}},
		{"UserByID and UserByEmail of a missing user are ErrNotFound", func(t *testing.T, ctx context.Context, s *GormStore) {
			stCreateUser(t, s, "present@example.com")
			u, err := s.UserByID(ctx, uuid.New())
			assert.ErrorIs(t, err, ErrNotFound)
			assert.Nil(t, u)
			u, err = s.UserByEmail(ctx, "absent@example.com")
			assert.ErrorIs(t, err, ErrNotFound)
			assert.Nil(t, u)
		}},
		{"UpdateUser of HashedPassword replaces the hash of that user only", func(t *testing.T, ctx context.Context, s *GormStore) {
			u := stCreateUser(t, s, "pw@example.com")
			other := stCreateUser(t, s, "other@example.com")
			hash := "$argon2id$new"
			require.NoError(t, s.UpdateUser(ctx, u.ID, UserChanges{HashedPassword: &hash}))
			got, err := s.UserByID(ctx, u.ID)
			require.NoError(t, err)
			assert.Equal(t, "$argon2id$new", got.HashedPassword)
			assert.False(t, got.UpdatedAt.Before(u.UpdatedAt.Add(-stDBPrecision)), "updated_at moved back: %v < %v", got.UpdatedAt, u.UpdatedAt)
			kept, err := s.UserByID(ctx, other.ID)
			require.NoError(t, err)
			assert.Equal(t, other.HashedPassword, kept.HashedPassword)
		}},
		{"UpdateUser of HashedPassword of a missing user is ErrNotFound", func(t *testing.T, ctx context.Context, s *GormStore) {
			hash := "$argon2id$new"
			assert.ErrorIs(t, s.UpdateUser(ctx, uuid.New(), UserChanges{HashedPassword: &hash}), ErrNotFound)
		}},
		{"DeleteUser deletes that user only; a second delete is ErrNotFound", func(t *testing.T, ctx context.Context, s *GormStore) {
			u := stCreateUser(t, s, "gone@example.com")
			other := stCreateUser(t, s, "stays@example.com")
			require.NoError(t, s.DeleteUser(ctx, u.ID))
			_, err := s.UserByID(ctx, u.ID)
			assert.ErrorIs(t, err, ErrNotFound)
			_, err = s.UserByID(ctx, other.ID)
			assert.NoError(t, err)
			assert.ErrorIs(t, s.DeleteUser(ctx, u.ID), ErrNotFound)
			// The email is free again.
			assert.NoError(t, s.CreateUser(ctx, stNewUser("gone@example.com")))
		}},
	})
}

// TestStoreOAuthAccounts proves, on every database, that OAuthAccountsOf
// lists a user's linked accounts in link order, that the unique index on
// (oauth_name, account_id) refuses linking one provider account twice, and
// that deleting a user deletes its OAuth accounts and sessions by foreign
// key cascade while leaving other users' rows alone.
func TestStoreOAuthAccounts(t *testing.T) {
	stRunCases(t, []stCase{
		{"OAuthAccountsOf lists the user's accounts in link order", func(t *testing.T, ctx context.Context, s *GormStore) {
			u := stCreateUser(t, s, "linked@example.com")
			other := stCreateUser(t, s, "other@example.com")
			base := time.Now().UTC().Truncate(time.Second)
			require.NoError(t, stLinkAccount(s, u.ID, "google", "g-1", base.Add(2*time.Second)))
			require.NoError(t, stLinkAccount(s, u.ID, "github", "12345", base.Add(time.Second)))
			require.NoError(t, stLinkAccount(s, other.ID, "discord", "d-1", base))

			accounts, err := s.OAuthAccountsOf(ctx, u.ID)
			require.NoError(t, err)
			require.Len(t, accounts, 2)
			assert.Equal(t, "github", accounts[0].OAuthName)
			assert.Equal(t, "12345", accounts[0].AccountID)
			assert.Equal(t, "enc:access", accounts[0].AccessToken)
			assert.Equal(t, "google", accounts[1].OAuthName)
			for _, a := range accounts {
				assert.Equal(t, u.ID, a.UserID)
			}

			none, err := s.OAuthAccountsOf(ctx, uuid.New())
			require.NoError(t, err)
			assert.Empty(t, none)
		}},
		{"a provider account cannot be linked twice", func(t *testing.T, ctx context.Context, s *GormStore) {
			u := stCreateUser(t, s, "owner@example.com")
			thief := stCreateUser(t, s, "thief@example.com")
			now := time.Now().UTC()
			require.NoError(t, stLinkAccount(s, u.ID, "github", "777", now))

			err := stLinkAccount(s, thief.ID, "github", "777", now)
			require.Error(t, err)
			assert.ErrorIs(t, err, gorm.ErrDuplicatedKey)
			assert.ErrorIs(t, storeError(err), ErrDuplicate)
			assert.Error(t, stLinkAccount(s, u.ID, "github", "777", now), "same user, same account")

			// The same account id at another provider is another account.
			assert.NoError(t, stLinkAccount(s, thief.ID, "gitlab", "777", now))
			assert.EqualValues(t, 1, stCount(t, s, "oauth_accounts", "oauth_name = ? AND account_id = ?", "github", "777"))
			mine, err := s.OAuthAccountsOf(ctx, thief.ID)
			require.NoError(t, err)
			require.Len(t, mine, 1)
			assert.Equal(t, "gitlab", mine[0].OAuthName)
		}},
		{"DeleteUser cascades to oauth_accounts and sessions", func(t *testing.T, ctx context.Context, s *GormStore) {
			u := stCreateUser(t, s, "doomed@example.com")
			other := stCreateUser(t, s, "survivor@example.com")
			now := time.Now().UTC()
			require.NoError(t, stLinkAccount(s, u.ID, "github", "1", now))
			require.NoError(t, stLinkAccount(s, u.ID, "google", "2", now))
			require.NoError(t, stLinkAccount(s, other.ID, "github", "3", now))
			doomed := stCreateSession(t, s, u.ID, now)
			stCreateSession(t, s, u.ID, now)
			kept := stCreateSession(t, s, other.ID, now)

			require.NoError(t, s.DeleteUser(ctx, u.ID))

			assert.EqualValues(t, 0, stCount(t, s, "oauth_accounts", "user_id = ?", u.ID))
			assert.EqualValues(t, 0, stCount(t, s, "sessions", "user_id = ?", u.ID))
			_, err := s.SessionByID(ctx, doomed.ID)
			assert.ErrorIs(t, err, ErrNotFound)
			_, err = s.SessionByRefreshHash(ctx, doomed.RefreshTokenHash)
			assert.ErrorIs(t, err, ErrNotFound)

			assert.EqualValues(t, 1, stCount(t, s, "oauth_accounts", "user_id = ?", other.ID))
			_, err = s.SessionByID(ctx, kept.ID)
			assert.NoError(t, err)
		}},
		{"a session or an account of a missing user is refused", func(t *testing.T, ctx context.Context, s *GormStore) {
			stCreateUser(t, s, "someone@example.com")
			ghost := uuid.New()
			assert.Error(t, s.CreateSession(ctx, stNewSession(ghost, time.Now().UTC())), "foreign key sessions.user_id")
			assert.Error(t, stLinkAccount(s, ghost, "github", "9", time.Now().UTC()), "foreign key oauth_accounts.user_id")
			assert.EqualValues(t, 0, stCount(t, s, "sessions", "user_id = ?", ghost))
			assert.EqualValues(t, 0, stCount(t, s, "oauth_accounts", "user_id = ?", ghost))
		}},
	})
}

// TestStoreSessions proves the session half of the Store contract on every
// database: sessions round-trip and are found by id and by current refresh
// hash, rotation is conditional on the current hash and on the session not
// being revoked, revocation keeps its first time, RevokeUserSessions spares
// the except session and other users and returns exactly what it revoked,
// and SessionsOf lists only live sessions, newest first.
func TestStoreSessions(t *testing.T) {
	stRunCases(t, []stCase{
		{"CreateSession then SessionByID and SessionByRefreshHash return it", func(t *testing.T, ctx context.Context, s *GormStore) {
			u := stCreateUser(t, s, "s@example.com")
			created := time.Now().UTC()
			sess := stNewSession(u.ID, created)
			require.NoError(t, s.CreateSession(ctx, sess))
			for name, load := range map[string]func() (*Session, error){
				"by id":   func() (*Session, error) { return s.SessionByID(ctx, sess.ID) },
				"by hash": func() (*Session, error) { return s.SessionByRefreshHash(ctx, sess.RefreshTokenHash) },
			} {
				got, err := load()
				require.NoError(t, err, name)
				assert.Equal(t, sess.ID, got.ID, name)
				assert.Equal(t, u.ID, got.UserID, name)
				assert.Equal(t, sess.RefreshTokenHash, got.RefreshTokenHash, name)
				assert.Equal(t, "store-test/1.0", got.UserAgent, name)
				assert.Equal(t, "192.0.2.10", got.IP, name)
				assert.Nil(t, got.RevokedAt, name)
				assert.WithinDuration(t, sess.CreatedAt, got.CreatedAt, stDBPrecision, name)
				assert.WithinDuration(t, sess.LastUsedAt, got.LastUsedAt, stDBPrecision, name)
				assert.WithinDuration(t, sess.IdleExpiresAt, got.IdleExpiresAt, stDBPrecision, name)
				assert.WithinDuration(t, sess.ExpiresAt, got.ExpiresAt, stDBPrecision, name)
				assert.True(t, got.liveAt(created), name)
			}
		}},
		{"SessionByID and SessionByRefreshHash of a missing session are ErrNotFound", func(t *testing.T, ctx context.Context, s *GormStore) {
			u := stCreateUser(t, s, "s@example.com")
			stCreateSession(t, s, u.ID, time.Now().UTC())
			got, err := s.SessionByID(ctx, uuid.New())
			assert.ErrorIs(t, err, ErrNotFound)
			assert.Nil(t, got)
			got, err = s.SessionByRefreshHash(ctx, stHash())
			assert.ErrorIs(t, err, ErrNotFound)
			assert.Nil(t, got)
		}},
		{"CreateSession with a taken refresh hash is ErrDuplicate", func(t *testing.T, ctx context.Context, s *GormStore) {
			u := stCreateUser(t, s, "s@example.com")
			first := stCreateSession(t, s, u.ID, time.Now().UTC())
			again := stNewSession(u.ID, time.Now().UTC())
			again.RefreshTokenHash = first.RefreshTokenHash
			assert.ErrorIs(t, s.CreateSession(ctx, again), ErrDuplicate)
		}},
		{"RotateRefreshToken swaps the hash; the old one is dead", func(t *testing.T, ctx context.Context, s *GormStore) {
			u := stCreateUser(t, s, "s@example.com")
			created := time.Now().UTC().Add(-time.Minute)
			sess := stCreateSession(t, s, u.ID, created)
			used := created.Add(30 * time.Second)
			newHash := stHash()

			require.NoError(t, s.RotateRefreshToken(ctx, sess.ID, sess.RefreshTokenHash, newHash, used, used.Add(2*time.Hour)))

			got, err := s.SessionByRefreshHash(ctx, newHash)
			require.NoError(t, err)
			assert.Equal(t, sess.ID, got.ID)
			assert.WithinDuration(t, used, got.LastUsedAt, stDBPrecision)
			assert.WithinDuration(t, used.Add(2*time.Hour), got.IdleExpiresAt, stDBPrecision)
			assert.WithinDuration(t, sess.ExpiresAt, got.ExpiresAt, stDBPrecision, "the absolute expiry never moves")
			assert.WithinDuration(t, created, got.CreatedAt, stDBPrecision)
			_, err = s.SessionByRefreshHash(ctx, sess.RefreshTokenHash)
			assert.ErrorIs(t, err, ErrNotFound)

			// Presenting the old hash again: a concurrent rotation already won.
			err = s.RotateRefreshToken(ctx, sess.ID, sess.RefreshTokenHash, stHash(), used, used.Add(time.Hour))
			assert.ErrorIs(t, err, ErrNotFound)
			got, err = s.SessionByID(ctx, sess.ID)
			require.NoError(t, err)
			assert.Equal(t, newHash, got.RefreshTokenHash, "a failed rotation changes nothing")
		}},
		{"RotateRefreshToken of a revoked session is ErrNotFound", func(t *testing.T, ctx context.Context, s *GormStore) {
			u := stCreateUser(t, s, "s@example.com")
			now := time.Now().UTC()
			sess := stCreateSession(t, s, u.ID, now)
			require.NoError(t, s.RevokeSession(ctx, sess.ID, now))
			err := s.RotateRefreshToken(ctx, sess.ID, sess.RefreshTokenHash, stHash(), now, now.Add(time.Hour))
			assert.ErrorIs(t, err, ErrNotFound)
			got, err := s.SessionByID(ctx, sess.ID)
			require.NoError(t, err)
			assert.Equal(t, sess.RefreshTokenHash, got.RefreshTokenHash)
		}},
		{"RotateRefreshToken needs the hash of that session", func(t *testing.T, ctx context.Context, s *GormStore) {
			u := stCreateUser(t, s, "s@example.com")
			now := time.Now().UTC()
			mine := stCreateSession(t, s, u.ID, now)
			theirs := stCreateSession(t, s, u.ID, now)
			err := s.RotateRefreshToken(ctx, mine.ID, theirs.RefreshTokenHash, stHash(), now, now.Add(time.Hour))
			assert.ErrorIs(t, err, ErrNotFound)
			err = s.RotateRefreshToken(ctx, uuid.New(), mine.RefreshTokenHash, stHash(), now, now.Add(time.Hour))
			assert.ErrorIs(t, err, ErrNotFound)
		}},
		{"RotateRefreshToken that changes no column still succeeds", func(t *testing.T, ctx context.Context, s *GormStore) {
			// MySQL reports rows changed, not rows matched, unless told
			// otherwise: a matching row left as it was must not read as
			// "no such session".
			u := stCreateUser(t, s, "s@example.com")
			now := time.Now().UTC().Truncate(time.Second)
			sess := stCreateSession(t, s, u.ID, now)
			require.NoError(t, s.RotateRefreshToken(ctx, sess.ID, sess.RefreshTokenHash, sess.RefreshTokenHash, sess.LastUsedAt, sess.IdleExpiresAt))
			require.NoError(t, s.UpdateUser(ctx, u.ID, UserChanges{HashedPassword: &u.HashedPassword}))
		}},
		{"RevokeSession marks it revoked once; missing sessions are no error", func(t *testing.T, ctx context.Context, s *GormStore) {
			u := stCreateUser(t, s, "s@example.com")
			now := time.Now().UTC().Truncate(time.Second)
			sess := stCreateSession(t, s, u.ID, now)
			other := stCreateSession(t, s, u.ID, now)

			require.NoError(t, s.RevokeSession(ctx, sess.ID, now.Add(time.Minute)))
			require.NoError(t, s.RevokeSession(ctx, sess.ID, now.Add(time.Hour)))
			require.NoError(t, s.RevokeSession(ctx, uuid.New(), now))

			got, err := s.SessionByID(ctx, sess.ID)
			require.NoError(t, err)
			require.NotNil(t, got.RevokedAt)
			assert.True(t, got.RevokedAt.Equal(now.Add(time.Minute)), "the first revocation time is kept, got %v", got.RevokedAt)
			kept, err := s.SessionByID(ctx, other.ID)
			require.NoError(t, err)
			assert.Nil(t, kept.RevokedAt)
		}},
		{"RevokeUserSessions revokes all but except and returns their ids", func(t *testing.T, ctx context.Context, s *GormStore) {
			u := stCreateUser(t, s, "s@example.com")
			other := stCreateUser(t, s, "other@example.com")
			now := time.Now().UTC().Truncate(time.Second)
			current := stCreateSession(t, s, u.ID, now)
			a := stCreateSession(t, s, u.ID, now)
			b := stCreateSession(t, s, u.ID, now)
			old := stCreateSession(t, s, u.ID, now)
			require.NoError(t, s.RevokeSession(ctx, old.ID, now))
			theirs := stCreateSession(t, s, other.ID, now)

			ids, err := s.RevokeUserSessions(ctx, u.ID, current.ID, now.Add(time.Minute))
			require.NoError(t, err)
			assert.ElementsMatch(t, []uuid.UUID{a.ID, b.ID}, ids)

			for _, id := range []uuid.UUID{a.ID, b.ID} {
				got, err := s.SessionByID(ctx, id)
				require.NoError(t, err)
				require.NotNil(t, got.RevokedAt)
				assert.True(t, got.RevokedAt.Equal(now.Add(time.Minute)))
			}
			for _, id := range []uuid.UUID{current.ID, theirs.ID} {
				got, err := s.SessionByID(ctx, id)
				require.NoError(t, err)
				assert.Nil(t, got.RevokedAt)
			}
			got, err := s.SessionByID(ctx, old.ID)
			require.NoError(t, err)
			require.NotNil(t, got.RevokedAt)
			assert.True(t, got.RevokedAt.Equal(now), "an earlier revocation is not overwritten")

			ids, err = s.RevokeUserSessions(ctx, u.ID, uuid.Nil, now.Add(time.Hour))
			require.NoError(t, err)
			assert.Equal(t, []uuid.UUID{current.ID}, ids)
			ids, err = s.RevokeUserSessions(ctx, u.ID, uuid.Nil, now.Add(time.Hour))
			require.NoError(t, err)
			assert.Empty(t, ids)
			ids, err = s.RevokeUserSessions(ctx, uuid.New(), uuid.Nil, now)
			require.NoError(t, err)
			assert.Empty(t, ids)
			owner, live, err := s.SessionLive(ctx, theirs.ID, now)
			require.NoError(t, err)
			assert.True(t, live, "another user's session survives")
			assert.Equal(t, other.ID, owner)
		}},
		{"SessionsOf lists live sessions only, newest first", func(t *testing.T, ctx context.Context, s *GormStore) {
			u := stCreateUser(t, s, "s@example.com")
			other := stCreateUser(t, s, "other@example.com")
			now := time.Now().UTC().Truncate(time.Second)
			oldest := stCreateSession(t, s, u.ID, now.Add(-3*time.Minute))
			newest := stCreateSession(t, s, u.ID, now.Add(-10*time.Second))
			middle := stCreateSession(t, s, u.ID, now.Add(-2*time.Minute))
			revoked := stCreateSession(t, s, u.ID, now.Add(-time.Second))
			require.NoError(t, s.RevokeSession(ctx, revoked.ID, now))
			idle := stNewSession(u.ID, now.Add(-5*time.Second))
			idle.IdleExpiresAt = now.Add(-time.Second)
			require.NoError(t, s.CreateSession(ctx, idle))
			expired := stNewSession(u.ID, now.Add(-4*time.Second))
			expired.ExpiresAt = now
			require.NoError(t, s.CreateSession(ctx, expired))
			stCreateSession(t, s, other.ID, now)

			got, err := s.SessionsOf(ctx, u.ID, now)
			require.NoError(t, err)
			assert.Equal(t, []uuid.UUID{newest.ID, middle.ID, oldest.ID}, stSessionIDs(got))

			none, err := s.SessionsOf(ctx, uuid.New(), now)
			require.NoError(t, err)
			assert.Empty(t, none)
		}},
	})
}

// TestStoreSessionLive proves, on every database, that SessionLive is true
// only for an existing, unrevoked, unexpired session of an existing, active
// user, that it reports that user as the owner (never another user, so the
// caller can refuse a token claiming someone else), and that the expiry
// decision survives each database's sub-second precision (milliseconds on MariaDB): a session is live a millisecond before
// its expiry and dead a millisecond after it.
func TestStoreSessionLive(t *testing.T) {
	// Whole seconds survive every database exactly; the odd nanoseconds of
	// frac do not, which is the point of the precision cases.
	base := time.Now().UTC().Truncate(time.Second)
	frac := 123456789 * time.Nanosecond
	cases := []struct {
		name     string
		active   bool
		edit     func(*Session)
		revoke   bool
		delete   bool
		missing  bool
		stranger bool          // another, existing and active, user exists
		at       time.Duration // SessionLive's now, from base
		want     bool
	}{
		{name: "live", active: true, at: time.Minute, want: true},
		{name: "missing session", active: true, missing: true, at: time.Minute},
		{name: "another user's session", active: true, stranger: true, at: time.Minute, want: true},
		{name: "revoked", active: true, revoke: true, at: time.Minute},
		{name: "idle-expired", active: true, edit: func(s *Session) { s.IdleExpiresAt = base.Add(time.Minute) }, at: 2 * time.Minute},
		{name: "absolutely expired", active: true, edit: func(s *Session) { s.ExpiresAt = base.Add(time.Minute) }, at: 2 * time.Minute},
		{name: "absolute expiry wins over a later idle expiry", active: true, edit: func(s *Session) {
			s.ExpiresAt, s.IdleExpiresAt = base.Add(time.Minute), base.Add(time.Hour)
		}, at: 2 * time.Minute},
		{name: "at exactly the idle expiry", active: true, edit: func(s *Session) { s.IdleExpiresAt = base.Add(time.Minute) }, at: time.Minute},
		{name: "at exactly the absolute expiry", active: true, edit: func(s *Session) { s.ExpiresAt = base.Add(time.Minute) }, at: time.Minute},
		{name: "inactive user", active: false, at: time.Minute},
		{name: "deleted user", active: true, delete: true, at: time.Minute},
		{name: "a millisecond before a sub-millisecond idle expiry", active: true, edit: func(s *Session) { s.IdleExpiresAt = base.Add(time.Minute + frac) }, at: time.Minute + frac - time.Millisecond, want: true},
		{name: "a millisecond after a sub-millisecond idle expiry", active: true, edit: func(s *Session) { s.IdleExpiresAt = base.Add(time.Minute + frac) }, at: time.Minute + frac + time.Millisecond},
		{name: "a millisecond before a sub-millisecond absolute expiry", active: true, edit: func(s *Session) { s.ExpiresAt = base.Add(time.Minute + frac) }, at: time.Minute + frac - time.Millisecond, want: true},
		{name: "a millisecond after a sub-millisecond absolute expiry", active: true, edit: func(s *Session) { s.ExpiresAt = base.Add(time.Minute + frac) }, at: time.Minute + frac + time.Millisecond},
	}
	for _, kind := range testDatabases() {
		t.Run(kind, func(t *testing.T) {
			s := openTestStore(t, kind)
			ctx := context.Background()
			for i, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					u := stNewUser(fmt.Sprintf("live%d@example.com", i))
					u.IsActive = tc.active
					require.NoError(t, s.CreateUser(ctx, u))
					sess := stNewSession(u.ID, base)
					if tc.edit != nil {
						tc.edit(sess)
					}
					id := sess.ID
					if tc.missing {
						id = uuid.New()
					}
					require.NoError(t, s.CreateSession(ctx, sess))
					if tc.revoke {
						require.NoError(t, s.RevokeSession(ctx, sess.ID, base))
					}
					if tc.delete {
						require.NoError(t, s.DeleteUser(ctx, u.ID))
					}

					owner, live, err := s.SessionLive(ctx, id, base.Add(tc.at))
					require.NoError(t, err)
					assert.Equal(t, tc.want, live)
					if tc.missing || tc.delete {
						assert.Equal(t, uuid.Nil, owner)
					} else {
						assert.Equal(t, u.ID, owner, "the session's own user")
					}
					if tc.stranger {
						stranger := stNewUser(fmt.Sprintf("stranger%d@example.com", i))
						stranger.IsActive, stranger.IsSuperuser = true, true
						require.NoError(t, s.CreateUser(ctx, stranger))
						owner, live, err := s.SessionLive(ctx, id, base.Add(tc.at))
						require.NoError(t, err)
						assert.True(t, live, "the session is live for its owner")
						assert.NotEqual(t, stranger.ID, owner, "never the stranger's")
					}
				})
			}
		})
	}
}

// TestStoreTimes proves, on every database, that times keep their instant
// whatever zone the caller gives them in (Auth's clock is time.Now, local
// time), come back comparable to UTC within the database's precision, and
// that SessionsOf orders by instant, not by how a zone happens to spell it.
func TestStoreTimes(t *testing.T) {
	east := time.FixedZone("UTC+5", 5*3600)
	west := time.FixedZone("UTC-8", -8*3600)
	for _, kind := range testDatabases() {
		t.Run(kind, func(t *testing.T) {
			s := openTestStore(t, kind)
			ctx := context.Background()
			u := stCreateUser(t, s, "tz@example.com")
			base := time.Now().UTC().Truncate(time.Second).Add(-time.Hour)

			// Newest first by instant is west, utc, east; spelled in their
			// own zones, east's wall clock is the latest and west's the earliest.
			inEast := stCreateSession(t, s, u.ID, base.In(east))
			inUTC := stCreateSession(t, s, u.ID, base.Add(10*time.Minute))
			inWest := stCreateSession(t, s, u.ID, base.Add(20*time.Minute).In(west))

			t.Run("instants round-trip", func(t *testing.T) {
				for _, want := range []*Session{inEast, inUTC, inWest} {
					got, err := s.SessionByID(ctx, want.ID)
					require.NoError(t, err)
					assert.True(t, got.CreatedAt.Equal(want.CreatedAt), "created_at %v, want %v", got.CreatedAt, want.CreatedAt)
					assert.True(t, got.ExpiresAt.Equal(want.ExpiresAt), "expires_at %v, want %v", got.ExpiresAt, want.ExpiresAt)
					assert.Equal(t, want.CreatedAt.UTC().Format(time.RFC3339), got.CreatedAt.UTC().Format(time.RFC3339))
				}
			})
			t.Run("sub-second precision", func(t *testing.T) {
				precise := base.Add(2*time.Hour + 987654321*time.Nanosecond)
				sess := stCreateSession(t, s, stCreateUser(t, s, "precise@example.com").ID, precise)
				got, err := s.SessionByID(ctx, sess.ID)
				require.NoError(t, err)
				assert.WithinDuration(t, precise, got.CreatedAt, stDBPrecision)
				assert.WithinDuration(t, precise.Add(time.Hour), got.IdleExpiresAt, stDBPrecision)
				assert.True(t, got.CreatedAt.Sub(precise.Truncate(time.Second)) >= 900*time.Millisecond, "fraction kept: %v", got.CreatedAt)
			})
			t.Run("SessionsOf orders by instant across zones", func(t *testing.T) {
				got, err := s.SessionsOf(ctx, u.ID, base.Add(30*time.Minute))
				require.NoError(t, err)
				assert.Equal(t, []uuid.UUID{inWest.ID, inUTC.ID, inEast.ID}, stSessionIDs(got))
			})
			t.Run("the database orders written times by instant", func(t *testing.T) {
				// For the app's own queries through DB(): rotation and
				// revocation times given in zones whose wall clocks disagree
				// with their instants must still sort by instant in SQL.
				other := stCreateUser(t, s, "tz-sql@example.com")
				a := stCreateSession(t, s, other.ID, base)
				b := stCreateSession(t, s, other.ID, base)
				later, earlier := base.Add(10*time.Minute).In(west), base.Add(5*time.Minute).In(east)
				require.NoError(t, s.RotateRefreshToken(ctx, a.ID, a.RefreshTokenHash, stHash(), later, later.Add(time.Hour)))
				require.NoError(t, s.RotateRefreshToken(ctx, b.ID, b.RefreshTokenHash, stHash(), earlier, earlier.Add(time.Hour)))
				var byUse, byIdle []uuid.UUID
				require.NoError(t, s.DB().Model(&Session{}).Where("user_id = ?", other.ID).Order("last_used_at DESC").Pluck("id", &byUse).Error)
				require.NoError(t, s.DB().Model(&Session{}).Where("user_id = ?", other.ID).Order("idle_expires_at DESC").Pluck("id", &byIdle).Error)
				assert.Equal(t, []uuid.UUID{a.ID, b.ID}, byUse)
				assert.Equal(t, []uuid.UUID{a.ID, b.ID}, byIdle)

				require.NoError(t, s.RevokeSession(ctx, a.ID, later))
				require.NoError(t, s.RevokeSession(ctx, b.ID, earlier))
				var byRevoke []uuid.UUID
				require.NoError(t, s.DB().Model(&Session{}).Where("user_id = ?", other.ID).Order("revoked_at DESC").Pluck("id", &byRevoke).Error)
				assert.Equal(t, []uuid.UUID{a.ID, b.ID}, byRevoke)

				c := stCreateSession(t, s, other.ID, base)
				_, err := s.RevokeUserSessions(ctx, other.ID, uuid.Nil, base.Add(15*time.Minute).In(west))
				require.NoError(t, err)
				byRevoke = nil
				require.NoError(t, s.DB().Model(&Session{}).Where("user_id = ?", other.ID).Order("revoked_at DESC").Pluck("id", &byRevoke).Error)
				assert.Equal(t, []uuid.UUID{c.ID, a.ID, b.ID}, byRevoke)

				newer, older := stNewUser("newer@example.com"), stNewUser("older@example.com")
				newer.CreatedAt, newer.UpdatedAt = later, later
				older.CreatedAt, older.UpdatedAt = earlier, earlier
				require.NoError(t, s.CreateUser(ctx, newer))
				require.NoError(t, s.CreateUser(ctx, older))
				var byCreation []string
				require.NoError(t, s.DB().Model(&User{}).Where("email IN ?", []string{"newer@example.com", "older@example.com"}).
					Order("created_at DESC").Pluck("email", &byCreation).Error)
				assert.Equal(t, []string{"newer@example.com", "older@example.com"}, byCreation)
			})
			t.Run("revocation time in another zone", func(t *testing.T) {
				at := base.Add(25 * time.Minute).In(west)
				require.NoError(t, s.RevokeSession(ctx, inUTC.ID, at))
				got, err := s.SessionByID(ctx, inUTC.ID)
				require.NoError(t, err)
				require.NotNil(t, got.RevokedAt)
				assert.True(t, got.RevokedAt.Equal(at), "revoked_at %v, want %v", got.RevokedAt, at)
			})
		})
	}
}

// TestStoreUnavailable proves, on every database, that a broken database
// (its connections closed under the store) is ErrStoreUnavailable from
// every Store method, never ErrNotFound or a false "not live" without an
// error, so the HTTP layer answers 503 SERVICE_UNAVAILABLE without leaking
// the driver's message; and that a cancelled context stays a cancellation.
func TestStoreUnavailable(t *testing.T) {
	for _, kind := range testDatabases() {
		t.Run(kind, func(t *testing.T) {
			s := openTestStore(t, kind)
			ctx := context.Background()
			u := stCreateUser(t, s, "down@example.com")
			sess := stCreateSession(t, s, u.ID, time.Now().UTC())
			now := time.Now().UTC()

			t.Run("cancelled context", func(t *testing.T) {
				cancelled, cancel := context.WithCancel(ctx)
				cancel()
				_, err := s.UserByID(cancelled, u.ID)
				assert.ErrorIs(t, err, context.Canceled)
				assert.NotErrorIs(t, err, ErrNotFound)
			})

			sqlDB, err := s.DB().DB()
			require.NoError(t, err)
			require.NoError(t, sqlDB.Close())

			calls := map[string]func(t *testing.T) error{
				"CreateUser":           func(*testing.T) error { return s.CreateUser(ctx, stNewUser("new@example.com")) },
				"UserByID":             func(*testing.T) error { _, err := s.UserByID(ctx, u.ID); return err },
				"UserByEmail":          func(*testing.T) error { _, err := s.UserByEmail(ctx, u.Email); return err },
				"OAuthAccountsOf":      func(*testing.T) error { _, err := s.OAuthAccountsOf(ctx, u.ID); return err },
				"UpdateUser":           func(*testing.T) error { return s.UpdateUser(ctx, u.ID, UserChanges{HashedPassword: &u.HashedPassword}) },
				"DeleteUser":           func(*testing.T) error { return s.DeleteUser(ctx, u.ID) },
				"CreateSession":        func(*testing.T) error { return s.CreateSession(ctx, stNewSession(u.ID, now)) },
				"SessionByID":          func(*testing.T) error { _, err := s.SessionByID(ctx, sess.ID); return err },
				"SessionByRefreshHash": func(*testing.T) error { _, err := s.SessionByRefreshHash(ctx, sess.RefreshTokenHash); return err },
				"RotateRefreshToken": func(*testing.T) error {
					return s.RotateRefreshToken(ctx, sess.ID, sess.RefreshTokenHash, stHash(), now, now.Add(time.Hour))
				},
				"RevokeSession":      func(*testing.T) error { return s.RevokeSession(ctx, sess.ID, now) },
				"RevokeUserSessions": func(*testing.T) error { _, err := s.RevokeUserSessions(ctx, u.ID, uuid.Nil, now); return err },
				"SessionsOf":         func(*testing.T) error { _, err := s.SessionsOf(ctx, u.ID, now); return err },
				"SessionLive": func(t *testing.T) error {
					_, live, err := s.SessionLive(ctx, sess.ID, now)
					assert.False(t, live, "a store that cannot answer never says live")
					return err
				},
			}
			for name, call := range calls {
				t.Run(name, func(t *testing.T) {
					err := call(t)
					assert.ErrorIs(t, err, ErrStoreUnavailable)
					assert.NotErrorIs(t, err, ErrNotFound)
					assert.NotErrorIs(t, err, ErrDuplicate)
				})
			}

			t.Run("HTTP answers 503", func(t *testing.T) {
				srv := newTestServer(t, newTestAuthOn(t, s, func(cfg *Config) {
					cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
				}))
				for _, path := range []string{"/auth/register", "/auth/login"} {
					res := do(t, srv, http.MethodPost, path, map[string]string{"email": "new@example.com", "password": "correct horse battery"}, "")
					assert.Equal(t, http.StatusServiceUnavailable, res.Status, "%s: %s", path, res.Body)
					assert.Equal(t, string(CodeServiceUnavailable), res.Detail(t), path)
					assert.NotContains(t, strings.ToLower(string(res.Body)), "closed", path)
				}
			})
		})
	}
}

// stLockedLog is a concurrency-safe log sink for the HTTP tests.
type stLockedLog struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (l *stLockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *stLockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// stMixedCase spells an email with its letters upper-cased by the bits of
// mask: distinct masks (below 2^letters) give distinct spellings.
func stMixedCase(email string, mask uint) string {
	b := []byte(email)
	letter := 0
	for j, c := range b {
		if c < 'a' || c > 'z' {
			continue
		}
		if mask>>letter&1 == 1 {
			b[j] = c - 'a' + 'A'
		}
		letter++
	}
	return string(b)
}

// stPostJSON posts a JSON body without touching t, so it can run on any
// goroutine.
func stPostJSON(url, body string) (int, string, error) {
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw), err
}

// TestConcurrentRegistrationOneEmail proves that the unique index, not a
// check-then-insert, decides registration: 50 concurrent POST /auth/register
// of one email spelled in 50 different letter cases give exactly one 201 and
// 49 × 400 REGISTER_USER_ALREADY_EXISTS, leave exactly one row in users (in
// canonical lower case), on SQLite, PostgreSQL and MariaDB; and that on
// SQLite no request fails with "database is locked" (500/503).
func TestConcurrentRegistrationOneEmail(t *testing.T) {
	const n = 50
	for _, kind := range testDatabases() {
		t.Run(kind, func(t *testing.T) {
			store := openTestStore(t, kind)
			logs := &stLockedLog{}
			srv := newTestServer(t, newTestAuthOn(t, store, func(cfg *Config) {
				cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
			}))

			// Multiplying by an odd number permutes the 14-bit masks of
			// "race@example.com"'s 14 letters, so the 50 spellings differ;
			// mask 0 is the canonical one.
			emails := make([]string, n)
			seen := map[string]bool{}
			for i := range emails {
				emails[i] = stMixedCase("race@example.com", uint(i)*0x2ab5%(1<<14))
				seen[emails[i]] = true
			}
			require.Len(t, seen, n, "the spellings must differ")
			require.Equal(t, "race@example.com", emails[0])
			require.Equal(t, "RACE@EXAMPLE.COM", stMixedCase("race@example.com", 1<<14-1))

			type result struct {
				email, body string
				status      int
				err         error
			}
			results := make([]result, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i, email := range emails {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					body := fmt.Sprintf(`{"email": %q, "password": "correct horse battery"}`, email)
					status, resBody, err := stPostJSON(srv.URL+"/auth/register", body)
					results[i] = result{email: email, body: resBody, status: status, err: err}
				}()
			}
			close(start)
			wg.Wait()

			created, exists := 0, 0
			for _, r := range results {
				require.NoError(t, r.err, r.email)
				switch {
				case r.status == http.StatusCreated:
					created++
					assert.Contains(t, r.body, `"email":"race@example.com"`, "the stored email is canonical")
				case r.status == http.StatusBadRequest && strings.Contains(r.body, `"`+string(CodeRegisterUserAlreadyExists)+`"`):
					exists++
				default:
					t.Errorf("%s: unexpected %d %s", r.email, r.status, r.body)
				}
			}
			assert.Equal(t, 1, created, "exactly one registration wins")
			assert.Equal(t, n-1, exists, "every other one is told the user exists")

			var emailsStored []string
			require.NoError(t, store.DB().Table("users").Pluck("email", &emailsStored).Error)
			assert.Equal(t, []string{"race@example.com"}, emailsStored)
			assert.NotContains(t, logs.String(), "database is locked")
			assert.NotContains(t, logs.String(), "store unavailable")
		})
	}
}

// TestConcurrentRefreshRotation proves, on every database, that
// RotateRefreshToken is atomic: of 20 concurrent rotations from the same
// current hash exactly one succeeds, every other one is ErrNotFound (never
// another error), and the session ends up holding the winner's hash.
func TestConcurrentRefreshRotation(t *testing.T) {
	const n = 20
	for _, kind := range testDatabases() {
		t.Run(kind, func(t *testing.T) {
			s := openTestStore(t, kind)
			ctx := context.Background()
			u := stCreateUser(t, s, "rotate@example.com")
			now := time.Now().UTC()
			sess := stCreateSession(t, s, u.ID, now)

			hashes := make([]string, n)
			errs := make([]error, n)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				hashes[i] = stHash()
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					errs[i] = s.RotateRefreshToken(ctx, sess.ID, sess.RefreshTokenHash, hashes[i], now, now.Add(time.Hour))
				}()
			}
			close(start)
			wg.Wait()

			winner := -1
			for i, err := range errs {
				if err == nil {
					assert.Equal(t, -1, winner, "two rotations won: %d and %d", winner, i)
					winner = i
					continue
				}
				assert.ErrorIs(t, err, ErrNotFound, "rotation %d", i)
			}
			require.NotEqual(t, -1, winner, "one rotation must win")
			got, err := s.SessionByID(ctx, sess.ID)
			require.NoError(t, err)
			assert.Equal(t, hashes[winner], got.RefreshTokenHash)
		})
	}
}

// TestConcurrentSessionWrites proves that concurrent sign-ins, refreshes
// and "sign out my other sessions" (session inserts, chained rotations,
// RevokeUserSessions' read-then-write transaction, liveness checks and
// listings, from 16 goroutines at once) all succeed, on every database and
// in particular on SQLite, where a missing busy timeout or a deferred
// transaction that has to upgrade its lock shows up as "database is
// locked"; and that each user ends with exactly its newest session live.
func TestConcurrentSessionWrites(t *testing.T) {
	const workers, rotations = 16, 6
	for _, kind := range testDatabases() {
		t.Run(kind, func(t *testing.T) {
			s := openTestStore(t, kind)
			ctx := context.Background()
			users := make([]*User, workers)
			for w := range users {
				users[w] = stCreateUser(t, s, fmt.Sprintf("worker%d@example.com", w))
			}

			type outcome struct {
				old, current uuid.UUID
				lastHash     string
				errs         []error
			}
			outcomes := make([]outcome, workers)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					out := &outcomes[w]
					check := func(step string, err error) bool {
						if err != nil {
							out.errs = append(out.errs, fmt.Errorf("%s: %w", step, err))
						}
						return err == nil
					}
					user := users[w]
					now := time.Now().UTC()
					// Sign in on one device and refresh there.
					first := stNewSession(user.ID, now)
					if !check("create first", s.CreateSession(ctx, first)) {
						return
					}
					if !check("rotate first", s.RotateRefreshToken(ctx, first.ID, first.RefreshTokenHash, stHash(), now, now.Add(time.Hour))) {
						return
					}
					// Sign in on another, then sign out everywhere else.
					second := stNewSession(user.ID, now.Add(time.Second))
					if !check("create second", s.CreateSession(ctx, second)) {
						return
					}
					out.old, out.current = first.ID, second.ID
					revoked, err := s.RevokeUserSessions(ctx, user.ID, second.ID, now.Add(time.Second))
					if check("revoke others", err) && !assert.ObjectsAreEqual([]uuid.UUID{first.ID}, revoked) {
						check("revoke others", fmt.Errorf("revoked %v, want only %v", revoked, first.ID))
					}
					hash := second.RefreshTokenHash
					for r := range rotations {
						next := stHash()
						used := now.Add(time.Duration(r+2) * time.Second)
						if !check("rotate second", s.RotateRefreshToken(ctx, second.ID, hash, next, used, used.Add(time.Hour))) {
							return
						}
						hash = next
						_, live, err := s.SessionLive(ctx, second.ID, used)
						if check("live", err) && !live {
							check("live", errors.New("a fresh session reads as dead"))
						}
						_, err = s.SessionsOf(ctx, user.ID, used)
						check("list", err)
					}
					out.lastHash = hash
				}()
			}
			close(start)
			wg.Wait()

			later := time.Now().UTC().Add(time.Minute)
			for w, out := range outcomes {
				for _, err := range out.errs {
					assert.NotContains(t, err.Error(), "locked", "worker %d", w)
					assert.NoError(t, err, "worker %d", w)
				}
				if len(out.errs) > 0 {
					continue
				}
				got, err := s.SessionByRefreshHash(ctx, out.lastHash)
				require.NoError(t, err, "worker %d", w)
				assert.Equal(t, out.current, got.ID, "worker %d", w)
				live, err := s.SessionsOf(ctx, users[w].ID, later)
				require.NoError(t, err)
				assert.Equal(t, []uuid.UUID{out.current}, stSessionIDs(live), "worker %d", w)
			}
			assert.EqualValues(t, 2*workers, stCount(t, s, "sessions", "1 = 1"))
		})
	}
}

// TestStoreEmailsMatchExactly proves that on every database an email
// matches only itself: MariaDB's default collation would match "jose@" to
// "josé@" and let one user sign in as the other. After migration the
// column compares bytes, so the two are two users.
func TestStoreEmailsMatchExactly(t *testing.T) {
	for _, kind := range testDatabases() {
		t.Run(kind, func(t *testing.T) {
			s := openTestStore(t, kind)
			ctx := context.Background()
			jose := stCreateUser(t, s, "josé@example.com")

			_, err := s.UserByEmail(ctx, "jose@example.com")
			require.ErrorIs(t, err, ErrNotFound, "an accent-insensitive match is not this user")
			found, err := s.UserByEmail(ctx, "josé@example.com")
			require.NoError(t, err)
			assert.Equal(t, jose.ID, found.ID)

			other := stNewUser("jose@example.com")
			require.NoError(t, s.CreateUser(ctx, other), "the accent-less address is another user")
			found, err = s.UserByEmail(ctx, "jose@example.com")
			require.NoError(t, err)
			assert.Equal(t, other.ID, found.ID)
		})
	}
}
