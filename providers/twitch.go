package providers

import (
	"context"
	"fmt"

	"golang.org/x/oauth2"
)

// Twitch returns the Twitch provider: name "twitch", scope
// "user:read:email". The web flow runs at id.twitch.tv and the API at
// api.twitch.tv; WithBaseURL(base) moves both to base (tests).
//
// The profile's AccountID is the user's `id`, never the login. Twitch
// returns `email` only to a user token with the user:read:email scope,
// and only the account's verified address: a non-empty Email is
// therefore EmailVerified. Without the scope, Email is "".
func Twitch(clientID, clientSecret string, opts ...Option) Provider {
	o := buildOptions(opts)
	id := baseOr(o.baseURL, "https://id.twitch.tv")
	api := baseOr(o.baseURL, "https://api.twitch.tv")
	cfg := oauth2.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   id + "/oauth2/authorize",
			TokenURL:  id + "/oauth2/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		Scopes: []string{"user:read:email"},
	}
	return &twitchProvider{
		oauth2Flow: newOAuth2Flow("twitch", "Twitch", cfg, o),
		usersURL:   api + "/helix/users",
	}
}

type twitchProvider struct {
	oauth2Flow
	usersURL string
}

type twitchUsers struct {
	Data []struct {
		ID              string `json:"id"`
		Login           string `json:"login"`
		DisplayName     string `json:"display_name"`
		Email           string `json:"email"`
		ProfileImageURL string `json:"profile_image_url"`
	} `json:"data"`
}

// Profile reads GET /helix/users, which without a query answers for the
// token's own user.
func (p *twitchProvider) Profile(ctx context.Context, tokens *Tokens) (*Profile, error) {
	token, err := bearerOf(tokens)
	if err != nil {
		return nil, err
	}
	var users twitchUsers
	if err := getJSON(ctx, p.client, p.usersURL, token, &users, "Client-Id", p.config.ClientID); err != nil {
		return nil, err
	}
	if len(users.Data) != 1 || users.Data[0].ID == "" {
		return nil, fmt.Errorf("%w: twitch: /helix/users answered %d users", ErrProviderUnavailable, len(users.Data))
	}
	user := users.Data[0]
	profile := &Profile{
		AccountID:     user.ID,
		Email:         user.Email,
		EmailVerified: user.Email != "",
		Name:          user.DisplayName,
		AvatarURL:     user.ProfileImageURL,
	}
	if profile.Name == "" {
		profile.Name = user.Login
	}
	return profile, nil
}
