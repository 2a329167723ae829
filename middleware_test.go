package ginauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mwStore is a Store that can be switched off, as a database that goes
// down, and that counts user loads.
type mwStore struct {
	Store
	down      atomic.Bool
	userLoads atomic.Int64
}

var errMWOutage = fmt.Errorf("%w: test: database down", ErrStoreUnavailable)

func (s *mwStore) UserByID(ctx context.Context, id uuid.UUID) (*User, error) {
	if s.down.Load() {
		return nil, errMWOutage
	}
	s.userLoads.Add(1)
	return s.Store.UserByID(ctx, id)
}

func (s *mwStore) SessionLive(ctx context.Context, id uuid.UUID, now time.Time) (uuid.UUID, bool, error) {
	if s.down.Load() {
		return uuid.Nil, false, errMWOutage
	}
	return s.Store.SessionLive(ctx, id, now)
}

// mwEnv is a server with a route per RequireAuth option.
type mwEnv struct {
	auth  *Auth
	store *mwStore
	db    *GormStore
	srv   *httptest.Server
}

// mwScopes gives writer@ the scopes read and write, reader@ only read.
func mwScopes(_ context.Context, u *User) []string {
	switch {
	case strings.HasPrefix(u.Email, "writer@"):
		return []string{"read", "write"}
	case strings.HasPrefix(u.Email, "reader@"):
		return []string{"read"}
	}
	return nil
}

// newMWEnv builds the option routes on an Auth; store, when not nil, is
// shared with another instance.
func newMWEnv(t *testing.T, store *mwStore, edit func(*Config)) *mwEnv {
	t.Helper()
	if store == nil {
		store = &mwStore{Store: openTestStore(t, "sqlite")}
	}
	a := newTestAuthOn(t, store, func(c *Config) {
		c.TokenScopes = mwScopes
		if edit != nil {
			edit(c)
		}
	})
	e := &mwEnv{auth: a, store: store, db: store.Store.(*GormStore)}

	r := gin.New()
	a.Register(r.Group("/auth"))
	a.RegisterUsers(r.Group("/users"))
	ok := func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"user_id": UserID(c)}) }
	r.GET("/plain", a.RequireAuth(), ok)
	r.GET("/verified", a.RequireAuth(Verified()), ok)
	r.GET("/superuser", a.RequireAuth(Superuser()), ok)
	r.GET("/scoped", a.RequireAuth(Scopes("read", "write")), ok)
	r.GET("/fresh", a.RequireAuth(Fresh()), ok)
	r.GET("/optional", a.OptionalAuth(), func(c *gin.Context) {
		_, err := CurrentUser(c)
		c.JSON(http.StatusOK, gin.H{"user_id": UserID(c), "has_claims": ClaimsFrom(c) != nil, "has_user": err == nil})
	})
	r.GET("/current-user-twice", a.RequireAuth(), func(c *gin.Context) {
		first, err1 := CurrentUser(c)
		second, err2 := CurrentUser(c)
		if err1 != nil || err2 != nil {
			c.AbortWithStatus(http.StatusInternalServerError)
			return
		}
		c.JSON(http.StatusOK, gin.H{"same_pointer": first == second, "email": first.Email})
	})
	r.GET("/accessors", a.RequireAuth(), func(c *gin.Context) {
		claims := ClaimsFrom(c)
		c.JSON(http.StatusOK, gin.H{
			"user_id": UserID(c), "sub": claims.Subject, "session": claims.Session(),
			"fresh": claims.Fresh, "scopes": claims.Scopes(),
		})
	})
	r.GET("/unprotected", func(c *gin.Context) {
		_, err := CurrentUser(c)
		c.JSON(http.StatusOK, gin.H{
			"user_id": UserID(c), "has_claims": ClaimsFrom(c) != nil, "no_user": errors.Is(err, ErrNoUser),
		})
	})
	e.srv = httptest.NewServer(r)
	t.Cleanup(e.srv.Close)
	return e
}

// user creates a user directly and signs it in through the API.
func (e *mwEnv) user(t *testing.T, email string, nu NewUser) (*User, TokenResponse) {
	t.Helper()
	nu.Email, nu.Password = email, atkPassword
	u, err := e.auth.CreateUser(context.Background(), nu)
	require.NoError(t, err)
	return u, login(t, e.srv, email, atkPassword)
}

// setFlag changes a user's column directly in the database, as an admin
// tool or another service would.
func (e *mwEnv) setFlag(t *testing.T, id uuid.UUID, column string, value bool) {
	t.Helper()
	require.NoError(t, e.db.DB().Model(&User{}).Where("id = ?", id).Update(column, value).Error)
}

func (e *mwEnv) get(t *testing.T, path, token string) apiResponse {
	t.Helper()
	return do(t, e.srv, http.MethodGet, path, nil, token)
}

// mwAssertForbidden asserts the contract's 403; scope tells whether the
// RFC 6750 insufficient_scope challenge is expected.
func mwAssertForbidden(t *testing.T, res apiResponse, scope bool) {
	t.Helper()
	require.Equal(t, http.StatusForbidden, res.Status, "body: %s", res.Body)
	require.JSONEq(t, `{"detail":"FORBIDDEN"}`, string(res.Body))
	if scope {
		require.Equal(t, `Bearer error="insufficient_scope"`, res.Header.Get("WWW-Authenticate"))
	} else {
		require.Empty(t, res.Header.Get("WWW-Authenticate"))
	}
}

// mwAssertUnavailable asserts the contract's 503 for a store that is down.
func mwAssertUnavailable(t *testing.T, res apiResponse) {
	t.Helper()
	require.Equal(t, http.StatusServiceUnavailable, res.Status, "body: %s", res.Body)
	require.JSONEq(t, `{"detail":"SERVICE_UNAVAILABLE"}`, string(res.Body))
}

func mwRequireStatus(t *testing.T, want int, res apiResponse) {
	t.Helper()
	require.Equal(t, want, res.Status, "body: %s", res.Body)
}

// TestMiddlewareVerified proves that Verified() refuses an unverified user
// with 403 and lets the same token through once the user is verified in
// the store: the flag is read from the store, not from the token.
func TestMiddlewareVerified(t *testing.T) {
	e := newMWEnv(t, nil, nil)
	u, tokens := e.user(t, "someone@example.com", NewUser{})
	mwAssertForbidden(t, e.get(t, "/verified", tokens.AccessToken), false)
	e.setFlag(t, u.ID, "is_verified", true)
	mwRequireStatus(t, http.StatusOK, e.get(t, "/verified", tokens.AccessToken))
	e.setFlag(t, u.ID, "is_verified", false)
	mwAssertForbidden(t, e.get(t, "/verified", tokens.AccessToken), false)
}

// TestMiddlewareSuperuser proves that Superuser() reads the flag from the
// store on every request: promoting and demoting a user in the database
// changes the decision for the same token at once. An unauthenticated
// request is 401, never 403, and a deactivated superuser is 401.
func TestMiddlewareSuperuser(t *testing.T) {
	e := newMWEnv(t, nil, nil)
	u, tokens := e.user(t, "someone@example.com", NewUser{})

	t.Run("plain_user_is_forbidden", func(t *testing.T) {
		mwAssertForbidden(t, e.get(t, "/superuser", tokens.AccessToken), false)
	})
	t.Run("promoted_in_the_store_is_allowed_with_the_same_token", func(t *testing.T) {
		e.setFlag(t, u.ID, "is_superuser", true)
		mwRequireStatus(t, http.StatusOK, e.get(t, "/superuser", tokens.AccessToken))
	})
	t.Run("demoted_in_the_store_is_forbidden_at_once", func(t *testing.T) {
		e.setFlag(t, u.ID, "is_superuser", false)
		mwAssertForbidden(t, e.get(t, "/superuser", tokens.AccessToken), false)
	})
	t.Run("no_token_is_401_not_403", func(t *testing.T) {
		res := e.get(t, "/superuser", "")
		mwRequireStatus(t, http.StatusUnauthorized, res)
		assert.Equal(t, "Bearer", res.Header.Get("WWW-Authenticate"))
	})
	t.Run("bad_token_is_401_not_403", func(t *testing.T) {
		atkAssertInvalidToken(t, e.get(t, "/superuser", tokens.AccessToken+"x"))
	})
	t.Run("deactivated_superuser_is_401_at_once", func(t *testing.T) {
		v, vTokens := e.user(t, "boss@example.com", NewUser{IsSuperuser: true})
		mwRequireStatus(t, http.StatusOK, e.get(t, "/superuser", vTokens.AccessToken))
		e.setFlag(t, v.ID, "is_active", false)
		atkAssertInvalidToken(t, e.get(t, "/superuser", vTokens.AccessToken))
	})
}

// TestMiddlewareScopes proves that Scopes(...) needs every listed scope in
// the token, as Config.TokenScopes granted them at sign-in and again at
// refresh, and answers 403 with `WWW-Authenticate: Bearer
// error="insufficient_scope"` otherwise.
func TestMiddlewareScopes(t *testing.T) {
	e := newMWEnv(t, nil, nil)
	_, writer := e.user(t, "writer@example.com", NewUser{})
	_, reader := e.user(t, "reader@example.com", NewUser{})
	_, nobody := e.user(t, "nobody@example.com", NewUser{})

	t.Run("all_scopes", func(t *testing.T) {
		mwRequireStatus(t, http.StatusOK, e.get(t, "/scoped", writer.AccessToken))
	})
	t.Run("one_scope_missing", func(t *testing.T) {
		mwAssertForbidden(t, e.get(t, "/scoped", reader.AccessToken), true)
	})
	t.Run("no_scope", func(t *testing.T) {
		mwAssertForbidden(t, e.get(t, "/scoped", nobody.AccessToken), true)
	})
	t.Run("scopes_survive_a_refresh", func(t *testing.T) {
		res := do(t, e.srv, http.MethodPost, "/auth/refresh", map[string]string{"refresh_token": writer.RefreshToken}, "")
		mwRequireStatus(t, http.StatusOK, res)
		var next TokenResponse
		require.NoError(t, json.Unmarshal(res.Body, &next))
		mwRequireStatus(t, http.StatusOK, e.get(t, "/scoped", next.AccessToken))
	})
	t.Run("scopes_are_read_by_the_accessor", func(t *testing.T) {
		res := e.get(t, "/accessors", reader.AccessToken)
		mwRequireStatus(t, http.StatusOK, res)
		assert.Equal(t, []any{"read"}, res.JSON(t)["scopes"])
	})
}

// TestMiddlewareFresh proves that Fresh() lets through the token of a
// sign-in with credentials and refuses, with 403, one issued by a refresh.
func TestMiddlewareFresh(t *testing.T) {
	e := newMWEnv(t, nil, nil)
	_, tokens := e.user(t, "someone@example.com", NewUser{})
	mwRequireStatus(t, http.StatusOK, e.get(t, "/fresh", tokens.AccessToken))

	res := do(t, e.srv, http.MethodPost, "/auth/refresh", map[string]string{"refresh_token": tokens.RefreshToken}, "")
	mwRequireStatus(t, http.StatusOK, res)
	var refreshed TokenResponse
	require.NoError(t, json.Unmarshal(res.Body, &refreshed))
	mwRequireStatus(t, http.StatusOK, e.get(t, "/plain", refreshed.AccessToken))
	mwAssertForbidden(t, e.get(t, "/fresh", refreshed.AccessToken), false)
}

// TestMiddlewareOptionalAuth proves that OptionalAuth leaves a request
// without a token, with a bad token or with a token of a revoked session
// anonymous (200, UserID uuid.Nil, no claims, no user), sets the user for
// a good token, and answers 503 when the store is down rather than
// quietly treating the user as anonymous.
func TestMiddlewareOptionalAuth(t *testing.T) {
	e := newMWEnv(t, nil, nil)
	u, tokens := e.user(t, "someone@example.com", NewUser{})
	_, revoked := e.user(t, "revoked@example.com", NewUser{})
	mwRequireStatus(t, http.StatusNoContent, do(t, e.srv, http.MethodPost, "/auth/logout", nil, revoked.AccessToken))

	anonymous := func(t *testing.T, res apiResponse) {
		t.Helper()
		mwRequireStatus(t, http.StatusOK, res)
		body := res.JSON(t)
		assert.Equal(t, uuid.Nil.String(), body["user_id"])
		assert.Equal(t, false, body["has_claims"])
		assert.Equal(t, false, body["has_user"])
	}
	t.Run("no_token", func(t *testing.T) {
		anonymous(t, e.get(t, "/optional", ""))
	})
	t.Run("bad_token", func(t *testing.T) {
		anonymous(t, e.get(t, "/optional", tokens.AccessToken[:len(tokens.AccessToken)-2]))
	})
	t.Run("wrong_scheme", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/optional", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Basic "+tokens.AccessToken)
		anonymous(t, send(t, req))
	})
	t.Run("revoked_session", func(t *testing.T) {
		anonymous(t, e.get(t, "/optional", revoked.AccessToken))
	})
	t.Run("good_token", func(t *testing.T) {
		res := e.get(t, "/optional", tokens.AccessToken)
		mwRequireStatus(t, http.StatusOK, res)
		body := res.JSON(t)
		assert.Equal(t, u.ID.String(), body["user_id"])
		assert.Equal(t, true, body["has_claims"])
		assert.Equal(t, true, body["has_user"])
	})
	t.Run("store_down", func(t *testing.T) {
		cold := newMWEnv(t, e.store, nil) // has never seen the session
		e.store.down.Store(true)
		defer e.store.down.Store(false)
		mwAssertUnavailable(t, cold.get(t, "/optional", tokens.AccessToken))
	})
}

// TestMiddlewareCurrentUser proves that CurrentUser loads the user once per
// request (two calls in one handler return the same pointer and cost one
// store query) and again on the next request, and that outside
// RequireAuth it returns ErrNoUser with UserID uuid.Nil and no claims.
func TestMiddlewareCurrentUser(t *testing.T) {
	e := newMWEnv(t, nil, nil)
	_, tokens := e.user(t, "someone@example.com", NewUser{})

	for i := range 2 {
		before := e.store.userLoads.Load()
		res := e.get(t, "/current-user-twice", tokens.AccessToken)
		mwRequireStatus(t, http.StatusOK, res)
		body := res.JSON(t)
		assert.Equal(t, true, body["same_pointer"])
		assert.Equal(t, "someone@example.com", body["email"])
		assert.Equal(t, int64(1), e.store.userLoads.Load()-before, "request %d", i+1)
	}

	t.Run("outside_RequireAuth", func(t *testing.T) {
		res := e.get(t, "/unprotected", tokens.AccessToken)
		mwRequireStatus(t, http.StatusOK, res)
		body := res.JSON(t)
		assert.Equal(t, uuid.Nil.String(), body["user_id"])
		assert.Equal(t, false, body["has_claims"])
		assert.Equal(t, true, body["no_user"])
	})
}

// TestMiddlewareAccessors proves that UserID and ClaimsFrom hand the
// verified identity to the handler: the user and session of the token.
func TestMiddlewareAccessors(t *testing.T) {
	e := newMWEnv(t, nil, nil)
	u, tokens := e.user(t, "writer@example.com", NewUser{})
	claims, err := e.auth.VerifyAccessToken(tokens.AccessToken)
	require.NoError(t, err)

	res := e.get(t, "/accessors", tokens.AccessToken)
	mwRequireStatus(t, http.StatusOK, res)
	body := res.JSON(t)
	assert.Equal(t, u.ID.String(), body["user_id"])
	assert.Equal(t, u.ID.String(), body["sub"])
	assert.Equal(t, claims.Session().String(), body["session"])
	assert.Equal(t, true, body["fresh"])
	assert.Equal(t, []any{"read", "write"}, body["scopes"])
}

// TestMiddlewareStoreDown proves that a store that is down gives 503
// SERVICE_UNAVAILABLE, never a 200 or a 401: when the session must be
// checked, when the user must be loaded, and with a really closed
// database; and that requests succeed again once it is back.
func TestMiddlewareStoreDown(t *testing.T) {
	e := newMWEnv(t, nil, nil)
	_, tokens := e.user(t, "someone@example.com", NewUser{IsVerified: true})
	mwRequireStatus(t, http.StatusOK, e.get(t, "/verified", tokens.AccessToken))

	t.Run("session_check", func(t *testing.T) {
		cold := newMWEnv(t, e.store, nil)
		e.store.down.Store(true)
		mwAssertUnavailable(t, cold.get(t, "/plain", tokens.AccessToken))
		e.store.down.Store(false)
		mwRequireStatus(t, http.StatusOK, cold.get(t, "/plain", tokens.AccessToken))
	})
	t.Run("user_load", func(t *testing.T) {
		e.store.down.Store(true)
		for _, path := range []string{"/verified", "/superuser", "/users/me"} {
			mwAssertUnavailable(t, e.get(t, path, tokens.AccessToken))
		}
		e.store.down.Store(false)
		mwRequireStatus(t, http.StatusOK, e.get(t, "/verified", tokens.AccessToken))
	})
	t.Run("database_closed", func(t *testing.T) {
		store := openTestStore(t, "sqlite")
		warm := newMWEnv(t, &mwStore{Store: store}, nil)
		_, tokens := warm.user(t, "closed@example.com", NewUser{})
		cold := newMWEnv(t, warm.store, nil)
		require.NoError(t, store.Close())
		mwAssertUnavailable(t, cold.get(t, "/plain", tokens.AccessToken))
		mwAssertUnavailable(t, warm.get(t, "/users/me", tokens.AccessToken))
	})
}

// TestMiddlewareCheckOrder proves that the token is judged before any
// option: a bad token on a route with every option is 401, not 403 or 503.
func TestMiddlewareCheckOrder(t *testing.T) {
	e := newMWEnv(t, nil, nil)
	e.store.down.Store(true)
	defer e.store.down.Store(false)
	for _, path := range []string{"/verified", "/superuser", "/scoped", "/fresh"} {
		atkAssertInvalidToken(t, e.get(t, path, "a.b.c"))
	}
}

// mwForgeAs signs, with the test secret (which other services share, and
// so may leak), an access token of the real token's session that claims
// the user sub instead of the session's owner.
func mwForgeAs(t *testing.T, a *Auth, real string, sub uuid.UUID) string {
	t.Helper()
	claims, err := a.VerifyAccessToken(real)
	require.NoError(t, err)
	now := a.now()
	header := map[string]any{"typ": accessTokenType, "kid": a.keys.signingKID}
	return atkSign(t, a.keys.signingMethod, []byte(testSecret), header, jwt.MapClaims{
		"iss": a.cfg.Issuer, "aud": a.cfg.Audience,
		"sub": sub.String(), "sid": claims.Session().String(),
		"jti": randomID(), "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	})
}

// TestRequireAuthSessionBoundToUser proves that a session is live only for
// its own user: a token signed with the shared secret that claims admin A
// with B's live session (all a B who learnt the secret has) is 401 whether
// the liveness cache is cold or holds B's session as live, is anonymous to
// OptionalAuth, and takes nothing from B, whose own token keeps working,
// nor from A.
func TestRequireAuthSessionBoundToUser(t *testing.T) {
	e := newMWEnv(t, nil, nil)
	admin, adminTokens := e.user(t, "admin@example.com", NewUser{IsSuperuser: true})
	_, bTokens := e.user(t, "b@example.com", NewUser{})
	forged := mwForgeAs(t, e.auth, bTokens.AccessToken, admin.ID)
	claims, err := e.auth.VerifyAccessToken(forged)
	require.NoError(t, err, "the signature is good: only the session check can refuse it")
	require.Equal(t, admin.ID, claims.UserID())

	for _, tc := range []struct {
		name string
		env  *mwEnv
	}{
		{"session_cached_live", e}, // B's sign-in marked it live here
		{"cache_cold", newMWEnv(t, e.store, nil)},
	} {
		env := tc.env
		t.Run(tc.name, func(t *testing.T) {
			for range 2 { // the second answer may come from the cache
				atkAssertInvalidToken(t, env.get(t, "/plain", forged))
				atkAssertInvalidToken(t, env.get(t, "/superuser", forged))
				res := env.get(t, "/optional", forged)
				mwRequireStatus(t, http.StatusOK, res)
				assert.Equal(t, false, res.JSON(t)["has_claims"])
			}
			mwRequireStatus(t, http.StatusOK, env.get(t, "/plain", bTokens.AccessToken))
			atkAssertInvalidToken(t, env.get(t, "/superuser", forged)) // B's session is cached live for B
			mwRequireStatus(t, http.StatusOK, env.get(t, "/plain", bTokens.AccessToken))
			mwAssertForbidden(t, env.get(t, "/superuser", bTokens.AccessToken), false)
			mwRequireStatus(t, http.StatusOK, env.get(t, "/superuser", adminTokens.AccessToken))
		})
	}
}
