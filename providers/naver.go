package providers

import (
	"context"
	"fmt"

	"golang.org/x/oauth2"
)

// Naver returns the provider for Naver Login (네이버 로그인). Naver takes
// no scopes: the app's consent items are set in Naver Developers. The
// client secret travels in the form body, as Naver documents.
//
// AccountID is response.id, the per-app unique, immutable member id (the
// Naver login name is never returned). Email is response.email, absent
// without the member's consent. Naver does not say whether it verified
// that address, so EmailVerified is always false: a Naver sign-in never
// links to an existing user by email, and a user created from it starts
// unverified. Name is the name, or the nickname without one; AvatarURL is
// profile_image.
//
// Naver wraps the profile in {"resultcode", "message", "response"}; a
// resultcode other than "00" is an error: "024" (authentication failed),
// "028" (no token) and "403" are ErrInvalidGrant, others
// ErrProviderUnavailable. WithBaseURL replaces both nid.naver.com and
// openapi.naver.com.
func Naver(clientID, clientSecret string, opts ...Option) Provider {
	o := buildOptions(opts)
	nid := baseOr(o.baseURL, "https://nid.naver.com")
	api := baseOr(o.baseURL, "https://openapi.naver.com")
	cfg := oauth2.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   nid + "/oauth2.0/authorize",
			TokenURL:  nid + "/oauth2.0/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
	return &naverProvider{oauth2Flow: newOAuth2Flow("naver", "Naver", cfg, o), meURL: api + "/v1/nid/me"}
}

type naverProvider struct {
	oauth2Flow
	meURL string
}

// naverMe is the answer of GET /v1/nid/me.
type naverMe struct {
	ResultCode string `json:"resultcode"`
	Message    string `json:"message"`
	Response   struct {
		ID           string `json:"id"`
		Email        string `json:"email"`
		Name         string `json:"name"`
		Nickname     string `json:"nickname"`
		ProfileImage string `json:"profile_image"`
	} `json:"response"`
}

// naverAuthResultCodes are the result codes that mean the token is not
// good.
var naverAuthResultCodes = map[string]bool{"024": true, "028": true, "403": true}

// Profile reads GET /v1/nid/me.
func (n *naverProvider) Profile(ctx context.Context, tokens *Tokens) (*Profile, error) {
	token, err := bearerOf(tokens)
	if err != nil {
		return nil, err
	}
	var me naverMe
	if err := getJSON(ctx, n.client, n.meURL, token, &me); err != nil {
		return nil, err
	}
	switch {
	case me.ResultCode == "00":
	case naverAuthResultCodes[me.ResultCode]:
		return nil, fmt.Errorf("%w: naver resultcode %s: %s", ErrInvalidGrant, me.ResultCode, me.Message)
	default:
		return nil, fmt.Errorf("%w: naver resultcode %q: %s", ErrProviderUnavailable, me.ResultCode, me.Message)
	}
	name := me.Response.Name
	if name == "" {
		name = me.Response.Nickname
	}
	return checkedProfile(&Profile{
		AccountID: me.Response.ID,
		Email:     me.Response.Email,
		Name:      name,
		AvatarURL: me.Response.ProfileImage,
	}, nil)
}
