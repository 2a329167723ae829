package ginauth

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/gin-gonic/gin"
)

// Register mounts the auth routes of the contract on g (conventionally
// /auth): register, login, refresh, logout, the OpenAPI document, and the
// JWKS when access tokens are signed with an asymmetric key.
func (a *Auth) Register(g *gin.RouterGroup) {
	bad, unauthorized := http.StatusBadRequest, http.StatusUnauthorized
	a.mount(g, operation{method: http.MethodPost, path: "/register", summary: "Register a user with email and password",
		request: "Credentials", success: http.StatusCreated, response: "UserRead", errorCode: []int{bad}}, a.handleRegister)
	a.mount(g, operation{method: http.MethodPost, path: "/login", summary: "Sign in; returns an access and a refresh token",
		request: "Credentials", form: true, success: http.StatusOK, response: "TokenResponse", errorCode: []int{bad}}, a.handleLogin)
	a.mount(g, operation{method: http.MethodPost, path: "/refresh", summary: "Trade a refresh token for a new pair",
		request: "RefreshRequest", success: http.StatusOK, response: "TokenResponse", errorCode: []int{unauthorized}}, a.handleRefresh)
	a.mount(g, operation{method: http.MethodPost, path: "/logout", summary: "End the session of the access token",
		auth: true, request: "LogoutRequest", success: http.StatusNoContent, errorCode: []int{unauthorized}}, a.RequireAuth(), a.handleLogout)
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
	var body credentialsBody
	if err := a.decodeJSON(c, &body, false); err != nil {
		a.abortWithError(c, err, CodeRegisterInvalidPassword)
		return
	}
	if err := body.required(); err != nil {
		a.abortWithError(c, err, CodeRegisterInvalidPassword)
		return
	}
	user, err := a.createUser(c.Request.Context(), NewUser{Email: *body.Email, Password: *body.Password}, c.Request)
	if err != nil {
		a.abortWithError(c, err, CodeRegisterInvalidPassword)
		return
	}
	c.JSON(http.StatusCreated, newUserRead(user, nil))
}

// handleLogin: POST /login, JSON {email, password} or the OAuth2 password
// form (username, password) → 200 TokenResponse (cookie transport: 204
// and the cookies).
func (a *Auth) handleLogin(c *gin.Context) {
	email, password, err := a.readCredentials(c)
	if err != nil {
		a.abortWithError(c, err, "")
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
