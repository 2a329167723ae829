package providers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// shopifyDomainPattern is what a shop domain may look like. The token
// request goes to this host with the client secret, so nothing else (no
// other domain, port, path or user info) is ever accepted.
var shopifyDomainPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}\.myshopify\.com$`)

// shopifyUserKey is where Exchange puts the associated user in the token.
const shopifyUserKey = "associated_user"

// Shopify returns the provider that signs in the staff of one Shopify
// shop, e.g. "acme.myshopify.com". Shopify's OAuth is per shop, so a
// provider serves exactly one; for several shops, build one provider per
// shop with WithName. It refuses a shop domain that does not match
// ^[a-z0-9][a-z0-9-]*\.myshopify\.com$ (lower case, no port or path), so
// the client secret can never be sent to another host, and empty
// credentials.
//
// The flow asks for online access (grant_options[]=per-user): the token
// response then carries associated_user, the staff member who approved,
// and that is the profile. No scopes are requested by default (Shopify
// joins WithScopes with commas). AccountID is "<shop domain>:<user id>",
// since Shopify user ids are not promised to be unique across shops.
// Email and EmailVerified are associated_user's email and email_verified;
// Name is first and last name; there is no avatar.
//
// Limits: Profile needs the very Tokens that Exchange returned, since the
// user comes with the token response and there is no userinfo endpoint;
// online tokens expire within 24 hours; Shopify ignores PKCE (the
// challenge and verifier are sent all the same); and the `hmac` Shopify
// adds to the callback is not checked, since providers never see the
// callback query. That is safe because state binds the callback to the
// browser and the code is only ever redeemed at the configured shop with
// the client secret, never at a shop named in the callback. WithBaseURL
// replaces https://<shop domain> (for tests).
func Shopify(shopDomain, clientID, clientSecret string, opts ...Option) (Provider, error) {
	if !shopifyDomainPattern.MatchString(shopDomain) {
		return nil, fmt.Errorf("providers: Shopify shop domain %q must look like \"acme.myshopify.com\" (lower case, no scheme, port or path)", shopDomain)
	}
	if clientID == "" || clientSecret == "" {
		return nil, fmt.Errorf("providers: Shopify %q: client id and client secret are required", shopDomain)
	}
	o := buildOptions(opts)
	if o.baseURL != "" {
		if err := checkEndpointURL("base URL", o.baseURL); err != nil {
			return nil, fmt.Errorf("providers: Shopify %q: %v", shopDomain, err)
		}
	}
	base := baseOr(o.baseURL, "https://"+shopDomain)
	cfg := oauth2.Config{
		ClientID:     clientID,
		ClientSecret: clientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:  base + "/admin/oauth/authorize",
			TokenURL: base + "/admin/oauth/access_token",
		},
	}
	flow := newOAuth2Flow("shopify", "Shopify", cfg, o)
	return &shopifyProvider{oauth2Flow: flow, shop: shopDomain}, nil
}

type shopifyProvider struct {
	oauth2Flow
	shop string
}

// AuthCodeURL asks for online access, with Shopify's comma-separated
// scopes.
func (s *shopifyProvider) AuthCodeURL(req AuthRequest) string {
	scopes := append(append([]string(nil), s.config.Scopes...), req.Scopes...)
	cfg := s.config
	cfg.Scopes = nil
	req.Scopes = nil
	extra := []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("grant_options[]", "per-user")}
	if len(scopes) > 0 {
		extra = append(extra, oauth2.SetAuthURLParam("scope", strings.Join(scopes, ",")))
	}
	return authCodeURL(cfg, req, extra...)
}

// shopifyTokenResponse is the answer of POST /admin/oauth/access_token in
// online access mode, or its error.
type shopifyTokenResponse struct {
	AccessToken         string                 `json:"access_token"`
	Scope               string                 `json:"scope"`
	ExpiresIn           int64                  `json:"expires_in"`
	AssociatedUserScope string                 `json:"associated_user_scope"`
	AssociatedUser      *shopifyAssociatedUser `json:"associated_user"`
	Error               string                 `json:"error"`
	ErrorDescription    string                 `json:"error_description"`
}

// shopifyAssociatedUser is the staff member an online token acts for.
type shopifyAssociatedUser struct {
	ID            int64  `json:"id"`
	FirstName     string `json:"first_name"`
	LastName      string `json:"last_name"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
	AccountOwner  bool   `json:"account_owner"`
	Collaborator  bool   `json:"collaborator"`
}

// Exchange POSTs the code as JSON, as Shopify documents. A 4xx answer or
// an `error` field is ErrInvalidGrant; 429, 5xx, a malformed or oversized
// answer, or one without access_token is ErrProviderUnavailable.
func (s *shopifyProvider) Exchange(ctx context.Context, req ExchangeRequest) (*Tokens, error) {
	body, err := json.Marshal(map[string]string{
		"client_id":     s.config.ClientID,
		"client_secret": s.config.ClientSecret,
		"code":          req.Code,
		"code_verifier": req.CodeVerifier,
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProviderUnavailable, err)
	}
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, s.config.Endpoint.TokenURL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrProviderUnavailable, err)
	}
	httpReq.Header.Set("Content-Type", "application/json")
	httpReq.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(httpReq)
	if err != nil {
		return nil, fmt.Errorf("%w: shopify token endpoint: %v", ErrProviderUnavailable, err)
	}
	defer resp.Body.Close()
	raw, err := readCapped(resp, httpReq.URL.Path)
	if err != nil {
		return nil, err
	}
	var tr shopifyTokenResponse
	jsonErr := json.Unmarshal(raw, &tr)
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return nil, fmt.Errorf("%w: shopify token endpoint answered %d", ErrProviderUnavailable, resp.StatusCode)
	case resp.StatusCode >= 400 || (jsonErr == nil && tr.Error != ""):
		return nil, fmt.Errorf("%w: shopify: %d %s", ErrInvalidGrant, resp.StatusCode, tr.Error)
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return nil, fmt.Errorf("%w: shopify token endpoint answered %d", ErrProviderUnavailable, resp.StatusCode)
	case jsonErr != nil:
		return nil, fmt.Errorf("%w: shopify token endpoint: malformed JSON: %v", ErrProviderUnavailable, jsonErr)
	case tr.AccessToken == "":
		return nil, fmt.Errorf("%w: shopify token response without access_token", ErrProviderUnavailable)
	}
	token := &oauth2.Token{AccessToken: tr.AccessToken, TokenType: "Bearer"}
	if tr.ExpiresIn > 0 {
		token.Expiry = time.Now().Add(time.Duration(tr.ExpiresIn) * time.Second)
		token.ExpiresIn = tr.ExpiresIn
	}
	extra := map[string]any{"scope": tr.Scope, "associated_user_scope": tr.AssociatedUserScope}
	if tr.AssociatedUser != nil {
		extra[shopifyUserKey] = tr.AssociatedUser
	}
	return &Tokens{Token: token.WithExtra(extra)}, nil
}

// Profile is the associated user of the token Exchange returned.
func (s *shopifyProvider) Profile(_ context.Context, tokens *Tokens) (*Profile, error) {
	if _, err := bearerOf(tokens); err != nil {
		return nil, err
	}
	user, _ := tokens.Extra(shopifyUserKey).(*shopifyAssociatedUser)
	if user == nil {
		return nil, fmt.Errorf("%w: shopify token has no associated_user (online access mode, grant_options[]=per-user, is required)", ErrProviderUnavailable)
	}
	if user.ID <= 0 {
		return nil, fmt.Errorf("%w: shopify associated_user without id", ErrProviderUnavailable)
	}
	return checkedProfile(&Profile{
		AccountID:     s.shop + ":" + strconv.FormatInt(user.ID, 10),
		Email:         user.Email,
		EmailVerified: user.Email != "" && user.EmailVerified,
		Name:          strings.TrimSpace(user.FirstName + " " + user.LastName),
	}, nil)
}
