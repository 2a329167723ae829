package providers

import (
	"context"
	"fmt"

	"golang.org/x/oauth2"
)

// X returns the provider for X (formerly Twitter), OAuth 2.0
// authorization code with PKCE, as a confidential client: the exchange
// authenticates with HTTP Basic. The default scopes are "users.read" and
// "tweet.read": X refuses GET /2/users/me without tweet.read.
//
// AccountID is the numeric user id (data.id), which never changes; the
// @username can be changed by its owner and is never used as a key. X
// gives no email on this endpoint: Email is "" and EmailVerified false, so
// an X sign-in never links to an existing user by email. Name is the
// display name, AvatarURL profile_image_url. WithBaseURL replaces both
// x.com and api.x.com.
func X(clientID, clientSecret string, opts ...Option) Provider {
	o := buildOptions(opts)
	web := baseOr(o.baseURL, "https://x.com")
	api := baseOr(o.baseURL, "https://api.x.com")
	cfg := oauth2.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   web + "/i/oauth2/authorize",
			TokenURL:  api + "/2/oauth2/token",
			AuthStyle: oauth2.AuthStyleInHeader,
		},
		Scopes: []string{"users.read", "tweet.read"},
	}
	return &xProvider{
		oauth2Flow: newOAuth2Flow("x", "X", cfg, o),
		meURL:      api + "/2/users/me?user.fields=profile_image_url,name,username",
	}
}

type xProvider struct {
	oauth2Flow
	meURL string
}

// xUsersMe is the answer of GET /2/users/me. A 200 answer may carry
// errors instead of data.
type xUsersMe struct {
	Data *struct {
		ID              string `json:"id"`
		Name            string `json:"name"`
		Username        string `json:"username"`
		ProfileImageURL string `json:"profile_image_url"`
	} `json:"data"`
	Errors []struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
	} `json:"errors"`
}

// Profile reads GET /2/users/me.
func (x *xProvider) Profile(ctx context.Context, tokens *Tokens) (*Profile, error) {
	token, err := bearerOf(tokens)
	if err != nil {
		return nil, err
	}
	var me xUsersMe
	if err := getJSON(ctx, x.client, x.meURL, token, &me); err != nil {
		return nil, err
	}
	if me.Data == nil {
		detail := ""
		if len(me.Errors) > 0 {
			detail = me.Errors[0].Title + ": " + me.Errors[0].Detail
		}
		return nil, fmt.Errorf("%w: x users/me without data %s", ErrProviderUnavailable, detail)
	}
	name := me.Data.Name
	if name == "" {
		name = me.Data.Username
	}
	return checkedProfile(&Profile{
		AccountID: me.Data.ID,
		Name:      name,
		AvatarURL: me.Data.ProfileImageURL,
	}, nil)
}
