package ginauth

import (
	"context"
	"errors"
	"net/http"
	"unicode/utf8"

	"github.com/google/uuid"
)

// UserUpdate is a change to a user. Nil fields stay. Self-service updates
// (PATCH /users/me) only take Email and Password.
type UserUpdate struct {
	// Email is the new address; it is canonicalized (see CanonicalEmail).
	// A new address makes the user unverified unless IsVerified is set in
	// the same update, mails a verify link to it and a notice to the old one.
	Email *string
	// Password is the new password, checked against the password policy.
	// A new password ends the user's sessions and mails a notice.
	Password *string
	// IsActive false deactivates the user and ends every session at once.
	IsActive *bool
	// IsSuperuser grants or withdraws the superuser flag.
	IsSuperuser *bool
	// IsVerified sets whether the email is verified.
	IsVerified *bool
}

// beforeDeleteError is an error returned by Hooks.OnBeforeDelete. It wraps
// the hook's error for errors.Is and errors.As; abortWithError answers it
// with 500 INTERNAL_ERROR, whatever it wraps.
type beforeDeleteError struct{ err error }

func (e *beforeDeleteError) Error() string {
	return "ginauth: OnBeforeDelete refused: " + e.err.Error()
}
func (e *beforeDeleteError) Unwrap() error { return e.err }

// updateMode says who makes an update and what that allows.
type updateMode struct {
	// self is a self-service update: only Email and Password are taken,
	// a credential change needs the current password, and the write is
	// conditional on the password hash the check was made against.
	self bool
	// currentPassword confirms a self-service change (nil: none sent).
	currentPassword *string
	// keepSession survives a self-service password change: the session of
	// the request. The admin path ends every session.
	keepSession uuid.UUID
}

// UpdateUser applies an update as a superuser would (no current password).
// Returns the updated user.
//
// A missing user is ErrUserNotFound; a malformed email a *ValidationError;
// a taken email ErrEmailTaken (decided by the store's unique index); a
// password the policy refuses a *PasswordError. A new password or a
// deactivation ends every session of the user at once. OnAfterUpdate runs
// with a nil request when something changed.
func (a *Auth) UpdateUser(ctx context.Context, id uuid.UUID, u UserUpdate) (*User, error) {
	return a.updateUser(ctx, id, u, nil)
}

// updateUser is UpdateUser for a request (PATCH /users/{id}).
func (a *Auth) updateUser(ctx context.Context, id uuid.UUID, u UserUpdate, r *http.Request) (*User, error) {
	user, err := a.userByID(ctx, id)
	if err != nil {
		return nil, err
	}
	return a.applyUpdate(ctx, user, u, updateMode{}, r)
}

// userByID is the store's user with that id; a missing one is
// ErrUserNotFound.
func (a *Auth) userByID(ctx context.Context, id uuid.UUID) (*User, error) {
	user, err := a.store.UserByID(ctx, id)
	if err != nil {
		return nil, notFoundAsUser(err)
	}
	return user, nil
}

// updateMe is the self-service update of PATCH /users/me: user is the
// authenticated user, sessionID the session of the request. Only Email and
// Password of u are used. Changing either needs currentPassword when the
// user has a password (missing or wrong: ErrBadCurrentPassword); a user who
// signs in only through a provider has none to give and may set both
// without it. The check spends the login's per-account budget (refused:
// a *rateLimitedError).
func (a *Auth) updateMe(ctx context.Context, user *User, sessionID uuid.UUID, u UserUpdate, currentPassword *string, r *http.Request) (*User, error) {
	u = UserUpdate{Email: u.Email, Password: u.Password}
	return a.applyUpdate(ctx, user, u, updateMode{self: true, currentPassword: currentPassword, keepSession: sessionID}, r)
}

// applyUpdate validates the whole update before writing anything (email,
// password policy, then the current password), writes it in one store
// update, then ends sessions, mails the notices and runs OnAfterUpdate.
func (a *Auth) applyUpdate(ctx context.Context, user *User, u UserUpdate, mode updateMode, r *http.Request) (*User, error) {
	var ch UserChanges
	changed := map[string]any{}

	newEmail := ""
	if u.Email != nil {
		email, err := CanonicalEmail(*u.Email)
		if err != nil {
			return nil, err
		}
		if email != user.Email {
			newEmail = email
			ch.Email = &newEmail
			changed["email"] = newEmail
		}
	}
	if u.Password != nil {
		if err := checkPasswordPolicy(ctx, *u.Password, user, a.cfg.Hooks.ValidatePassword); err != nil {
			return nil, err
		}
	}
	credentials := newEmail != "" || u.Password != nil
	if mode.self && credentials {
		if err := a.checkCurrentPassword(ctx, user, mode.currentPassword); err != nil {
			return nil, err
		}
	}
	if u.Password != nil {
		hash, err := a.hasher.Hash(ctx, *u.Password)
		if err != nil {
			return nil, err
		}
		ch.HashedPassword = &hash
		changed["password"] = true
	}

	setBool := func(name string, dst **bool, want *bool, current bool) {
		if want != nil && *want != current {
			v := *want
			*dst = &v
			changed[name] = v
		}
	}
	setBool("is_active", &ch.IsActive, u.IsActive, user.IsActive)
	setBool("is_superuser", &ch.IsSuperuser, u.IsSuperuser, user.IsSuperuser)
	verified := u.IsVerified
	if newEmail != "" && verified == nil {
		unverified := false
		verified = &unverified // a new address is not verified
	}
	setBool("is_verified", &ch.IsVerified, verified, user.IsVerified)

	if len(changed) == 0 {
		return user, nil
	}
	if mode.self {
		// The current password was checked against this hash (or the user
		// had none): a concurrent password change must not be overwritten.
		oldHash := user.HashedPassword
		ch.IfHashedPassword = &oldHash
	}
	err := a.store.UpdateUser(ctx, user.ID, ch)
	switch {
	case errors.Is(err, ErrDuplicate):
		return nil, ErrEmailTaken
	case errors.Is(err, ErrNotFound) && !mode.self:
		return nil, ErrUserNotFound
	case errors.Is(err, ErrNotFound):
		// The user is gone, or the password hash the check was made
		// against changed meanwhile.
		if _, err := a.userByID(ctx, user.ID); err != nil {
			return nil, err
		}
		return nil, ErrBadCurrentPassword
	case err != nil:
		return nil, err
	}
	updated, err := a.userByID(ctx, user.ID) // ErrUserNotFound: deleted meanwhile
	if err != nil {
		return nil, err
	}

	switch {
	case ch.IsActive != nil && !*ch.IsActive:
		err = a.RevokeUserSessions(ctx, user.ID, uuid.Nil)
	case ch.HashedPassword != nil:
		err = a.RevokeUserSessions(ctx, user.ID, mode.keepSession)
	}
	if err != nil {
		return nil, err
	}

	// Notices go to the address the account had before this change, so
	// that whoever owned it learns of it.
	if newEmail != "" {
		if !updated.IsVerified {
			a.mailVerifyLink(ctx, updated, r)
		}
		a.mailNotice(ctx, MailEmailChanged, user.Email, MailData{NewEmail: newEmail})
	}
	if ch.HashedPassword != nil {
		a.mailNotice(ctx, MailPasswordChanged, user.Email, MailData{})
	}
	if a.cfg.Hooks.OnAfterUpdate != nil {
		a.cfg.Hooks.OnAfterUpdate(ctx, updated, changed, r)
	}
	return updated, nil
}

// checkCurrentPassword confirms a self-service change: a user with a
// password must give it. The login's per-account budget is spent before
// any verification (spent: a *rateLimitedError), so a stolen access token
// cannot be used to guess the password faster than a login could.
func (a *Auth) checkCurrentPassword(ctx context.Context, user *User, current *string) error {
	if !user.HasPassword() {
		return nil
	}
	if current == nil || *current == "" {
		return ErrBadCurrentPassword
	}
	if err := a.limitRequest(ctx, "login-account", a.cfg.RateLimits.LoginPerAccount, user.Email); err != nil {
		return err
	}
	if utf8.RuneCountInString(*current) > MaxPasswordLength || len(*current) > 4*MaxPasswordLength {
		return ErrBadCurrentPassword // refused before any hashing, as at login
	}
	ok, _, err := a.hasher.Verify(ctx, *current, user.HashedPassword)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if err != nil {
		a.logger.WarnContext(ctx, "ginauth: unreadable password hash", "user_id", user.ID, "error", err)
		return ErrBadCurrentPassword
	}
	if !ok {
		return ErrBadCurrentPassword
	}
	return nil
}

// DeleteUser deletes a user: OnBeforeDelete, delete (sessions and OAuth
// links go with it), sessions marked dead at once, OnAfterDelete.
//
// A missing user is ErrUserNotFound. An error from OnBeforeDelete stops
// the deletion and is returned wrapped (errors.Is finds it). The hooks get
// a nil request.
func (a *Auth) DeleteUser(ctx context.Context, id uuid.UUID) error {
	return a.deleteUser(ctx, id, nil)
}

// deleteUser is DeleteUser for a request (DELETE /users/{id}, /users/me).
func (a *Auth) deleteUser(ctx context.Context, id uuid.UUID, r *http.Request) error {
	user, err := a.userByID(ctx, id)
	if err != nil {
		return err
	}
	if a.cfg.Hooks.OnBeforeDelete != nil {
		if err := a.cfg.Hooks.OnBeforeDelete(ctx, user, r); err != nil {
			return &beforeDeleteError{err: err}
		}
	}
	// The user is deactivated first, so no sign-in can start a session
	// from here on; then the sessions end, announced to every instance's
	// liveness cache: once the user is deleted their rows are gone and
	// cannot be listed.
	inactive := false
	if err := a.store.UpdateUser(ctx, user.ID, UserChanges{IsActive: &inactive}); err != nil {
		return notFoundAsUser(err)
	}
	if err := a.RevokeUserSessions(ctx, user.ID, uuid.Nil); err != nil {
		return err
	}
	if err := a.store.DeleteUser(ctx, user.ID); err != nil {
		return notFoundAsUser(err)
	}
	if a.cfg.Hooks.OnAfterDelete != nil {
		a.cfg.Hooks.OnAfterDelete(ctx, user, r)
	}
	return nil
}

// deleteMe is the self-service deletion of DELETE /users/me: a user with a
// password confirms it with currentPassword (see checkCurrentPassword).
func (a *Auth) deleteMe(ctx context.Context, user *User, currentPassword *string, r *http.Request) error {
	if err := a.checkCurrentPassword(ctx, user, currentPassword); err != nil {
		return err
	}
	return a.deleteUser(ctx, user.ID, r)
}
