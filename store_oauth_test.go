package ginauth

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stCreateOAuthOnlyUser saves an active user without a password, linked to
// each of the given providers.
func stCreateOAuthOnlyUser(t *testing.T, s *GormStore, email string, providerNames ...string) *User {
	t.Helper()
	u := stNewUser(email)
	u.HashedPassword = ""
	require.NoError(t, s.CreateUser(context.Background(), u))
	now := time.Now().UTC()
	for _, name := range providerNames {
		require.NoError(t, stLinkAccount(s, u.ID, name, name+"-"+randomHex(4), now))
	}
	return u
}

// stLinkedProviders lists the providers linked to a user.
func stLinkedProviders(t *testing.T, s *GormStore, userID uuid.UUID) []string {
	t.Helper()
	accounts, err := s.OAuthAccountsOf(context.Background(), userID)
	require.NoError(t, err)
	names := []string{}
	for _, acc := range accounts {
		names = append(names, acc.OAuthName)
	}
	return names
}

// TestStoreDeleteOAuthAccountUnlessLast proves, on every database, that
// unlinking refuses a password-less user's last provider with
// ErrOAuthLastLoginMethod and deletes nothing then, unlinks anything else,
// touches only the user's own link, and answers ErrNotFound for a link or
// a user that does not exist.
func TestStoreDeleteOAuthAccountUnlessLast(t *testing.T) {
	stRunCases(t, []stCase{
		{"the last provider of a password-less user stays", func(t *testing.T, ctx context.Context, s *GormStore) {
			u := stCreateOAuthOnlyUser(t, s, "oauth-only@example.com", "github", "google")
			require.NoError(t, s.DeleteOAuthAccountUnlessLast(ctx, u.ID, "github"))
			assert.Equal(t, []string{"google"}, stLinkedProviders(t, s, u.ID))

			err := s.DeleteOAuthAccountUnlessLast(ctx, u.ID, "google")
			assert.ErrorIs(t, err, ErrOAuthLastLoginMethod)
			assert.NotErrorIs(t, err, ErrStoreUnavailable)
			assert.Equal(t, []string{"google"}, stLinkedProviders(t, s, u.ID), "the refused delete is rolled back")
		}},
		{"a user with a password may unlink every provider", func(t *testing.T, ctx context.Context, s *GormStore) {
			u := stCreateUser(t, s, "password@example.com")
			require.NoError(t, stLinkAccount(s, u.ID, "github", "1", time.Now().UTC()))
			require.NoError(t, s.DeleteOAuthAccountUnlessLast(ctx, u.ID, "github"))
			assert.Empty(t, stLinkedProviders(t, s, u.ID))
		}},
		{"only the user's own link goes", func(t *testing.T, ctx context.Context, s *GormStore) {
			u := stCreateOAuthOnlyUser(t, s, "mine@example.com", "github", "google")
			other := stCreateOAuthOnlyUser(t, s, "other@example.com", "github")
			require.NoError(t, s.DeleteOAuthAccountUnlessLast(ctx, u.ID, "github"))
			assert.Equal(t, []string{"github"}, stLinkedProviders(t, s, other.ID))
			assert.ErrorIs(t, s.DeleteOAuthAccountUnlessLast(ctx, other.ID, "github"), ErrOAuthLastLoginMethod)
		}},
		{"no such link or user is ErrNotFound", func(t *testing.T, ctx context.Context, s *GormStore) {
			u := stCreateOAuthOnlyUser(t, s, "single@example.com", "github")
			assert.ErrorIs(t, s.DeleteOAuthAccountUnlessLast(ctx, u.ID, "google"), ErrNotFound)
			assert.ErrorIs(t, s.DeleteOAuthAccountUnlessLast(ctx, uuid.New(), "github"), ErrNotFound)
			assert.Equal(t, []string{"github"}, stLinkedProviders(t, s, u.ID))
		}},
	})
}

// TestStoreDeleteOAuthAccountUnlessLastConcurrent proves, on every
// database, that the check and the delete are one step: a password-less
// user with two providers, whose two providers are unlinked at the same
// moment, keeps one. Exactly one unlink wins each round, the other is
// ErrOAuthLastLoginMethod.
func TestStoreDeleteOAuthAccountUnlessLastConcurrent(t *testing.T) {
	const rounds = 20
	for _, kind := range testDatabases() {
		t.Run(kind, func(t *testing.T) {
			s := openTestStore(t, kind)
			ctx := context.Background()
			for round := range rounds {
				u := stCreateOAuthOnlyUser(t, s, "race-"+randomHex(4)+"@example.com", "github", "google")
				start := make(chan struct{})
				errs := make([]error, 2)
				var wg sync.WaitGroup
				for i, name := range []string{"github", "google"} {
					wg.Go(func() {
						<-start
						errs[i] = s.DeleteOAuthAccountUnlessLast(ctx, u.ID, name)
					})
				}
				close(start)
				wg.Wait()

				won := 0
				for _, err := range errs {
					if err == nil {
						won++
					} else {
						assert.ErrorIs(t, err, ErrOAuthLastLoginMethod, "round %d", round)
					}
				}
				assert.Equal(t, 1, won, "round %d: exactly one unlink succeeds (errors: %v)", round, errs)
				assert.Len(t, stLinkedProviders(t, s, u.ID), 1, "round %d: the user keeps a way to sign in", round)
			}
		})
	}
}
