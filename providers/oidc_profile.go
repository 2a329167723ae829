package providers

import (
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
)

// oidcClaims are the claims read from an id_token or a userinfo answer.
type oidcClaims struct {
	Subject         string   `json:"sub"`
	Email           string   `json:"email"`
	EmailVerified   oidcBool `json:"email_verified"`
	Name            string   `json:"name"`
	GivenName       string   `json:"given_name"`
	FamilyName      string   `json:"family_name"`
	Picture         string   `json:"picture"`
	AuthorizedParty string   `json:"azp"`
	TenantID        string   `json:"tid"`
}

// displayName is name, or the given and family names when name is absent
// (FranceConnect sends only those).
func (c *oidcClaims) displayName() string {
	if c.Name != "" {
		return c.Name
	}
	return strings.TrimSpace(c.GivenName + " " + c.FamilyName)
}

// idTokenClaims are the claims Tokens carry to Profile.
func (c *oidcClaims) idTokenClaims(t *oidc.IDToken) *IDTokenClaims {
	return &IDTokenClaims{
		Issuer:        t.Issuer,
		Subject:       t.Subject,
		Email:         c.Email,
		EmailVerified: c.EmailVerified.ptr(),
		Name:          c.displayName(),
		Picture:       c.Picture,
	}
}

// oidcBool is a claim that some providers send as a JSON boolean and
// others as the string "true" or "false". Anything else, null included,
// leaves it unset: an email whose verification is unknown is unverified.
type oidcBool struct {
	set, value bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (b *oidcBool) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*b = oidcBool{}
	switch v := v.(type) {
	case bool:
		*b = oidcBool{set: true, value: v}
	case string:
		switch {
		case strings.EqualFold(v, "true"):
			*b = oidcBool{set: true, value: true}
		case strings.EqualFold(v, "false"):
			*b = oidcBool{set: true}
		}
	}
	return nil
}

// ptr is the claim as IDTokenClaims holds it: nil when unset.
func (b oidcBool) ptr() *bool {
	if !b.set {
		return nil
	}
	v := b.value
	return &v
}

// Profile implements Provider. It reads the verified id_token claims that
// Exchange put in tokens; when email, email_verified or name is missing it
// asks the userinfo endpoint, whose sub must be the id_token's. Email and
// email_verified are taken together from one source, so a verification
// never vouches for another address.
func (p *oidcProvider) Profile(ctx context.Context, tokens *Tokens) (*Profile, error) {
	if tokens == nil || tokens.IDTokenClaims == nil || tokens.IDTokenClaims.Subject == "" {
		return nil, fmt.Errorf("%w: no verified id_token", ErrInvalidGrant)
	}
	c := tokens.IDTokenClaims
	email, verified, name, picture := c.Email, c.EmailVerified, c.Name, c.Picture
	if (email == "" || verified == nil || name == "") && !p.spec.noUserInfo {
		info, err := p.userInfo(ctx, tokens)
		if err != nil {
			return nil, err
		}
		if info != nil {
			if (email == "" || verified == nil) && info.Email != "" {
				email, verified = info.Email, info.EmailVerified.ptr()
			}
			if name == "" {
				name = info.displayName()
			}
			if picture == "" {
				picture = info.Picture
			}
		}
	}
	return &Profile{
		AccountID:     c.Subject,
		Email:         email,
		EmailVerified: email != "" && verified != nil && *verified,
		Name:          name,
		AvatarURL:     picture,
	}, nil
}

// userInfo reads the userinfo endpoint, as JSON or as a JWT signed with
// the issuer's keys. It returns nil, nil when the issuer has none.
func (p *oidcProvider) userInfo(ctx context.Context, tokens *Tokens) (*oidcClaims, error) {
	e, err := p.endpoints(ctx)
	if err != nil {
		return nil, err
	}
	if e.userInfoURL == "" || tokens.Token == nil || tokens.AccessToken == "" {
		return nil, nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.userInfoURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: userinfo: %v", ErrProviderUnavailable, err)
	}
	req.Header.Set("Accept", "application/json, application/jwt")
	req.Header.Set("Authorization", "Bearer "+tokens.AccessToken)
	body, contentType, err := doBody(p.client, req)
	if err != nil {
		return nil, err
	}
	var info oidcClaims
	if mediaType, _, _ := mime.ParseMediaType(contentType); mediaType == "application/jwt" {
		signed, err := oidcVerify(ctx, e.userInfoVerifier, strings.TrimSpace(string(body)), "userinfo")
		if err != nil {
			return nil, err
		}
		// iss and aud are optional in a signed userinfo answer; when
		// present they must name this issuer and this client.
		if signed.Issuer != "" && signed.Issuer != tokens.IDTokenClaims.Issuer {
			return nil, fmt.Errorf("%w: userinfo iss %q is not the id_token's", ErrInvalidGrant, signed.Issuer)
		}
		if len(signed.Audience) > 0 && !slices.Contains(signed.Audience, p.clientID) {
			return nil, fmt.Errorf("%w: userinfo aud is not this client", ErrInvalidGrant)
		}
		err = signed.Claims(&info)
		if err != nil {
			return nil, fmt.Errorf("%w: userinfo claims: %v", ErrProviderUnavailable, err)
		}
	} else if err := json.Unmarshal(body, &info); err != nil {
		return nil, fmt.Errorf("%w: userinfo: malformed JSON: %v", ErrProviderUnavailable, err)
	}
	if info.Subject != tokens.IDTokenClaims.Subject {
		return nil, fmt.Errorf("%w: userinfo sub %q is not the id_token's %q", ErrInvalidGrant, info.Subject, tokens.IDTokenClaims.Subject)
	}
	return &info, nil
}
