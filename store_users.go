package ginauth

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
)

// UserChanges are the fields of a user that Store.UpdateUser sets; nil
// fields stay as they are. The If fields are preconditions: the update
// happens only while the stored values still equal them, which makes a
// reset token single-use and a verify token bound to its email even under
// concurrent requests.
type UserChanges struct {
	Email          *string
	HashedPassword *string
	IsActive       *bool
	IsSuperuser    *bool
	IsVerified     *bool

	IfEmail          *string
	IfHashedPassword *string
}

// empty reports whether the changes set nothing.
func (ch UserChanges) empty() bool {
	return ch.Email == nil && ch.HashedPassword == nil && ch.IsActive == nil && ch.IsSuperuser == nil && ch.IsVerified == nil
}

// UserQuery selects a page of users for Store.ListUsers.
type UserQuery struct {
	// Limit is the page size (at least 1).
	Limit int
	// Offset skips that many users, in creation order.
	Offset int
	// EmailContains keeps the users whose canonical email contains it.
	EmailContains string
}

// UpdateUser implements Store.
func (s *GormStore) UpdateUser(ctx context.Context, id uuid.UUID, ch UserChanges) error {
	if ch.empty() {
		return nil
	}
	set := map[string]any{"updated_at": time.Now().UTC()}
	if ch.Email != nil {
		set["email"] = *ch.Email
	}
	if ch.HashedPassword != nil {
		set["hashed_password"] = *ch.HashedPassword
	}
	if ch.IsActive != nil {
		set["is_active"] = *ch.IsActive
	}
	if ch.IsSuperuser != nil {
		set["is_superuser"] = *ch.IsSuperuser
	}
	if ch.IsVerified != nil {
		set["is_verified"] = *ch.IsVerified
	}
	q := s.db.WithContext(ctx).Model(&User{}).Where("id = ?", id)
	if ch.IfEmail != nil {
		q = q.Where("email = ?", *ch.IfEmail)
	}
	if ch.IfHashedPassword != nil {
		q = q.Where("hashed_password = ?", *ch.IfHashedPassword)
	}
	return mustAffect(q.Updates(set))
}

// ListUsers implements Store.
func (s *GormStore) ListUsers(ctx context.Context, q UserQuery) ([]User, int64, error) {
	db := s.db.WithContext(ctx).Model(&User{})
	if q.EmailContains != "" {
		db = db.Where("email LIKE ? ESCAPE '!'", "%"+likeEscaper.Replace(q.EmailContains)+"%")
	}
	var total int64
	if err := db.Count(&total).Error; err != nil {
		return nil, 0, storeError(err)
	}
	users := []User{}
	err := db.Session(&gorm.Session{}).
		Preload("OAuthAccounts", func(tx *gorm.DB) *gorm.DB { return tx.Order("created_at, oauth_name") }).
		Order("created_at, id").Limit(max(q.Limit, 1)).Offset(max(q.Offset, 0)).Find(&users).Error
	return users, total, storeError(err)
}

// likeEscaper escapes the wildcards of a LIKE pattern, with '!' as the
// escape character on every dialect.
var likeEscaper = strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")
