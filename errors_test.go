package ginauth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAbortWithError proves the one mapping from Go errors to the
// contract's responses: every sentinel and typed error, bare or wrapped,
// gets its status, body and WWW-Authenticate header, the chain is aborted,
// and nothing of the error's own text reaches the client.
func TestAbortWithError(t *testing.T) {
	const internal = `pq: relation "users" does not exist (SELECT * FROM users WHERE email = 'x') at 10.0.0.5:5432`
	cases := []struct {
		name         string
		err          error
		passwordCode ErrorCode
		status       int
		body         string
		www          string
		logged       bool // written to the log for operators
	}{
		{"password error", &PasswordError{Reason: "Too short."}, CodeRegisterInvalidPassword,
			http.StatusBadRequest, `{"detail":{"code":"REGISTER_INVALID_PASSWORD","reason":"Too short."}}`, "", false},
		{"password error, wrapped, other route", fmt.Errorf("update: %w", &PasswordError{Reason: "Weak."}), CodeUpdateUserInvalidPassword,
			http.StatusBadRequest, `{"detail":{"code":"UPDATE_USER_INVALID_PASSWORD","reason":"Weak."}}`, "", false},
		{"validation error", invalidField("email", "is required"), "",
			http.StatusUnprocessableEntity, `{"detail":"VALIDATION_ERROR","errors":[{"field":"email","message":"is required"}]}`, "", false},
		{"validation error, two fields", &ValidationError{Errors: []FieldError{{"email", "is required"}, {"password", "is required"}}}, "",
			http.StatusUnprocessableEntity, `{"detail":"VALIDATION_ERROR","errors":[{"field":"email","message":"is required"},{"field":"password","message":"is required"}]}`, "", false},
		{"body too large", errBodyTooLarge, "",
			http.StatusRequestEntityTooLarge, `{"detail":"REQUEST_TOO_LARGE"}`, "", false},
		{"unsupported media type", errUnsupportedMediaType, "",
			http.StatusUnsupportedMediaType, `{"detail":"UNSUPPORTED_MEDIA_TYPE"}`, "", false},
		{"user already exists", ErrUserAlreadyExists, CodeRegisterInvalidPassword,
			http.StatusBadRequest, `{"detail":"REGISTER_USER_ALREADY_EXISTS"}`, "", false},
		{"user already exists, wrapped", fmt.Errorf("create: %w", ErrUserAlreadyExists), "",
			http.StatusBadRequest, `{"detail":"REGISTER_USER_ALREADY_EXISTS"}`, "", false},
		{"bad credentials", ErrBadCredentials, "",
			http.StatusBadRequest, `{"detail":"LOGIN_BAD_CREDENTIALS"}`, "", false},
		{"user not verified", ErrUserNotVerified, "",
			http.StatusBadRequest, `{"detail":"LOGIN_USER_NOT_VERIFIED"}`, "", false},
		{"refresh token invalid", ErrRefreshTokenInvalid, "",
			http.StatusUnauthorized, `{"detail":"REFRESH_TOKEN_INVALID"}`, "", false},
		{"invalid token", fmt.Errorf("%w: token is expired", ErrInvalidToken), "",
			http.StatusUnauthorized, `{"detail":"UNAUTHORIZED"}`, `Bearer error="invalid_token"`, false},
		{"session revoked", ErrSessionRevoked, "",
			http.StatusUnauthorized, `{"detail":"UNAUTHORIZED"}`, `Bearer error="invalid_token"`, false},
		{"csrf", ErrCSRF, "",
			http.StatusForbidden, `{"detail":"CSRF_FAILED"}`, "", false},
		{"store unavailable", fmt.Errorf("%w: dial tcp 10.0.0.5:5432: connection refused", ErrStoreUnavailable), "",
			http.StatusServiceUnavailable, `{"detail":"SERVICE_UNAVAILABLE"}`, "", true},
		{"unexpected error", errors.New(internal), "",
			http.StatusInternalServerError, `{"detail":"INTERNAL_ERROR"}`, "", true},
		{"not found leaking from a store", ErrNotFound, "",
			http.StatusInternalServerError, `{"detail":"INTERNAL_ERROR"}`, "", true},
		{"context canceled", context.Canceled, "",
			http.StatusInternalServerError, `{"detail":"INTERNAL_ERROR"}`, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, c, logs := abortRecorded(tc.err, tc.passwordCode)

			assert.True(t, c.IsAborted(), "the handler chain must stop")
			assert.Equal(t, tc.status, w.Code)
			assert.JSONEq(t, tc.body, w.Body.String())
			assert.Contains(t, w.Header().Get("Content-Type"), "application/json")
			assert.Equal(t, tc.www, w.Header().Get("WWW-Authenticate"))
			for _, leak := range []string{"ginauth:", "pq:", "SELECT", "10.0.0.5", "connection refused", "context canceled", "not found"} {
				assert.NotContains(t, w.Body.String(), leak)
			}
			if tc.logged {
				quoted := strings.ReplaceAll(tc.err.Error(), `"`, `\"`) // as the text handler writes it
				assert.Contains(t, logs.String(), quoted, "an internal failure must reach the operator's log")
			} else {
				assert.Empty(t, logs.String(), "a client error is not an operator's problem")
			}
		})
	}
}

// abortRecorded runs abortWithError on a test request and returns the
// response, the context and what was logged.
func abortRecorded(err error, passwordCode ErrorCode) (*httptest.ResponseRecorder, *gin.Context, *bytes.Buffer) {
	logs := &bytes.Buffer{}
	a := &Auth{logger: slog.New(slog.NewTextHandler(logs, nil))}
	w := httptest.NewRecorder()
	c, _ := gin.CreateTestContext(w)
	c.Request = httptest.NewRequest(http.MethodPost, "/auth/x", nil)
	a.abortWithError(c, err, passwordCode)
	return w, c, logs
}

// TestAbortWithErrorCodes proves that every ErrorCode constant is the
// string the contract spells, so clients comparing constants and clients
// comparing strings agree.
func TestAbortWithErrorCodes(t *testing.T) {
	codes := map[ErrorCode]string{
		CodeRegisterUserAlreadyExists: "REGISTER_USER_ALREADY_EXISTS", CodeRegisterInvalidPassword: "REGISTER_INVALID_PASSWORD",
		CodeLoginBadCredentials: "LOGIN_BAD_CREDENTIALS", CodeLoginUserNotVerified: "LOGIN_USER_NOT_VERIFIED",
		CodeRefreshTokenInvalid: "REFRESH_TOKEN_INVALID", CodeResetPasswordBadToken: "RESET_PASSWORD_BAD_TOKEN",
		CodeResetPasswordInvalidPassword: "RESET_PASSWORD_INVALID_PASSWORD", CodeVerifyUserBadToken: "VERIFY_USER_BAD_TOKEN",
		CodeVerifyUserAlreadyVerified: "VERIFY_USER_ALREADY_VERIFIED", CodeUpdateUserEmailAlreadyExists: "UPDATE_USER_EMAIL_ALREADY_EXISTS",
		CodeUpdateUserInvalidPassword: "UPDATE_USER_INVALID_PASSWORD", CodeUpdateUserBadCurrentPassword: "UPDATE_USER_BAD_CURRENT_PASSWORD",
		CodeOAuthInvalidState: "OAUTH_INVALID_STATE", CodeOAuthNotAvailableEmail: "OAUTH_NOT_AVAILABLE_EMAIL",
		CodeOAuthUserAlreadyExists: "OAUTH_USER_ALREADY_EXISTS", CodeOAuthAccountAlreadyLinked: "OAUTH_ACCOUNT_ALREADY_LINKED",
		CodeOAuthLastLoginMethod: "OAUTH_LAST_LOGIN_METHOD", CodeOAuthProviderError: "OAUTH_PROVIDER_ERROR",
		CodeOAuthProviderUnavailable: "OAUTH_PROVIDER_UNAVAILABLE", CodeProviderNotFound: "PROVIDER_NOT_FOUND",
		CodeRedirectNotAllowed: "REDIRECT_NOT_ALLOWED", CodeSessionNotFound: "SESSION_NOT_FOUND",
		CodeUserNotFound: "USER_NOT_FOUND", CodeUnauthorized: "UNAUTHORIZED", CodeForbidden: "FORBIDDEN",
		CodeCSRFFailed: "CSRF_FAILED", CodeTooManyRequests: "TOO_MANY_REQUESTS", CodeValidationError: "VALIDATION_ERROR",
		CodeRequestTooLarge: "REQUEST_TOO_LARGE", CodeUnsupportedMediaType: "UNSUPPORTED_MEDIA_TYPE",
		CodeInternalError: "INTERNAL_ERROR", CodeServiceUnavailable: "SERVICE_UNAVAILABLE",
	}
	assert.Len(t, codes, 32, "the contract lists 32 error codes")
	for code, want := range codes {
		assert.Equal(t, want, string(code))
	}
}

// TestAbortWithErrorRoutesWhenStoreClosed proves that a database that goes
// away turns every route into 503 SERVICE_UNAVAILABLE: never a 200 that
// pretends the work was done, never a 500 that shows the driver's error.
func TestAbortWithErrorRoutesWhenStoreClosed(t *testing.T) {
	store := openTestStore(t, "sqlite")
	var logs bytes.Buffer
	a := newTestAuthOn(t, store, func(cfg *Config) {
		cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	srv := newTestServer(t, a)
	tokens := registerAndLogin(t, srv, "olga@example.com", routePassword)
	olga, err := store.UserByEmail(context.Background(), "olga@example.com")
	require.NoError(t, err)
	verifyToken, err := a.issueAccountToken(a.verifyTokens, olga)
	require.NoError(t, err)
	resetToken, err := a.issueAccountToken(a.resetTokens, olga)
	require.NoError(t, err)
	a.background.Wait() // the sign-up's verify mail, before the store goes
	require.NoError(t, store.Close())

	cases := []struct {
		name   string
		method string
		path   string
		body   any
		token  string
	}{
		{"register", http.MethodPost, "/auth/register", map[string]string{"email": "pat@example.com", "password": routePassword}, ""},
		{"login, known user", http.MethodPost, "/auth/login", map[string]string{"email": "olga@example.com", "password": routePassword}, ""},
		{"login, unknown user", http.MethodPost, "/auth/login", map[string]string{"email": "nobody@example.com", "password": routePassword}, ""},
		{"refresh", http.MethodPost, "/auth/refresh", map[string]string{"refresh_token": tokens.RefreshToken}, ""},
		{"users/me", http.MethodGet, "/users/me", nil, tokens.AccessToken},
		{"verify", http.MethodPost, "/auth/verify", map[string]string{"token": verifyToken}, ""},
		{"reset-password", http.MethodPost, "/auth/reset-password", map[string]string{"token": resetToken, "password": "a new passphrase"}, ""},
		{"PATCH users/me", http.MethodPatch, "/users/me", map[string]string{"email": "olga2@example.com", "current_password": routePassword}, tokens.AccessToken},
		{"DELETE users/me", http.MethodDelete, "/users/me", map[string]string{"current_password": routePassword}, tokens.AccessToken},
		{"users/me/sessions", http.MethodGet, "/users/me/sessions", nil, tokens.AccessToken},
		{"users list", http.MethodGet, "/users", nil, tokens.AccessToken},
		{"logout", http.MethodPost, "/auth/logout", nil, tokens.AccessToken},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res := routeJSON(t, srv, tc.method, tc.path, tc.body, tc.token)
			assertExactJSON(t, res, http.StatusServiceUnavailable, `{"detail":"SERVICE_UNAVAILABLE"}`)
			assert.NotContains(t, string(res.Body), "closed")
		})
	}
	// The mail routes answer 202 whatever happens to the lookup (the
	// contract's "always"): the failure is the operator's to see in the log.
	for _, path := range []string{"/auth/forgot-password", "/auth/request-verify-token"} {
		res := routeJSON(t, srv, http.MethodPost, path, map[string]string{"email": "olga@example.com"}, "")
		assertExactJSON(t, res, http.StatusAccepted, `null`)
	}
	a.background.Wait()
	assert.Contains(t, logs.String(), "store unavailable")
	assert.Contains(t, logs.String(), "database is closed", "operators must see the cause")
	assert.Contains(t, logs.String(), "lookup failed", "the mail routes' background lookup failure is logged")
}

// TestAbortWithErrorTypedRefusals proves the two refusals that carry more
// than a code: a rate-limit refusal is 429 with Retry-After in whole
// seconds, rounded up; an OnBeforeDelete refusal is 500 whatever the
// hook's error wraps (here ErrUserNotFound, 404 on its own), its text
// logged and kept out of the answer.
func TestAbortWithErrorTypedRefusals(t *testing.T) {
	cases := []struct {
		name       string
		err        error
		status     int
		body       string
		retryAfter string
		logged     string
	}{
		{"rate limited", &rateLimitedError{retryAfter: 1500 * time.Millisecond},
			http.StatusTooManyRequests, `{"detail":"TOO_MANY_REQUESTS"}`, "2", ""},
		{"rate limited, wrapped", fmt.Errorf("check: %w", &rateLimitedError{}),
			http.StatusTooManyRequests, `{"detail":"TOO_MANY_REQUESTS"}`, "1", ""},
		{"before delete", &beforeDeleteError{err: fmt.Errorf("secret reason: %w", ErrUserNotFound)},
			http.StatusInternalServerError, `{"detail":"INTERNAL_ERROR"}`, "", "secret reason"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, c, logs := abortRecorded(tc.err, "")

			assert.True(t, c.IsAborted())
			assert.Equal(t, tc.status, w.Code)
			assert.JSONEq(t, tc.body, w.Body.String())
			assert.Equal(t, tc.retryAfter, w.Header().Get("Retry-After"))
			assert.NotContains(t, w.Body.String(), "secret")
			if tc.logged != "" {
				assert.Contains(t, logs.String(), tc.logged)
			} else {
				assert.Empty(t, logs.String())
			}
		})
	}
}

// TestRequireFields proves the one "is required" error: an entry per
// field not sent, in order, and nil (not a typed nil) when all were.
func TestRequireFields(t *testing.T) {
	assert.NoError(t, requireFields())
	assert.NoError(t, requireFields(required{"email", true}, required{"password", true}))
	err := requireFields(required{"token", false}, required{"email", true}, required{"password", false})
	var verr *ValidationError
	require.ErrorAs(t, err, &verr)
	assert.Equal(t, []FieldError{{"token", "is required"}, {"password", "is required"}}, verr.Errors)
}
