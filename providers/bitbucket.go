package providers

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/oauth2"
)

// bitbucketMaxEmailPages bounds how many pages of /2.0/user/emails are read.
const bitbucketMaxEmailPages = 5

// Bitbucket returns the Bitbucket Cloud provider: name "bitbucket",
// scopes "account" and "email". The web flow runs at bitbucket.org and
// the API at api.bitbucket.org; WithBaseURL(base) moves both to base
// (base/site/oauth2/... and base/2.0/...), which is what tests need.
//
// The profile's AccountID is the account's `uuid` as Bitbucket writes it,
// braces included ("{...}"): it never changes, unlike the nickname.
// Email is the address of /2.0/user/emails that is both primary and
// confirmed; otherwise Email is "" and EmailVerified false (also when the
// OAuth consumer lacks the email permission).
func Bitbucket(clientID, clientSecret string, opts ...Option) Provider {
	o := buildOptions(opts)
	web := baseOr(o.baseURL, "https://bitbucket.org")
	api := baseOr(o.baseURL, "https://api.bitbucket.org") + "/2.0"
	cfg := oauth2.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   web + "/site/oauth2/authorize",
			TokenURL:  web + "/site/oauth2/access_token",
			AuthStyle: oauth2.AuthStyleInHeader,
		},
		Scopes: []string{"account", "email"},
	}
	return &bitbucketProvider{
		oauth2Flow: newOAuth2Flow("bitbucket", "Bitbucket", cfg, o),
		apiURL:     api,
	}
}

type bitbucketProvider struct {
	oauth2Flow
	apiURL string
}

type bitbucketUser struct {
	UUID        string `json:"uuid"`
	AccountID   string `json:"account_id"`
	DisplayName string `json:"display_name"`
	Nickname    string `json:"nickname"`
	Links       struct {
		Avatar struct {
			Href string `json:"href"`
		} `json:"avatar"`
	} `json:"links"`
}

type bitbucketEmails struct {
	Values []struct {
		Email       string `json:"email"`
		IsPrimary   bool   `json:"is_primary"`
		IsConfirmed bool   `json:"is_confirmed"`
	} `json:"values"`
	Next string `json:"next"`
}

// Profile reads GET /2.0/user and GET /2.0/user/emails.
func (p *bitbucketProvider) Profile(ctx context.Context, tokens *Tokens) (*Profile, error) {
	token, err := bearerOf(tokens)
	if err != nil {
		return nil, err
	}
	var user bitbucketUser
	if err := getJSON(ctx, p.client, p.apiURL+"/user", token, &user); err != nil {
		return nil, err
	}
	if user.UUID == "" {
		return nil, fmt.Errorf("%w: bitbucket: /2.0/user has no uuid", ErrProviderUnavailable)
	}
	profile := &Profile{
		AccountID: user.UUID,
		Name:      user.DisplayName,
		AvatarURL: user.Links.Avatar.Href,
	}
	if profile.Name == "" {
		profile.Name = user.Nickname
	}
	email, err := p.primaryEmail(ctx, token)
	switch {
	case errors.Is(err, ErrInvalidGrant):
		// The consumer may read the account but not its emails: no email.
	case err != nil:
		return nil, err
	case email != "":
		profile.Email, profile.EmailVerified = email, true
	}
	return profile, nil
}

// primaryEmail returns the primary, confirmed address, or "". It follows
// `next` links only while they stay under the API URL, so the bearer
// token never goes to another host.
func (p *bitbucketProvider) primaryEmail(ctx context.Context, token string) (string, error) {
	next := p.apiURL + "/user/emails"
	for range bitbucketMaxEmailPages {
		var page bitbucketEmails
		if err := getJSON(ctx, p.client, next, token, &page); err != nil {
			return "", err
		}
		for _, e := range page.Values {
			if e.IsPrimary && e.IsConfirmed && e.Email != "" {
				return e.Email, nil
			}
		}
		if page.Next == "" || !strings.HasPrefix(page.Next, p.apiURL+"/user/emails") {
			return "", nil
		}
		next = page.Next
	}
	return "", nil
}
