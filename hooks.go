package ginauth

import (
	"context"
	"net/http"
)

// Hooks are called around account events, like the on_after_* methods of
// fastapi-users' user manager. Every field is optional. The *http.Request is
// nil when the event did not come from a request (for example CreateUser
// called from a command). Hooks run synchronously, after the event is
// stored, except OnAfterForgotPassword and OnAfterRequestVerify: they run
// in the background with the mail (several may run at once), so that the
// 202 answer takes the same time whether the address has an account or
// not; their request is for reading only, and their ctx is not the
// request's.
type Hooks struct {
	// OnAfterRegister runs after a user is created (by the register route,
	// an OAuth sign-up or CreateUser).
	OnAfterRegister func(ctx context.Context, user *User, r *http.Request)
	// OnAfterLogin runs after a user signed in (password or OAuth) and got
	// tokens.
	OnAfterLogin func(ctx context.Context, user *User, r *http.Request)
	// OnAfterUpdate runs after a user was changed through PATCH /users/me or
	// PATCH /users/{id}; update names the changed fields ("email",
	// "password", "is_active", "is_superuser", "is_verified") with their
	// new values, "password" as true.
	OnAfterUpdate func(ctx context.Context, user *User, update map[string]any, r *http.Request)
	// OnAfterRequestVerify runs when a verify token was made for user,
	// before it is mailed.
	OnAfterRequestVerify func(ctx context.Context, user *User, token string, r *http.Request)
	// OnAfterVerify runs after user verified their email.
	OnAfterVerify func(ctx context.Context, user *User, r *http.Request)
	// OnAfterForgotPassword runs when a reset token was made for user,
	// before it is mailed.
	OnAfterForgotPassword func(ctx context.Context, user *User, token string, r *http.Request)
	// OnAfterResetPassword runs after user reset their password.
	OnAfterResetPassword func(ctx context.Context, user *User, r *http.Request)
	// OnBeforeDelete runs before a user is deleted; an error stops the
	// deletion and becomes a 500 INTERNAL_ERROR, its text logged, not sent.
	OnBeforeDelete func(ctx context.Context, user *User, r *http.Request) error
	// OnAfterDelete runs after a user was deleted.
	OnAfterDelete func(ctx context.Context, user *User, r *http.Request)
	// ValidatePassword adds the app's password rules to the built-in ones
	// (length). Its error text becomes the `reason` of the
	// *_INVALID_PASSWORD error; return a *PasswordError to control it.
	// user is nil at registration.
	ValidatePassword func(ctx context.Context, password string, user *User) error
}
