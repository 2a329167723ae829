package providers

import (
	"context"

	"golang.org/x/oauth2"
)

// Spotify returns the provider for Spotify accounts, as a confidential
// client: the exchange authenticates with HTTP Basic. The default scope is
// "user-read-email".
//
// AccountID is the Spotify user id, which its owner cannot change (the
// display name can be changed and is never a key). Spotify documents the
// email of GET /v1/me as unverified ("there is no proof it actually
// belongs to the user"), so EmailVerified is always false: a Spotify
// sign-in never links to an existing user by email. Name is display_name,
// AvatarURL the first (largest) image. WithBaseURL replaces both
// accounts.spotify.com and api.spotify.com.
func Spotify(clientID, clientSecret string, opts ...Option) Provider {
	o := buildOptions(opts)
	accounts := baseOr(o.baseURL, "https://accounts.spotify.com")
	api := baseOr(o.baseURL, "https://api.spotify.com")
	cfg := oauth2.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   accounts + "/authorize",
			TokenURL:  accounts + "/api/token",
			AuthStyle: oauth2.AuthStyleInHeader,
		},
		Scopes: []string{"user-read-email"},
	}
	return &spotifyProvider{oauth2Flow: newOAuth2Flow("spotify", "Spotify", cfg, o), meURL: api + "/v1/me"}
}

type spotifyProvider struct {
	oauth2Flow
	meURL string
}

// spotifyMe is the answer of GET /v1/me.
type spotifyMe struct {
	ID          string `json:"id"`
	DisplayName string `json:"display_name"`
	Email       string `json:"email"`
	Images      []struct {
		URL string `json:"url"`
	} `json:"images"`
}

// Profile reads GET /v1/me.
func (s *spotifyProvider) Profile(ctx context.Context, tokens *Tokens) (*Profile, error) {
	token, err := bearerOf(tokens)
	if err != nil {
		return nil, err
	}
	var me spotifyMe
	if err := getJSON(ctx, s.client, s.meURL, token, &me); err != nil {
		return nil, err
	}
	avatar := ""
	if len(me.Images) > 0 {
		avatar = me.Images[0].URL
	}
	return checkedProfile(&Profile{
		AccountID: me.ID,
		Email:     me.Email,
		Name:      me.DisplayName,
		AvatarURL: avatar,
	}, nil)
}
