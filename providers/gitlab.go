package providers

import (
	"context"
	"fmt"
	"strconv"

	"golang.org/x/oauth2"
)

// GitLab returns the GitLab provider: name "gitlab", scope "read_user",
// gitlab.com unless WithBaseURL names a self-managed instance (with its
// relative URL root, if any: "https://example.com/gitlab").
//
// The profile's AccountID is GitLab's numeric user id, never the
// username. Email is the account's primary email from GET /api/v4/user.
// EmailVerified is true only when that answer has a non-null
// `confirmed_at`: GitLab keeps a changed primary email pending until it
// is confirmed, so a confirmed account's `email` is one GitLab verified.
// On a self-managed instance this is only as strong as the instance:
// an administrator can create users as confirmed or turn email
// confirmation off, so point WithBaseURL only at instances you trust.
func GitLab(clientID, clientSecret string, opts ...Option) Provider {
	o := buildOptions(opts)
	base := baseOr(o.baseURL, "https://gitlab.com")
	cfg := oauth2.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   base + "/oauth/authorize",
			TokenURL:  base + "/oauth/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		Scopes: []string{"read_user"},
	}
	return &gitlabProvider{
		oauth2Flow: newOAuth2Flow("gitlab", "GitLab", cfg, o),
		userURL:    base + "/api/v4/user",
	}
}

type gitlabProvider struct {
	oauth2Flow
	userURL string
}

type gitlabUser struct {
	ID          int64   `json:"id"`
	Username    string  `json:"username"`
	Name        string  `json:"name"`
	Email       string  `json:"email"`
	ConfirmedAt *string `json:"confirmed_at"`
	AvatarURL   string  `json:"avatar_url"`
}

// Profile reads GET /api/v4/user.
func (p *gitlabProvider) Profile(ctx context.Context, tokens *Tokens) (*Profile, error) {
	token, err := bearerOf(tokens)
	if err != nil {
		return nil, err
	}
	var user gitlabUser
	if err := getJSON(ctx, p.client, p.userURL, token, &user); err != nil {
		return nil, err
	}
	if user.ID <= 0 {
		return nil, fmt.Errorf("%w: gitlab: /api/v4/user has no id", ErrProviderUnavailable)
	}
	profile := &Profile{
		AccountID:     strconv.FormatInt(user.ID, 10),
		Email:         user.Email,
		EmailVerified: user.Email != "" && user.ConfirmedAt != nil && *user.ConfirmedAt != "",
		Name:          user.Name,
		AvatarURL:     user.AvatarURL,
	}
	if profile.Name == "" {
		profile.Name = user.Username
	}
	return profile, nil
}
