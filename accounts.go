package ginauth

import (
	"context"
	"errors"
	"net/http"
	"unicode/utf8"

	"github.com/google/uuid"
)

// NewUser describes a user to create with CreateUser. Only code sets
// IsSuperuser, IsVerified or Inactive; the register route sets Email and
// Password alone.
type NewUser struct {
	Email       string
	Password    string
	IsSuperuser bool
	IsVerified  bool
	Inactive    bool
}

// CreateUser creates a user with a password after the password policy and
// the ValidatePassword hook. A taken email is ErrUserAlreadyExists (decided
// by the store's unique index); a refused password is a *PasswordError; a
// malformed email is a *ValidationError. OnAfterRegister runs with a nil
// request.
func (a *Auth) CreateUser(ctx context.Context, nu NewUser) (*User, error) {
	email, err := CanonicalEmail(nu.Email)
	if err != nil {
		return nil, err
	}
	user, err := a.createUser(ctx, email, nu)
	if err != nil {
		return nil, err
	}
	if a.cfg.Hooks.OnAfterRegister != nil {
		a.cfg.Hooks.OnAfterRegister(ctx, user, nil)
	}
	return user, nil
}

// createUser is CreateUser of an email canonicalized already (nu.Email is
// not read), without the hook.
func (a *Auth) createUser(ctx context.Context, email string, nu NewUser) (*User, error) {
	if err := checkPasswordPolicy(ctx, nu.Password, nil, a.cfg.Hooks.ValidatePassword); err != nil {
		return nil, err
	}
	hash, err := a.hasher.Hash(ctx, nu.Password)
	if err != nil {
		return nil, err
	}
	now := a.now()
	user := &User{
		ID:             uuid.New(),
		Email:          email,
		HashedPassword: hash,
		IsActive:       !nu.Inactive,
		IsSuperuser:    nu.IsSuperuser,
		IsVerified:     nu.IsVerified,
		CreatedAt:      now,
		UpdatedAt:      now,
	}
	if err := a.store.CreateUser(ctx, user); err != nil {
		if errors.Is(err, ErrDuplicate) {
			return nil, ErrUserAlreadyExists
		}
		return nil, err
	}
	return user, nil
}

// afterRegister follows the creation of a user by a request (the register
// route, a sign-up through a provider): OnAfterRegister runs, then a
// verify link is mailed when the email is not verified. A user created
// from code (CreateUser) is mailed nothing.
func (a *Auth) afterRegister(ctx context.Context, user *User, r *http.Request) {
	if a.cfg.Hooks.OnAfterRegister != nil {
		a.cfg.Hooks.OnAfterRegister(ctx, user, r)
	}
	if !user.IsVerified {
		a.mailVerifyLink(ctx, user, r)
	}
}

// Authenticate checks an email and password. Every refusal is
// ErrBadCredentials, with the same cost: an unknown email is checked
// against a dummy hash, and an inactive user's password is checked before
// refusing. With RequireVerified, a correct password of an unverified user
// is ErrUserNotVerified. A legacy or weaker hash is upgraded on success.
func (a *Auth) Authenticate(ctx context.Context, email, password string) (*User, error) {
	canonical, _ := CanonicalEmail(email) // "" when malformed
	return a.checkCredentials(ctx, canonical, password)
}

// checkCredentials is Authenticate of an email canonicalized already; "" is a
// malformed email, refused at the cost of an unknown one.
func (a *Auth) checkCredentials(ctx context.Context, canonical, password string) (*User, error) {
	if password == "" || utf8.RuneCountInString(password) > MaxPasswordLength || len(password) > 4*MaxPasswordLength {
		return nil, ErrBadCredentials // refused before any hashing
	}
	if canonical == "" {
		return nil, a.refuseLogin(ctx, password)
	}
	user, err := a.store.UserByEmail(ctx, canonical)
	if errors.Is(err, ErrNotFound) {
		return nil, a.refuseLogin(ctx, password)
	}
	if err != nil {
		return nil, err
	}
	ok, needsRehash, err := a.hasher.Verify(ctx, password, user.HashedPassword)
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil, err // as for an unknown email: the hash was never looked at
	}
	if err != nil {
		a.logger.WarnContext(ctx, "ginauth: unreadable password hash", "user_id", user.ID, "error", err)
		return nil, ErrBadCredentials
	}
	if !ok || !user.IsActive {
		return nil, ErrBadCredentials
	}
	if a.cfg.RequireVerified && !user.IsVerified {
		return nil, ErrUserNotVerified
	}
	if needsRehash {
		a.upgradeHash(ctx, user, password)
	}
	return user, nil
}

// refuseLogin spends the time of a real password check, then refuses.
func (a *Auth) refuseLogin(ctx context.Context, password string) error {
	if err := a.hasher.VerifyDummy(ctx, password); err != nil {
		return err
	}
	return ErrBadCredentials
}

// upgradeHash re-hashes a password verified against a bcrypt hash or an
// argon2id hash with other costs. A failure is logged: the login goes on.
func (a *Auth) upgradeHash(ctx context.Context, user *User, password string) {
	hash, err := a.hasher.Hash(ctx, password)
	if err == nil {
		err = a.store.UpdateUser(ctx, user.ID, UserChanges{HashedPassword: &hash})
	}
	if err != nil {
		a.logger.WarnContext(ctx, "ginauth: password hash upgrade failed", "user_id", user.ID, "error", err)
		return
	}
	user.HashedPassword = hash
}

// Login authenticates a user and starts a session whose first, fresh token
// pair it returns. client is recorded with the session.
func (a *Auth) Login(ctx context.Context, email, password string, client ClientInfo) (*TokenResponse, *User, error) {
	canonical, _ := CanonicalEmail(email) // "" when malformed
	return a.login(ctx, canonical, password, client)
}

// login is Login of an email canonicalized already ("" when malformed).
func (a *Auth) login(ctx context.Context, canonical, password string, client ClientInfo) (*TokenResponse, *User, error) {
	user, err := a.checkCredentials(ctx, canonical, password)
	if err != nil {
		return nil, nil, err
	}
	tokens, err := a.startSession(ctx, user, client)
	if err != nil {
		return nil, nil, err
	}
	return tokens, user, nil
}
