package ginauth

import (
	"context"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// OAuthAccount implements Store. The match is exact: MySQL and MariaDB
// compare with the column's collation, which by default ignores case,
// accents and trailing spaces, so "Octo" would find the account "octo" and
// sign its user in. A row found only by the collation is not this account.
func (s *GormStore) OAuthAccount(ctx context.Context, oauthName, accountID string) (*OAuthAccount, error) {
	var acc OAuthAccount
	err := s.db.WithContext(ctx).Where("oauth_name = ? AND account_id = ?", oauthName, accountID).Take(&acc).Error
	if err != nil {
		return nil, storeError(err)
	}
	if acc.OAuthName != oauthName || acc.AccountID != accountID {
		return nil, ErrNotFound
	}
	return &acc, nil
}

// CreateOAuthAccount implements Store.
func (s *GormStore) CreateOAuthAccount(ctx context.Context, acc *OAuthAccount) error {
	return storeError(s.db.WithContext(ctx).Create(acc).Error)
}

// CreateUserWithOAuthAccount implements Store.
func (s *GormStore) CreateUserWithOAuthAccount(ctx context.Context, u *User, acc *OAuthAccount) error {
	return storeError(s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Omit("OAuthAccounts").Create(u).Error; err != nil {
			return err
		}
		return tx.Create(acc).Error
	}))
}

// UpdateOAuthAccountTokens implements Store.
func (s *GormStore) UpdateOAuthAccountTokens(ctx context.Context, acc *OAuthAccount) error {
	return mustAffect(s.db.WithContext(ctx).Model(&OAuthAccount{}).Where("id = ?", acc.ID).Updates(map[string]any{
		"account_email": acc.AccountEmail,
		"access_token":  acc.AccessToken,
		"refresh_token": acc.RefreshToken,
		"expires_at":    acc.ExpiresAt,
		"updated_at":    time.Now().UTC(),
	}))
}

// DeleteOAuthAccount implements Store.
func (s *GormStore) DeleteOAuthAccount(ctx context.Context, userID uuid.UUID, oauthName string) error {
	return mustAffect(s.db.WithContext(ctx).Where("user_id = ? AND oauth_name = ?", userID, oauthName).Delete(&OAuthAccount{}))
}
