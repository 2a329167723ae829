package ginauth

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStoreUpdateUser proves Store.UpdateUser on every database: it sets
// exactly the given fields of exactly the named user, refuses a taken email
// with ErrDuplicate, a missing user with ErrNotFound, and writes nothing
// when an If precondition no longer holds.
func TestStoreUpdateUser(t *testing.T) {
	stRunCases(t, []stCase{
		{"sets the given fields only", func(t *testing.T, ctx context.Context, s *GormStore) {
			u := stCreateUser(t, s, "uu-a@example.com")
			other := stCreateUser(t, s, "uu-b@example.com")
			email, hash, yes, no := "uu-a2@example.com", "$argon2id$new", true, false
			require.NoError(t, s.UpdateUser(ctx, u.ID, UserChanges{Email: &email, HashedPassword: &hash, IsSuperuser: &yes, IsVerified: &yes, IsActive: &no}))
			got, err := s.UserByID(ctx, u.ID)
			require.NoError(t, err)
			assert.Equal(t, email, got.Email)
			assert.Equal(t, hash, got.HashedPassword)
			assert.True(t, got.IsSuperuser)
			assert.True(t, got.IsVerified)
			assert.False(t, got.IsActive)
			assert.WithinDuration(t, u.CreatedAt, got.CreatedAt, stDBPrecision)
			assert.False(t, got.UpdatedAt.Before(u.UpdatedAt.Add(-stDBPrecision)))

			// A nil field stays.
			require.NoError(t, s.UpdateUser(ctx, u.ID, UserChanges{IsActive: &yes}))
			got, err = s.UserByID(ctx, u.ID)
			require.NoError(t, err)
			assert.Equal(t, email, got.Email)
			assert.Equal(t, hash, got.HashedPassword)
			assert.True(t, got.IsActive)

			untouched, err := s.UserByID(ctx, other.ID)
			require.NoError(t, err)
			assert.Equal(t, other.Email, untouched.Email)
			assert.Equal(t, other.HashedPassword, untouched.HashedPassword)
			assert.False(t, untouched.IsSuperuser)
		}},
		{"no changes is a no-op", func(t *testing.T, ctx context.Context, s *GormStore) {
			u := stCreateUser(t, s, "uu-noop@example.com")
			email := "ignored@example.com"
			require.NoError(t, s.UpdateUser(ctx, u.ID, UserChanges{IfEmail: &email}))
			require.NoError(t, s.UpdateUser(ctx, uuid.New(), UserChanges{}))
		}},
		{"taken email is ErrDuplicate", func(t *testing.T, ctx context.Context, s *GormStore) {
			u := stCreateUser(t, s, "uu-c@example.com")
			stCreateUser(t, s, "uu-d@example.com")
			email := "uu-d@example.com"
			err := s.UpdateUser(ctx, u.ID, UserChanges{Email: &email})
			assert.ErrorIs(t, err, ErrDuplicate)
			assert.NotErrorIs(t, err, ErrStoreUnavailable)
			got, err := s.UserByID(ctx, u.ID)
			require.NoError(t, err)
			assert.Equal(t, "uu-c@example.com", got.Email)
		}},
		{"own email again is fine", func(t *testing.T, ctx context.Context, s *GormStore) {
			u := stCreateUser(t, s, "uu-own@example.com")
			email := u.Email
			require.NoError(t, s.UpdateUser(ctx, u.ID, UserChanges{Email: &email}))
		}},
		{"missing user is ErrNotFound", func(t *testing.T, ctx context.Context, s *GormStore) {
			yes := true
			assert.ErrorIs(t, s.UpdateUser(ctx, uuid.New(), UserChanges{IsVerified: &yes}), ErrNotFound)
		}},
		{"preconditions", func(t *testing.T, ctx context.Context, s *GormStore) {
			u := stCreateUser(t, s, "uu-e@example.com")
			yes := true
			newHash := "$argon2id$changed"
			wrongEmail, wrongHash := "uu-other@example.com", "$argon2id$stale"
			rightEmail, rightHash := u.Email, u.HashedPassword

			assert.ErrorIs(t, s.UpdateUser(ctx, u.ID, UserChanges{IsVerified: &yes, IfEmail: &wrongEmail}), ErrNotFound)
			assert.ErrorIs(t, s.UpdateUser(ctx, u.ID, UserChanges{HashedPassword: &newHash, IfHashedPassword: &wrongHash}), ErrNotFound)
			assert.ErrorIs(t, s.UpdateUser(ctx, u.ID, UserChanges{HashedPassword: &newHash, IfHashedPassword: &rightHash, IfEmail: &wrongEmail}), ErrNotFound)
			got, err := s.UserByID(ctx, u.ID)
			require.NoError(t, err)
			assert.False(t, got.IsVerified)
			assert.Equal(t, rightHash, got.HashedPassword)

			require.NoError(t, s.UpdateUser(ctx, u.ID, UserChanges{HashedPassword: &newHash, IsVerified: &yes, IfHashedPassword: &rightHash, IfEmail: &rightEmail}))
			got, err = s.UserByID(ctx, u.ID)
			require.NoError(t, err)
			assert.True(t, got.IsVerified)
			assert.Equal(t, newHash, got.HashedPassword)

			// The old hash no longer holds: a second writer loses.
			other := "$argon2id$second"
			assert.ErrorIs(t, s.UpdateUser(ctx, u.ID, UserChanges{HashedPassword: &other, IfHashedPassword: &rightHash}), ErrNotFound)

			// An empty hash (no password) is a precondition like any other.
			none := ""
			assert.ErrorIs(t, s.UpdateUser(ctx, u.ID, UserChanges{HashedPassword: &other, IfHashedPassword: &none}), ErrNotFound)
			require.NoError(t, s.UpdateUser(ctx, u.ID, UserChanges{HashedPassword: &none, IfHashedPassword: &newHash}))
			require.NoError(t, s.UpdateUser(ctx, u.ID, UserChanges{HashedPassword: &other, IfHashedPassword: &none}))
		}},
	})
}

// TestStoreListUsers proves Store.ListUsers on every database: creation
// order, limit and offset, the total of all matches whatever the page,
// the email filter as a plain substring (% _ and ! matched literally), and
// an empty, non-nil page past the end.
func TestStoreListUsers(t *testing.T) {
	emails := []string{"l_1@example.com", "lx1@example.com", "l%2@example.com", "ly2@example.com", "l!3@other.org", "lz3@other.org"}
	seed := func(t *testing.T, s *GormStore) {
		base := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
		for i, email := range emails {
			u := stNewUser(email)
			u.CreatedAt = base.Add(time.Duration(i) * time.Minute)
			u.UpdatedAt = u.CreatedAt
			require.NoError(t, s.CreateUser(context.Background(), u))
		}
	}
	listed := func(users []User) []string {
		out := make([]string, len(users))
		for i, u := range users {
			out[i] = u.Email
		}
		return out
	}
	queries := []struct {
		name  string
		q     UserQuery
		want  []string
		total int64
	}{
		{"all", UserQuery{Limit: 100}, emails, 6},
		{"first page", UserQuery{Limit: 2}, emails[:2], 6},
		{"middle page", UserQuery{Limit: 2, Offset: 2}, emails[2:4], 6},
		{"short last page", UserQuery{Limit: 4, Offset: 4}, emails[4:], 6},
		{"past the end", UserQuery{Limit: 10, Offset: 10}, []string{}, 6},
		{"limit below one is one", UserQuery{Limit: 0}, emails[:1], 6},
		{"substring", UserQuery{Limit: 100, EmailContains: "example.com"}, emails[:4], 4},
		{"substring paged", UserQuery{Limit: 1, Offset: 2, EmailContains: "example"}, emails[2:3], 4},
		{"underscore literal", UserQuery{Limit: 100, EmailContains: "l_"}, emails[:1], 1},
		{"percent literal", UserQuery{Limit: 100, EmailContains: "l%"}, emails[2:3], 1},
		{"lone percent", UserQuery{Limit: 100, EmailContains: "%"}, emails[2:3], 1},
		{"escape char literal", UserQuery{Limit: 100, EmailContains: "!3"}, emails[4:5], 1},
		{"domain", UserQuery{Limit: 100, EmailContains: "@other.org"}, emails[4:], 2},
		{"no match", UserQuery{Limit: 100, EmailContains: "nobody"}, []string{}, 0},
	}
	var cases []stCase
	for _, tc := range queries {
		cases = append(cases, stCase{tc.name, func(t *testing.T, ctx context.Context, s *GormStore) {
			seed(t, s)
			users, total, err := s.ListUsers(ctx, tc.q)
			require.NoError(t, err)
			require.NotNil(t, users)
			assert.Equal(t, tc.want, listed(users))
			assert.Equal(t, tc.total, total)
		}})
	}
	stRunCases(t, cases)
}

// TestStoreListUsersLoadsOAuthAccounts proves a page comes with its users'
// provider links in one query per page (not one per user), on every
// database.
func TestStoreListUsersLoadsOAuthAccounts(t *testing.T) {
	for _, kind := range testDatabases() {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			s := openTestStore(t, kind)
			linked, plain := stNewUser("linked@example.com"), stNewUser("plain@example.com")
			require.NoError(t, s.CreateUser(ctx, plain))
			now := time.Now().UTC()
			for i, name := range []string{"github", "google"} {
				acc := &OAuthAccount{ID: uuid.New(), UserID: linked.ID, OAuthName: name, AccountID: "id-" + name,
					AccountEmail: linked.Email, CreatedAt: now.Add(time.Duration(i) * time.Second), UpdatedAt: now}
				if i == 0 {
					require.NoError(t, s.CreateUserWithOAuthAccount(ctx, linked, acc))
				} else {
					require.NoError(t, s.CreateOAuthAccount(ctx, acc))
				}
			}
			users, total, err := s.ListUsers(ctx, UserQuery{Limit: 10})
			require.NoError(t, err)
			require.EqualValues(t, 2, total)
			byEmail := map[string]User{}
			for _, u := range users {
				byEmail[u.Email] = u
			}
			require.Len(t, byEmail["linked@example.com"].OAuthAccounts, 2)
			assert.Equal(t, "github", byEmail["linked@example.com"].OAuthAccounts[0].OAuthName)
			assert.Equal(t, "google", byEmail["linked@example.com"].OAuthAccounts[1].OAuthName)
			assert.Empty(t, byEmail["plain@example.com"].OAuthAccounts)
		})
	}
}
