package ginauth

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const lifecyclePassword = "correct horse battery staple"

// outbox is a Mailer that keeps every mail, for tests.
type outbox struct {
	mu    sync.Mutex
	mails []*Mail
	sent  chan struct{}
}

func newOutbox() *outbox { return &outbox{sent: make(chan struct{}, 1000)} }

// SendMail implements Mailer.
func (o *outbox) SendMail(_ context.Context, m *Mail) error {
	o.mu.Lock()
	o.mails = append(o.mails, m)
	o.mu.Unlock()
	o.sent <- struct{}{}
	return nil
}

// waitFor returns the first mail to `to` whose subject contains subject,
// waiting for it up to 10 seconds, and removes it from the outbox.
func (o *outbox) waitFor(t testing.TB, to, subject string) *Mail {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		o.mu.Lock()
		for i, m := range o.mails {
			if m.To == to && strings.Contains(strings.ToLower(m.Subject), strings.ToLower(subject)) {
				o.mails = append(o.mails[:i], o.mails[i+1:]...)
				o.mu.Unlock()
				return m
			}
		}
		o.mu.Unlock()
		select {
		case <-o.sent:
		case <-deadline:
			t.Fatalf("no mail to %s about %q", to, subject)
		}
	}
}

// count is the number of mails not yet taken by waitFor.
func (o *outbox) count() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.mails)
}

var linkToken = regexp.MustCompile(`token=([A-Za-z0-9_\-.]+)`)

// tokenOf returns the token of the link in a mail's text.
func tokenOf(t testing.TB, m *Mail) string {
	t.Helper()
	match := linkToken.FindStringSubmatch(m.Text)
	require.NotNil(t, match, "no link in %q", m.Text)
	return match[1]
}

// newLifecycleFixture builds an Auth with a mail outbox, a fake clock and
// the base URL https://app.example.com, serves it, and returns a caller.
func newLifecycleFixture(t *testing.T, edit func(*Config)) (*Auth, *outbox, *sessClock, func(method, path string, body any, token string) apiResponse) {
	t.Helper()
	box, clock := newOutbox(), newSessClock()
	a := newTestAuth(t, func(c *Config) {
		c.Mailer, c.Now, c.BaseURL = box, clock.Now, "https://app.example.com"
		if edit != nil {
			edit(c)
		}
	})
	srv := newTestServer(t, a)
	call := func(method, path string, body any, token string) apiResponse {
		return do(t, srv, method, path, body, token)
	}
	return a, box, clock, call
}

// TestVerifyFlow proves the verify flow as a user meets it: register, a
// mail with a link built from the configured base URL, POST /verify, and a
// second use refused as already verified.
func TestVerifyFlow(t *testing.T) {
	var verified []*User
	a, box, _, call := newLifecycleFixture(t, func(c *Config) {
		c.Hooks.OnAfterVerify = func(_ context.Context, u *User, r *http.Request) {
			assert.NotNil(t, r)
			verified = append(verified, u)
		}
	})
	res := call(http.MethodPost, "/auth/register", map[string]string{"email": "Vera@Example.com", "password": lifecyclePassword}, "")
	require.Equal(t, http.StatusCreated, res.Status, "%s", res.Body)

	mail := box.waitFor(t, "vera@example.com", "verify")
	assert.Contains(t, mail.Text, "https://app.example.com/verify?token=")
	assert.Contains(t, mail.HTML, "https://app.example.com/verify?token=")
	token := tokenOf(t, mail)

	res = call(http.MethodPost, "/auth/verify", map[string]string{"token": token}, "")
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	assert.Equal(t, true, res.JSON(t)["is_verified"])
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
	require.Len(t, verified, 1)
	assert.Equal(t, "vera@example.com", verified[0].Email)

	stored, err := a.Store().UserByEmail(context.Background(), "vera@example.com")
	require.NoError(t, err)
	assert.True(t, stored.IsVerified)

	res = call(http.MethodPost, "/auth/verify", map[string]string{"token": token}, "")
	require.Equal(t, http.StatusBadRequest, res.Status)
	assert.Equal(t, string(CodeVerifyUserAlreadyVerified), res.Detail(t))
}

// TestRequestVerifyToken proves that /request-verify-token answers 202
// null whatever the email, and mails a link only to an active user who is
// not verified yet.
func TestRequestVerifyToken(t *testing.T) {
	var mu sync.Mutex // the hook runs in the mail jobs, concurrently
	var requested []string
	a, box, _, call := newLifecycleFixture(t, func(c *Config) {
		c.Hooks.OnAfterRequestVerify = func(_ context.Context, u *User, token string, _ *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			requested = append(requested, u.Email+" "+token)
		}
	})
	ctx := context.Background()
	_, err := a.CreateUser(ctx, NewUser{Email: "pending@example.com", Password: lifecyclePassword})
	require.NoError(t, err)
	_, err = a.CreateUser(ctx, NewUser{Email: "done@example.com", Password: lifecyclePassword, IsVerified: true})
	require.NoError(t, err)
	_, err = a.CreateUser(ctx, NewUser{Email: "gone@example.com", Password: lifecyclePassword, Inactive: true})
	require.NoError(t, err)

	for _, email := range []string{"pending@example.com", "done@example.com", "gone@example.com", "nobody@example.com", " PENDING@example.com "} {
		res := call(http.MethodPost, "/auth/request-verify-token", map[string]string{"email": email}, "")
		require.Equal(t, http.StatusAccepted, res.Status, email)
		assert.Equal(t, "null", string(res.Body), email)
	}
	a.background.Wait()
	assert.Equal(t, 2, box.count(), "only the pending user gets mail, twice")
	first, second := box.waitFor(t, "pending@example.com", "verify"), box.waitFor(t, "pending@example.com", "verify")
	assert.NotEqual(t, tokenOf(t, first), tokenOf(t, second))
	assert.ElementsMatch(t, []string{"pending@example.com " + tokenOf(t, first), "pending@example.com " + tokenOf(t, second)}, requested)

	for name, body := range map[string]any{"missing": map[string]string{}, "malformed": map[string]string{"email": "not-an-email"}} {
		res := call(http.MethodPost, "/auth/request-verify-token", body, "")
		assert.Equal(t, http.StatusUnprocessableEntity, res.Status, name)
	}
}

// signedWith signs claims as a token of kind with key, for forging tokens
// in tests.
func signedWith(t testing.TB, method jwt.SigningMethod, typ string, claims jwt.Claims, key any) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, claims)
	tok.Header["typ"] = typ
	raw, err := tok.SignedString(key)
	require.NoError(t, err)
	return raw
}

// TestVerifyRefusesBadTokens proves that every token but a current verify
// token for the user's present email is VERIFY_USER_BAD_TOKEN: other kinds
// of token, forged, expired, or issued for an email the user gave up.
func TestVerifyRefusesBadTokens(t *testing.T) {
	a, _, clock, call := newLifecycleFixture(t, nil)
	ctx := context.Background()
	user, err := a.CreateUser(ctx, NewUser{Email: "bad-verify@example.com", Password: lifecyclePassword})
	require.NoError(t, err)
	good, err := a.issueAccountToken(a.verifyTokens, user)
	require.NoError(t, err)
	reset, err := a.issueAccountToken(a.resetTokens, user)
	require.NoError(t, err)
	pair, _, err := a.Login(ctx, user.Email, lifecyclePassword, ClientInfo{})
	require.NoError(t, err)
	claims := accountClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: a.cfg.Issuer, Subject: user.ID.String(), Audience: jwt.ClaimStrings{a.verifyTokens.audience()},
			IssuedAt: jwt.NewNumericDate(clock.Now()), ExpiresAt: jwt.NewNumericDate(clock.Now().Add(time.Hour)),
		},
		Email: emailFingerprint(a.verifyTokens.keys[0], user.Email),
	}
	// The forged claims are right in every way but the one each case breaks.
	control := signedWith(t, jwt.SigningMethodHS256, a.verifyTokens.typ, claims, a.verifyTokens.keys[0])
	_, err = a.parseAccountToken(a.verifyTokens, control)
	require.NoError(t, err, "the control token is accepted")
	other := newTestAuth(t, func(c *Config) { c.Secret = randomHex(32) })

	otherToken, err := other.issueAccountToken(other.verifyTokens, user)
	require.NoError(t, err)
	cases := map[string]string{
		"garbage":             "not-a-token",
		"empty":               "",
		"reset token":         reset,
		"access token":        pair.AccessToken,
		"refresh token":       pair.RefreshToken,
		"another secret":      otherToken,
		"signed with secret":  signedWith(t, jwt.SigningMethodHS256, a.verifyTokens.typ, claims, []byte(testSecret)),
		"wrong typ":           signedWith(t, jwt.SigningMethodHS256, "JWT", claims, a.verifyTokens.keys[0]),
		"alg none":            signedWith(t, jwt.SigningMethodNone, a.verifyTokens.typ, claims, jwt.UnsafeAllowNoneSignatureType),
		"tampered":            good[:len(good)-4] + "AAAA",
		"huge":                strings.Repeat("a", 10_000),
		"another user's id":   signedWith(t, jwt.SigningMethodHS256, a.verifyTokens.typ, withSubject(claims, uuid.NewString()), a.verifyTokens.keys[0]),
		"another user's mail": signedWith(t, jwt.SigningMethodHS256, a.verifyTokens.typ, withEmail(claims, emailFingerprint(a.verifyTokens.keys[0], "else@example.com")), a.verifyTokens.keys[0]),
	}
	for name, token := range cases {
		t.Run(name, func(t *testing.T) {
			res := call(http.MethodPost, "/auth/verify", map[string]string{"token": token}, "")
			require.Equal(t, http.StatusBadRequest, res.Status, "%s", res.Body)
			assert.Equal(t, string(CodeVerifyUserBadToken), res.Detail(t))
		})
	}

	t.Run("expired", func(t *testing.T) {
		clock.Advance(24*time.Hour + time.Minute)
		defer clock.Advance(-(24*time.Hour + time.Minute))
		res := call(http.MethodPost, "/auth/verify", map[string]string{"token": good}, "")
		assert.Equal(t, string(CodeVerifyUserBadToken), res.Detail(t))
	})
	t.Run("after an email change", func(t *testing.T) {
		newEmail := "moved@example.com"
		require.NoError(t, a.Store().UpdateUser(ctx, user.ID, UserChanges{Email: &newEmail}))
		res := call(http.MethodPost, "/auth/verify", map[string]string{"token": good}, "")
		assert.Equal(t, string(CodeVerifyUserBadToken), res.Detail(t))
	})
	stored, err := a.Store().UserByID(ctx, user.ID)
	require.NoError(t, err)
	assert.False(t, stored.IsVerified, "no bad token verified the user")
}

func withSubject(c accountClaims, sub string) accountClaims { c.Subject = sub; return c }
func withEmail(c accountClaims, email string) accountClaims { c.Email = email; return c }

// TestResetPasswordFlow proves the reset flow: forgot-password mails a
// link, reset-password sets the new password, every session of the user
// dies at once (refresh and access tokens), the old password stops working
// and a notice is mailed.
func TestResetPasswordFlow(t *testing.T) {
	var forgot, reset []string
	a, box, _, call := newLifecycleFixture(t, func(c *Config) {
		c.Hooks.OnAfterForgotPassword = func(_ context.Context, u *User, token string, _ *http.Request) {
			forgot = append(forgot, u.Email+" "+token)
		}
		c.Hooks.OnAfterResetPassword = func(_ context.Context, u *User, _ *http.Request) { reset = append(reset, u.Email) }
	})
	ctx := context.Background()
	_, err := a.CreateUser(ctx, NewUser{Email: "rita@example.com", Password: lifecyclePassword})
	require.NoError(t, err)
	first := loginVia(t, call, "rita@example.com", lifecyclePassword)
	second := loginVia(t, call, "rita@example.com", lifecyclePassword)

	res := call(http.MethodPost, "/auth/forgot-password", map[string]string{"email": "RITA@example.com"}, "")
	require.Equal(t, http.StatusAccepted, res.Status)
	assert.Equal(t, "null", string(res.Body))
	mail := box.waitFor(t, "rita@example.com", "password")
	assert.Contains(t, mail.Text, "https://app.example.com/reset-password?token=")
	token := tokenOf(t, mail)
	require.Len(t, forgot, 1)
	assert.Equal(t, "rita@example.com "+token, forgot[0])

	newPassword := "a brand new passphrase"
	res = call(http.MethodPost, "/auth/reset-password", map[string]string{"token": token, "password": newPassword}, "")
	require.Equal(t, http.StatusOK, res.Status, "%s", res.Body)
	assert.Equal(t, "null", string(res.Body))
	assert.Equal(t, []string{"rita@example.com"}, reset)

	for _, pair := range []TokenResponse{first, second} {
		assert.Equal(t, http.StatusUnauthorized, call(http.MethodGet, "/api/me", nil, pair.AccessToken).Status, "access token of an old session")
		res := call(http.MethodPost, "/auth/refresh", map[string]string{"refresh_token": pair.RefreshToken}, "")
		assert.Equal(t, http.StatusUnauthorized, res.Status, "refresh token of an old session")
	}
	res = call(http.MethodPost, "/auth/login", map[string]string{"email": "rita@example.com", "password": lifecyclePassword}, "")
	assert.Equal(t, string(CodeLoginBadCredentials), res.Detail(t))
	loginVia(t, call, "rita@example.com", newPassword)
	box.waitFor(t, "rita@example.com", "changed")
}

// loginVia signs in through the API and returns the tokens.
func loginVia(t testing.TB, call func(method, path string, body any, token string) apiResponse, email, password string) TokenResponse {
	t.Helper()
	res := call(http.MethodPost, "/auth/login", map[string]string{"email": email, "password": password}, "")
	require.Equal(t, http.StatusOK, res.Status, "login: %s", res.Body)
	pair := TokenResponse{}
	m := res.JSON(t)
	pair.AccessToken, _ = m["access_token"].(string)
	pair.RefreshToken, _ = m["refresh_token"].(string)
	return pair
}

// TestResetPasswordRefusesBadTokens proves the reset token's rules: it
// works once; it dies when the password changes by any other way, when it
// expires, when the email changes; tokens of other kinds are refused; and
// a password the policy refuses does not spend it.
func TestResetPasswordRefusesBadTokens(t *testing.T) {
	a, _, clock, call := newLifecycleFixture(t, func(c *Config) {
		c.Hooks.ValidatePassword = func(_ context.Context, password string, _ *User) error {
			if strings.Contains(password, "forbidden") {
				return &PasswordError{Reason: "no forbidden words"}
			}
			return nil
		}
	})
	ctx := context.Background()
	user, err := a.CreateUser(ctx, NewUser{Email: "bad-reset@example.com", Password: lifecyclePassword})
	require.NoError(t, err)
	issue := func() string {
		t.Helper()
		fresh, err := a.Store().UserByID(ctx, user.ID)
		require.NoError(t, err)
		token, err := a.issueAccountToken(a.resetTokens, fresh)
		require.NoError(t, err)
		return token
	}
	resetWith := func(token, password string) apiResponse {
		return call(http.MethodPost, "/auth/reset-password", map[string]string{"token": token, "password": password}, "")
	}
	refused := func(t *testing.T, res apiResponse) {
		t.Helper()
		require.Equal(t, http.StatusBadRequest, res.Status, "%s", res.Body)
		assert.Equal(t, string(CodeResetPasswordBadToken), res.Detail(t))
	}

	t.Run("policy failure does not spend the token", func(t *testing.T) {
		token := issue()
		res := resetWith(token, "short")
		require.Equal(t, http.StatusBadRequest, res.Status)
		detail := res.JSON(t)["detail"].(map[string]any)
		assert.Equal(t, string(CodeResetPasswordInvalidPassword), detail["code"])
		res = resetWith(token, "a forbidden passphrase")
		assert.Equal(t, "no forbidden words", res.JSON(t)["detail"].(map[string]any)["reason"])
		require.Equal(t, http.StatusOK, resetWith(token, "first new passphrase").Status)
		t.Run("reused", func(t *testing.T) { refused(t, resetWith(token, "second new passphrase")) })
	})
	t.Run("after a password change", func(t *testing.T) {
		token := issue()
		hash, err := a.hasher.Hash(ctx, "changed elsewhere!")
		require.NoError(t, err)
		require.NoError(t, a.Store().UpdateUser(ctx, user.ID, UserChanges{HashedPassword: &hash}))
		refused(t, resetWith(token, "third new passphrase"))
	})
	t.Run("expired", func(t *testing.T) {
		token := issue()
		clock.Advance(time.Hour + time.Minute)
		defer clock.Advance(-(time.Hour + time.Minute))
		refused(t, resetWith(token, "fourth new passphrase"))
	})
	t.Run("after an email change", func(t *testing.T) {
		token := issue()
		email := "bad-reset-moved@example.com"
		require.NoError(t, a.Store().UpdateUser(ctx, user.ID, UserChanges{Email: &email}))
		refused(t, resetWith(token, "fifth new passphrase"))
	})
	t.Run("other kinds", func(t *testing.T) {
		fresh, err := a.Store().UserByID(ctx, user.ID)
		require.NoError(t, err)
		verify, err := a.issueAccountToken(a.verifyTokens, fresh)
		require.NoError(t, err)
		pair, _, err := a.Login(ctx, fresh.Email, "changed elsewhere!", ClientInfo{})
		require.NoError(t, err)
		for name, token := range map[string]string{"verify token": verify, "access token": pair.AccessToken, "refresh token": pair.RefreshToken, "garbage": "x.y.z"} {
			t.Run(name, func(t *testing.T) { refused(t, resetWith(token, "sixth new passphrase")) })
		}
		// And the reset token is no verify token.
		res := call(http.MethodPost, "/auth/verify", map[string]string{"token": issue()}, "")
		assert.Equal(t, string(CodeVerifyUserBadToken), res.Detail(t))
	})
	t.Run("missing fields", func(t *testing.T) {
		res := call(http.MethodPost, "/auth/reset-password", map[string]string{"token": issue()}, "")
		assert.Equal(t, http.StatusUnprocessableEntity, res.Status)
	})
}

// TestResetTokenSingleUseUnderRace proves that two concurrent resets with
// one token cannot both succeed: the store's precondition on the password
// hash lets exactly one through.
func TestResetTokenSingleUseUnderRace(t *testing.T) {
	for _, kind := range testDatabases() {
		t.Run(kind, func(t *testing.T) {
			a := newTestAuthOn(t, openTestStore(t, kind), func(c *Config) { c.Mailer = newOutbox() })
			ctx := context.Background()
			user, err := a.CreateUser(ctx, NewUser{Email: "race@example.com", Password: lifecyclePassword})
			require.NoError(t, err)
			token, err := a.issueAccountToken(a.resetTokens, user)
			require.NoError(t, err)
			const n = 6
			errs := make(chan error, n)
			for i := range n {
				go func() { errs <- a.ResetPassword(ctx, token, "racing passphrase "+string(rune('a'+i))) }()
			}
			won := 0
			for range n {
				err := <-errs
				if err == nil {
					won++
				} else {
					assert.ErrorIs(t, err, ErrResetBadToken)
				}
			}
			assert.Equal(t, 1, won)
		})
	}
}

// blockingStore holds UserByEmail until released, to show what a route
// does before it looks the email up.
type blockingStore struct {
	Store
	release chan struct{}
}

func (s *blockingStore) UserByEmail(ctx context.Context, email string) (*User, error) {
	<-s.release
	return s.Store.UserByEmail(ctx, email)
}

// TestMailRoutesAnswerBeforeLookingUp proves why forgot-password and
// request-verify-token take the same time for an existing and an unknown
// email: they answer 202 before the email is even looked up (the lookup,
// the token and the mail run afterwards), so nothing that depends on the
// account is on the answer's path. The answers are byte-identical.
func TestMailRoutesAnswerBeforeLookingUp(t *testing.T) {
	store := &blockingStore{Store: openTestStore(t, "sqlite"), release: make(chan struct{})}
	box := newOutbox()
	a := newTestAuthOn(t, store, func(c *Config) { c.Mailer = box })
	srv := newTestServer(t, a)
	_, err := a.CreateUser(context.Background(), NewUser{Email: "known@example.com", Password: lifecyclePassword})
	require.NoError(t, err)

	for _, path := range []string{"/auth/forgot-password", "/auth/request-verify-token"} {
		var bodies []string
		for _, email := range []string{"known@example.com", "unknown@example.com"} {
			res := do(t, srv, http.MethodPost, path, map[string]string{"email": email}, "")
			require.Equal(t, http.StatusAccepted, res.Status, "the answer came while the lookup was blocked")
			res.Header.Del("Date")
			bodies = append(bodies, string(res.Body)+res.Header.Get("Content-Type")+res.Header.Get("Content-Length"))
		}
		assert.Equal(t, bodies[0], bodies[1], path)
	}
	close(store.release)
	a.background.Wait()
	box.waitFor(t, "known@example.com", "password")
	box.waitFor(t, "known@example.com", "verify")
	assert.Zero(t, box.count())
}

// TestMailedLinksIgnoreHost proves that mailed links come from the
// configured base URL whatever Host and X-Forwarded-Host say.
func TestMailedLinksIgnoreHost(t *testing.T) {
	a, box, _, _ := newLifecycleFixture(t, nil)
	srv := newTestServer(t, a)
	_, err := a.CreateUser(context.Background(), NewUser{Email: "host@example.com", Password: lifecyclePassword})
	require.NoError(t, err)
	for _, path := range []string{"/auth/forgot-password", "/auth/request-verify-token"} {
		req, err := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(`{"email":"host@example.com"}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Host = "evil.example"
		req.Header.Set("X-Forwarded-Host", "evil.example")
		req.Header.Set("X-Forwarded-Proto", "http")
		require.Equal(t, http.StatusAccepted, send(t, req).Status)
	}
	for _, subject := range []string{"password", "verify"} {
		mail := box.waitFor(t, "host@example.com", subject)
		assert.NotContains(t, mail.Text+mail.HTML, "evil.example")
		assert.Contains(t, mail.Text, "https://app.example.com/")
	}
}
