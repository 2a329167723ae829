package ginauth

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// adminPage is the body of GET /users.
type adminPage struct {
	Items []UserRead `json:"items"`
	Total int64      `json:"total"`
}

// adminList calls GET /users?query as the superuser and decodes the page.
func adminList(t *testing.T, env *umEnv, token string, query url.Values) adminPage {
	t.Helper()
	res := env.call(t, http.MethodGet, "/users?"+query.Encode(), nil, token)
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(res.Body, &raw))
	assert.Len(t, raw, 2, "body: %s", res.Body)
	assert.NotEqual(t, "null", string(raw["items"]))
	var page adminPage
	require.NoError(t, json.Unmarshal(res.Body, &page))
	return page
}

// emailsOf lists the emails of a page, in order.
func emailsOf(page adminPage) []string {
	out := make([]string, len(page.Items))
	for i, u := range page.Items {
		out[i] = u.Email
	}
	return out
}

// TestAdminListUsers proves GET /users for a superuser: creation order,
// limit and offset with the total of all matches, the default page of 50,
// the email filter on the canonical email (normalized as CanonicalEmail
// normalizes, its % and _ matched literally), the OAuth accounts of each
// item, and 422 for a bad limit, offset or filter.
func TestAdminListUsers(t *testing.T) {
	env := newUMEnv(t, nil)
	admin := env.superuser(t, "admin@example.com")
	ctx := context.Background()
	emails := []string{"a_1@example.com", "ax1@example.com", "b%2@example.com", "bz2@example.com", "c3@other.org"}
	base := time.Now().UTC().Add(-time.Hour)
	for i, email := range emails {
		u := &User{ID: uuid.New(), Email: email, HashedPassword: "", IsActive: true, CreatedAt: base.Add(time.Duration(i) * time.Minute), UpdatedAt: base}
		require.NoError(t, env.a.Store().CreateUser(ctx, u))
	}
	require.NoError(t, env.a.Store().CreateOAuthAccount(ctx, &OAuthAccount{
		ID: uuid.New(), UserID: env.stored(t, "c3@other.org").ID, OAuthName: "github", AccountID: "77",
		AccountEmail: "c3@other.org", CreatedAt: base, UpdatedAt: base,
	}))
	all := append(emails, "admin@example.com") // the admin was created last

	page := adminList(t, env, admin.AccessToken, nil)
	assert.Equal(t, all, emailsOf(page))
	assert.EqualValues(t, 6, page.Total)
	last := page.Items[4]
	require.Len(t, last.OAuthAccounts, 1)
	assert.Equal(t, OAuthAccountRead{OAuthName: "github", AccountID: "77", AccountEmail: "c3@other.org"}, last.OAuthAccounts[0])
	assert.NotNil(t, page.Items[0].OAuthAccounts)

	cases := []struct {
		name  string
		query url.Values
		want  []string
		total int64
	}{
		{"first page", url.Values{"limit": {"2"}}, all[:2], 6},
		{"second page", url.Values{"limit": {"2"}, "offset": {"2"}}, all[2:4], 6},
		{"last page", url.Values{"limit": {"4"}, "offset": {"4"}}, all[4:], 6},
		{"past the end", url.Values{"offset": {"60"}}, []string{}, 6},
		{"max limit", url.Values{"limit": {"100"}}, all, 6},
		{"empty limit is default", url.Values{"limit": {""}}, all, 6},
		{"filter", url.Values{"email": {"example.com"}}, []string{"a_1@example.com", "ax1@example.com", "b%2@example.com", "bz2@example.com", "admin@example.com"}, 5},
		{"filter lower-cased and trimmed", url.Values{"email": {"  OTHER.org "}}, []string{"c3@other.org"}, 1},
		{"filter normalized (NFKC)", url.Values{"email": {"ＯＴＨＥＲ．ｏｒｇ"}}, []string{"c3@other.org"}, 1},
		{"filter with paging", url.Values{"email": {"example"}, "limit": {"1"}, "offset": {"1"}}, []string{"ax1@example.com"}, 5},
		{"underscore is literal", url.Values{"email": {"a_"}}, []string{"a_1@example.com"}, 1},
		{"percent is literal", url.Values{"email": {"b%"}}, []string{"b%2@example.com"}, 1},
		{"escape char is literal", url.Values{"email": {"!"}}, []string{}, 0},
		{"no match", url.Values{"email": {"nobody"}}, []string{}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			page := adminList(t, env, admin.AccessToken, tc.query)
			assert.Equal(t, tc.want, emailsOf(page))
			assert.Equal(t, tc.total, page.Total)
		})
	}

	invalid := []struct{ name, query, field string }{
		{"limit zero", "limit=0", "limit"},
		{"limit negative", "limit=-1", "limit"},
		{"limit too big", "limit=101", "limit"},
		{"limit not a number", "limit=ten", "limit"},
		{"limit float", "limit=1.5", "limit"},
		{"offset negative", "offset=-1", "offset"},
		{"offset not a number", "offset=x", "offset"},
		{"offset overflow", "offset=99999999999999999999999", "offset"},
		{"email too long", "email=" + url.QueryEscape(fmt.Sprintf("%0300d", 0)), "email"},
		{"email control", "email=a%00b", "email"},
		{"email invalid utf-8", "email=%ff", "email"},
		{"email invisible", "email=a%E2%80%8Bb", "email"},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			assertValidationError(t, env.call(t, http.MethodGet, "/users?"+tc.query, nil, admin.AccessToken), tc.field)
		})
	}
}

// TestAdminGetUser proves GET /users/{id}: the UserRead for an existing
// id, 404 USER_NOT_FOUND for a missing one and for one that does not parse.
func TestAdminGetUser(t *testing.T) {
	env := newUMEnv(t, nil)
	admin := env.superuser(t, "admin@example.com")
	env.user(t, "gina@example.com")
	id := env.stored(t, "gina@example.com").ID

	res := env.call(t, http.MethodGet, "/users/"+id.String(), nil, admin.AccessToken)
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	user := assertUserRead(t, res.Body)
	assert.Equal(t, id, user.ID)
	assert.Equal(t, "gina@example.com", user.Email)

	for name, raw := range map[string]string{"missing": uuid.NewString(), "malformed": "not-a-uuid", "sql-ish": "1%20OR%201=1"} {
		t.Run(name, func(t *testing.T) {
			res := env.call(t, http.MethodGet, "/users/"+raw, nil, admin.AccessToken)
			assertExactJSON(t, res, http.StatusNotFound, `{"detail":"USER_NOT_FOUND"}`)
		})
	}
}

// TestAdminUpdateUser proves PATCH /users/{id} for a superuser: flags,
// email (unverified unless is_verified is set with it), password (every
// session of the user ends), deactivation ending every session at once,
// and the errors of a taken email, a refused password and a missing id.
func TestAdminUpdateUser(t *testing.T) {
	env := newUMEnv(t, nil)
	admin := env.superuser(t, "admin@example.com")
	ctx := context.Background()

	t.Run("flags", func(t *testing.T) {
		env.user(t, "hana@example.com")
		id := env.stored(t, "hana@example.com").ID
		env.hookCalls()
		res := env.call(t, http.MethodPatch, "/users/"+id.String(), map[string]any{"is_superuser": true, "is_verified": true, "is_active": true}, admin.AccessToken)
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		user := assertUserRead(t, res.Body)
		assert.True(t, user.IsSuperuser)
		assert.True(t, user.IsVerified)
		stored := env.stored(t, "hana@example.com")
		assert.True(t, stored.IsSuperuser)
		assert.True(t, stored.IsVerified)
		calls := env.hookCalls()
		require.Len(t, calls, 1)
		assert.Equal(t, map[string]any{"is_superuser": true, "is_verified": true}, calls[0].changed, "is_active did not change")
	})

	t.Run("email makes unverified and mails", func(t *testing.T) {
		env.user(t, "ivan@example.com")
		id := env.stored(t, "ivan@example.com").ID
		verified := true
		require.NoError(t, env.a.Store().UpdateUser(ctx, id, UserChanges{IsVerified: &verified}))
		env.flushMail(t)
		res := env.call(t, http.MethodPatch, "/users/"+id.String(), map[string]any{"email": "Ivan.New@Example.com"}, admin.AccessToken)
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		user := assertUserRead(t, res.Body)
		assert.Equal(t, "ivan.new@example.com", user.Email)
		assert.False(t, user.IsVerified)
		mails := mailsByKind(env.flushMail(t))
		require.Len(t, mails[MailVerify], 1)
		assert.Equal(t, "ivan.new@example.com", mails[MailVerify][0].To)
		require.Len(t, mails[MailEmailChanged], 1)
		assert.Equal(t, "ivan@example.com", mails[MailEmailChanged][0].To)
		assert.Contains(t, mails[MailEmailChanged][0].Text, "new=ivan.new@example.com")
	})

	t.Run("email with is_verified stays verified", func(t *testing.T) {
		env.user(t, "jana@example.com")
		id := env.stored(t, "jana@example.com").ID
		env.flushMail(t)
		res := env.call(t, http.MethodPatch, "/users/"+id.String(), map[string]any{"email": "jana.new@example.com", "is_verified": true}, admin.AccessToken)
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		assert.True(t, assertUserRead(t, res.Body).IsVerified)
		mails := mailsByKind(env.flushMail(t))
		assert.Empty(t, mails[MailVerify], "a verified address needs no link")
		require.Len(t, mails[MailEmailChanged], 1)
		assert.Equal(t, "jana@example.com", mails[MailEmailChanged][0].To)
	})

	t.Run("password ends every session", func(t *testing.T) {
		tokens := env.user(t, "karl@example.com")
		other := login(t, env.srv, "karl@example.com", routePassword)
		env.assertAlive(t, tokens.AccessToken)
		env.assertAlive(t, other.AccessToken)
		env.flushMail(t)
		id := env.stored(t, "karl@example.com").ID
		res := env.call(t, http.MethodPatch, "/users/"+id.String(), map[string]any{"password": "set by the admin"}, admin.AccessToken)
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		for _, tok := range []TokenResponse{tokens, other} {
			env.assertDead(t, tok.AccessToken)
			assertExactJSON(t, env.refresh(t, tok.RefreshToken), http.StatusUnauthorized, `{"detail":"REFRESH_TOKEN_INVALID"}`)
		}
		login(t, env.srv, "karl@example.com", "set by the admin")
		mails := mailsByKind(env.flushMail(t))
		require.Len(t, mails[MailPasswordChanged], 1)
		assert.Equal(t, "karl@example.com", mails[MailPasswordChanged][0].To)
		env.assertAlive(t, admin.AccessToken)
	})

	t.Run("deactivation ends every session at once", func(t *testing.T) {
		tokens := env.user(t, "lena@example.com")
		env.assertAlive(t, tokens.AccessToken) // cached as live
		id := env.stored(t, "lena@example.com").ID
		res := env.call(t, http.MethodPatch, "/users/"+id.String(), map[string]any{"is_active": false}, admin.AccessToken)
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		assert.False(t, assertUserRead(t, res.Body).IsActive)
		env.assertDead(t, tokens.AccessToken)
		assertExactJSON(t, env.refresh(t, tokens.RefreshToken), http.StatusUnauthorized, `{"detail":"REFRESH_TOKEN_INVALID"}`)
		res = env.call(t, http.MethodPost, "/auth/login", map[string]string{"email": "lena@example.com", "password": routePassword}, "")
		assert.Equal(t, string(CodeLoginBadCredentials), res.Detail(t))

		// Reactivated, the user signs in again; the old session stays dead.
		res = env.call(t, http.MethodPatch, "/users/"+id.String(), map[string]any{"is_active": true}, admin.AccessToken)
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		login(t, env.srv, "lena@example.com", routePassword)
		env.assertDead(t, tokens.AccessToken)
	})

	t.Run("errors", func(t *testing.T) {
		env.user(t, "mona@example.com")
		env.user(t, "nils@example.com")
		id := env.stored(t, "mona@example.com").ID.String()
		cases := []struct {
			name, id string
			body     any
			status   int
			want     string
		}{
			{"taken email", id, map[string]any{"email": "NILS@example.com"}, http.StatusBadRequest, `{"detail":"UPDATE_USER_EMAIL_ALREADY_EXISTS"}`},
			{"short password", id, map[string]any{"password": "short"}, http.StatusBadRequest,
				`{"detail":{"code":"UPDATE_USER_INVALID_PASSWORD","reason":"Password should be at least 8 characters."}}`},
			{"missing id", uuid.NewString(), map[string]any{"is_verified": true}, http.StatusNotFound, `{"detail":"USER_NOT_FOUND"}`},
			{"malformed id", "mona", map[string]any{"is_verified": true}, http.StatusNotFound, `{"detail":"USER_NOT_FOUND"}`},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				assertExactJSON(t, env.call(t, http.MethodPatch, "/users/"+tc.id, tc.body, admin.AccessToken), tc.status, tc.want)
			})
		}
		assertValidationError(t, env.call(t, http.MethodPatch, "/users/"+id, map[string]any{"email": "nope"}, admin.AccessToken), "email")
		assertValidationError(t, env.call(t, http.MethodPatch, "/users/"+id, map[string]any{"is_active": "no"}, admin.AccessToken), "is_active")
		stored := env.stored(t, "mona@example.com")
		assert.False(t, stored.IsVerified)
		assert.True(t, stored.IsActive)
	})

	t.Run("superuser may demote themself", func(t *testing.T) {
		self := env.superuser(t, "selfadmin@example.com")
		id := env.stored(t, "selfadmin@example.com").ID
		res := env.call(t, http.MethodPatch, "/users/"+id.String(), map[string]any{"is_superuser": false}, self.AccessToken)
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		assert.False(t, assertUserRead(t, res.Body).IsSuperuser)
		res = env.call(t, http.MethodGet, "/users/"+id.String(), nil, self.AccessToken)
		assertExactJSON(t, res, http.StatusForbidden, `{"detail":"FORBIDDEN"}`)
	})
}

// TestAdminDeleteUser proves DELETE /users/{id}: 204, the user and its
// sessions gone, its tokens refused at once; again: 404.
func TestAdminDeleteUser(t *testing.T) {
	env := newUMEnv(t, nil)
	admin := env.superuser(t, "admin@example.com")
	tokens := env.user(t, "otto@example.com")
	env.assertAlive(t, tokens.AccessToken)
	id := env.stored(t, "otto@example.com").ID

	res := env.call(t, http.MethodDelete, "/users/"+id.String(), nil, admin.AccessToken)
	require.Equal(t, http.StatusNoContent, res.Status, "body: %s", res.Body)
	_, err := env.a.Store().UserByID(context.Background(), id)
	assert.ErrorIs(t, err, ErrNotFound)
	env.assertDead(t, tokens.AccessToken)
	assertExactJSON(t, env.refresh(t, tokens.RefreshToken), http.StatusUnauthorized, `{"detail":"REFRESH_TOKEN_INVALID"}`)

	for name, raw := range map[string]string{"again": id.String(), "malformed": "otto"} {
		t.Run(name, func(t *testing.T) {
			assertExactJSON(t, env.call(t, http.MethodDelete, "/users/"+raw, nil, admin.AccessToken), http.StatusNotFound, `{"detail":"USER_NOT_FOUND"}`)
		})
	}
	env.assertAlive(t, admin.AccessToken)
}

// TestAdminRoutesForbidden proves that a non-superuser gets 403 FORBIDDEN
// on every superuser route, whether the id exists, is missing or does not
// parse, that nothing changes, and that without a token the answer is 401.
func TestAdminRoutesForbidden(t *testing.T) {
	env := newUMEnv(t, nil)
	plain := env.user(t, "paul@example.com")
	env.user(t, "target@example.com")
	target := env.stored(t, "target@example.com")

	ids := map[string]string{"existing": target.ID.String(), "missing": uuid.NewString(), "malformed": "not-a-uuid"}
	type route struct {
		method, path string
		body         any
	}
	routes := []route{{http.MethodGet, "/users", nil}, {http.MethodGet, "/users?limit=1000", nil}}
	for _, id := range ids {
		routes = append(routes,
			route{http.MethodGet, "/users/" + id, nil},
			route{http.MethodPatch, "/users/" + id, map[string]any{"is_superuser": true, "email": "x@example.com"}},
			route{http.MethodDelete, "/users/" + id, nil},
		)
	}
	// Patching oneself through /{id} is the admin route too.
	routes = append(routes, route{http.MethodPatch, "/users/" + env.stored(t, "paul@example.com").ID.String(), map[string]any{"is_superuser": true}})

	for _, r := range routes {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			res := env.call(t, r.method, r.path, r.body, plain.AccessToken)
			assertExactJSON(t, res, http.StatusForbidden, `{"detail":"FORBIDDEN"}`)
			res = env.call(t, r.method, r.path, r.body, "")
			assertExactJSON(t, res, http.StatusUnauthorized, `{"detail":"UNAUTHORIZED"}`)
			assert.Equal(t, "Bearer", res.Header.Get("WWW-Authenticate"))
		})
	}
	after := env.stored(t, "target@example.com")
	assert.Equal(t, target.UpdatedAt, after.UpdatedAt)
	assert.False(t, after.IsSuperuser)
	assert.False(t, env.stored(t, "paul@example.com").IsSuperuser)
	assert.Empty(t, env.hookCalls())
}
