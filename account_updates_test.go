package ginauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func strPtr(s string) *string { return &s }
func boolPtr(b bool) *bool    { return &b }

// TestUpdateUserGoAPI proves Auth.UpdateUser on every database: each field,
// the unverified new email, the typed errors (taken email from the unique
// index, malformed email, refused password, missing user), a no-op that
// writes nothing, sessions ended by a new password or a deactivation, and
// OnAfterUpdate with a nil request.
func TestUpdateUserGoAPI(t *testing.T) {
	for _, kind := range testDatabases() {
		t.Run(kind, func(t *testing.T) {
			env := newUMEnvOn(t, openTestStore(t, kind), nil)
			a, ctx := env.a, context.Background()
			user, err := a.CreateUser(ctx, NewUser{Email: "quentin@example.com", Password: routePassword, IsVerified: true})
			require.NoError(t, err)
			_, err = a.CreateUser(ctx, NewUser{Email: "taken@example.com", Password: routePassword})
			require.NoError(t, err)
			env.hookCalls()

			updated, err := a.UpdateUser(ctx, user.ID, UserUpdate{Email: strPtr(" Quentin.B@Example.com")})
			require.NoError(t, err)
			assert.Equal(t, "quentin.b@example.com", updated.Email)
			assert.False(t, updated.IsVerified)
			calls := env.hookCalls()
			require.Len(t, calls, 1)
			assert.Equal(t, map[string]any{"email": "quentin.b@example.com", "is_verified": false}, calls[0].changed)
			assert.False(t, calls[0].request, "the Go API has no request")

			updated, err = a.UpdateUser(ctx, user.ID, UserUpdate{IsSuperuser: boolPtr(true), IsVerified: boolPtr(true), IsActive: boolPtr(true)})
			require.NoError(t, err)
			assert.True(t, updated.IsSuperuser)
			assert.True(t, updated.IsVerified)
			assert.True(t, updated.IsActive)

			before := *updated
			same, err := a.UpdateUser(ctx, user.ID, UserUpdate{Email: strPtr("QUENTIN.B@example.com"), IsSuperuser: boolPtr(true)})
			require.NoError(t, err)
			assert.Equal(t, before.UpdatedAt, same.UpdatedAt, "nothing to write")
			env.hookCalls()

			_, err = a.UpdateUser(ctx, user.ID, UserUpdate{Email: strPtr("TAKEN@example.com")})
			assert.ErrorIs(t, err, ErrEmailTaken)
			var verr *ValidationError
			_, err = a.UpdateUser(ctx, user.ID, UserUpdate{Email: strPtr("not an email")})
			require.ErrorAs(t, err, &verr)
			assert.Equal(t, "email", verr.Errors[0].Field)
			var pwErr *PasswordError
			_, err = a.UpdateUser(ctx, user.ID, UserUpdate{Password: strPtr("short")})
			require.ErrorAs(t, err, &pwErr)
			_, err = a.UpdateUser(ctx, uuid.New(), UserUpdate{IsActive: boolPtr(false)})
			assert.ErrorIs(t, err, ErrUserNotFound)
			assert.Empty(t, env.hookCalls(), "failures run no hook")

			// A new password ends every session; so does a deactivation.
			for name, u := range map[string]UserUpdate{
				"password":     {Password: strPtr("new admin-set password")},
				"deactivation": {IsActive: boolPtr(false)},
			} {
				t.Run(name, func(t *testing.T) {
					require.NoError(t, a.store.UpdateUser(ctx, user.ID, UserChanges{IsActive: boolPtr(true)}))
					current, err := a.store.UserByID(ctx, user.ID)
					require.NoError(t, err)
					tokens, err := a.startSession(ctx, current, ClientInfo{})
					require.NoError(t, err)
					claims, err := a.VerifyAccessToken(tokens.AccessToken)
					require.NoError(t, err)
					live, err := a.sessionLive(ctx, claims.Session(), claims.UserID())
					require.NoError(t, err)
					require.True(t, live)

					_, err = a.UpdateUser(ctx, user.ID, u)
					require.NoError(t, err)
					live, err = a.sessionLive(ctx, claims.Session(), claims.UserID())
					require.NoError(t, err)
					assert.False(t, live)
				})
			}
		})
	}
}

// TestDeleteUserGoAPI proves Auth.DeleteUser on every database: the hooks
// run around it with the user and a nil request, the user, its sessions
// and OAuth links go, its sessions are dead at once; a missing user is
// ErrUserNotFound; an OnBeforeDelete error stops it and is returned.
func TestDeleteUserGoAPI(t *testing.T) {
	for _, kind := range testDatabases() {
		t.Run(kind, func(t *testing.T) {
			var events []string
			refuse := errors.New("legal hold")
			refusing := true
			env := newUMEnvOn(t, openTestStore(t, kind), func(cfg *Config) {
				cfg.Hooks.OnBeforeDelete = func(_ context.Context, user *User, r *http.Request) error {
					events = append(events, fmt.Sprintf("before %s request=%v", user.Email, r != nil))
					if refusing {
						return refuse
					}
					return nil
				}
				cfg.Hooks.OnAfterDelete = func(_ context.Context, user *User, r *http.Request) {
					events = append(events, fmt.Sprintf("after %s request=%v", user.Email, r != nil))
				}
			})
			a, ctx := env.a, context.Background()
			user, err := a.CreateUser(ctx, NewUser{Email: "rita@example.com", Password: routePassword})
			require.NoError(t, err)
			require.NoError(t, a.store.CreateOAuthAccount(ctx, &OAuthAccount{ID: uuid.New(), UserID: user.ID, OAuthName: "github", AccountID: "9",
				AccountEmail: "rita@example.com", CreatedAt: user.CreatedAt, UpdatedAt: user.CreatedAt}))
			tokens, err := a.startSession(ctx, user, ClientInfo{})
			require.NoError(t, err)
			claims, err := a.VerifyAccessToken(tokens.AccessToken)
			require.NoError(t, err)

			err = a.DeleteUser(ctx, user.ID)
			assert.ErrorIs(t, err, refuse)
			_, err = a.store.UserByID(ctx, user.ID)
			require.NoError(t, err, "a refused deletion deletes nothing")
			live, err := a.sessionLive(ctx, claims.Session(), claims.UserID())
			require.NoError(t, err)
			assert.True(t, live)
			assert.Equal(t, []string{"before rita@example.com request=false"}, events)

			refusing, events = false, nil
			require.NoError(t, a.DeleteUser(ctx, user.ID))
			assert.Equal(t, []string{"before rita@example.com request=false", "after rita@example.com request=false"}, events)
			_, err = a.store.UserByID(ctx, user.ID)
			assert.ErrorIs(t, err, ErrNotFound)
			accounts, err := a.store.OAuthAccountsOf(ctx, user.ID)
			require.NoError(t, err)
			assert.Empty(t, accounts)
			_, err = a.store.SessionByID(ctx, claims.Session())
			assert.ErrorIs(t, err, ErrNotFound)
			live, err = a.sessionLive(ctx, claims.Session(), claims.UserID())
			require.NoError(t, err)
			assert.False(t, live)

			assert.ErrorIs(t, a.DeleteUser(ctx, user.ID), ErrUserNotFound)
		})
	}
}

// TestUpdateMeOnEveryDatabase runs the self-service flows that lean on the
// store (unique index, conditional write) on every database.
func TestUpdateMeOnEveryDatabase(t *testing.T) {
	for _, kind := range testDatabases() {
		t.Run(kind, func(t *testing.T) {
			env := newUMEnvOn(t, openTestStore(t, kind), nil)
			tokens := env.user(t, "sara@example.com")
			env.user(t, "taken@example.com")

			res := env.call(t, http.MethodPatch, "/users/me", map[string]any{"email": "Taken@example.com", "current_password": routePassword}, tokens.AccessToken)
			assertExactJSON(t, res, http.StatusBadRequest, `{"detail":"UPDATE_USER_EMAIL_ALREADY_EXISTS"}`)

			res = env.call(t, http.MethodPatch, "/users/me", map[string]any{
				"email": "sara2@example.com", "password": "another fine passphrase", "current_password": routePassword,
			}, tokens.AccessToken)
			require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
			login(t, env.srv, "sara2@example.com", "another fine passphrase")
			env.assertAlive(t, tokens.AccessToken)

			res = env.call(t, http.MethodDelete, "/users/me", map[string]any{"current_password": "another fine passphrase"}, tokens.AccessToken)
			require.Equal(t, http.StatusNoContent, res.Status, "body: %s", res.Body)
			env.assertDead(t, tokens.AccessToken)
		})
	}
}

// TestDeleteHooksOverHTTP proves the delete hooks through both routes:
// OnBeforeDelete sees the user and the request, and its error (whatever it
// wraps) is 500 INTERNAL_ERROR with the user and their sessions intact and
// the hook's text kept out of the answer; OnAfterDelete runs after a
// deletion, never after a refused one.
func TestDeleteHooksOverHTTP(t *testing.T) {
	var mu sync.Mutex
	var refuse error
	var before, after []string
	env := newUMEnv(t, func(cfg *Config) {
		cfg.Hooks.OnBeforeDelete = func(_ context.Context, user *User, r *http.Request) error {
			mu.Lock()
			defer mu.Unlock()
			before = append(before, fmt.Sprintf("%s %s %s", user.Email, r.Method, r.URL.Path))
			return refuse
		}
		cfg.Hooks.OnAfterDelete = func(_ context.Context, user *User, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			after = append(after, fmt.Sprintf("%s %s %s", user.Email, r.Method, r.URL.Path))
		}
	})
	admin := env.superuser(t, "admin@example.com")
	self := env.user(t, "sam@example.com")
	env.user(t, "tim@example.com")
	timID := env.stored(t, "tim@example.com").ID

	for _, hookErr := range []error{errors.New("secret reason"), fmt.Errorf("wrapped: %w", ErrUserNotFound)} {
		refuse = hookErr
		res := env.call(t, http.MethodDelete, "/users/me", map[string]any{"current_password": routePassword}, self.AccessToken)
		assertExactJSON(t, res, http.StatusInternalServerError, `{"detail":"INTERNAL_ERROR"}`)
		res = env.call(t, http.MethodDelete, "/users/"+timID.String(), nil, admin.AccessToken)
		assertExactJSON(t, res, http.StatusInternalServerError, `{"detail":"INTERNAL_ERROR"}`)
		env.stored(t, "sam@example.com")
		env.stored(t, "tim@example.com")
		env.assertAlive(t, self.AccessToken)
	}
	assert.Empty(t, after)
	assert.Equal(t, []string{
		"sam@example.com DELETE /users/me", "tim@example.com DELETE /users/" + timID.String(),
		"sam@example.com DELETE /users/me", "tim@example.com DELETE /users/" + timID.String(),
	}, before)

	refuse, before = nil, nil
	res := env.call(t, http.MethodDelete, "/users/me", map[string]any{"current_password": routePassword}, self.AccessToken)
	require.Equal(t, http.StatusNoContent, res.Status, "body: %s", res.Body)
	res = env.call(t, http.MethodDelete, "/users/"+timID.String(), nil, admin.AccessToken)
	require.Equal(t, http.StatusNoContent, res.Status, "body: %s", res.Body)
	want := []string{"sam@example.com DELETE /users/me", "tim@example.com DELETE /users/" + timID.String()}
	assert.Equal(t, want, before)
	assert.Equal(t, want, after)
}

// TestOnAfterUpdateHook proves OnAfterUpdate's arguments on both PATCH
// routes: the updated user, exactly the changed fields with their new
// values ("password" as true), and the request; no call when nothing
// changed or the update failed.
func TestOnAfterUpdateHook(t *testing.T) {
	env := newUMEnv(t, nil)
	admin := env.superuser(t, "admin@example.com")
	tokens := env.user(t, "ugo@example.com")
	id := env.stored(t, "ugo@example.com").ID.String()
	env.hookCalls()

	cases := []struct {
		name, path string
		token      string
		body       map[string]any
		status     int
		want       map[string]any // nil: no call
		email      string
	}{
		{"me email", "/users/me", tokens.AccessToken, map[string]any{"email": "ugo2@example.com", "current_password": routePassword}, 200,
			map[string]any{"email": "ugo2@example.com"}, "ugo2@example.com"},
		{"me password", "/users/me", tokens.AccessToken, map[string]any{"password": "fresh passphrase 1", "current_password": routePassword}, 200,
			map[string]any{"password": true}, "ugo2@example.com"},
		{"me nothing", "/users/me", tokens.AccessToken, map[string]any{"is_superuser": true}, 200, nil, ""},
		{"me refused", "/users/me", tokens.AccessToken, map[string]any{"password": "fresh passphrase 2", "current_password": "wrong"}, 400, nil, ""},
		{"admin verify", "/users/" + id, admin.AccessToken, map[string]any{"is_verified": true}, 200,
			map[string]any{"is_verified": true}, "ugo2@example.com"},
		{"admin email keeps verified", "/users/" + id, admin.AccessToken, map[string]any{"email": "ugo3@example.com", "is_verified": true}, 200,
			map[string]any{"email": "ugo3@example.com"}, "ugo3@example.com"},
		{"admin email and flags", "/users/" + id, admin.AccessToken, map[string]any{"email": "ugo4@example.com", "is_superuser": true, "password": "fresh passphrase 3"}, 200,
			map[string]any{"email": "ugo4@example.com", "is_verified": false, "is_superuser": true, "password": true}, "ugo4@example.com"},
		{"admin deactivate", "/users/" + id, admin.AccessToken, map[string]any{"is_active": false, "is_superuser": true}, 200,
			map[string]any{"is_active": false}, "ugo4@example.com"},
		{"admin nothing", "/users/" + id, admin.AccessToken, map[string]any{"is_active": false}, 200, nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := env.call(t, http.MethodPatch, tc.path, tc.body, tc.token)
			require.Equal(t, tc.status, res.Status, "body: %s", res.Body)
			calls := env.hookCalls()
			if tc.want == nil {
				assert.Empty(t, calls)
				return
			}
			require.Len(t, calls, 1)
			assert.Equal(t, tc.want, calls[0].changed)
			assert.Equal(t, tc.email, calls[0].user.Email)
			assert.True(t, calls[0].request)
			stored := env.stored(t, tc.email)
			assert.Equal(t, stored.IsVerified, calls[0].user.IsVerified, "the hook sees the updated user")
			assert.Equal(t, stored.HashedPassword, calls[0].user.HashedPassword)
		})
	}
}
