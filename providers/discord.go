package providers

import (
	"context"
	"fmt"
	"net/url"

	"golang.org/x/oauth2"
)

// discordCDN serves Discord avatars; it is not an API host, so WithBaseURL
// does not move it.
const discordCDN = "https://cdn.discordapp.com"

// Discord returns the Discord provider: name "discord", scopes "identify"
// and "email". WithBaseURL replaces https://discord.com (for tests).
//
// The profile's AccountID is the user's snowflake id, never the username.
// EmailVerified is Discord's `verified` flag, which says whether the
// account's email was verified; Email is "" without the email scope.
// AvatarURL is the CDN PNG of the avatar hash, "" for the default avatar.
func Discord(clientID, clientSecret string, opts ...Option) Provider {
	o := buildOptions(opts)
	base := baseOr(o.baseURL, "https://discord.com")
	cfg := oauth2.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   base + "/oauth2/authorize",
			TokenURL:  base + "/api/oauth2/token",
			AuthStyle: oauth2.AuthStyleInHeader,
		},
		Scopes: []string{"identify", "email"},
	}
	return &discordProvider{
		oauth2Flow: newOAuth2Flow("discord", "Discord", cfg, o),
		userURL:    base + "/api/users/@me",
	}
}

type discordProvider struct {
	oauth2Flow
	userURL string
}

type discordUser struct {
	ID         string `json:"id"`
	Username   string `json:"username"`
	GlobalName string `json:"global_name"`
	Avatar     string `json:"avatar"`
	Email      string `json:"email"`
	Verified   bool   `json:"verified"`
}

// Profile reads GET /api/users/@me.
func (p *discordProvider) Profile(ctx context.Context, tokens *Tokens) (*Profile, error) {
	token, err := bearerOf(tokens)
	if err != nil {
		return nil, err
	}
	var user discordUser
	if err := getJSON(ctx, p.client, p.userURL, token, &user); err != nil {
		return nil, err
	}
	if user.ID == "" {
		return nil, fmt.Errorf("%w: discord: /users/@me has no id", ErrProviderUnavailable)
	}
	profile := &Profile{
		AccountID:     user.ID,
		Email:         user.Email,
		EmailVerified: user.Email != "" && user.Verified,
		Name:          user.GlobalName,
	}
	if profile.Name == "" {
		profile.Name = user.Username
	}
	if user.Avatar != "" {
		profile.AvatarURL = discordCDN + "/avatars/" + url.PathEscape(user.ID) + "/" + url.PathEscape(user.Avatar) + ".png"
	}
	return profile, nil
}
