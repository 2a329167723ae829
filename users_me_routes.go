package ginauth

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
)

// mountMe mounts the self-service routes besides GET /me: PATCH and DELETE
// /me, and the session list.
func (a *Auth) mountMe(g *gin.RouterGroup) {
	bad, unauthorized, notFound, tooMany := http.StatusBadRequest, http.StatusUnauthorized, http.StatusNotFound, http.StatusTooManyRequests
	a.mount(g, operation{method: http.MethodPatch, path: "/me", summary: "Change the authenticated user's email or password",
		auth: true, request: "UserUpdate", success: http.StatusOK, response: "UserRead", errorCode: []int{bad, unauthorized, http.StatusForbidden, tooMany}},
		a.RequireAuth(), a.handleUpdateMe)
	a.mount(g, operation{method: http.MethodDelete, path: "/me", summary: "Delete the authenticated user",
		auth: true, request: "DeleteMe", optional: true, success: http.StatusNoContent, errorCode: []int{bad, unauthorized, http.StatusForbidden, tooMany}},
		a.RequireAuth(), a.handleDeleteMe)
	a.mount(g, operation{method: http.MethodGet, path: "/me/sessions", summary: "The authenticated user's live sessions",
		auth: true, success: http.StatusOK, response: "SessionList", errorCode: []int{unauthorized}},
		a.RequireAuth(), a.handleListSessions)
	a.mount(g, operation{method: http.MethodDelete, path: "/me/sessions/:id", summary: "End one of the authenticated user's sessions",
		auth: true, success: http.StatusNoContent, errorCode: []int{unauthorized, notFound}},
		a.RequireAuth(), a.handleDeleteSession)
}

// updateMeBody is the body of PATCH /me. Every other field (is_superuser,
// is_verified, is_active, id, hashes, oauth_accounts...) is ignored.
type updateMeBody struct {
	Email           *string `json:"email"`
	Password        *string `json:"password"`
	CurrentPassword *string `json:"current_password"`
}

// handleUpdateMe: PATCH /me {email?, password?, current_password?} → 200
// UserRead. A new password ends the user's other sessions.
func (a *Auth) handleUpdateMe(c *gin.Context) {
	user, err := CurrentUser(c)
	if err != nil {
		a.abortCurrentUser(c, err)
		return
	}
	var body updateMeBody
	if err := a.decodeJSON(c, &body, false); err != nil {
		a.abortWithError(c, err, "")
		return
	}
	if (body.Email != nil || body.Password != nil) && !a.confirmedWithoutPassword(c, user) {
		return
	}
	updated, err := a.updateMe(c.Request.Context(), user, ClaimsFrom(c).Session(),
		UserUpdate{Email: body.Email, Password: body.Password}, body.CurrentPassword, c.Request)
	if err != nil {
		a.abortWithError(c, err, CodeUpdateUserInvalidPassword)
		return
	}
	a.answerUser(c, http.StatusOK, updated)
}

// handleDeleteMe: DELETE /me {current_password} → 204. A user without a
// password (provider sign-in only) may send no body.
func (a *Auth) handleDeleteMe(c *gin.Context) {
	user, err := CurrentUser(c)
	if err != nil {
		a.abortCurrentUser(c, err)
		return
	}
	var body struct {
		CurrentPassword *string `json:"current_password"`
	}
	if err := a.decodeJSON(c, &body, true); err != nil {
		a.abortWithError(c, err, "")
		return
	}
	if !a.confirmedWithoutPassword(c, user) {
		return
	}
	if err := a.deleteMe(c.Request.Context(), user, body.CurrentPassword, c.Request); err != nil {
		a.abortWithError(c, err, "")
		return
	}
	a.clearTokenCookies(c)
	c.Status(http.StatusNoContent)
}

// confirmedWithoutPassword stands in for the current password of a user
// who has none (provider sign-in only): changing the email or password,
// or deleting the account, then needs a fresh access token, one from a
// sign-in rather than a refresh, so a stolen older token cannot take the
// account over. It answers 403 FORBIDDEN and returns false otherwise.
func (a *Auth) confirmedWithoutPassword(c *gin.Context, user *User) bool {
	if user.HasPassword() || ClaimsFrom(c).Fresh {
		return true
	}
	abortForbidden(c, false)
	return false
}

// sessionRead is one session in GET /me/sessions.
type sessionRead struct {
	ID         uuid.UUID `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	UserAgent  string    `json:"user_agent"`
	IP         string    `json:"ip"`
	Current    bool      `json:"current"`
}

// handleListSessions: GET /me/sessions → 200 {"sessions": [...]}, the
// live sessions newest first; `current` marks the session of the token.
func (a *Auth) handleListSessions(c *gin.Context) {
	claims := ClaimsFrom(c)
	sessions, err := a.store.SessionsOf(c.Request.Context(), claims.UserID(), a.now())
	if err != nil {
		a.abortWithError(c, err, "")
		return
	}
	list := make([]sessionRead, 0, len(sessions))
	for _, sess := range sessions {
		list = append(list, sessionRead{
			ID: sess.ID, CreatedAt: sess.CreatedAt.UTC(), LastUsedAt: sess.LastUsedAt.UTC(),
			UserAgent: sess.UserAgent, IP: sess.IP, Current: sess.ID == claims.Session(),
		})
	}
	c.JSON(http.StatusOK, gin.H{"sessions": list})
}

// handleDeleteSession: DELETE /me/sessions/{id} → 204; the session's
// refresh token and access tokens stop working at once. Only the caller's
// own live sessions are found: another user's session, an ended one, an
// unknown or unparsable id are all 404 SESSION_NOT_FOUND. Ending the
// current session is a logout.
func (a *Auth) handleDeleteSession(c *gin.Context) {
	claims := ClaimsFrom(c)
	id, err := a.revokeOwnSession(c, claims.UserID(), c.Param("id"))
	if err != nil {
		a.abortWithError(c, err, "")
		return
	}
	if id == claims.Session() {
		a.clearTokenCookies(c)
	}
	c.Status(http.StatusNoContent)
}

// revokeOwnSession ends the live session rawID of userID and returns its id.
func (a *Auth) revokeOwnSession(c *gin.Context, userID uuid.UUID, rawID string) (uuid.UUID, error) {
	ctx := c.Request.Context()
	id, err := uuid.Parse(rawID)
	if err != nil {
		return uuid.Nil, ErrSessionNotFound
	}
	sess, err := a.store.SessionByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return uuid.Nil, ErrSessionNotFound
	}
	if err != nil {
		return uuid.Nil, err
	}
	if sess.UserID != userID || !sess.liveAt(a.now()) {
		return uuid.Nil, ErrSessionNotFound
	}
	if err := a.RevokeSession(ctx, sess.ID); err != nil {
		return uuid.Nil, err
	}
	return sess.ID, nil
}
