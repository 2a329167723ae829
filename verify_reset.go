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
	a.requestVerify(ctx, email, nil)
}

func (a *Auth) requestVerify(ctx context.Context, email string, r *http.Request) {
	canonical, err := CanonicalEmail(email)
	if err != nil {
		return
	}
	a.inBackground(ctx, func(ctx context.Context) {
		user, err := a.store.UserByEmail(ctx, canonical)
		if err != nil {
			if !errors.Is(err, ErrNotFound) {
				a.logger.ErrorContext(ctx, "ginauth: request-verify lookup failed", "error", err)
			}
			return
		}
		if !user.IsActive || user.IsVerified {
			return
		}
		a.deliverVerifyLink(ctx, user, r)
	})
}

// Verify marks the user of a verify token verified and returns it. The
// token must be unexpired, of the verify kind, and for the email the user
// has now. A used token finds the user verified: ErrUserAlreadyVerified.
// Other refusals are ErrVerifyBadToken.
func (a *Auth) Verify(ctx context.Context, token string) (*User, error) {
	return a.verify(ctx, token, nil)
}

func (a *Auth) verify(ctx context.Context, token string, r *http.Request) (*User, error) {
	claims, key, userID, err := a.parseAccountToken(a.verifyTokens, token)
	if err != nil {
		return nil, ErrVerifyBadToken
	}
	user, err := a.store.UserByID(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrVerifyBadToken
	}
	if err != nil {
		return nil, err
	}
	if !user.IsActive || !a.verifyTokens.matches(claims, key, user, false) {
		return nil, ErrVerifyBadToken
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
	a.forgotPassword(ctx, email, nil)
}

func (a *Auth) forgotPassword(ctx context.Context, email string, r *http.Request) {
	canonical, err := CanonicalEmail(email)
	if err != nil {
		return
	}
	a.inBackground(ctx, func(ctx context.Context) {
		user, err := a.store.UserByEmail(ctx, canonical)
		if err != nil {
			if !errors.Is(err, ErrNotFound) {
				a.logger.ErrorContext(ctx, "ginauth: forgot-password lookup failed", "error", err)
			}
			return
		}
		if !user.IsActive {
			return
		}
		if !a.allowQuietly(ctx, "mail-address", a.limits.MailPerAddress, user.Email) {
			a.logger.InfoContext(ctx, "ginauth: reset mail dropped: too many for this address", "user_id", user.ID)
			return
		}
		token, err := a.issueAccountToken(a.resetTokens, user)
		if err != nil {
			a.logger.ErrorContext(ctx, "ginauth: reset token not made", "error", err)
			return
		}
		if a.cfg.Hooks.OnAfterForgotPassword != nil {
			a.cfg.Hooks.OnAfterForgotPassword(ctx, user, token, r)
		}
		a.sendMail(ctx, MailResetPassword, user.Email, MailData{Link: accountLink(a.cfg.ResetPasswordURL, token), ValidFor: a.resetTokens.ttl})
	})
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
	claims, key, userID, err := a.parseAccountToken(a.resetTokens, token)
	if err != nil {
		return ErrResetBadToken
	}
	user, err := a.store.UserByID(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return ErrResetBadToken
	}
	if err != nil {
		return err
	}
	if !user.IsActive || !a.resetTokens.matches(claims, key, user, true) {
		return ErrResetBadToken
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
