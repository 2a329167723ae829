package ginauth

import (
	"context"
	"net/http"
)

// Hooks are called around account events, like the on_after_* methods of
// fastapi-users' user manager. Every field is optional. The *http.Request is
// nil when the event did not come from a request (for example CreateUser
// called from a command). Hooks run synchronously, after the event is
// stored: a slow hook slows the response.
type Hooks struct {
	// OnAfterRegister runs after a user is created.
	OnAfterRegister func(ctx context.Context, user *User, r *http.Request)
	// OnAfterLogin runs after a user signed in and got tokens.
	OnAfterLogin func(ctx context.Context, user *User, r *http.Request)
	// ValidatePassword adds the app's password rules to the built-in ones
	// (length). Its error text becomes the `reason` of the
	// *_INVALID_PASSWORD error; return a *PasswordError to control it.
	// user is nil at registration.
	ValidatePassword func(ctx context.Context, password string, user *User) error
}
