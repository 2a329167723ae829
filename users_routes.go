package ginauth

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"
)

// UserRead is the public view of a user (the contract's `UserRead`): it
// never holds the password hash or provider tokens.
type UserRead struct {
	ID            uuid.UUID          `json:"id"`
	Email         string             `json:"email"`
	IsActive      bool               `json:"is_active"`
	IsSuperuser   bool               `json:"is_superuser"`
	IsVerified    bool               `json:"is_verified"`
	CreatedAt     time.Time          `json:"created_at"`
	OAuthAccounts []OAuthAccountRead `json:"oauth_accounts"`
}

// OAuthAccountRead is the public view of a linked provider account.
type OAuthAccountRead struct {
	OAuthName    string `json:"oauth_name"`
	AccountID    string `json:"account_id"`
	AccountEmail string `json:"account_email"`
}

func newUserRead(u *User, accounts []OAuthAccount) UserRead {
	read := UserRead{
		ID:            u.ID,
		Email:         u.Email,
		IsActive:      u.IsActive,
		IsSuperuser:   u.IsSuperuser,
		IsVerified:    u.IsVerified,
		CreatedAt:     u.CreatedAt.UTC(),
		OAuthAccounts: make([]OAuthAccountRead, 0, len(accounts)),
	}
	for _, acc := range accounts {
		read.OAuthAccounts = append(read.OAuthAccounts, OAuthAccountRead{
			OAuthName: acc.OAuthName, AccountID: acc.AccountID, AccountEmail: acc.AccountEmail,
		})
	}
	return read
}

// RegisterUsers mounts the user routes of the contract on g
// (conventionally /users): the authenticated user's own account and
// sessions under /me, and the superuser routes on the collection and on
// /{id}. Every response is marked Cache-Control: no-store.
func (a *Auth) RegisterUsers(g *gin.RouterGroup) {
	users := g.Group("", noStore)
	a.mount(users, operation{method: http.MethodGet, path: "/me", summary: "The authenticated user",
		auth: true, success: http.StatusOK, response: "UserRead", errorCode: []int{http.StatusUnauthorized}}, a.RequireAuth(), a.handleGetMe)
	a.mountMe(users)
	a.mountAdmin(users)
}

// noStore marks every response of a group as not cacheable.
func noStore(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Next()
}

// handleGetMe: GET /me → 200 UserRead of the authenticated user.
func (a *Auth) handleGetMe(c *gin.Context) {
	user, err := CurrentUser(c)
	if err != nil {
		a.abortCurrentUser(c, err)
		return
	}
	a.answerUser(c, http.StatusOK, user)
}

// answerUser writes the UserRead of user, its OAuth accounts loaded.
func (a *Auth) answerUser(c *gin.Context, status int, user *User) {
	accounts, err := a.store.OAuthAccountsOf(c.Request.Context(), user.ID)
	if err != nil {
		a.abortWithError(c, err, "")
		return
	}
	c.JSON(status, newUserRead(user, accounts))
}
