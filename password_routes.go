package ginauth

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"
)

// Register mounts the auth routes of the contract on g (conventionally
// /auth): register, login, refresh, logout, the OpenAPI document, and the
// JWKS when access tokens are signed with an asymmetric key.
func (a *Auth) Register(g *gin.RouterGroup) {
	bad, unauthorized := http.StatusBadRequest, http.StatusUnauthorized
	a.mount(g, operation{method: http.MethodPost, path: "/register", summary: "Register a user with email and password",
		request: "Credentials", success: http.StatusCreated, response: "UserRead", errorCode: []int{bad, http.StatusTooManyRequests}}, a.handleRegister)
	a.mount(g, operation{method: http.MethodPost, path: "/login", summary: "Sign in; returns an access and a refresh token",
		request: "Credentials", form: true, success: http.StatusOK, response: "TokenResponse", errorCode: []int{bad, http.StatusTooManyRequests}}, a.handleLogin)
	a.mount(g, operation{method: http.MethodPost, path: "/refresh", summary: "Trade a refresh token for a new pair",
		request: "RefreshRequest", optional: a.cookieMode(), success: http.StatusOK, response: "TokenResponse", errorCode: []int{unauthorized}}, a.handleRefresh)
	a.mount(g, operation{method: http.MethodPost, path: "/logout", summary: "End the session of the access token",
		auth: true, request: "LogoutRequest", optional: true, success: http.StatusNoContent, errorCode: []int{unauthorized}}, a.RequireAuth(), a.handleLogout)
	a.mount(g, operation{method: http.MethodPost, path: "/forgot-password", summary: "Mail a reset-password link (202 whatever the email)",
		request: "EmailRequest", success: http.StatusAccepted, errorCode: []int{http.StatusTooManyRequests}}, a.handleForgotPassword)
	a.mount(g, operation{method: http.MethodPost, path: "/reset-password", summary: "Set a new password with a mailed reset token",
		request: "ResetPasswordRequest", success: http.StatusOK, errorCode: []int{bad, http.StatusTooManyRequests}}, a.handleResetPassword)
	a.mount(g, operation{method: http.MethodPost, path: "/request-verify-token", summary: "Mail a verify link (202 whatever the email)",
		request: "EmailRequest", success: http.StatusAccepted, errorCode: []int{http.StatusTooManyRequests}}, a.handleRequestVerify)
	a.mount(g, operation{method: http.MethodPost, path: "/verify", summary: "Verify an email with a mailed verify token",
		request: "VerifyRequest", success: http.StatusOK, response: "UserRead", errorCode: []int{bad, http.StatusTooManyRequests}}, a.handleVerify)
	if a.keys.jwks != nil { // HMAC keys are never published: no route, 404
		a.mount(g, operation{method: http.MethodGet, path: "/.well-known/jwks.json", summary: "Public keys of access tokens (JWK Set)",
			success: http.StatusOK}, a.handleJWKS)
	}
	a.mountOAuth(g)
	a.mount(g, operation{method: http.MethodGet, path: "/openapi.json", summary: "This OpenAPI document",
		success: http.StatusOK}, a.handleOpenAPI)
}

type credentialsBody struct {
	Email    *string `json:"email"`
	Password *string `json:"password"`
}

// required checks that both fields are present.
func (b *credentialsBody) required() error {
	verr := &ValidationError{}
	if b.Email == nil {
		verr.Errors = append(verr.Errors, FieldError{Field: "email", Message: "is required"})
	}
	if b.Password == nil {
		verr.Errors = append(verr.Errors, FieldError{Field: "password", Message: "is required"})
	}
	if len(verr.Errors) > 0 {
		return verr
	}
	return nil
}

// handleRegister: POST /register {email, password} → 201 UserRead.
func (a *Auth) handleRegister(c *gin.Context) {
	if !a.allowRequest(c, "register-ip", a.limits.RegisterPerIP, clientIPKey(c)) {
		return
	}
	var body credentialsBody
	if err := a.decodeJSON(c, &body, false); err != nil {
		a.abortWithError(c, err, CodeRegisterInvalidPassword)
		return
	}
	if err := body.required(); err != nil {
		a.abortWithError(c, err, CodeRegisterInvalidPassword)
		return
	}
	if !a.allowRequest(c, "register-address", a.limits.RegisterPerAddress, limitSubject(*body.Email)) {
		return
	}
	user, err := a.createUser(c.Request.Context(), NewUser{Email: *body.Email, Password: *body.Password}, c.Request)
	if err != nil {
		a.abortWithError(c, err, CodeRegisterInvalidPassword)
		return
	}
	a.mailVerifyLink(c.Request.Context(), user, c.Request)
	c.JSON(http.StatusCreated, newUserRead(user, nil))
}

// handleLogin: POST /login, JSON {email, password} or the OAuth2 password
// form (username, password) → 200 TokenResponse (cookie transport: 204
// and the cookies).
func (a *Auth) handleLogin(c *gin.Context) {
	if !a.allowRequest(c, "login-ip", a.limits.LoginPerIP, clientIPKey(c)) {
		return
	}
	email, password, err := a.readCredentials(c)
	if err != nil {
		a.abortWithError(c, err, "")
		return
	}
	if !a.allowRequest(c, "login-account", a.limits.LoginPerAccount, limitSubject(email)) {
		return
	}
	tokens, user, err := a.Login(c.Request.Context(), email, password, clientInfo(c))
	if err != nil {
		a.abortWithError(c, err, "")
		return
	}
	if a.cfg.Hooks.OnAfterLogin != nil {
		a.cfg.Hooks.OnAfterLogin(c.Request.Context(), user, c.Request)
	}
	a.answerTokens(c, tokens)
}

// readCredentials reads login credentials from JSON or from the OAuth2
// password form.
func (a *Auth) readCredentials(c *gin.Context) (email, password string, err error) {
	if mediaType(c.Request) == "application/x-www-form-urlencoded" {
		raw, err := a.readBody(c)
		if err != nil {
			return "", "", err
		}
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			return "", "", invalidField("body", "the form is malformed")
		}
		verr := &ValidationError{}
		for _, field := range []string{"username", "password"} {
			if !form.Has(field) {
				verr.Errors = append(verr.Errors, FieldError{Field: field, Message: "is required"})
			}
		}
		if len(verr.Errors) > 0 {
			return "", "", verr
		}
		return form.Get("username"), form.Get("password"), nil
	}
	var body credentialsBody
	if err := a.decodeJSON(c, &body, false); err != nil {
		return "", "", err
	}
	if err := body.required(); err != nil {
		return "", "", err
	}
	return *body.Email, *body.Password, nil
}

type refreshBody struct {
	RefreshToken string `json:"refresh_token"`
}

// handleRefresh: POST /refresh {refresh_token} → 200 TokenResponse. With
// the cookie transport the body may be empty: the refresh cookie is used,
// and the answer is 204 with new cookies.
func (a *Auth) handleRefresh(c *gin.Context) {
	var body struct {
		RefreshToken *string `json:"refresh_token"`
	}
	if err := a.decodeJSON(c, &body, a.cookieMode()); err != nil {
		a.abortWithError(c, err, "")
		return
	}
	if body.RefreshToken == nil && a.cookieMode() {
		// The refresh cookie, which only a same-site page echoing the
		// CSRF cookie may spend.
		if err := a.checkCSRF(c.Request, true); err != nil {
			a.abortWithError(c, err, "")
			return
		}
		cookie := a.cookieValue(c.Request, refreshCookieName)
		body.RefreshToken = &cookie
	}
	if body.RefreshToken == nil {
		// Missing is a malformed request (422); present but empty is an
		// invalid token like any other (401).
		a.abortWithError(c, invalidField("refresh_token", "is required"), "")
		return
	}
	tokens, err := a.Refresh(c.Request.Context(), *body.RefreshToken)
	if err != nil {
		a.abortWithError(c, err, "")
		return
	}
	a.answerTokens(c, tokens)
}

// handleLogout: POST /logout → 204; the session of the access token ends,
// and the session of the optional {refresh_token} (cookie transport: else
// of the refresh cookie) too when it is the same user's. The cookie
// transport's cookies are cleared.
func (a *Auth) handleLogout(c *gin.Context) {
	var body refreshBody
	if err := a.decodeJSON(c, &body, true); err != nil {
		a.abortWithError(c, err, "")
		return
	}
	ctx := c.Request.Context()
	claims := ClaimsFrom(c)
	if err := a.RevokeSession(ctx, claims.Session()); err != nil {
		a.abortWithError(c, err, "")
		return
	}
	if body.RefreshToken == "" && a.cookieMode() {
		body.RefreshToken = a.cookieValue(c.Request, refreshCookieName)
	}
	if body.RefreshToken != "" {
		sess, err := a.store.SessionByRefreshHash(ctx, hashRefreshToken(body.RefreshToken))
		if err != nil && !errors.Is(err, ErrNotFound) {
			a.abortWithError(c, err, "")
			return
		}
		if err == nil && sess.UserID == claims.UserID() {
			if err := a.RevokeSession(ctx, sess.ID); err != nil {
				a.abortWithError(c, err, "")
				return
			}
		}
	}
	if a.cookieMode() {
		a.clearTokenCookies(c)
	}
	c.Status(http.StatusNoContent)
}

// emailBody is the body of the two mail-sending routes.
type emailBody struct {
	Email *string `json:"email"`
}

// readEmail reads {email} and canonicalizes it (422 when missing or
// malformed).
func (a *Auth) readEmail(c *gin.Context) (string, error) {
	var body emailBody
	if err := a.decodeJSON(c, &body, false); err != nil {
		return "", err
	}
	if body.Email == nil {
		return "", invalidField("email", "is required")
	}
	return CanonicalEmail(*body.Email)
}

// handleForgotPassword: POST /forgot-password {email} → 202 null, whatever
// the email. The lookup and the mail happen after the answer.
func (a *Auth) handleForgotPassword(c *gin.Context) {
	if !a.allowRequest(c, "mail-ip", a.limits.MailPerIP, clientIPKey(c)) {
		return
	}
	email, err := a.readEmail(c)
	if err != nil {
		a.abortWithError(c, err, "")
		return
	}
	answerAccepted(c)
	a.forgotPassword(c.Request.Context(), email, c.Request)
}

// handleRequestVerify: POST /request-verify-token {email} → 202 null,
// whatever the email.
func (a *Auth) handleRequestVerify(c *gin.Context) {
	if !a.allowRequest(c, "mail-ip", a.limits.MailPerIP, clientIPKey(c)) {
		return
	}
	email, err := a.readEmail(c)
	if err != nil {
		a.abortWithError(c, err, "")
		return
	}
	answerAccepted(c)
	a.requestVerify(c.Request.Context(), email, c.Request)
}

// answerAccepted sends the mail routes' 202 null and flushes it, before
// any work that depends on the email starts: the answer's timing cannot
// depend on whether the address has an account.
func answerAccepted(c *gin.Context) {
	c.JSON(http.StatusAccepted, nil)
	c.Writer.Flush()
}

// handleResetPassword: POST /reset-password {token, password} → 200 null;
// every session of the user ends.
func (a *Auth) handleResetPassword(c *gin.Context) {
	if !a.allowRequest(c, "token-ip", a.limits.TokenPerIP, clientIPKey(c)) {
		return
	}
	var body struct {
		Token    *string `json:"token"`
		Password *string `json:"password"`
	}
	if err := a.decodeJSON(c, &body, false); err != nil {
		a.abortWithError(c, err, "")
		return
	}
	verr := &ValidationError{}
	if body.Token == nil {
		verr.Errors = append(verr.Errors, FieldError{Field: "token", Message: "is required"})
	}
	if body.Password == nil {
		verr.Errors = append(verr.Errors, FieldError{Field: "password", Message: "is required"})
	}
	if len(verr.Errors) > 0 {
		a.abortWithError(c, verr, "")
		return
	}
	if err := a.resetPassword(c.Request.Context(), *body.Token, *body.Password, c.Request); err != nil {
		a.abortWithError(c, err, CodeResetPasswordInvalidPassword)
		return
	}
	c.JSON(http.StatusOK, nil)
}

// handleVerify: POST /verify {token} → 200 UserRead.
func (a *Auth) handleVerify(c *gin.Context) {
	if !a.allowRequest(c, "token-ip", a.limits.TokenPerIP, clientIPKey(c)) {
		return
	}
	var body struct {
		Token *string `json:"token"`
	}
	if err := a.decodeJSON(c, &body, false); err != nil {
		a.abortWithError(c, err, "")
		return
	}
	if body.Token == nil {
		a.abortWithError(c, invalidField("token", "is required"), "")
		return
	}
	ctx := c.Request.Context()
	user, err := a.verify(ctx, *body.Token, c.Request)
	if err != nil {
		a.abortWithError(c, err, "")
		return
	}
	accounts, err := a.store.OAuthAccountsOf(ctx, user.ID)
	if err != nil {
		a.abortWithError(c, err, "")
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, newUserRead(user, accounts))
}

// limitSubject is the per-account rate-limit key of an email as typed:
// its canonical form, or for a malformed one its trimmed lower case, so
// variants of one address share a budget.
func limitSubject(email string) string {
	if canonical, err := CanonicalEmail(email); err == nil {
		return canonical
	}
	return strings.ToLower(strings.TrimSpace(email))
}

// handleJWKS: GET /.well-known/jwks.json → the public signing keys.
func (a *Auth) handleJWKS(c *gin.Context) {
	c.Header("Cache-Control", "public, max-age=300")
	c.Data(http.StatusOK, "application/jwk-set+json", a.keys.jwks)
}

// writeTokens sends a TokenResponse, never cached.
func writeTokens(c *gin.Context, tokens *TokenResponse) {
	c.Header("Cache-Control", "no-store")
	c.Header("Pragma", "no-cache")
	c.JSON(http.StatusOK, tokens)
}

// clientInfo describes the request's client for its session record. The IP
// comes from Gin's trusted-proxy setting.
func clientInfo(c *gin.Context) ClientInfo {
	return ClientInfo{UserAgent: c.Request.UserAgent(), IP: c.ClientIP()}
}
