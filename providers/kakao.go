package providers

import (
	"context"
	"strconv"

	"golang.org/x/oauth2"
)

// Kakao returns the provider for Kakao Login (REST API). It requests no
// scopes by default: Kakao then asks for the consent items configured for
// the app in Kakao Developers (nickname, profile image, email ...); pass
// WithScopes("profile_nickname", "profile_image", "account_email") to
// name them instead. The client secret, when the app enables it, travels
// in the form body as Kakao documents.
//
// AccountID is the numeric Kakao user id, unique per app and immutable.
// Email is kakao_account.email, which is absent without the user's
// consent; EmailVerified is true only when Kakao reports the address both
// valid (is_email_valid: not since taken by another account) and verified
// (is_email_verified), as Kakao requires before relying on it. Name is the
// profile nickname, AvatarURL the profile image (https, asked for with
// secure_resource=true). WithBaseURL replaces both kauth.kakao.com and
// kapi.kakao.com.
func Kakao(clientID, clientSecret string, opts ...Option) Provider {
	o := buildOptions(opts)
	auth := baseOr(o.baseURL, "https://kauth.kakao.com")
	api := baseOr(o.baseURL, "https://kapi.kakao.com")
	cfg := oauth2.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   auth + "/oauth/authorize",
			TokenURL:  auth + "/oauth/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
	return &kakaoProvider{
		oauth2Flow: newOAuth2Flow("kakao", "Kakao", cfg, o),
		meURL:      api + "/v2/user/me?secure_resource=true",
	}
}

type kakaoProvider struct {
	oauth2Flow
	meURL string
}

// kakaoUserMe is the answer of GET /v2/user/me.
type kakaoUserMe struct {
	ID           int64 `json:"id"`
	KakaoAccount struct {
		Email           string `json:"email"`
		IsEmailValid    bool   `json:"is_email_valid"`
		IsEmailVerified bool   `json:"is_email_verified"`
		Profile         struct {
			Nickname        string `json:"nickname"`
			ProfileImageURL string `json:"profile_image_url"`
		} `json:"profile"`
	} `json:"kakao_account"`
}

// Profile reads GET /v2/user/me.
func (k *kakaoProvider) Profile(ctx context.Context, tokens *Tokens) (*Profile, error) {
	token, err := bearerOf(tokens)
	if err != nil {
		return nil, err
	}
	var me kakaoUserMe
	if err := getJSON(ctx, k.client, k.meURL, token, &me); err != nil {
		return nil, err
	}
	account := me.KakaoAccount
	id := ""
	if me.ID > 0 {
		id = strconv.FormatInt(me.ID, 10)
	}
	return checkedProfile(&Profile{
		AccountID:     id,
		Email:         account.Email,
		EmailVerified: account.Email != "" && account.IsEmailValid && account.IsEmailVerified,
		Name:          account.Profile.Nickname,
		AvatarURL:     account.Profile.ProfileImageURL,
	}, nil)
}
