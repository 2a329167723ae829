package ginauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	texttemplate "text/template"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// umEnv is an app for the /users tests: every mail is captured, rate
// limits are off unless a test sets them, and updates are recorded.
type umEnv struct {
	a       *Auth
	srv     *httptest.Server
	mails   chan *Mail
	mu      sync.Mutex
	updates []umUpdate
}

// umUpdate is one OnAfterUpdate call.
type umUpdate struct {
	user    User
	changed map[string]any
	request bool
}

// umMailTemplates render each kind's name as the subject and its data as
// the text, so a test can tell the mails apart.
func umMailTemplates() MailTemplates {
	tmpl := func(kind MailKind) MailTemplate {
		return MailTemplate{Subject: string(kind), Text: texttemplate.Must(texttemplate.New(string(kind)).Parse("link={{.Link}} new={{.NewEmail}}"))}
	}
	return MailTemplates{MailVerify: tmpl(MailVerify), MailResetPassword: tmpl(MailResetPassword),
		MailEmailChanged: tmpl(MailEmailChanged), MailPasswordChanged: tmpl(MailPasswordChanged)}
}

// newUMEnv builds the app on a fresh SQLite store; edit adjusts the Config.
func newUMEnv(t testing.TB, edit func(*Config)) *umEnv {
	t.Helper()
	return newUMEnvOn(t, openTestStore(t, "sqlite"), edit)
}

// newUMEnvOn builds the app on the given store.
func newUMEnvOn(t testing.TB, store Store, edit func(*Config)) *umEnv {
	t.Helper()
	env := &umEnv{mails: make(chan *Mail, 100)}
	env.a = newTestAuthOn(t, store, func(cfg *Config) {
		cfg.Mailer = MailerFunc(func(_ context.Context, m *Mail) error {
			env.mails <- m
			return nil
		})
		cfg.MailTemplates = umMailTemplates()
		cfg.RateLimits = RateLimits{
			LoginPerIP: Unlimited, LoginPerAccount: Unlimited, RegisterPerIP: Unlimited, RegisterPerAddress: Unlimited,
			MailPerIP: Unlimited, MailPerAddress: Unlimited, TokenPerIP: Unlimited,
		}
		cfg.Hooks.OnAfterUpdate = func(_ context.Context, user *User, update map[string]any, r *http.Request) {
			env.mu.Lock()
			defer env.mu.Unlock()
			env.updates = append(env.updates, umUpdate{user: *user, changed: update, request: r != nil})
		}
		if edit != nil {
			edit(cfg)
		}
	})
	t.Cleanup(func() { env.a.background.Wait() })
	env.srv = newTestServer(t, env.a)
	return env
}

// flushMail waits for the mail sent in the background and returns it all,
// emptying the capture.
func (e *umEnv) flushMail(t testing.TB) []*Mail {
	t.Helper()
	done := make(chan struct{})
	go func() { e.a.background.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("background mail did not finish")
	}
	var mails []*Mail
	for {
		select {
		case m := <-e.mails:
			mails = append(mails, m)
		default:
			return mails
		}
	}
}

// hookCalls returns the OnAfterUpdate calls so far and forgets them.
func (e *umEnv) hookCalls() []umUpdate {
	e.mu.Lock()
	defer e.mu.Unlock()
	calls := e.updates
	e.updates = nil
	return calls
}

// user registers and signs in a user with routePassword.
func (e *umEnv) user(t testing.TB, email string) TokenResponse {
	t.Helper()
	return registerAndLogin(t, e.srv, email, routePassword)
}

// superuser creates a superuser with routePassword and signs them in.
func (e *umEnv) superuser(t testing.TB, email string) TokenResponse {
	t.Helper()
	_, err := e.a.CreateUser(context.Background(), NewUser{Email: email, Password: routePassword, IsSuperuser: true, IsVerified: true})
	require.NoError(t, err)
	return login(t, e.srv, email, routePassword)
}

// oauthOnlyUser creates a user without a password (as a provider sign-up
// does) and starts a session for them.
func (e *umEnv) oauthOnlyUser(t testing.TB, email string) (*User, TokenResponse) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	user := &User{ID: uuid.New(), Email: email, IsActive: true, IsVerified: true, CreatedAt: now, UpdatedAt: now}
	require.NoError(t, e.a.Store().CreateUser(ctx, user))
	tokens, err := e.a.startSession(ctx, user, ClientInfo{UserAgent: "oauth-test"})
	require.NoError(t, err)
	return user, *tokens
}

// stored loads a user from the store.
func (e *umEnv) stored(t testing.TB, email string) *User {
	t.Helper()
	user, err := e.a.Store().UserByEmail(context.Background(), email)
	require.NoError(t, err, "user %s", email)
	return user
}

// call sends a request and checks the /users rules every answer follows:
// no secrets, Cache-Control: no-store.
func (e *umEnv) call(t testing.TB, method, path string, body any, token string) apiResponse {
	t.Helper()
	res := routeJSON(t, e.srv, method, path, body, token)
	if strings.HasPrefix(path, "/users") {
		assert.Equal(t, "no-store", res.Header.Get("Cache-Control"), "%s %s", method, path)
	}
	return res
}

// refresh posts a refresh token.
func (e *umEnv) refresh(t testing.TB, refreshToken string) apiResponse {
	t.Helper()
	return routeJSON(t, e.srv, http.MethodPost, "/auth/refresh", map[string]string{"refresh_token": refreshToken}, "")
}

// assertAlive checks that an access token is accepted by GET /api/me.
func (e *umEnv) assertAlive(t testing.TB, accessToken string) {
	t.Helper()
	res := e.call(t, http.MethodGet, "/api/me", nil, accessToken)
	assert.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
}

// assertDead checks that an access token is refused at once (401).
func (e *umEnv) assertDead(t testing.TB, accessToken string) {
	t.Helper()
	res := e.call(t, http.MethodGet, "/api/me", nil, accessToken)
	assertExactJSON(t, res, http.StatusUnauthorized, `{"detail":"UNAUTHORIZED"}`)
}

// mailLink returns the link a captured mail carries.
func mailLink(t testing.TB, m *Mail) string {
	t.Helper()
	link, _, _ := strings.Cut(strings.TrimPrefix(m.Text, "link="), " ")
	require.NotEmpty(t, link, "mail %q has no link", m.Subject)
	return link
}

// mailsByKind indexes captured mail by kind (the subject of umMailTemplates).
func mailsByKind(mails []*Mail) map[MailKind][]*Mail {
	out := map[MailKind][]*Mail{}
	for _, m := range mails {
		out[MailKind(m.Subject)] = append(out[MailKind(m.Subject)], m)
	}
	return out
}

// TestUpdateMeEmail proves PATCH /users/me changing the email: the new
// address is canonical and unverified, the session in use keeps working,
// a verify link goes to the new address and a notice to the old one, the
// hook sees exactly the changed fields, and the link verifies the new
// address.
func TestUpdateMeEmail(t *testing.T) {
	env := newUMEnv(t, nil)
	tokens := env.user(t, "olga@example.com")
	verified := true
	require.NoError(t, env.a.Store().UpdateUser(context.Background(), env.stored(t, "olga@example.com").ID, UserChanges{IsVerified: &verified}))
	env.flushMail(t)

	res := env.call(t, http.MethodPatch, "/users/me", map[string]any{"email": "  Olga.New@Example.COM ", "current_password": routePassword}, tokens.AccessToken)
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	user := assertUserRead(t, res.Body)
	assert.Equal(t, "olga.new@example.com", user.Email)
	assert.False(t, user.IsVerified)

	stored := env.stored(t, "olga.new@example.com")
	assert.False(t, stored.IsVerified)
	_, err := env.a.Store().UserByEmail(context.Background(), "olga@example.com")
	assert.ErrorIs(t, err, ErrNotFound)

	// The session in use goes on: access and refresh tokens still work.
	env.assertAlive(t, tokens.AccessToken)
	assertTokenResponse(t, env.refresh(t, tokens.RefreshToken))
	res = env.call(t, http.MethodGet, "/users/me", nil, tokens.AccessToken)
	assert.Equal(t, "olga.new@example.com", assertUserRead(t, res.Body).Email)

	mails := mailsByKind(env.flushMail(t))
	require.Len(t, mails[MailVerify], 1, "mails: %v", mails)
	assert.Equal(t, "olga.new@example.com", mails[MailVerify][0].To)
	require.Len(t, mails[MailEmailChanged], 1, "mails: %v", mails)
	assert.Equal(t, "olga@example.com", mails[MailEmailChanged][0].To)
	assert.Contains(t, mails[MailEmailChanged][0].Text, "new=olga.new@example.com")
	assert.Empty(t, mails[MailPasswordChanged])

	calls := env.hookCalls()
	require.Len(t, calls, 1)
	assert.Equal(t, map[string]any{"email": "olga.new@example.com", "is_verified": false}, calls[0].changed)
	assert.Equal(t, "olga.new@example.com", calls[0].user.Email)
	assert.True(t, calls[0].request)

	// The mailed link verifies the new address.
	link, err := url.Parse(mailLink(t, mails[MailVerify][0]))
	require.NoError(t, err)
	res = env.call(t, http.MethodPost, "/auth/verify", map[string]string{"token": link.Query().Get("token")}, "")
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	assert.True(t, env.stored(t, "olga.new@example.com").IsVerified)

	// Sign-in uses the new address; the old one is unknown.
	login(t, env.srv, "olga.new@example.com", routePassword)
	res = env.call(t, http.MethodPost, "/auth/login", map[string]string{"email": "olga@example.com", "password": routePassword}, "")
	assert.Equal(t, string(CodeLoginBadCredentials), res.Detail(t))
}

// TestUpdateMePassword proves PATCH /users/me changing the password: every
// other session dies at once (refresh and access tokens), the current one
// goes on, the new password signs in and the old does not, a notice is
// mailed and the hook sees "password": true.
func TestUpdateMePassword(t *testing.T) {
	env := newUMEnv(t, nil)
	current := env.user(t, "pavel@example.com")
	other := login(t, env.srv, "pavel@example.com", routePassword)
	env.assertAlive(t, other.AccessToken) // cached as live on this instance
	env.flushMail(t)
	const newPassword = "a brand new passphrase"

	res := env.call(t, http.MethodPatch, "/users/me", map[string]any{"password": newPassword, "current_password": routePassword}, current.AccessToken)
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	assert.Equal(t, "pavel@example.com", assertUserRead(t, res.Body).Email)

	env.assertDead(t, other.AccessToken)
	res = env.refresh(t, other.RefreshToken)
	assertExactJSON(t, res, http.StatusUnauthorized, `{"detail":"REFRESH_TOKEN_INVALID"}`)

	env.assertAlive(t, current.AccessToken)
	assertTokenResponse(t, env.refresh(t, current.RefreshToken))

	login(t, env.srv, "pavel@example.com", newPassword)
	res = env.call(t, http.MethodPost, "/auth/login", map[string]string{"email": "pavel@example.com", "password": routePassword}, "")
	assert.Equal(t, string(CodeLoginBadCredentials), res.Detail(t))

	mails := mailsByKind(env.flushMail(t))
	require.Len(t, mails[MailPasswordChanged], 1, "mails: %v", mails)
	assert.Equal(t, "pavel@example.com", mails[MailPasswordChanged][0].To)
	assert.Empty(t, mails[MailVerify])
	assert.Empty(t, mails[MailEmailChanged])
	calls := env.hookCalls()
	require.Len(t, calls, 1)
	assert.Equal(t, map[string]any{"password": true}, calls[0].changed)
	assert.True(t, strings.HasPrefix(env.stored(t, "pavel@example.com").HashedPassword, "$argon2id$"))
}

// TestUpdateMeEmailAndPassword proves a change of both at once: one
// write, both notices to the old address, the verify link to the new one.
func TestUpdateMeEmailAndPassword(t *testing.T) {
	env := newUMEnv(t, nil)
	tokens := env.user(t, "quinn@example.com")
	env.flushMail(t)
	res := env.call(t, http.MethodPatch, "/users/me", map[string]any{
		"email": "quinn2@example.com", "password": "another good passphrase", "current_password": routePassword,
	}, tokens.AccessToken)
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	login(t, env.srv, "quinn2@example.com", "another good passphrase")

	mails := mailsByKind(env.flushMail(t))
	require.Len(t, mails[MailPasswordChanged], 1)
	assert.Equal(t, "quinn@example.com", mails[MailPasswordChanged][0].To)
	require.Len(t, mails[MailEmailChanged], 1)
	assert.Equal(t, "quinn@example.com", mails[MailEmailChanged][0].To)
	require.Len(t, mails[MailVerify], 1)
	assert.Equal(t, "quinn2@example.com", mails[MailVerify][0].To)
	calls := env.hookCalls()
	require.Len(t, calls, 1)
	assert.Equal(t, map[string]any{"email": "quinn2@example.com", "password": true}, calls[0].changed) // was not verified
}

// TestUpdateMeBadCurrentPassword proves that changing the email or the
// password of a user with a password needs the right current password:
// missing, null, empty or wrong is 400 UPDATE_USER_BAD_CURRENT_PASSWORD,
// and nothing changes, nothing is mailed, no hook runs.
func TestUpdateMeBadCurrentPassword(t *testing.T) {
	env := newUMEnv(t, nil)
	tokens := env.user(t, "rosa@example.com")
	before := env.stored(t, "rosa@example.com")
	env.flushMail(t)

	changes := map[string]map[string]any{
		"email":    {"email": "rosa2@example.com"},
		"password": {"password": "a brand new passphrase"},
	}
	currents := map[string]func(body map[string]any){
		"missing": func(map[string]any) {},
		"null":    func(b map[string]any) { b["current_password"] = nil },
		"empty":   func(b map[string]any) { b["current_password"] = "" },
		"wrong":   func(b map[string]any) { b["current_password"] = routePassword + "!" },
		"too long": func(b map[string]any) {
			b["current_password"] = strings.Repeat("x", MaxPasswordLength+1)
		},
	}
	for changeName, change := range changes {
		for currentName, setCurrent := range currents {
			t.Run(changeName+"/"+currentName, func(t *testing.T) {
				body := map[string]any{}
				for k, v := range change {
					body[k] = v
				}
				setCurrent(body)
				res := env.call(t, http.MethodPatch, "/users/me", body, tokens.AccessToken)
				assertExactJSON(t, res, http.StatusBadRequest, `{"detail":"UPDATE_USER_BAD_CURRENT_PASSWORD"}`)
			})
		}
	}
	after := env.stored(t, "rosa@example.com")
	assert.Equal(t, before.HashedPassword, after.HashedPassword)
	assert.Equal(t, before.UpdatedAt, after.UpdatedAt)
	assert.Empty(t, env.flushMail(t))
	assert.Empty(t, env.hookCalls())
	env.assertAlive(t, tokens.AccessToken)
}

// TestUpdateMeCurrentPasswordRateLimited proves that the current password
// is checked under the per-account login budget: a stolen access token
// cannot guess the password faster than the login route allows.
func TestUpdateMeCurrentPasswordRateLimited(t *testing.T) {
	env := newUMEnv(t, func(cfg *Config) {
		cfg.RateLimits.LoginPerAccount = Rate{Limit: 3, Period: time.Hour}
	})
	tokens := env.user(t, "sven@example.com") // the login takes one
	for i := 0; i < 2; i++ {
		res := env.call(t, http.MethodPatch, "/users/me", map[string]any{"password": "a brand new passphrase", "current_password": "guess" + string(rune('a'+i)) + "xxxxx"}, tokens.AccessToken)
		assertExactJSON(t, res, http.StatusBadRequest, `{"detail":"UPDATE_USER_BAD_CURRENT_PASSWORD"}`)
	}
	res := env.call(t, http.MethodPatch, "/users/me", map[string]any{"password": "a brand new passphrase", "current_password": routePassword}, tokens.AccessToken)
	assertExactJSON(t, res, http.StatusTooManyRequests, `{"detail":"TOO_MANY_REQUESTS"}`)
	assert.NotEmpty(t, res.Header.Get("Retry-After"))
	res = env.call(t, http.MethodDelete, "/users/me", map[string]any{"current_password": routePassword}, tokens.AccessToken)
	assertExactJSON(t, res, http.StatusTooManyRequests, `{"detail":"TOO_MANY_REQUESTS"}`)
	env.stored(t, "sven@example.com") // not deleted

	// A request that needs no password check is not limited.
	res = env.call(t, http.MethodPatch, "/users/me", map[string]any{"email": "SVEN@example.com"}, tokens.AccessToken)
	assert.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
}

// TestUpdateMeEmailTaken proves that another user's email, however it is
// written, is 400 UPDATE_USER_EMAIL_ALREADY_EXISTS and changes nothing.
func TestUpdateMeEmailTaken(t *testing.T) {
	env := newUMEnv(t, nil)
	tokens := env.user(t, "tara@example.com")
	env.user(t, "uma@example.com")
	env.flushMail(t)
	for _, email := range []string{"uma@example.com", "  UMA@Example.com "} {
		t.Run(email, func(t *testing.T) {
			res := env.call(t, http.MethodPatch, "/users/me", map[string]any{"email": email, "current_password": routePassword}, tokens.AccessToken)
			assertExactJSON(t, res, http.StatusBadRequest, `{"detail":"UPDATE_USER_EMAIL_ALREADY_EXISTS"}`)
		})
	}
	env.stored(t, "tara@example.com")
	assert.Empty(t, env.flushMail(t))
	assert.Empty(t, env.hookCalls())
}

// TestUpdateMeInvalidPassword proves that the password policy answers 400
// {code: UPDATE_USER_INVALID_PASSWORD, reason}, with the app's own reason
// from ValidatePassword, which sees the user; nothing changes.
func TestUpdateMeInvalidPassword(t *testing.T) {
	var seen *User
	env := newUMEnv(t, func(cfg *Config) {
		cfg.Hooks.ValidatePassword = func(_ context.Context, password string, user *User) error {
			seen = user
			if user != nil && strings.Contains(password, strings.Split(user.Email, "@")[0]) {
				return errors.New("Password must not contain your name.")
			}
			return nil
		}
	})
	tokens := env.user(t, "victor@example.com")
	before := env.stored(t, "victor@example.com")
	cases := []struct{ name, password, reason string }{
		{"too short", "short", "Password should be at least 8 characters."},
		{"too long", strings.Repeat("y", MaxPasswordLength+1), "Password should be at most 256 characters."},
		{"app rule", "victor is my password", "Password must not contain your name."},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := env.call(t, http.MethodPatch, "/users/me", map[string]any{"password": tc.password, "current_password": routePassword}, tokens.AccessToken)
			require.Equal(t, http.StatusBadRequest, res.Status, "body: %s", res.Body)
			want, _ := json.Marshal(map[string]any{"detail": map[string]string{"code": "UPDATE_USER_INVALID_PASSWORD", "reason": tc.reason}})
			assert.JSONEq(t, string(want), string(res.Body))
		})
	}
	require.NotNil(t, seen)
	assert.Equal(t, before.ID, seen.ID)
	assert.Equal(t, before.HashedPassword, env.stored(t, "victor@example.com").HashedPassword)
	assert.Empty(t, env.hookCalls())
}

// TestUpdateMeIgnoresPrivilegedFields proves the mass-assignment rule on
// PATCH /users/me: each privileged field, alone or with a real change, is
// ignored silently and the stored user keeps its own value.
func TestUpdateMeIgnoresPrivilegedFields(t *testing.T) {
	env := newUMEnv(t, nil)
	tokens := env.user(t, "wanda@example.com")
	before := env.stored(t, "wanda@example.com")
	chosenID := uuid.New()
	const chosenHash = "$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
	cases := map[string]any{
		"is_superuser":    true,
		"is_verified":     true,
		"is_active":       false,
		"id":              chosenID.String(),
		"hashed_password": chosenHash,
		"HashedPassword":  chosenHash,
		"oauth_accounts":  []map[string]string{{"oauth_name": "github", "account_id": "1"}},
		"created_at":      "2000-01-01T00:00:00Z",
	}
	for field, value := range cases {
		t.Run(field, func(t *testing.T) {
			for _, extra := range []map[string]any{{}, {"email": "Wanda@Example.com"}} {
				body := map[string]any{field: value}
				for k, v := range extra {
					body[k] = v
				}
				res := env.call(t, http.MethodPatch, "/users/me", body, tokens.AccessToken)
				require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
				user := assertUserRead(t, res.Body)
				assert.Equal(t, before.ID, user.ID)
				assert.False(t, user.IsSuperuser)
				assert.False(t, user.IsVerified)
				assert.True(t, user.IsActive)

				stored := env.stored(t, "wanda@example.com")
				assert.Equal(t, before.ID, stored.ID)
				assert.False(t, stored.IsSuperuser)
				assert.False(t, stored.IsVerified)
				assert.True(t, stored.IsActive)
				assert.Equal(t, before.HashedPassword, stored.HashedPassword)
				assert.Equal(t, before.CreatedAt.Unix(), stored.CreatedAt.Unix())
				accounts, err := env.a.Store().OAuthAccountsOf(context.Background(), before.ID)
				require.NoError(t, err)
				assert.Empty(t, accounts)
			}
		})
	}
	_, err := env.a.Store().UserByID(context.Background(), chosenID)
	assert.ErrorIs(t, err, ErrNotFound)
	assert.Empty(t, env.hookCalls(), "nothing changed")
	env.assertAlive(t, tokens.AccessToken)
}

// TestUpdateMeNothingChanges proves that a PATCH that changes nothing is
// 200 with the user unchanged, needs no current password, and runs no hook.
func TestUpdateMeNothingChanges(t *testing.T) {
	env := newUMEnv(t, nil)
	tokens := env.user(t, "xena@example.com")
	before := env.stored(t, "xena@example.com")
	env.flushMail(t)
	for name, body := range map[string]any{
		"empty object":       map[string]any{},
		"same email":         map[string]any{"email": "xena@example.com"},
		"same email written": map[string]any{"email": "  XENA@example.COM "},
		"nulls":              map[string]any{"email": nil, "password": nil},
		"unneeded current":   map[string]any{"current_password": "wrong but unused"},
	} {
		t.Run(name, func(t *testing.T) {
			res := env.call(t, http.MethodPatch, "/users/me", body, tokens.AccessToken)
			require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
			user := assertUserRead(t, res.Body)
			assert.Equal(t, "xena@example.com", user.Email)
		})
	}
	after := env.stored(t, "xena@example.com")
	assert.Equal(t, before.UpdatedAt, after.UpdatedAt)
	assert.Empty(t, env.hookCalls())
	assert.Empty(t, env.flushMail(t))
}

// TestUpdateMeValidation proves the body checks of PATCH /users/me: a
// malformed email is 422 on "email", wrong types 422, another media type
// 415, and no token 401.
func TestUpdateMeValidation(t *testing.T) {
	env := newUMEnv(t, nil)
	tokens := env.user(t, "yara@example.com")
	for name, tc := range map[string]struct {
		body  any
		field string
	}{
		"malformed email":   {map[string]any{"email": "not-an-email", "current_password": routePassword}, "email"},
		"empty email":       {map[string]any{"email": "", "current_password": routePassword}, "email"},
		"email with CRLF":   {map[string]any{"email": "a@example.com\r\nBcc: b@example.com", "current_password": routePassword}, "email"},
		"email not string":  {map[string]any{"email": 42}, "email"},
		"password not text": {map[string]any{"password": true}, "password"},
		"array body":        {[]any{}, "body"},
	} {
		t.Run(name, func(t *testing.T) {
			assertValidationError(t, env.call(t, http.MethodPatch, "/users/me", tc.body, tokens.AccessToken), tc.field)
		})
	}
	res := routeRaw(t, env.srv, http.MethodPatch, "/users/me", "text/plain", []byte(`{"email":"a@example.com"}`), tokens.AccessToken)
	assertExactJSON(t, res, http.StatusUnsupportedMediaType, `{"detail":"UNSUPPORTED_MEDIA_TYPE"}`)
	res = env.call(t, http.MethodPatch, "/users/me", map[string]any{"email": "z@example.com"}, "")
	assertExactJSON(t, res, http.StatusUnauthorized, `{"detail":"UNAUTHORIZED"}`)
	assert.Equal(t, "yara@example.com", env.stored(t, "yara@example.com").Email)
}

// TestUpdateMeWithoutPassword proves the rule for a user who signs in only
// through a provider: with no password to confirm, they may set one and
// change their email without current_password; once they have a password,
// changes need it like everyone's.
func TestUpdateMeWithoutPassword(t *testing.T) {
	env := newUMEnv(t, nil)
	_, tokens := env.oauthOnlyUser(t, "zoe@example.com")
	res := env.call(t, http.MethodPost, "/auth/login", map[string]string{"email": "zoe@example.com", "password": "anything at all"}, "")
	assert.Equal(t, string(CodeLoginBadCredentials), res.Detail(t), "no password: no password sign-in")

	res = env.call(t, http.MethodPatch, "/users/me", map[string]any{"email": "zoe2@example.com"}, tokens.AccessToken)
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	assert.False(t, assertUserRead(t, res.Body).IsVerified)

	res = env.call(t, http.MethodPatch, "/users/me", map[string]any{"password": routePassword}, tokens.AccessToken)
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	login(t, env.srv, "zoe2@example.com", routePassword)
	env.assertAlive(t, tokens.AccessToken) // the current session survives

	res = env.call(t, http.MethodPatch, "/users/me", map[string]any{"email": "zoe3@example.com"}, tokens.AccessToken)
	assertExactJSON(t, res, http.StatusBadRequest, `{"detail":"UPDATE_USER_BAD_CURRENT_PASSWORD"}`)
}

// TestUpdateMeConcurrentPasswordChanges proves that two password changes
// confirmed with the same current password cannot both win: the write is
// conditional on the hash that was checked.
func TestUpdateMeConcurrentPasswordChanges(t *testing.T) {
	env := newUMEnv(t, nil)
	tokens := env.user(t, "adam@example.com")
	const n = 4
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := do(t, env.srv, http.MethodPatch, "/users/me", map[string]any{
				"password": "concurrent passphrase " + string(rune('a'+i)), "current_password": routePassword,
			}, tokens.AccessToken)
			statuses[i] = res.Status
		}()
	}
	wg.Wait()
	ok := 0
	for _, s := range statuses {
		if s == http.StatusOK {
			ok++
		} else {
			assert.Equal(t, http.StatusBadRequest, s)
		}
	}
	assert.Equal(t, 1, ok, "statuses: %v", statuses)
}

// TestDeleteMe proves DELETE /users/me: a user with a password must
// confirm it (missing, empty body or wrong: 400 and the user stays); then
// 204, the user is gone, its tokens die at once, and hooks run.
func TestDeleteMe(t *testing.T) {
	var before, after []string
	env := newUMEnv(t, func(cfg *Config) {
		cfg.Hooks.OnBeforeDelete = func(_ context.Context, user *User, r *http.Request) error {
			before = append(before, user.Email)
			assert.NotNil(t, r)
			return nil
		}
		cfg.Hooks.OnAfterDelete = func(_ context.Context, user *User, r *http.Request) {
			after = append(after, user.Email)
			assert.NotNil(t, r)
		}
	})
	tokens := env.user(t, "bella@example.com")
	other := login(t, env.srv, "bella@example.com", routePassword)
	env.assertAlive(t, other.AccessToken)

	for name, body := range map[string]any{
		"no body":  nil,
		"empty":    map[string]any{},
		"null":     map[string]any{"current_password": nil},
		"wrong":    map[string]any{"current_password": "not the password"},
		"ignored":  map[string]any{"password": routePassword},
		"as email": map[string]any{"current_password": "bella@example.com"},
	} {
		t.Run(name, func(t *testing.T) {
			res := env.call(t, http.MethodDelete, "/users/me", body, tokens.AccessToken)
			assertExactJSON(t, res, http.StatusBadRequest, `{"detail":"UPDATE_USER_BAD_CURRENT_PASSWORD"}`)
		})
	}
	env.stored(t, "bella@example.com")
	assert.Empty(t, before)

	res := env.call(t, http.MethodDelete, "/users/me", map[string]any{"current_password": routePassword}, tokens.AccessToken)
	require.Equal(t, http.StatusNoContent, res.Status, "body: %s", res.Body)
	assert.Empty(t, res.Body)
	_, err := env.a.Store().UserByEmail(context.Background(), "bella@example.com")
	assert.ErrorIs(t, err, ErrNotFound)
	assert.Equal(t, []string{"bella@example.com"}, before)
	assert.Equal(t, []string{"bella@example.com"}, after)

	for _, tok := range []TokenResponse{tokens, other} {
		env.assertDead(t, tok.AccessToken)
		res := env.call(t, http.MethodGet, "/users/me", nil, tok.AccessToken)
		assert.Equal(t, http.StatusUnauthorized, res.Status)
		assertExactJSON(t, env.refresh(t, tok.RefreshToken), http.StatusUnauthorized, `{"detail":"REFRESH_TOKEN_INVALID"}`)
	}
	// The address is free again.
	env.user(t, "bella@example.com")
}

// TestDeleteMeWithoutPassword proves that a user with no password deletes
// their account with an empty body.
func TestDeleteMeWithoutPassword(t *testing.T) {
	env := newUMEnv(t, nil)
	user, tokens := env.oauthOnlyUser(t, "carl@example.com")
	env.assertAlive(t, tokens.AccessToken)
	res := routeRaw(t, env.srv, http.MethodDelete, "/users/me", "", nil, tokens.AccessToken)
	require.Equal(t, http.StatusNoContent, res.Status, "body: %s", res.Body)
	_, err := env.a.Store().UserByID(context.Background(), user.ID)
	assert.ErrorIs(t, err, ErrNotFound)
	env.assertDead(t, tokens.AccessToken)
}

// TestMeSessions proves GET and DELETE /users/me/sessions: the list holds
// the live sessions only, newest first, with `current` on the caller's;
// deleting one kills its tokens at once; another user's session, an ended
// one, an unknown or malformed id is 404 SESSION_NOT_FOUND; deleting the
// current session is a logout.
func TestMeSessions(t *testing.T) {
	env := newUMEnv(t, nil)
	first := env.user(t, "dora@example.com")
	second := login(t, env.srv, "dora@example.com", routePassword)
	third := login(t, env.srv, "dora@example.com", routePassword)
	stranger := env.user(t, "emil@example.com")
	env.assertAlive(t, second.AccessToken)

	type listed struct {
		Sessions []struct {
			ID         uuid.UUID `json:"id"`
			CreatedAt  time.Time `json:"created_at"`
			LastUsedAt time.Time `json:"last_used_at"`
			UserAgent  string    `json:"user_agent"`
			IP         string    `json:"ip"`
			Current    bool      `json:"current"`
		} `json:"sessions"`
	}
	list := func(token string) listed {
		t.Helper()
		res := env.call(t, http.MethodGet, "/users/me/sessions", nil, token)
		require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
		var raw map[string][]map[string]any
		require.NoError(t, json.Unmarshal(res.Body, &raw))
		for _, s := range raw["sessions"] {
			keys := make([]string, 0, len(s))
			for k := range s {
				keys = append(keys, k)
			}
			assert.ElementsMatch(t, []string{"id", "created_at", "last_used_at", "user_agent", "ip", "current"}, keys)
		}
		var l listed
		require.NoError(t, json.Unmarshal(res.Body, &l))
		return l
	}
	sessionOf := func(tok TokenResponse) uuid.UUID {
		t.Helper()
		claims, err := env.a.VerifyAccessToken(tok.AccessToken)
		require.NoError(t, err)
		return claims.Session()
	}

	l := list(first.AccessToken)
	require.Len(t, l.Sessions, 3)
	ids := []uuid.UUID{l.Sessions[0].ID, l.Sessions[1].ID, l.Sessions[2].ID}
	assert.ElementsMatch(t, []uuid.UUID{sessionOf(first), sessionOf(second), sessionOf(third)}, ids)
	for i, s := range l.Sessions {
		assert.Equal(t, s.ID == sessionOf(first), s.Current, "session %d", i)
		assert.Equal(t, "Go-http-client/1.1", s.UserAgent)
		assert.Equal(t, "127.0.0.1", s.IP)
		assert.False(t, s.CreatedAt.IsZero())
		if i > 0 {
			assert.False(t, s.CreatedAt.After(l.Sessions[i-1].CreatedAt), "newest first")
		}
	}

	notFound := map[string]string{
		"another user's session": sessionOf(stranger).String(),
		"unknown id":             uuid.NewString(),
		"malformed id":           "not-a-uuid",
		"nil id":                 uuid.Nil.String(),
	}
	for name, id := range notFound {
		t.Run(name, func(t *testing.T) {
			res := env.call(t, http.MethodDelete, "/users/me/sessions/"+id, nil, first.AccessToken)
			assertExactJSON(t, res, http.StatusNotFound, `{"detail":"SESSION_NOT_FOUND"}`)
		})
	}
	env.assertAlive(t, stranger.AccessToken)

	res := env.call(t, http.MethodDelete, "/users/me/sessions/"+sessionOf(second).String(), nil, first.AccessToken)
	require.Equal(t, http.StatusNoContent, res.Status, "body: %s", res.Body)
	env.assertDead(t, second.AccessToken)
	assertExactJSON(t, env.refresh(t, second.RefreshToken), http.StatusUnauthorized, `{"detail":"REFRESH_TOKEN_INVALID"}`)
	res = env.call(t, http.MethodDelete, "/users/me/sessions/"+sessionOf(second).String(), nil, first.AccessToken)
	assertExactJSON(t, res, http.StatusNotFound, `{"detail":"SESSION_NOT_FOUND"}`)

	l = list(third.AccessToken)
	require.Len(t, l.Sessions, 2)
	for _, s := range l.Sessions {
		assert.NotEqual(t, sessionOf(second), s.ID)
		assert.Equal(t, s.ID == sessionOf(third), s.Current)
	}
	assert.Len(t, list(stranger.AccessToken).Sessions, 1)

	// Ending the current session is a logout.
	res = env.call(t, http.MethodDelete, "/users/me/sessions/"+sessionOf(first).String(), nil, first.AccessToken)
	require.Equal(t, http.StatusNoContent, res.Status, "body: %s", res.Body)
	env.assertDead(t, first.AccessToken)
	env.assertAlive(t, third.AccessToken)

	res = env.call(t, http.MethodGet, "/users/me/sessions", nil, "")
	assertExactJSON(t, res, http.StatusUnauthorized, `{"detail":"UNAUTHORIZED"}`)
}

// TestUsersRouteOrder proves Gin routes /me, /me/sessions, /me/sessions/{id}
// and /{id} apart: "me" is never taken for an id, and an id never for "me".
func TestUsersRouteOrder(t *testing.T) {
	env := newUMEnv(t, nil)
	admin := env.superuser(t, "root@example.com")
	plain := env.user(t, "fred@example.com")
	fredID := env.stored(t, "fred@example.com").ID

	res := env.call(t, http.MethodGet, "/users/me", nil, admin.AccessToken)
	require.Equal(t, http.StatusOK, res.Status)
	assert.Equal(t, "root@example.com", assertUserRead(t, res.Body).Email)
	res = env.call(t, http.MethodGet, "/users/me", nil, plain.AccessToken)
	require.Equal(t, http.StatusOK, res.Status, "GET /users/me is not a superuser route")
	assert.Equal(t, "fred@example.com", assertUserRead(t, res.Body).Email)

	res = env.call(t, http.MethodGet, "/users/"+fredID.String(), nil, admin.AccessToken)
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	assert.Equal(t, "fred@example.com", assertUserRead(t, res.Body).Email)
	res = env.call(t, http.MethodGet, "/users/"+fredID.String(), nil, plain.AccessToken)
	assertExactJSON(t, res, http.StatusForbidden, `{"detail":"FORBIDDEN"}`)

	res = env.call(t, http.MethodGet, "/users/me/sessions", nil, plain.AccessToken)
	require.Equal(t, http.StatusOK, res.Status)
	assert.Contains(t, res.JSON(t), "sessions")

	res = env.call(t, http.MethodGet, "/users", nil, admin.AccessToken)
	require.Equal(t, http.StatusOK, res.Status)
	assert.Contains(t, res.JSON(t), "items")

	// A PATCH of "me" by a superuser is the self-service route: privileged
	// fields are ignored there.
	res = env.call(t, http.MethodPatch, "/users/me", map[string]any{"is_superuser": false}, admin.AccessToken)
	require.Equal(t, http.StatusOK, res.Status)
	assert.True(t, env.stored(t, "root@example.com").IsSuperuser)

	res = do(t, env.srv, http.MethodGet, "/users/"+fredID.String()+"/sessions", nil, admin.AccessToken)
	assert.Equal(t, http.StatusNotFound, res.Status, "no such route")
}

// TestWithoutPasswordNeedsFreshToken proves what stands in for the current
// password of a user who has none: changing the email or the password, or
// deleting the account, needs an access token from a sign-in, not one from
// a refresh, so an older stolen token cannot take the account over.
func TestWithoutPasswordNeedsFreshToken(t *testing.T) {
	env := newUMEnv(t, nil)
	user, tokens := env.oauthOnlyUser(t, "fresh@example.com")
	refreshed, err := env.a.Refresh(context.Background(), tokens.RefreshToken)
	require.NoError(t, err)
	stale := refreshed.AccessToken

	for name, body := range map[string]map[string]any{
		"email":    {"email": "taken-over@example.com"},
		"password": {"password": "attacker's passphrase"},
	} {
		res := env.call(t, http.MethodPatch, "/users/me", body, stale)
		assert.Equal(t, http.StatusForbidden, res.Status, name)
		assert.Equal(t, string(CodeForbidden), res.Detail(t), name)
	}
	res := routeRaw(t, env.srv, http.MethodDelete, "/users/me", "", nil, stale)
	assert.Equal(t, http.StatusForbidden, res.Status)

	stored := env.stored(t, "fresh@example.com")
	assert.Equal(t, user.ID, stored.ID, "nothing changed")
	assert.False(t, stored.HasPassword())

	// A stale token still reads the user; a fresh one may change it.
	assert.Equal(t, http.StatusOK, env.call(t, http.MethodGet, "/users/me", nil, stale).Status)
	fresh, err := env.a.startSession(context.Background(), stored, ClientInfo{})
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, env.call(t, http.MethodPatch, "/users/me", map[string]any{"email": "fresh2@example.com"}, fresh.AccessToken).Status)
}
