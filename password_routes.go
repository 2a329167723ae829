package ginauth

import (
	"context"
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
		request: "EmailRequest", success: http.StatusAccepted, errorCode: []int{http.StatusTooManyRequests}}, a.handleMailRequest(a.forgotPassword))
	a.mount(g, operation{method: http.MethodPost, path: "/reset-password", summary: "Set a new password with a mailed reset token",
		request: "ResetPasswordRequest", success: http.StatusOK, errorCode: []int{bad, http.StatusTooManyRequests}}, a.handleResetPassword)
	a.mount(g, operation{method: http.MethodPost, path: "/request-verify-token", summary: "Mail a verify link (202 whatever the email)",
		request: "EmailRequest", success: http.StatusAccepted, errorCode: []int{http.StatusTooManyRequests}}, a.handleMailRequest(a.requestVerify))
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
	return requireFields(required{"email", b.Email != nil}, required{"password", b.Password != nil})
}

// handleRegister: POST /register {email, password} → 201 UserRead.
func (a *Auth) handleRegister(c *gin.Context) {
	if !a.allowRequest(c, "register-ip", a.cfg.RateLimits.RegisterPerIP, clientIPKey(c)) {
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
	subject, email, err := accountEmail(*body.Email)
	if !a.allowRequest(c, "register-address", a.cfg.RateLimits.RegisterPerAddress, subject) {
		return
	}
	if err != nil {
		a.abortWithError(c, err, CodeRegisterInvalidPassword)
		return
	}
	user, err := a.createUser(c.Request.Context(), email, NewUser{Password: *body.Password})
	if err != nil {
		a.abortWithError(c, err, CodeRegisterInvalidPassword)
		return
	}
	a.afterRegister(c.Request.Context(), user, c.Request)
	c.JSON(http.StatusCreated, newUserRead(user, nil))
}

// handleLogin: POST /login, JSON {email, password} or the OAuth2 password
// form (username, password) → 200 TokenResponse (cookie transport: 204
// and the cookies).
func (a *Auth) handleLogin(c *gin.Context) {
	if !a.allowRequest(c, "login-ip", a.cfg.RateLimits.LoginPerIP, clientIPKey(c)) {
		return
	}
	email, password, err := a.readCredentials(c)
	if err != nil {
		a.abortWithError(c, err, "")
		return
	}
	subject, canonical, _ := accountEmail(email) // canonical "" when malformed
	if !a.allowRequest(c, "login-account", a.cfg.RateLimits.LoginPerAccount, subject) {
		return
	}
	tokens, user, err := a.login(c.Request.Context(), canonical, password, clientInfo(c))
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
		if err := requireFields(required{"username", form.Has("username")}, required{"password", form.Has("password")}); err != nil {
			return "", "", err
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
	// Missing is a malformed request (422); present but empty is an
	// invalid token like any other (401).
	if err := requireFields(required{"refresh_token", body.RefreshToken != nil}); err != nil {
		a.abortWithError(c, err, "")
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
	a.clearTokenCookies(c)
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
	if err := requireFields(required{"email", body.Email != nil}); err != nil {
		return "", err
	}
	return CanonicalEmail(*body.Email)
}

// handleMailRequest is the handler of a mail-sending route (POST
// /forgot-password, /request-verify-token): {email} → 202 null, whatever
// the email. send, which does the lookup and the mail, runs after the
// answer.
func (a *Auth) handleMailRequest(send func(ctx context.Context, email string, r *http.Request)) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !a.allowRequest(c, "mail-ip", a.cfg.RateLimits.MailPerIP, clientIPKey(c)) {
			return
		}
		email, err := a.readEmail(c)
		if err != nil {
			a.abortWithError(c, err, "")
			return
		}
		answerAccepted(c)
		send(c.Request.Context(), email, c.Request)
	}
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
	if !a.allowRequest(c, "token-ip", a.cfg.RateLimits.TokenPerIP, clientIPKey(c)) {
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
	if err := requireFields(required{"token", body.Token != nil}, required{"password", body.Password != nil}); err != nil {
		a.abortWithError(c, err, "")
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
	if !a.allowRequest(c, "token-ip", a.cfg.RateLimits.TokenPerIP, clientIPKey(c)) {
		return
	}
	var body struct {
		Token *string `json:"token"`
	}
	if err := a.decodeJSON(c, &body, false); err != nil {
		a.abortWithError(c, err, "")
		return
	}
	if err := requireFields(required{"token", body.Token != nil}); err != nil {
		a.abortWithError(c, err, "")
		return
	}
	user, err := a.verify(c.Request.Context(), *body.Token, c.Request)
	if err != nil {
		a.abortWithError(c, err, "")
		return
	}
	c.Header("Cache-Control", "no-store")
	a.answerUser(c, http.StatusOK, user)
}

// accountEmail canonicalizes an email as typed, once for its two uses:
// canonical is CanonicalEmail's answer ("" and its error for a malformed
// email); subject is the per-account rate-limit key, canonical or, for a
// malformed email, its trimmed lower case, so variants of one address
// share a budget.
func accountEmail(email string) (subject, canonical string, err error) {
	canonical, err = CanonicalEmail(email)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(email)), "", err
	}
	return canonical, canonical, nil
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
