package ginauth

import (
	"context"
	"errors"
	"net/http"

	"github.com/google/uuid"
)

// RequestVerify mails a verify link to the user with this email when that
// user exists, is active and is not verified yet; otherwise it does
// nothing. It returns at once: the lookup and the mail happen in the
// background, so the caller's answer takes the same time either way.
func (a *Auth) RequestVerify(ctx context.Context, email string) {
	if canonical, err := CanonicalEmail(email); err == nil {
		a.requestVerify(ctx, canonical, nil)
	}
}

// requestVerify is RequestVerify for an email already canonical
// (CanonicalEmail), as the route reads it.
func (a *Auth) requestVerify(ctx context.Context, email string, r *http.Request) {
	a.mailLinkByEmail(ctx, a.verifyLinkMail(), email, func(u *User) bool { return !u.IsVerified }, r)
}

// Verify marks the user of a verify token verified and returns it. The
// token must be unexpired, of the verify kind, and for the email the user
// has now. A used token finds the user verified: ErrUserAlreadyVerified.
// Other refusals are ErrVerifyBadToken.
func (a *Auth) Verify(ctx context.Context, token string) (*User, error) {
	return a.verify(ctx, token, nil)
}

func (a *Auth) verify(ctx context.Context, token string, r *http.Request) (*User, error) {
	user, err := a.userOfAccountToken(ctx, a.verifyTokens, token)
	if errors.Is(err, errAccountToken) {
		return nil, ErrVerifyBadToken
	}
	if err != nil {
		return nil, err
	}
	if user.IsVerified {
		return nil, ErrUserAlreadyVerified
	}
	verified := true
	err = a.store.UpdateUser(ctx, user.ID, UserChanges{IsVerified: &verified, IfEmail: &user.Email})
	if errors.Is(err, ErrNotFound) {
		return nil, ErrVerifyBadToken // the email changed or the user went meanwhile
	}
	if err != nil {
		return nil, err
	}
	user.IsVerified = true
	if a.cfg.Hooks.OnAfterVerify != nil {
		a.cfg.Hooks.OnAfterVerify(ctx, user, r)
	}
	return user, nil
}

// ForgotPassword mails a reset link to the user with this email when that
// user exists and is active; otherwise it does nothing. Like RequestVerify
// it returns at once and works in the background.
func (a *Auth) ForgotPassword(ctx context.Context, email string) {
	if canonical, err := CanonicalEmail(email); err == nil {
		a.forgotPassword(ctx, canonical, nil)
	}
}

// forgotPassword is ForgotPassword for an email already canonical
// (CanonicalEmail), as the route reads it.
func (a *Auth) forgotPassword(ctx context.Context, email string, r *http.Request) {
	a.mailLinkByEmail(ctx, a.resetLinkMail(), email, nil, r)
}

// ResetPassword sets a new password with a reset token and ends every
// session of the user. The token works once: it is bound to the password
// hash it was issued under, so it dies when the password changes, by this
// reset or any other way. Refusals are ErrResetBadToken, or a
// *PasswordError for a password the policy refuses.
func (a *Auth) ResetPassword(ctx context.Context, token, password string) error {
	return a.resetPassword(ctx, token, password, nil)
}

func (a *Auth) resetPassword(ctx context.Context, token, password string, r *http.Request) error {
	user, err := a.userOfAccountToken(ctx, a.resetTokens, token)
	if errors.Is(err, errAccountToken) {
		return ErrResetBadToken
	}
	if err != nil {
		return err
	}
	if err := checkPasswordPolicy(ctx, password, user, a.cfg.Hooks.ValidatePassword); err != nil {
		return err
	}
	hash, err := a.hasher.Hash(ctx, password)
	if err != nil {
		return err
	}
	oldHash := user.HashedPassword
	err = a.store.UpdateUser(ctx, user.ID, UserChanges{HashedPassword: &hash, IfHashedPassword: &oldHash, IfEmail: &user.Email})
	if errors.Is(err, ErrNotFound) {
		return ErrResetBadToken // a concurrent reset with the same token won
	}
	if err != nil {
		return err
	}
	user.HashedPassword = hash
	if err := a.RevokeUserSessions(ctx, user.ID, uuid.Nil); err != nil {
		return err
	}
	if a.cfg.Hooks.OnAfterResetPassword != nil {
		a.cfg.Hooks.OnAfterResetPassword(ctx, user, r)
	}
	a.mailNotice(ctx, MailPasswordChanged, user.Email, MailData{})
	return nil
}
