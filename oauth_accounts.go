package ginauth

import (
	"context"
	"errors"

	"github.com/ginauth/ginauth/providers"
	"github.com/google/uuid"
)

// oauthUser finds or creates the user a provider account signs in, by the
// contract's linking rules: matched by (provider, account id), never by
// email alone; an existing user with the same email is linked only when
// AssociateByEmail is on and both the provider and the local user verified
// the email. created is true for a new user.
func (a *Auth) oauthUser(ctx context.Context, provider string, profile *providers.Profile, tokens *providers.Tokens) (user *User, created bool, err error) {
	for attempt := 0; attempt < 2; attempt++ {
		user, created, err = a.oauthUserOnce(ctx, provider, profile, tokens)
		if !errors.Is(err, ErrDuplicate) {
			return user, created, err
		}
		// A concurrent callback for the same account or email won the
		// insert: look again, it is now an existing account.
	}
	if errors.Is(err, ErrDuplicate) {
		err = ErrOAuthUserExists
	}
	return user, created, err
}

func (a *Auth) oauthUserOnce(ctx context.Context, provider string, profile *providers.Profile, tokens *providers.Tokens) (*User, bool, error) {
	acc, err := a.store.OAuthAccount(ctx, provider, profile.AccountID)
	switch {
	case err == nil:
		user, err := a.store.UserByID(ctx, acc.UserID)
		if err != nil {
			return nil, false, err
		}
		a.sealProviderTokens(acc, profile, tokens)
		if err := a.store.UpdateOAuthAccountTokens(ctx, acc); err != nil {
			return nil, false, err
		}
		return user, false, nil
	case !errors.Is(err, ErrNotFound):
		return nil, false, err
	}

	if profile.Email == "" {
		return nil, false, ErrOAuthNoEmail
	}
	email, err := CanonicalEmail(profile.Email)
	if err != nil {
		return nil, false, ErrOAuthNoEmail
	}
	existing, err := a.store.UserByEmail(ctx, email)
	switch {
	case err == nil && existing.Email != email:
		// Found only by the database's collation (MariaDB's default
		// ignores accents: "jose@" finds "josé@"): another address, never
		// linked; its unique index will not take a new user either.
		return nil, false, ErrOAuthUserExists
	case err == nil:
		if !a.cfg.AssociateByEmail || !profile.EmailVerified || !existing.IsVerified {
			return nil, false, ErrOAuthUserExists
		}
		acc := a.newOAuthAccount(existing.ID, provider, profile, tokens)
		if err := a.store.CreateOAuthAccount(ctx, acc); err != nil {
			return nil, false, err
		}
		return existing, false, nil
	case !errors.Is(err, ErrNotFound):
		return nil, false, err
	}

	now := a.now()
	user := &User{
		ID: uuid.New(), Email: email, IsActive: true,
		IsVerified: profile.EmailVerified, // only the provider's word verifies it
		CreatedAt:  now, UpdatedAt: now,
	}
	if err := a.store.CreateUserWithOAuthAccount(ctx, user, a.newOAuthAccount(user.ID, provider, profile, tokens)); err != nil {
		return nil, false, err
	}
	return user, true, nil
}

// linkOAuthAccount links a provider account to a signed-in user (associate).
// An account linked to another user stays with that user.
func (a *Auth) linkOAuthAccount(ctx context.Context, user *User, provider string, profile *providers.Profile, tokens *providers.Tokens) error {
	acc, err := a.store.OAuthAccount(ctx, provider, profile.AccountID)
	switch {
	case err == nil && acc.UserID != user.ID:
		return ErrOAuthAccountLinked
	case err == nil:
		a.sealProviderTokens(acc, profile, tokens)
		return a.store.UpdateOAuthAccountTokens(ctx, acc)
	case !errors.Is(err, ErrNotFound):
		return err
	}
	err = a.store.CreateOAuthAccount(ctx, a.newOAuthAccount(user.ID, provider, profile, tokens))
	if errors.Is(err, ErrDuplicate) {
		return ErrOAuthAccountLinked
	}
	return err
}

// newOAuthAccount builds a link with the provider tokens sealed.
func (a *Auth) newOAuthAccount(userID uuid.UUID, provider string, profile *providers.Profile, tokens *providers.Tokens) *OAuthAccount {
	now := a.now()
	acc := &OAuthAccount{
		ID: uuid.New(), UserID: userID, OAuthName: provider, AccountID: profile.AccountID,
		CreatedAt: now, UpdatedAt: now,
	}
	a.sealProviderTokens(acc, profile, tokens)
	return acc
}

// sealProviderTokens stores the provider's tokens encrypted (AES-GCM, a key
// derived from the secret for this purpose alone, bound to the account).
func (a *Auth) sealProviderTokens(acc *OAuthAccount, profile *providers.Profile, tokens *providers.Tokens) {
	acc.AccountEmail = truncate(profile.Email, maxEmailBytes)
	acc.AccessToken, acc.RefreshToken, acc.ExpiresAt = "", "", providerTokenExpiry(tokens)
	if tokens == nil || tokens.Token == nil {
		return
	}
	binding := []byte(acc.OAuthName + "\x00" + acc.AccountID)
	if tokens.AccessToken != "" {
		acc.AccessToken = a.tokenSealer.seal([]byte(tokens.AccessToken), binding)
	}
	if tokens.RefreshToken != "" {
		acc.RefreshToken = a.tokenSealer.seal([]byte(tokens.RefreshToken), binding)
	}
}

// ProviderTokens returns the decrypted provider tokens of a linked account,
// for calling the provider's API on the user's behalf.
func (a *Auth) ProviderTokens(acc *OAuthAccount) (accessToken, refreshToken string, err error) {
	binding := []byte(acc.OAuthName + "\x00" + acc.AccountID)
	open := func(sealed string) (string, error) {
		if sealed == "" {
			return "", nil
		}
		plain, err := a.tokenSealer.open(sealed, binding)
		return string(plain), err
	}
	if accessToken, err = open(acc.AccessToken); err != nil {
		return "", "", err
	}
	refreshToken, err = open(acc.RefreshToken)
	return accessToken, refreshToken, err
}
