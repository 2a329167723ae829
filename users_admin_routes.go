package ginauth

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
)

// Page sizes of GET /users.
const (
	defaultUserPageSize = 50
	maxUserPageSize     = 100
)

// mountAdmin mounts the superuser routes: the user list and /{id}. Each is
// behind RequireAuth(Superuser()), which answers before the id is looked
// at: a non-superuser gets 403 whether the id exists, is missing or does
// not parse, and learns nothing about which.
func (a *Auth) mountAdmin(g *gin.RouterGroup) {
	bad, unauthorized, forbidden, notFound, invalid := http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusUnprocessableEntity
	superuser := a.RequireAuth(Superuser())
	a.mount(g, operation{method: http.MethodGet, path: "", summary: "List users (superuser)",
		auth: true, success: http.StatusOK, response: "UserPage", errorCode: []int{unauthorized, forbidden, invalid}},
		superuser, a.handleListUsers)
	a.mount(g, operation{method: http.MethodGet, path: "/:id", summary: "A user (superuser)",
		auth: true, success: http.StatusOK, response: "UserRead", errorCode: []int{unauthorized, forbidden, notFound}},
		superuser, a.handleGetUser)
	a.mount(g, operation{method: http.MethodPatch, path: "/:id", summary: "Change a user (superuser)",
		auth: true, request: "UserAdminUpdate", success: http.StatusOK, response: "UserRead", errorCode: []int{bad, unauthorized, forbidden, notFound}},
		superuser, a.handleUpdateUser)
	a.mount(g, operation{method: http.MethodDelete, path: "/:id", summary: "Delete a user (superuser)",
		auth: true, success: http.StatusNoContent, errorCode: []int{unauthorized, forbidden, notFound}},
		superuser, a.handleDeleteUser)
}

// userPage is the body of GET /users.
type userPage struct {
	Items []UserRead `json:"items"`
	Total int64      `json:"total"`
}

// handleListUsers: GET ?limit=&offset=&email= → 200 {"items": [UserRead],
// "total": n}, in creation order. limit is 1 to 100 (default 50), offset
// at least 0 (default 0); email keeps the users whose canonical email
// contains it (normalized as CanonicalEmail does: trimmed, NFKC,
// lower-cased; % and _ match themselves). Each item carries
// its OAuth accounts.
func (a *Auth) handleListUsers(c *gin.Context) {
	q, err := parseUserQuery(c)
	if err != nil {
		a.abortWithError(c, err, "")
		return
	}
	users, total, err := a.store.ListUsers(c.Request.Context(), q)
	if err != nil {
		a.abortWithError(c, err, "")
		return
	}
	page := userPage{Items: make([]UserRead, 0, len(users)), Total: total}
	for i := range users {
		page.Items = append(page.Items, newUserRead(&users[i], users[i].OAuthAccounts))
	}
	c.JSON(http.StatusOK, page)
}

// parseUserQuery reads the query of GET /users; a bad value is 422.
func parseUserQuery(c *gin.Context) (UserQuery, error) {
	q := UserQuery{Limit: defaultUserPageSize}
	verr := &ValidationError{}
	if raw := c.Query("limit"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > maxUserPageSize {
			verr.Errors = append(verr.Errors, FieldError{Field: "limit", Message: "must be an integer from 1 to " + strconv.Itoa(maxUserPageSize)})
		}
		q.Limit = n
	}
	if raw := c.Query("offset"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 {
			verr.Errors = append(verr.Errors, FieldError{Field: "offset", Message: "must be a non-negative integer"})
		}
		q.Offset = n
	}
	if raw := c.Query("email"); raw != "" {
		email, err := normalizeEmail(raw)
		var emailErr *ValidationError
		switch {
		case errors.As(err, &emailErr):
			verr.Errors = append(verr.Errors, emailErr.Errors...)
		case len(email) > maxEmailBytes:
			verr.Errors = append(verr.Errors, FieldError{Field: "email", Message: "is longer than 254 bytes"})
		}
		q.EmailContains = email
	}
	if len(verr.Errors) > 0 {
		return UserQuery{}, verr
	}
	return q, nil
}

// userIDParam reads the {id} of a route; one that does not parse names
// no user: ErrUserNotFound.
func userIDParam(c *gin.Context) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		return uuid.Nil, ErrUserNotFound
	}
	return id, nil
}

// handleGetUser: GET /{id} → 200 UserRead.
func (a *Auth) handleGetUser(c *gin.Context) {
	id, err := userIDParam(c)
	if err != nil {
		a.abortWithError(c, err, "")
		return
	}
	user, err := a.userByID(c.Request.Context(), id)
	if err != nil {
		a.abortWithError(c, err, "")
		return
	}
	a.answerUser(c, http.StatusOK, user)
}

// adminUpdateBody is the body of PATCH /{id}; other fields are ignored, and
// a null field is as good as absent.
type adminUpdateBody struct {
	Email       *string `json:"email"`
	Password    *string `json:"password"`
	IsActive    *bool   `json:"is_active"`
	IsSuperuser *bool   `json:"is_superuser"`
	IsVerified  *bool   `json:"is_verified"`
}

// handleUpdateUser: PATCH /{id} {email?, password?, is_active?,
// is_superuser?, is_verified?} → 200 UserRead. No current password is
// asked. A superuser may change themself this way, down to withdrawing
// their own superuser flag or deactivating themself.
func (a *Auth) handleUpdateUser(c *gin.Context) {
	id, err := userIDParam(c)
	if err != nil {
		a.abortWithError(c, err, "")
		return
	}
	var body adminUpdateBody
	if err := a.decodeJSON(c, &body, false); err != nil {
		a.abortWithError(c, err, "")
		return
	}
	user, err := a.updateUser(c.Request.Context(), id, UserUpdate(body), c.Request)
	if err != nil {
		a.abortWithError(c, err, CodeUpdateUserInvalidPassword)
		return
	}
	a.answerUser(c, http.StatusOK, user)
}

// handleDeleteUser: DELETE /{id} → 204.
func (a *Auth) handleDeleteUser(c *gin.Context) {
	id, err := userIDParam(c)
	if err != nil {
		a.abortWithError(c, err, "")
		return
	}
	if err := a.deleteUser(c.Request.Context(), id, c.Request); err != nil {
		a.abortWithError(c, err, "")
		return
	}
	c.Status(http.StatusNoContent)
}

// notFoundAsUser turns the store's ErrNotFound into ErrUserNotFound.
func notFoundAsUser(err error) error {
	if errors.Is(err, ErrNotFound) {
		return ErrUserNotFound
	}
	return err
}
