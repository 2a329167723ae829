package providers

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"golang.org/x/oauth2"
)

// facebookGraphVersion is the Graph API version every Facebook call names.
// Facebook serves a retired version as the oldest one still available.
const facebookGraphVersion = "v19.0"

// Facebook returns the provider for Facebook Login. The default scopes are
// "email" and "public_profile".
//
// The AccountID is the id of /me: it is app-scoped (each app sees another
// id for the same person) and immutable.
//
// Email and EmailVerified: Facebook documents that /me returns only a
// confirmed email address, and no email at all when the person has none
// or declined the "email" permission. EmailVerified is therefore true
// whenever Email is not empty. An app that would rather not rely on that
// promise keeps Config.AssociateByEmail off.
//
// Every Graph call carries appsecret_proof (HMAC-SHA256 of the access
// token keyed with the app secret), as Facebook recommends, so a stolen
// access token is useless without the secret. WithBaseURL replaces both
// www.facebook.com and graph.facebook.com.
func Facebook(clientID, clientSecret string, opts ...Option) Provider {
	o := buildOptions(opts)
	www := baseOr(o.baseURL, "https://www.facebook.com")
	graph := baseOr(o.baseURL, "https://graph.facebook.com")
	cfg := oauth2.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   www + "/" + facebookGraphVersion + "/dialog/oauth",
			TokenURL:  graph + "/" + facebookGraphVersion + "/oauth/access_token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		Scopes: []string{"email", "public_profile"},
	}
	return &facebookProvider{
		oauth2Flow: newOAuth2Flow("facebook", "Facebook", cfg, o),
		meURL:      graph + "/" + facebookGraphVersion + "/me",
		secret:     clientSecret,
	}
}

type facebookProvider struct {
	oauth2Flow
	meURL  string
	secret string
}

// facebookMe is the answer of GET /me?fields=id,name,email,picture.
type facebookMe struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Email   string `json:"email"`
	Picture struct {
		Data struct {
			URL string `json:"url"`
		} `json:"data"`
	} `json:"picture"`
}

// Profile reads GET /me with appsecret_proof.
func (f *facebookProvider) Profile(ctx context.Context, tokens *Tokens) (*Profile, error) {
	token, err := bearerOf(tokens)
	if err != nil {
		return nil, err
	}
	var me facebookMe
	if err := f.graphGet(ctx, f.meURL, url.Values{"fields": {"id,name,email,picture"}}, token, &me); err != nil {
		return nil, err
	}
	return checkedProfile(&Profile{
		AccountID:     me.ID,
		Email:         me.Email,
		EmailVerified: me.Email != "",
		Name:          me.Name,
		AvatarURL:     me.Picture.Data.URL,
	}, nil)
}

// appSecretProof is Facebook's appsecret_proof for an access token.
func (f *facebookProvider) appSecretProof(token string) string {
	mac := hmac.New(sha256.New, []byte(f.secret))
	mac.Write([]byte(token))
	return hex.EncodeToString(mac.Sum(nil))
}

// graphGet GETs a Graph API URL with the bearer token and appsecret_proof
// and decodes the answer into dst. Graph reports a bad or expired token as
// HTTP 400 with error code 190 (or 102, a session error): those, like a
// 401 or 403, are ErrInvalidGrant; every other failure is
// ErrProviderUnavailable.
func (f *facebookProvider) graphGet(ctx context.Context, endpoint string, query url.Values, token string, dst any) error {
	query.Set("appsecret_proof", f.appSecretProof(token))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"?"+query.Encode(), nil)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrProviderUnavailable, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := f.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: GET %s: %v", ErrProviderUnavailable, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := readCapped(resp, req.URL.Path)
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return facebookError(req.URL.Path, resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, dst); err != nil {
		return fmt.Errorf("%w: %s: malformed JSON: %v", ErrProviderUnavailable, req.URL.Path, err)
	}
	return nil
}

// facebookError maps a Graph API error answer to the package's errors.
func facebookError(path string, status int, body []byte) error {
	var e struct {
		Error struct {
			Type string `json:"type"`
			Code int    `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &e) // a body that is no Graph error keeps Code 0
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden,
		status < 500 && (e.Error.Code == 190 || e.Error.Code == 102):
		return fmt.Errorf("%w: %s answered %d (%s %d)", ErrInvalidGrant, path, status, e.Error.Type, e.Error.Code)
	default:
		return fmt.Errorf("%w: %s answered %d (%s %d)", ErrProviderUnavailable, path, status, e.Error.Type, e.Error.Code)
	}
}
