package ginauth

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/ginauth/ginauth/providers"
)

// ErrorCode is the machine-readable code in every error body
// (`{"detail": "ERROR_CODE"}`). Clients compare against these constants,
// never against strings.
type ErrorCode string

// The error codes of the HTTP contract.
const (
	CodeRegisterUserAlreadyExists    ErrorCode = "REGISTER_USER_ALREADY_EXISTS"
	CodeRegisterInvalidPassword      ErrorCode = "REGISTER_INVALID_PASSWORD"
	CodeLoginBadCredentials          ErrorCode = "LOGIN_BAD_CREDENTIALS"
	CodeLoginUserNotVerified         ErrorCode = "LOGIN_USER_NOT_VERIFIED"
	CodeRefreshTokenInvalid          ErrorCode = "REFRESH_TOKEN_INVALID"
	CodeResetPasswordBadToken        ErrorCode = "RESET_PASSWORD_BAD_TOKEN"
	CodeResetPasswordInvalidPassword ErrorCode = "RESET_PASSWORD_INVALID_PASSWORD"
	CodeVerifyUserBadToken           ErrorCode = "VERIFY_USER_BAD_TOKEN"
	CodeVerifyUserAlreadyVerified    ErrorCode = "VERIFY_USER_ALREADY_VERIFIED"
	CodeUpdateUserEmailAlreadyExists ErrorCode = "UPDATE_USER_EMAIL_ALREADY_EXISTS"
	CodeUpdateUserInvalidPassword    ErrorCode = "UPDATE_USER_INVALID_PASSWORD"
	CodeUpdateUserBadCurrentPassword ErrorCode = "UPDATE_USER_BAD_CURRENT_PASSWORD"
	CodeOAuthInvalidState            ErrorCode = "OAUTH_INVALID_STATE"
	CodeOAuthNotAvailableEmail       ErrorCode = "OAUTH_NOT_AVAILABLE_EMAIL"
	CodeOAuthUserAlreadyExists       ErrorCode = "OAUTH_USER_ALREADY_EXISTS"
	CodeOAuthAccountAlreadyLinked    ErrorCode = "OAUTH_ACCOUNT_ALREADY_LINKED"
	CodeOAuthLastLoginMethod         ErrorCode = "OAUTH_LAST_LOGIN_METHOD"
	CodeOAuthProviderError           ErrorCode = "OAUTH_PROVIDER_ERROR"
	CodeOAuthProviderUnavailable     ErrorCode = "OAUTH_PROVIDER_UNAVAILABLE"
	CodeProviderNotFound             ErrorCode = "PROVIDER_NOT_FOUND"
	CodeRedirectNotAllowed           ErrorCode = "REDIRECT_NOT_ALLOWED"
	CodeSessionNotFound              ErrorCode = "SESSION_NOT_FOUND"
	CodeUserNotFound                 ErrorCode = "USER_NOT_FOUND"
	CodeUnauthorized                 ErrorCode = "UNAUTHORIZED"
	CodeForbidden                    ErrorCode = "FORBIDDEN"
	CodeCSRFFailed                   ErrorCode = "CSRF_FAILED"
	CodeTooManyRequests              ErrorCode = "TOO_MANY_REQUESTS"
	CodeValidationError              ErrorCode = "VALIDATION_ERROR"
	CodeRequestTooLarge              ErrorCode = "REQUEST_TOO_LARGE"
	CodeUnsupportedMediaType         ErrorCode = "UNSUPPORTED_MEDIA_TYPE"
	CodeInternalError                ErrorCode = "INTERNAL_ERROR"
	CodeServiceUnavailable           ErrorCode = "SERVICE_UNAVAILABLE"
)

// Sentinel errors of the Go API. Store implementations return the store
// errors; Auth methods return the others. Use errors.Is to test for them.
var (
	// ErrNotFound is returned by a Store when the record does not exist.
	ErrNotFound = errors.New("ginauth: not found")
	// ErrDuplicate is returned by a Store when a unique constraint refuses a write.
	ErrDuplicate = errors.New("ginauth: duplicate")
	// ErrStoreUnavailable wraps every other store failure (connection lost,
	// database down). It becomes 503 SERVICE_UNAVAILABLE.
	ErrStoreUnavailable = errors.New("ginauth: store unavailable")

	// ErrUserAlreadyExists means the email is taken.
	ErrUserAlreadyExists = errors.New("ginauth: user already exists")
	// ErrBadCredentials means the email/password pair was refused, for
	// whatever reason (unknown email, wrong password, inactive user).
	ErrBadCredentials = errors.New("ginauth: bad credentials")
	// ErrUserNotVerified means login needs a verified user and this one is not.
	ErrUserNotVerified = errors.New("ginauth: user not verified")
	// ErrRefreshTokenInvalid means the refresh token is unknown, expired,
	// revoked or reused.
	ErrRefreshTokenInvalid = errors.New("ginauth: refresh token invalid")
	// ErrInvalidToken means an access token failed verification.
	ErrInvalidToken = errors.New("ginauth: invalid token")
	// ErrSessionRevoked means the token's session has ended.
	ErrSessionRevoked = errors.New("ginauth: session revoked")

	// ErrVerifyBadToken means a verify token is malformed, expired, of
	// another kind, or for an email the user no longer has.
	ErrVerifyBadToken = errors.New("ginauth: bad verify token")
	// ErrUserAlreadyVerified means the user of a verify token is verified.
	ErrUserAlreadyVerified = errors.New("ginauth: user already verified")
	// ErrResetBadToken means a reset token is malformed, expired, of
	// another kind, used, or issued before the password last changed.
	ErrResetBadToken = errors.New("ginauth: bad reset password token")
	// ErrEmailTaken means an update would give a user an email another
	// user has.
	ErrEmailTaken = errors.New("ginauth: email already taken")
	// ErrBadCurrentPassword means the current password that must confirm a
	// change is missing or wrong.
	ErrBadCurrentPassword = errors.New("ginauth: bad current password")
	// ErrUserNotFound means no user has that id.
	ErrUserNotFound = errors.New("ginauth: user not found")
	// ErrSessionNotFound means the user has no live session with that id.
	ErrSessionNotFound = errors.New("ginauth: session not found")
)

// PasswordError is a password-policy failure. Its Reason is shown to the
// user as the `reason` of a `*_INVALID_PASSWORD` error.
type PasswordError struct {
	Reason string
}

func (e *PasswordError) Error() string { return "ginauth: invalid password: " + e.Reason }

// ValidationError is a request body that does not have the expected shape
// (422 VALIDATION_ERROR).
type ValidationError struct {
	Errors []FieldError `json:"errors"`
}

// FieldError names one invalid field of a request body.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *ValidationError) Error() string {
	if len(e.Errors) == 0 {
		return "ginauth: validation error"
	}
	return "ginauth: invalid " + e.Errors[0].Field + ": " + e.Errors[0].Message
}

func invalidField(field, message string) *ValidationError {
	return &ValidationError{Errors: []FieldError{{Field: field, Message: message}}}
}

// required names a field of a request body and whether it was sent.
type required struct {
	field string
	sent  bool
}

// requireFields is a *ValidationError with an "is required" entry for each
// field not sent, in order, or nil when all were.
func requireFields(fields ...required) error {
	verr := &ValidationError{}
	for _, f := range fields {
		if !f.sent {
			verr.Errors = append(verr.Errors, FieldError{Field: f.field, Message: "is required"})
		}
	}
	if len(verr.Errors) == 0 {
		return nil
	}
	return verr
}

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Detail any          `json:"detail"`
	Errors []FieldError `json:"errors,omitempty"`
}

type passwordDetail struct {
	Code   ErrorCode `json:"code"`
	Reason string    `json:"reason"`
}

// plainError is a Go error whose answer is a status and a code, nothing more.
type plainError struct {
	err    error
	status int
	code   ErrorCode
}

// plainErrors are checked in order with errors.Is.
var plainErrors = []plainError{
	{errBodyTooLarge, http.StatusRequestEntityTooLarge, CodeRequestTooLarge},
	{errUnsupportedMediaType, http.StatusUnsupportedMediaType, CodeUnsupportedMediaType},
	{ErrUserAlreadyExists, http.StatusBadRequest, CodeRegisterUserAlreadyExists},
	{ErrBadCredentials, http.StatusBadRequest, CodeLoginBadCredentials},
	{ErrUserNotVerified, http.StatusBadRequest, CodeLoginUserNotVerified},
	{ErrRefreshTokenInvalid, http.StatusUnauthorized, CodeRefreshTokenInvalid},
	{ErrVerifyBadToken, http.StatusBadRequest, CodeVerifyUserBadToken},
	{ErrUserAlreadyVerified, http.StatusBadRequest, CodeVerifyUserAlreadyVerified},
	{ErrResetBadToken, http.StatusBadRequest, CodeResetPasswordBadToken},
	{ErrEmailTaken, http.StatusBadRequest, CodeUpdateUserEmailAlreadyExists},
	{ErrBadCurrentPassword, http.StatusBadRequest, CodeUpdateUserBadCurrentPassword},
	{ErrUserNotFound, http.StatusNotFound, CodeUserNotFound},
	{ErrSessionNotFound, http.StatusNotFound, CodeSessionNotFound},
	{ErrCSRF, http.StatusForbidden, CodeCSRFFailed},
	{ErrProviderNotFound, http.StatusNotFound, CodeProviderNotFound},
	{ErrRedirectNotAllowed, http.StatusBadRequest, CodeRedirectNotAllowed},
	{ErrOAuthInvalidState, http.StatusBadRequest, CodeOAuthInvalidState},
	{ErrOAuthNoEmail, http.StatusBadRequest, CodeOAuthNotAvailableEmail},
	{ErrOAuthUserExists, http.StatusBadRequest, CodeOAuthUserAlreadyExists},
	{ErrOAuthAccountLinked, http.StatusBadRequest, CodeOAuthAccountAlreadyLinked},
	{ErrOAuthLastLoginMethod, http.StatusBadRequest, CodeOAuthLastLoginMethod},
	{providers.ErrInvalidGrant, http.StatusBadRequest, CodeOAuthProviderError},
}

// plainErrorFor finds err's entry in plainErrors, or nil.
func plainErrorFor(err error) *plainError {
	for i := range plainErrors {
		if errors.Is(err, plainErrors[i].err) {
			return &plainErrors[i]
		}
	}
	return nil
}

// abortWithCode writes `{"detail": code}` with status and stops the chain.
func abortWithCode(c *gin.Context, status int, code ErrorCode) {
	c.AbortWithStatusJSON(status, errorBody{Detail: code})
}

// abortWithError turns any error into the contract's response. passwordCode
// is the `*_INVALID_PASSWORD` code of the route, used for a *PasswordError.
// This is the one place where Go errors become HTTP status codes.
func (a *Auth) abortWithError(c *gin.Context, err error, passwordCode ErrorCode) {
	var hookErr *beforeDeleteError
	var limited *rateLimitedError
	switch {
	case errors.As(err, &hookErr):
		// Whatever the hook's error wraps, it does not choose the answer.
		a.logger.ErrorContext(c.Request.Context(), "ginauth: OnBeforeDelete refused the deletion", "error", hookErr.err, "path", c.FullPath())
		abortWithCode(c, http.StatusInternalServerError, CodeInternalError)
		return
	case errors.As(err, &limited):
		c.Header("Retry-After", strconv.FormatInt(retryAfterSeconds(limited.retryAfter), 10))
		abortWithCode(c, http.StatusTooManyRequests, CodeTooManyRequests)
		return
	}
	if plain := plainErrorFor(err); plain != nil {
		abortWithCode(c, plain.status, plain.code)
		return
	}
	var pwErr *PasswordError
	var valErr *ValidationError
	switch {
	case errors.As(err, &pwErr):
		c.AbortWithStatusJSON(http.StatusBadRequest, errorBody{Detail: passwordDetail{Code: passwordCode, Reason: pwErr.Reason}})
	case errors.As(err, &valErr):
		c.AbortWithStatusJSON(http.StatusUnprocessableEntity, errorBody{Detail: CodeValidationError, Errors: valErr.Errors})
	case errors.Is(err, ErrInvalidToken), errors.Is(err, ErrSessionRevoked):
		a.abortUnauthorized(c, true)
	case errors.Is(err, providers.ErrProviderUnavailable):
		a.logger.WarnContext(c.Request.Context(), "ginauth: provider unavailable", "error", err, "path", c.FullPath())
		abortWithCode(c, http.StatusBadGateway, CodeOAuthProviderUnavailable)
	case errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil:
		// The client went away mid-request: nobody reads this answer and
		// nothing failed on our side, so no error is logged.
		abortWithCode(c, http.StatusServiceUnavailable, CodeServiceUnavailable)
	case errors.Is(err, ErrStoreUnavailable):
		a.logger.ErrorContext(c.Request.Context(), "ginauth: store unavailable", "error", err, "path", c.FullPath())
		abortWithCode(c, http.StatusServiceUnavailable, CodeServiceUnavailable)
	default:
		a.logger.ErrorContext(c.Request.Context(), "ginauth: internal error", "error", err, "path", c.FullPath())
		abortWithCode(c, http.StatusInternalServerError, CodeInternalError)
	}
}

// abortUnauthorized writes the one 401 body of the contract.
func (a *Auth) abortUnauthorized(c *gin.Context, tokenSent bool) {
	if tokenSent {
		c.Header("WWW-Authenticate", `Bearer error="invalid_token"`)
	} else {
		c.Header("WWW-Authenticate", "Bearer")
	}
	abortWithCode(c, http.StatusUnauthorized, CodeUnauthorized)
}

// abortForbidden writes the contract's 403; insufficientScope adds the
// RFC 6750 error attribute.
func abortForbidden(c *gin.Context, insufficientScope bool) {
	if insufficientScope {
		c.Header("WWW-Authenticate", `Bearer error="insufficient_scope"`)
	}
	abortWithCode(c, http.StatusForbidden, CodeForbidden)
}
