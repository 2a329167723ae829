package ginauth

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const routePassword = "correct horse battery"

// routeRaw sends body as is with the given content type (none when empty)
// and, when token is not empty, a bearer token.
func routeRaw(t testing.TB, srv *httptest.Server, method, path, contentType string, body []byte, token string) apiResponse {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res := send(t, req)
	assertNoSecretsLeak(t, res)
	return res
}

// routeJSON sends a JSON body and checks the response leaks nothing.
func routeJSON(t testing.TB, srv *httptest.Server, method, path string, body any, token string) apiResponse {
	t.Helper()
	res := do(t, srv, method, path, body, token)
	assertNoSecretsLeak(t, res)
	return res
}

// routeForm posts an application/x-www-form-urlencoded body.
func routeForm(t testing.TB, srv *httptest.Server, path string, form url.Values) apiResponse {
	t.Helper()
	return routeRaw(t, srv, http.MethodPost, path, "application/x-www-form-urlencoded", []byte(form.Encode()), "")
}

// assertNoSecretsLeak checks the contract's rule that no response holds a
// password hash or an internal error.
func assertNoSecretsLeak(t testing.TB, res apiResponse) {
	t.Helper()
	body := string(res.Body)
	for _, forbidden := range []string{"hashed_password", "HashedPassword", "$argon2id", "$2a$", "$2b$", "sql:", "SELECT ", "INSERT ", "goroutine ", "ginauth: "} {
		assert.NotContains(t, body, forbidden, "response leaks %q", forbidden)
	}
}

// assertExactJSON checks status and body byte for byte (after decoding both
// as JSON, so key order does not matter).
func assertExactJSON(t testing.TB, res apiResponse, status int, want string) {
	t.Helper()
	assert.Equal(t, status, res.Status, "body: %s", res.Body)
	assert.JSONEq(t, want, string(res.Body))
}

// assertValidationError checks a 422 VALIDATION_ERROR body whose errors
// name field.
func assertValidationError(t testing.TB, res apiResponse, field string) {
	t.Helper()
	require.Equal(t, http.StatusUnprocessableEntity, res.Status, "body: %s", res.Body)
	var body struct {
		Detail string       `json:"detail"`
		Errors []FieldError `json:"errors"`
	}
	require.NoError(t, json.Unmarshal(res.Body, &body), "body: %s", res.Body)
	assert.Equal(t, string(CodeValidationError), body.Detail)
	require.NotEmpty(t, body.Errors, "body: %s", res.Body)
	fields := make([]string, 0, len(body.Errors))
	for _, e := range body.Errors {
		assert.NotEmpty(t, e.Message, "field %s has no message", e.Field)
		fields = append(fields, e.Field)
	}
	assert.Contains(t, fields, field, "body: %s", res.Body)
}

// assertTokenResponse checks a 200 TokenResponse of the contract: exactly
// its five fields, the default lifetimes and the no-store headers.
func assertTokenResponse(t testing.TB, res apiResponse) TokenResponse {
	t.Helper()
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	assert.Equal(t, "no-store", res.Header.Get("Cache-Control"))
	assert.Equal(t, "no-cache", res.Header.Get("Pragma"))
	assert.Contains(t, res.Header.Get("Content-Type"), "application/json")
	raw := res.JSON(t)
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	assert.ElementsMatch(t, []string{"access_token", "token_type", "expires_in", "refresh_token", "refresh_expires_in"}, keys)
	var tokens TokenResponse
	require.NoError(t, json.Unmarshal(res.Body, &tokens))
	assert.Equal(t, "bearer", tokens.TokenType)
	assert.Equal(t, 900, tokens.ExpiresIn)
	assert.Equal(t, 30*24*3600, tokens.RefreshExpiresIn)
	assert.Equal(t, 2, strings.Count(tokens.AccessToken, "."), "access token is not a JWT: %q", tokens.AccessToken)
	assert.NotEmpty(t, tokens.RefreshToken)
	assert.NotContains(t, tokens.RefreshToken, ".", "refresh token must be opaque")
	return tokens
}

// assertUserRead checks that a body is a UserRead of the contract: exactly
// its seven fields, a server-made id and an RFC 3339 creation time.
func assertUserRead(t testing.TB, body []byte) UserRead {
	t.Helper()
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(body, &raw), "body: %s", body)
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	assert.ElementsMatch(t, []string{"id", "email", "is_active", "is_superuser", "is_verified", "created_at", "oauth_accounts"}, keys)
	assert.Equal(t, "[]", string(raw["oauth_accounts"]), "oauth_accounts must be a list, never null")
	var createdAt string
	require.NoError(t, json.Unmarshal(raw["created_at"], &createdAt))
	_, err := time.Parse(time.RFC3339, createdAt)
	assert.NoError(t, err, "created_at %q is not RFC 3339", createdAt)
	var user UserRead
	require.NoError(t, json.Unmarshal(body, &user))
	assert.NotEqual(t, uuid.Nil, user.ID)
	return user
}

// TestRegisterCreatesUser proves that POST /auth/register answers 201 with
// exactly the contract's UserRead, an active, unprivileged, unverified user
// with a server-made id, and stores the email in canonical form.
func TestRegisterCreatesUser(t *testing.T) {
	a := newTestAuth(t, nil)
	srv := newTestServer(t, a)

	res := routeJSON(t, srv, http.MethodPost, "/auth/register", map[string]string{"email": "  Alice@Example.COM ", "password": routePassword}, "")
	require.Equal(t, http.StatusCreated, res.Status, "body: %s", res.Body)
	assert.Contains(t, res.Header.Get("Content-Type"), "application/json")
	user := assertUserRead(t, res.Body)
	assert.Equal(t, "alice@example.com", user.Email)
	assert.True(t, user.IsActive)
	assert.False(t, user.IsSuperuser)
	assert.False(t, user.IsVerified)
	assert.WithinDuration(t, time.Now(), user.CreatedAt, time.Hour)

	stored, err := a.Store().UserByEmail(context.Background(), "alice@example.com")
	require.NoError(t, err)
	assert.Equal(t, user.ID, stored.ID)
	assert.True(t, strings.HasPrefix(stored.HashedPassword, "$argon2id$"), "password is not hashed with argon2id")
	assert.NotContains(t, stored.HashedPassword, routePassword)

	// The same email, differently written, signs in.
	login(t, srv, "ALICE@example.com", routePassword)
}

// TestRegisterIgnoresPrivilegedFields proves the mass-assignment rule: a
// client cannot choose its id, flags or password hash at registration.
func TestRegisterIgnoresPrivilegedFields(t *testing.T) {
	a := newTestAuth(t, nil)
	srv := newTestServer(t, a)
	chosenID := uuid.New()
	const chosenHash = "$argon2id$v=19$m=8192,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"

	res := routeJSON(t, srv, http.MethodPost, "/auth/register", map[string]any{
		"email": "mallory@example.com", "password": routePassword,
		"is_superuser": true, "is_verified": true, "is_active": false,
		"id": chosenID.String(), "ID": chosenID.String(),
		"hashed_password": chosenHash, "HashedPassword": chosenHash,
		"created_at":     "2000-01-01T00:00:00Z",
		"oauth_accounts": []map[string]string{{"oauth_name": "github", "account_id": "1"}},
	}, "")
	require.Equal(t, http.StatusCreated, res.Status, "body: %s", res.Body)
	user := assertUserRead(t, res.Body)
	assert.NotEqual(t, chosenID, user.ID)
	assert.True(t, user.IsActive)
	assert.False(t, user.IsSuperuser)
	assert.False(t, user.IsVerified)
	assert.True(t, user.CreatedAt.After(time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)))

	stored, err := a.Store().UserByEmail(context.Background(), "mallory@example.com")
	require.NoError(t, err)
	assert.False(t, stored.IsSuperuser)
	assert.False(t, stored.IsVerified)
	assert.True(t, stored.IsActive)
	assert.NotEqual(t, chosenHash, stored.HashedPassword)
	_, err = a.Store().UserByID(context.Background(), chosenID)
	assert.ErrorIs(t, err, ErrNotFound)
	accounts, err := a.Store().OAuthAccountsOf(context.Background(), stored.ID)
	require.NoError(t, err)
	assert.Empty(t, accounts)
	login(t, srv, "mallory@example.com", routePassword)
}

// TestRegisterDuplicateEmail proves that an email already taken, in any
// case or spacing, is 400 REGISTER_USER_ALREADY_EXISTS and leaves the first
// user untouched.
func TestRegisterDuplicateEmail(t *testing.T) {
	a := newTestAuth(t, nil)
	srv := newTestServer(t, a)
	first := routeJSON(t, srv, http.MethodPost, "/auth/register", map[string]string{"email": "bob@example.com", "password": routePassword}, "")
	require.Equal(t, http.StatusCreated, first.Status, "body: %s", first.Body)

	for _, email := range []string{"bob@example.com", "BOB@EXAMPLE.COM", "Bob@Example.com", "  bob@example.com  "} {
		t.Run(email, func(t *testing.T) {
			res := routeJSON(t, srv, http.MethodPost, "/auth/register", map[string]string{"email": email, "password": "another password"}, "")
			assertExactJSON(t, res, http.StatusBadRequest, `{"detail":"REGISTER_USER_ALREADY_EXISTS"}`)
		})
	}
	login(t, srv, "bob@example.com", routePassword)
}

// TestRegisterPasswordPolicy proves that a refused password is the 400
// `{"detail": {"code": "REGISTER_INVALID_PASSWORD", "reason": ...}}` form,
// never a 422, for the built-in length rules and for the app's
// ValidatePassword hook, whose reason reaches the client.
func TestRegisterPasswordPolicy(t *testing.T) {
	var hookMu sync.Mutex
	var hookUsers []*User
	a := newTestAuth(t, func(cfg *Config) {
		cfg.Hooks.ValidatePassword = func(_ context.Context, password string, user *User) error {
			hookMu.Lock()
			hookUsers = append(hookUsers, user)
			hookMu.Unlock()
			switch {
			case strings.Contains(password, "password"):
				return &PasswordError{Reason: "Password must not contain the word password."}
			case strings.Contains(password, "123"):
				return assert.AnError // a plain error: its text is the reason
			}
			return nil
		}
	})
	srv := newTestServer(t, a)

	cases := []struct {
		name, password, reason string
	}{
		{"empty", "", "at least 8 characters"},
		{"seven characters", "abcdefg", "at least 8 characters"},
		{"seven runes in more bytes", "ééééééé", "at least 8 characters"},
		{"too long", strings.Repeat("x", MaxPasswordLength+1), "at most 256 characters"},
		{"NUL", "abcdefgh\x00ij", "NUL"},
		{"hook, PasswordError", "my password is long", "Password must not contain the word password."},
		{"hook, plain error", "abc123abc123", assert.AnError.Error()},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			email := "policy" + string(rune('a'+i)) + "@example.com"
			res := routeJSON(t, srv, http.MethodPost, "/auth/register", map[string]string{"email": email, "password": tc.password}, "")
			require.Equal(t, http.StatusBadRequest, res.Status, "body: %s", res.Body)
			var body struct {
				Detail struct {
					Code   ErrorCode `json:"code"`
					Reason string    `json:"reason"`
				} `json:"detail"`
			}
			require.NoError(t, json.Unmarshal(res.Body, &body), "body: %s", res.Body)
			assert.Equal(t, CodeRegisterInvalidPassword, body.Detail.Code)
			assert.Contains(t, body.Detail.Reason, tc.reason)
			_, err := a.Store().UserByEmail(context.Background(), email)
			assert.ErrorIs(t, err, ErrNotFound, "a refused registration must not create the user")
		})
	}

	ok := routeJSON(t, srv, http.MethodPost, "/auth/register", map[string]string{"email": "fine@example.com", "password": "exactly8"}, "")
	require.Equal(t, http.StatusCreated, ok.Status, "body: %s", ok.Body)
	hookMu.Lock()
	defer hookMu.Unlock()
	require.NotEmpty(t, hookUsers, "the ValidatePassword hook was not called")
	for _, u := range hookUsers {
		assert.Nil(t, u, "the hook gets a nil user at registration")
	}
}

// TestRegisterValidation proves that missing fields, wrong types,
// malformed JSON and invalid emails (control characters, over-long,
// display names) are 422 VALIDATION_ERROR naming the field, and that no
// user is created.
func TestRegisterValidation(t *testing.T) {
	a := newTestAuth(t, nil)
	srv := newTestServer(t, a)
	longEmail := strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".com" // 255 bytes

	cases := []struct {
		name, body, field string
	}{
		{"empty object", `{}`, "email"},
		{"missing email", `{"password":"` + routePassword + `"}`, "email"},
		{"missing password", `{"email":"v@example.com"}`, "password"},
		{"null email", `{"email":null,"password":"` + routePassword + `"}`, "email"},
		{"email is a number", `{"email":42,"password":"` + routePassword + `"}`, "email"},
		{"email is a list", `{"email":["v@example.com"],"password":"` + routePassword + `"}`, "email"},
		{"password is a number", `{"email":"v@example.com","password":12345678}`, "password"},
		{"password is an object", `{"email":"v@example.com","password":{"$gt":""}}`, "password"},
		{"malformed JSON", `{"email":"v@example.com",`, "body"},
		{"not an object", `["v@example.com","` + routePassword + `"]`, "body"},
		{"null", `null`, "email"},
		{"two objects", `{"email":"v@example.com","password":"` + routePassword + `"}{}`, "body"},
		{"trailing garbage", `{"email":"v@example.com","password":"` + routePassword + `"} trailing`, "body"},
		{"invalid UTF-8", "{\"email\":\"v\xff@example.com\",\"password\":\"" + routePassword + "\"}", "body"},
		{"empty body", ``, "body"},
		{"empty email", `{"email":"","password":"` + routePassword + `"}`, "email"},
		{"not an email", `{"email":"not-an-email","password":"` + routePassword + `"}`, "email"},
		{"no dot in domain", `{"email":"v@localhost","password":"` + routePassword + `"}`, "email"},
		{"CR LF inside", `{"email":"v@example.com\r\nBcc: w@example.com","password":"` + routePassword + `"}`, "email"},
		{"LF inside", `{"email":"v\n@example.com","password":"` + routePassword + `"}`, "email"},
		{"NUL inside", `{"email":"v\u0000@example.com","password":"` + routePassword + `"}`, "email"},
		{"longer than 254 bytes", `{"email":"` + longEmail + `","password":"` + routePassword + `"}`, "email"},
		{"display name", `{"email":"Vic <v@example.com>","password":"` + routePassword + `"}`, "email"},
		{"two addresses", `{"email":"v@example.com, w@example.com","password":"` + routePassword + `"}`, "email"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := routeRaw(t, srv, http.MethodPost, "/auth/register", "application/json", []byte(tc.body), "")
			assertValidationError(t, res, tc.field)
		})
	}
	for _, email := range []string{"v@example.com", "w@example.com", "v@localhost"} {
		_, err := a.Store().UserByEmail(context.Background(), email)
		assert.ErrorIs(t, err, ErrNotFound, "%s was created", email)
	}
}

// TestRegisterMediaTypeAndSize proves the body conventions on register:
// another content type is 415 UNSUPPORTED_MEDIA_TYPE, a body over 64 KiB is
// 413 REQUEST_TOO_LARGE, and a body of exactly 64 KiB is still read.
func TestRegisterMediaTypeAndSize(t *testing.T) {
	a := newTestAuth(t, nil)
	srv := newTestServer(t, a)
	valid := []byte(`{"email":"m@example.com","password":"` + routePassword + `"}`)

	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", "application/jsonx"} {
		t.Run("type "+ct, func(t *testing.T) {
			res := routeRaw(t, srv, http.MethodPost, "/auth/register", ct, valid, "")
			assertExactJSON(t, res, http.StatusUnsupportedMediaType, `{"detail":"UNSUPPORTED_MEDIA_TYPE"}`)
		})
	}

	padded := func(email string, size int) []byte { // a valid body of exactly size bytes
		head := `{"email":"` + email + `","password":"` + routePassword + `","pad":"`
		return []byte(head + strings.Repeat("p", size-len(head)-2) + `"}`)
	}
	t.Run("over 64 KiB", func(t *testing.T) {
		body := padded("big@example.com", 64<<10+1)
		res := routeRaw(t, srv, http.MethodPost, "/auth/register", "application/json", body, "")
		assertExactJSON(t, res, http.StatusRequestEntityTooLarge, `{"detail":"REQUEST_TOO_LARGE"}`)
		_, err := a.Store().UserByEmail(context.Background(), "big@example.com")
		assert.ErrorIs(t, err, ErrNotFound)
	})
	t.Run("exactly 64 KiB", func(t *testing.T) {
		body := padded("edge@example.com", 64<<10)
		require.Len(t, body, 64<<10)
		res := routeRaw(t, srv, http.MethodPost, "/auth/register", "application/json", body, "")
		assert.Equal(t, http.StatusCreated, res.Status, "body: %s", res.Body)
	})
	t.Run("charset parameter", func(t *testing.T) {
		res := routeRaw(t, srv, http.MethodPost, "/auth/register", "application/json; charset=utf-8", valid, "")
		assert.Equal(t, http.StatusCreated, res.Status, "body: %s", res.Body)
	})
}

// TestRegisterOnAfterRegisterHook proves that OnAfterRegister runs once per
// registration with the stored user and the HTTP request, and not for a
// refused one.
func TestRegisterOnAfterRegisterHook(t *testing.T) {
	type call struct {
		user *User
		r    *http.Request
	}
	var mu sync.Mutex
	var calls []call
	a := newTestAuth(t, func(cfg *Config) {
		cfg.Hooks.OnAfterRegister = func(_ context.Context, user *User, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, call{user, r})
		}
	})
	srv := newTestServer(t, a)

	res := routeRaw(t, srv, http.MethodPost, "/auth/register", "application/json",
		[]byte(`{"email":"Hook@Example.com","password":"`+routePassword+`"}`), "")
	require.Equal(t, http.StatusCreated, res.Status, "body: %s", res.Body)
	created := assertUserRead(t, res.Body)
	dup := routeJSON(t, srv, http.MethodPost, "/auth/register", map[string]string{"email": "hook@example.com", "password": routePassword}, "")
	require.Equal(t, http.StatusBadRequest, dup.Status)
	short := routeJSON(t, srv, http.MethodPost, "/auth/register", map[string]string{"email": "other@example.com", "password": "short"}, "")
	require.Equal(t, http.StatusBadRequest, short.Status)

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, calls, 1)
	assert.Equal(t, created.ID, calls[0].user.ID)
	assert.Equal(t, "hook@example.com", calls[0].user.Email)
	require.NotNil(t, calls[0].r, "the hook must get the request")
	assert.Equal(t, "/auth/register", calls[0].r.URL.Path)
	assert.Equal(t, http.MethodPost, calls[0].r.Method)
}

// TestLoginJSONAndForm proves that POST /auth/login takes JSON
// {email, password} and the OAuth2 password form {username, password}, and
// answers the contract's TokenResponse with no-store headers and an access
// token that works.
func TestLoginJSONAndForm(t *testing.T) {
	a := newTestAuth(t, nil)
	srv := newTestServer(t, a)
	registerAndLogin(t, srv, "carol@example.com", routePassword)

	cases := []struct {
		name string
		send func() apiResponse
	}{
		{"JSON", func() apiResponse {
			return routeJSON(t, srv, http.MethodPost, "/auth/login", map[string]string{"email": "carol@example.com", "password": routePassword}, "")
		}},
		{"JSON, other case and spacing", func() apiResponse {
			return routeJSON(t, srv, http.MethodPost, "/auth/login", map[string]string{"email": " CAROL@Example.com ", "password": routePassword}, "")
		}},
		{"JSON with charset", func() apiResponse {
			return routeRaw(t, srv, http.MethodPost, "/auth/login", "application/json; charset=utf-8",
				[]byte(`{"email":"carol@example.com","password":"`+routePassword+`"}`), "")
		}},
		{"form", func() apiResponse {
			return routeForm(t, srv, "/auth/login", url.Values{"username": {"carol@example.com"}, "password": {routePassword}})
		}},
		{"form with the other OAuth2 fields", func() apiResponse {
			return routeForm(t, srv, "/auth/login", url.Values{
				"grant_type": {"password"}, "username": {"Carol@example.com"}, "password": {routePassword}, "scope": {""},
			})
		}},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tokens := assertTokenResponse(t, tc.send())
			assert.False(t, seen[tokens.RefreshToken], "refresh token reused across logins")
			seen[tokens.RefreshToken] = true
			me := routeJSON(t, srv, http.MethodGet, "/api/me", nil, tokens.AccessToken)
			require.Equal(t, http.StatusOK, me.Status, "body: %s", me.Body)
			assert.Equal(t, "carol@example.com", me.JSON(t)["email"])
		})
	}
}

// TestLoginBadCredentialsIdentical proves that an unknown email, a wrong
// password, an inactive user and a malformed email all get the same status
// and the same bytes, so the response does not tell which accounts exist.
func TestLoginBadCredentialsIdentical(t *testing.T) {
	a := newTestAuth(t, nil)
	srv := newTestServer(t, a)
	registerAndLogin(t, srv, "dave@example.com", routePassword)
	_, err := a.CreateUser(context.Background(), NewUser{Email: "inactive@example.com", Password: routePassword, Inactive: true})
	require.NoError(t, err)

	cases := []struct{ name, email, password string }{
		{"unknown email", "nobody@example.com", routePassword},
		{"wrong password", "dave@example.com", routePassword + "!"},
		{"wrong password case", "dave@example.com", strings.ToUpper(routePassword)},
		{"inactive user, right password", "inactive@example.com", routePassword},
		{"malformed email", "dave", routePassword},
		{"empty password", "dave@example.com", ""},
		{"empty email", "", routePassword},
	}
	var reference *apiResponse
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, res := range []apiResponse{
				routeJSON(t, srv, http.MethodPost, "/auth/login", map[string]string{"email": tc.email, "password": tc.password}, ""),
				routeForm(t, srv, "/auth/login", url.Values{"username": {tc.email}, "password": {tc.password}}),
			} {
				assertExactJSON(t, res, http.StatusBadRequest, `{"detail":"LOGIN_BAD_CREDENTIALS"}`)
				assert.Empty(t, res.Header.Get("Set-Cookie"))
				if reference == nil {
					reference = &res
					continue
				}
				assert.Equal(t, reference.Status, res.Status)
				assert.Equal(t, string(reference.Body), string(res.Body), "bodies differ byte for byte")
				assert.Equal(t, reference.Header.Get("Content-Type"), res.Header.Get("Content-Type"))
				assert.Equal(t, reference.Header.Get("Content-Length"), res.Header.Get("Content-Length"))
			}
		})
	}
}

// TestLoginRequireVerified proves that with RequireVerified an unverified
// user gets 400 LOGIN_USER_NOT_VERIFIED only with the right password (a
// wrong one stays LOGIN_BAD_CREDENTIALS, so the code reveals nothing to a
// guesser), and a verified user signs in.
func TestLoginRequireVerified(t *testing.T) {
	a := newTestAuth(t, func(cfg *Config) { cfg.RequireVerified = true })
	srv := newTestServer(t, a)
	reg := routeJSON(t, srv, http.MethodPost, "/auth/register", map[string]string{"email": "unverified@example.com", "password": routePassword}, "")
	require.Equal(t, http.StatusCreated, reg.Status)
	_, err := a.CreateUser(context.Background(), NewUser{Email: "verified@example.com", Password: routePassword, IsVerified: true})
	require.NoError(t, err)

	res := routeJSON(t, srv, http.MethodPost, "/auth/login", map[string]string{"email": "unverified@example.com", "password": routePassword}, "")
	assertExactJSON(t, res, http.StatusBadRequest, `{"detail":"LOGIN_USER_NOT_VERIFIED"}`)
	res = routeForm(t, srv, "/auth/login", url.Values{"username": {"unverified@example.com"}, "password": {routePassword}})
	assertExactJSON(t, res, http.StatusBadRequest, `{"detail":"LOGIN_USER_NOT_VERIFIED"}`)

	res = routeJSON(t, srv, http.MethodPost, "/auth/login", map[string]string{"email": "unverified@example.com", "password": "wrong password"}, "")
	assertExactJSON(t, res, http.StatusBadRequest, `{"detail":"LOGIN_BAD_CREDENTIALS"}`)

	sessions, err := a.Store().SessionsOf(context.Background(), mustUserID(t, a, "unverified@example.com"), time.Now())
	require.NoError(t, err)
	assert.Empty(t, sessions, "a refused login must not start a session")

	assertTokenResponse(t, routeJSON(t, srv, http.MethodPost, "/auth/login", map[string]string{"email": "verified@example.com", "password": routePassword}, ""))
}

// mustUserID returns the id of the user with this email.
func mustUserID(t testing.TB, a *Auth, email string) uuid.UUID {
	t.Helper()
	u, err := a.Store().UserByEmail(context.Background(), email)
	require.NoError(t, err)
	return u.ID
}

// TestLoginValidation proves that a login form or JSON body without its
// fields, or a malformed form, is 422 VALIDATION_ERROR; another content
// type is 415; an over-long body is 413.
func TestLoginValidation(t *testing.T) {
	a := newTestAuth(t, nil)
	srv := newTestServer(t, a)
	const form = "application/x-www-form-urlencoded"

	cases := []struct {
		name, contentType, body, field string
	}{
		{"form without password", form, "username=e%40example.com", "password"},
		{"form without username", form, "password=secret123", "username"},
		{"empty form", form, "", "username"},
		{"empty form names password too", form, "", "password"},
		{"form with JSON field names", form, "email=e%40example.com&password=secret123", "username"},
		{"malformed form", form, "username=%zz&password=x", "body"},
		{"JSON without password", "application/json", `{"email":"e@example.com"}`, "password"},
		{"JSON without email", "application/json", `{"password":"secret123"}`, "email"},
		{"JSON with form field names", "application/json", `{"username":"e@example.com","password":"secret123"}`, "email"},
		{"JSON wrong type", "application/json", `{"email":"e@example.com","password":true}`, "password"},
		{"JSON malformed", "application/json", `{"email":`, "body"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assertValidationError(t, routeRaw(t, srv, http.MethodPost, "/auth/login", tc.contentType, []byte(tc.body), ""), tc.field)
		})
	}
	for _, ct := range []string{"", "text/plain", "multipart/form-data; boundary=x", "application/xml"} {
		t.Run("type "+ct, func(t *testing.T) {
			res := routeRaw(t, srv, http.MethodPost, "/auth/login", ct, []byte("username=e%40example.com&password=x"), "")
			assertExactJSON(t, res, http.StatusUnsupportedMediaType, `{"detail":"UNSUPPORTED_MEDIA_TYPE"}`)
		})
	}
	t.Run("form over 64 KiB", func(t *testing.T) {
		body := "username=e%40example.com&password=" + strings.Repeat("p", 64<<10)
		res := routeRaw(t, srv, http.MethodPost, "/auth/login", form, []byte(body), "")
		assertExactJSON(t, res, http.StatusRequestEntityTooLarge, `{"detail":"REQUEST_TOO_LARGE"}`)
	})
}

// TestLoginOnAfterLoginHook proves that OnAfterLogin runs after each
// successful sign-in with the user and the request, and never after a
// refused one.
func TestLoginOnAfterLoginHook(t *testing.T) {
	var mu sync.Mutex
	var users []*User
	var paths []string
	a := newTestAuth(t, func(cfg *Config) {
		cfg.Hooks.OnAfterLogin = func(_ context.Context, user *User, r *http.Request) {
			mu.Lock()
			defer mu.Unlock()
			users = append(users, user)
			if r != nil {
				paths = append(paths, r.URL.Path)
			}
		}
	})
	srv := newTestServer(t, a)
	registerAndLogin(t, srv, "erin@example.com", routePassword)
	bad := routeJSON(t, srv, http.MethodPost, "/auth/login", map[string]string{"email": "erin@example.com", "password": "wrong password"}, "")
	require.Equal(t, http.StatusBadRequest, bad.Status)
	assertTokenResponse(t, routeForm(t, srv, "/auth/login", url.Values{"username": {"erin@example.com"}, "password": {routePassword}}))

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, users, 2)
	for _, u := range users {
		assert.Equal(t, "erin@example.com", u.Email)
	}
	assert.Equal(t, []string{"/auth/login", "/auth/login"}, paths)
}

// TestRefreshRoute proves that POST /auth/refresh trades a refresh token
// for a new pair with no-store headers, that the new tokens work, and that
// the old refresh token is dead afterwards.
func TestRefreshRoute(t *testing.T) {
	a := newTestAuth(t, nil)
	srv := newTestServer(t, a)
	first := registerAndLogin(t, srv, "frank@example.com", routePassword)

	res := routeJSON(t, srv, http.MethodPost, "/auth/refresh", map[string]string{"refresh_token": first.RefreshToken}, "")
	second := assertTokenResponse(t, res)
	assert.NotEqual(t, first.RefreshToken, second.RefreshToken)
	assert.NotEqual(t, first.AccessToken, second.AccessToken)

	me := routeJSON(t, srv, http.MethodGet, "/api/me", nil, second.AccessToken)
	require.Equal(t, http.StatusOK, me.Status, "body: %s", me.Body)

	third := assertTokenResponse(t, routeJSON(t, srv, http.MethodPost, "/auth/refresh", map[string]string{"refresh_token": second.RefreshToken}, ""))
	assert.NotEqual(t, second.RefreshToken, third.RefreshToken)

	again := routeJSON(t, srv, http.MethodPost, "/auth/refresh", map[string]string{"refresh_token": first.RefreshToken}, "")
	assertExactJSON(t, again, http.StatusUnauthorized, `{"detail":"REFRESH_TOKEN_INVALID"}`)
}

// TestRefreshRouteInvalid proves that a bad, unknown or empty refresh token
// is 401 REFRESH_TOKEN_INVALID, while a missing field or a wrong type is a
// malformed request (422) and another content type is 415.
func TestRefreshRouteInvalid(t *testing.T) {
	a := newTestAuth(t, nil)
	srv := newTestServer(t, a)
	tokens := registerAndLogin(t, srv, "grace@example.com", routePassword)
	wellFormed := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{7}, refreshTokenBytes))

	for name, token := range map[string]string{
		"empty":                    "",
		"garbage":                  "not a refresh token",
		"unknown, well-formed":     wellFormed,
		"access token instead":     tokens.AccessToken,
		"padded base64":            tokens.RefreshToken + "=",
		"refresh token, truncated": tokens.RefreshToken[:len(tokens.RefreshToken)-1],
		"very long":                strings.Repeat("A", 8<<10),
	} {
		t.Run(name, func(t *testing.T) {
			res := routeJSON(t, srv, http.MethodPost, "/auth/refresh", map[string]string{"refresh_token": token}, "")
			assertExactJSON(t, res, http.StatusUnauthorized, `{"detail":"REFRESH_TOKEN_INVALID"}`)
			assert.Empty(t, res.Header.Get("Pragma"), "an error carries no token")
		})
	}
	for name, body := range map[string]string{
		"missing field": `{}`,
		"null":          `{"refresh_token":null}`,
		"number":        `{"refresh_token":5}`,
		"other name":    `{"refreshToken":"x"}`,
	} {
		t.Run(name, func(t *testing.T) {
			assertValidationError(t, routeRaw(t, srv, http.MethodPost, "/auth/refresh", "application/json", []byte(body), ""), "refresh_token")
		})
	}
	t.Run("form", func(t *testing.T) {
		res := routeRaw(t, srv, http.MethodPost, "/auth/refresh", "application/x-www-form-urlencoded", []byte("refresh_token="+tokens.RefreshToken), "")
		assertExactJSON(t, res, http.StatusUnsupportedMediaType, `{"detail":"UNSUPPORTED_MEDIA_TYPE"}`)
	})
	t.Run("malformed JSON", func(t *testing.T) {
		assertValidationError(t, routeRaw(t, srv, http.MethodPost, "/auth/refresh", "application/json", []byte(`{"refresh_token":`), ""), "body")
	})

	// None of the refusals above used up the real refresh token.
	assertTokenResponse(t, routeJSON(t, srv, http.MethodPost, "/auth/refresh", map[string]string{"refresh_token": tokens.RefreshToken}, ""))
}

// TestLogoutRevokesSession proves that POST /auth/logout answers 204 and
// ends the session: its access token and its refresh token stop working.
func TestLogoutRevokesSession(t *testing.T) {
	a := newTestAuth(t, nil)
	srv := newTestServer(t, a)
	tokens := registerAndLogin(t, srv, "heidi@example.com", routePassword)
	other := login(t, srv, "heidi@example.com", routePassword)

	res := routeJSON(t, srv, http.MethodPost, "/auth/logout", nil, tokens.AccessToken)
	require.Equal(t, http.StatusNoContent, res.Status, "body: %s", res.Body)
	assert.Empty(t, res.Body)

	me := routeJSON(t, srv, http.MethodGet, "/api/me", nil, tokens.AccessToken)
	assertExactJSON(t, me, http.StatusUnauthorized, `{"detail":"UNAUTHORIZED"}`)
	refresh := routeJSON(t, srv, http.MethodPost, "/auth/refresh", map[string]string{"refresh_token": tokens.RefreshToken}, "")
	assertExactJSON(t, refresh, http.StatusUnauthorized, `{"detail":"REFRESH_TOKEN_INVALID"}`)
	again := routeJSON(t, srv, http.MethodPost, "/auth/logout", nil, tokens.AccessToken)
	assertExactJSON(t, again, http.StatusUnauthorized, `{"detail":"UNAUTHORIZED"}`)

	// The user's other session lives on.
	me = routeJSON(t, srv, http.MethodGet, "/api/me", nil, other.AccessToken)
	assert.Equal(t, http.StatusOK, me.Status, "body: %s", me.Body)
}

// TestLogoutWithRefreshToken proves that a {refresh_token} in the logout
// body ends that session too when it is the same user's, and is ignored
// (without an error that would reveal it) when it is another user's.
func TestLogoutWithRefreshToken(t *testing.T) {
	a := newTestAuth(t, nil)
	srv := newTestServer(t, a)
	mine := registerAndLogin(t, srv, "ivan@example.com", routePassword)
	mineToo := login(t, srv, "ivan@example.com", routePassword)
	theirs := registerAndLogin(t, srv, "judy@example.com", routePassword)

	t.Run("another user's session survives", func(t *testing.T) {
		other := login(t, srv, "ivan@example.com", routePassword)
		res := routeJSON(t, srv, http.MethodPost, "/auth/logout", map[string]string{"refresh_token": theirs.RefreshToken}, other.AccessToken)
		require.Equal(t, http.StatusNoContent, res.Status, "body: %s", res.Body)
		assert.Equal(t, http.StatusUnauthorized, routeJSON(t, srv, http.MethodGet, "/api/me", nil, other.AccessToken).Status)

		me := routeJSON(t, srv, http.MethodGet, "/api/me", nil, theirs.AccessToken)
		assert.Equal(t, http.StatusOK, me.Status, "body: %s", me.Body)
		assertTokenResponse(t, routeJSON(t, srv, http.MethodPost, "/auth/refresh", map[string]string{"refresh_token": theirs.RefreshToken}, ""))
	})

	t.Run("the same user's other session ends", func(t *testing.T) {
		res := routeJSON(t, srv, http.MethodPost, "/auth/logout", map[string]string{"refresh_token": mineToo.RefreshToken}, mine.AccessToken)
		require.Equal(t, http.StatusNoContent, res.Status, "body: %s", res.Body)
		for _, token := range []string{mine.AccessToken, mineToo.AccessToken} {
			me := routeJSON(t, srv, http.MethodGet, "/api/me", nil, token)
			assertExactJSON(t, me, http.StatusUnauthorized, `{"detail":"UNAUTHORIZED"}`)
		}
		for _, refresh := range []string{mine.RefreshToken, mineToo.RefreshToken} {
			res := routeJSON(t, srv, http.MethodPost, "/auth/refresh", map[string]string{"refresh_token": refresh}, "")
			assertExactJSON(t, res, http.StatusUnauthorized, `{"detail":"REFRESH_TOKEN_INVALID"}`)
		}
	})

	t.Run("an unknown refresh token is ignored", func(t *testing.T) {
		s := login(t, srv, "ivan@example.com", routePassword)
		res := routeJSON(t, srv, http.MethodPost, "/auth/logout", map[string]string{"refresh_token": "unknown"}, s.AccessToken)
		require.Equal(t, http.StatusNoContent, res.Status, "body: %s", res.Body)
		assert.Equal(t, http.StatusUnauthorized, routeJSON(t, srv, http.MethodGet, "/api/me", nil, s.AccessToken).Status)
	})
}

// TestLogoutUnauthenticated proves that logout needs a valid access token:
// none, a malformed one, or a refresh token in its place is 401 with
// WWW-Authenticate, and nothing is revoked.
func TestLogoutUnauthenticated(t *testing.T) {
	a := newTestAuth(t, nil)
	srv := newTestServer(t, a)
	tokens := registerAndLogin(t, srv, "ken@example.com", routePassword)

	res := routeJSON(t, srv, http.MethodPost, "/auth/logout", map[string]string{"refresh_token": tokens.RefreshToken}, "")
	assertExactJSON(t, res, http.StatusUnauthorized, `{"detail":"UNAUTHORIZED"}`)
	assert.Equal(t, "Bearer", res.Header.Get("WWW-Authenticate"))

	for name, token := range map[string]string{
		"garbage":                "garbage",
		"refresh token":          tokens.RefreshToken,
		"tampered access token":  tokens.AccessToken[:len(tokens.AccessToken)-2] + "xx",
		"access token, no sig":   tokens.AccessToken[:strings.LastIndexByte(tokens.AccessToken, '.')+1],
		"access token, as query": "",
	} {
		t.Run(name, func(t *testing.T) {
			path := "/auth/logout"
			if token == "" {
				path += "?access_token=" + url.QueryEscape(tokens.AccessToken)
			}
			res := routeJSON(t, srv, http.MethodPost, path, nil, token)
			assertExactJSON(t, res, http.StatusUnauthorized, `{"detail":"UNAUTHORIZED"}`)
			assert.True(t, strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Bearer"))
		})
	}
	me := routeJSON(t, srv, http.MethodGet, "/api/me", nil, tokens.AccessToken)
	assert.Equal(t, http.StatusOK, me.Status, "body: %s", me.Body)
	assertTokenResponse(t, routeJSON(t, srv, http.MethodPost, "/auth/refresh", map[string]string{"refresh_token": tokens.RefreshToken}, ""))
}
