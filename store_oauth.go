package ginauth

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
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

// DeleteOAuthAccountUnlessLast implements Store in one transaction that
// first locks the user's row (SELECT ... FOR UPDATE on PostgreSQL and
// MySQL/MariaDB; GORM's SQLite driver drops the clause, and OpenStore
// begins SQLite transactions IMMEDIATE, which serialises them), so
// concurrent unlinks of one user run one after the other: each deletes,
// then reads the accounts left, locking them too so that no snapshot
// older than the lock is read, and rolls back if no login method is left.
func (s *GormStore) DeleteOAuthAccountUnlessLast(ctx context.Context, userID uuid.UUID, oauthName string) error {
	forUpdate := clause.Locking{Strength: clause.LockingStrengthUpdate}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var user User
		if err := tx.Clauses(forUpdate).Select("id", "hashed_password").Where("id = ?", userID).Take(&user).Error; err != nil {
			return err
		}
		res := tx.Where("user_id = ? AND oauth_name = ?", userID, oauthName).Delete(&OAuthAccount{})
		switch {
		case res.Error != nil:
			return res.Error
		case res.RowsAffected == 0:
			return gorm.ErrRecordNotFound
		case user.HasPassword():
			return nil
		}
		var left []uuid.UUID
		if err := tx.Model(&OAuthAccount{}).Clauses(forUpdate).Where("user_id = ?", userID).Pluck("id", &left).Error; err != nil {
			return err
		}
		if len(left) == 0 {
			return ErrOAuthLastLoginMethod // rolls the delete back
		}
		return nil
	})
	if errors.Is(err, ErrOAuthLastLoginMethod) {
		return ErrOAuthLastLoginMethod
	}
	return storeError(err)
}
