package ginauth

import (
	"time"

	"github.com/google/uuid"
)

// User is an account, in the style of fastapi-users' user table. Its ID is
// made by the application (never by the client or the database); Email is
// the canonical form (see CanonicalEmail) and is unique at the database level.
type User struct {
	ID             uuid.UUID      `gorm:"type:varchar(36);primaryKey"`
	Email          string         `gorm:"size:254;not null;uniqueIndex:ux_users_email"`
	HashedPassword string         `gorm:"size:255;not null"` // empty for a user who signs in only through a provider
	IsActive       bool           `gorm:"not null"`
	IsSuperuser    bool           `gorm:"not null"`
	IsVerified     bool           `gorm:"not null"`
	CreatedAt      time.Time      `gorm:"not null"`
	UpdatedAt      time.Time      `gorm:"not null"`
	OAuthAccounts  []OAuthAccount `gorm:"foreignKey:UserID;constraint:OnDelete:CASCADE"`
}

// TableName fixes the table name whatever GORM's naming strategy.
func (User) TableName() string { return "users" }

// HasPassword reports whether the user can sign in with a password.
func (u *User) HasPassword() bool { return u.HashedPassword != "" }

// OAuthAccount links a user to an account at an OAuth provider. It is keyed
// on the provider's immutable account id, never on the email. The token
// columns hold provider tokens, encrypted before they reach the store.
type OAuthAccount struct {
	ID           uuid.UUID  `gorm:"type:varchar(36);primaryKey"`
	UserID       uuid.UUID  `gorm:"type:varchar(36);not null;index"`
	OAuthName    string     `gorm:"column:oauth_name;size:100;not null;uniqueIndex:ux_oauth_accounts_account,priority:1"`
	AccountID    string     `gorm:"size:255;not null;uniqueIndex:ux_oauth_accounts_account,priority:2"`
	AccountEmail string     `gorm:"size:254;not null"`
	AccessToken  string     `gorm:"type:text;not null"`
	RefreshToken string     `gorm:"type:text;not null"`
	ExpiresAt    *time.Time ``
	CreatedAt    time.Time  `gorm:"not null"`
	UpdatedAt    time.Time  `gorm:"not null"`
}

// TableName fixes the table name whatever GORM's naming strategy.
func (OAuthAccount) TableName() string { return "oauth_accounts" }

// Session is one sign-in of a user: it owns the current refresh token (only
// its SHA-256 hash is stored) and outlives every access token issued in it.
// It ends when revoked, after IdleExpiresAt without a refresh, or at
// ExpiresAt, whichever comes first.
type Session struct {
	ID               uuid.UUID  `gorm:"type:varchar(36);primaryKey"`
	UserID           uuid.UUID  `gorm:"type:varchar(36);not null;index"`
	User             *User      `gorm:"constraint:OnDelete:CASCADE"`
	RefreshTokenHash string     `gorm:"size:64;not null;uniqueIndex:ux_sessions_refresh_token_hash"`
	CreatedAt        time.Time  `gorm:"not null"`
	LastUsedAt       time.Time  `gorm:"not null"`
	IdleExpiresAt    time.Time  `gorm:"not null"`
	ExpiresAt        time.Time  `gorm:"not null"`
	RevokedAt        *time.Time ``
	UserAgent        string     `gorm:"size:255;not null"`
	IP               string     `gorm:"column:ip;size:45;not null"`
}

// TableName fixes the table name whatever GORM's naming strategy.
func (Session) TableName() string { return "sessions" }

// liveAt reports whether the session can still be used at now.
func (s *Session) liveAt(now time.Time) bool {
	return s.RevokedAt == nil && now.Before(s.IdleExpiresAt) && now.Before(s.ExpiresAt)
}
