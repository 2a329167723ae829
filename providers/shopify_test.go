package providers

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"
)

const (
	socBShop          = "acme-store.myshopify.com"
	socBShopifyToken  = "POST /admin/oauth/access_token"
	socBShopifyOnline = `{"access_token":"access-token-jkl","scope":"read_products","expires_in":86399,"associated_user_scope":"read_products","session":"1f3c","account_number":0,"associated_user":{"id":902541635,"first_name":"John","last_name":"Smith","email":"john@example.com","email_verified":true,"account_owner":true,"locale":"en","collaborator":false}}`
)

func socBShopify(t *testing.T, base string, opts ...Option) Provider {
	t.Helper()
	p, err := Shopify(socBShop, socBClientID, socBSecret, append([]Option{WithBaseURL(base)}, opts...)...)
	require.NoError(t, err)
	return p
}

func TestShopifyRefusesShopDomains(t *testing.T) {
	for _, shop := range []string{
		"",
		"acme",
		"myshopify.com",
		".myshopify.com",
		"-acme.myshopify.com",
		"Acme.myshopify.com",
		"acme.myshopify.com.",
		"acme.myshopify.com.evil.com",
		"evil.com/.myshopify.com",
		"evil.com?.myshopify.com",
		"evil.com#.myshopify.com",
		"user@evil.com#acme.myshopify.com",
		"acme.store.myshopify.com",
		"acme.myshopify.com:8443",
		"https://acme.myshopify.com",
		"acme.myshopify.com/admin",
		"acme_store.myshopify.com",
		"acme.myshopify.com\n",
		"acme.myshopify.co",
		"127.0.0.1",
	} {
		t.Run(shop, func(t *testing.T) {
			p, err := Shopify(shop, socBClientID, socBSecret)
			require.Error(t, err)
			assert.Nil(t, p)
		})
	}
	t.Run("valid", func(t *testing.T) {
		for _, shop := range []string{"acme.myshopify.com", "0acme-store-2.myshopify.com"} {
			p, err := Shopify(shop, socBClientID, socBSecret)
			require.NoError(t, err, shop)
			assert.Equal(t, "shopify", p.Name())
		}
	})
	t.Run("empty credentials", func(t *testing.T) {
		_, err := Shopify(socBShop, "", socBSecret)
		assert.Error(t, err)
		_, err = Shopify(socBShop, socBClientID, "")
		assert.Error(t, err)
	})
	t.Run("insecure base URL", func(t *testing.T) {
		_, err := Shopify(socBShop, socBClientID, socBSecret, WithBaseURL("http://shop.example.com"))
		assert.Error(t, err)
	})
}

func TestShopifyAuthURL(t *testing.T) {
	p, err := Shopify(socBShop, socBClientID, socBSecret)
	require.NoError(t, err)
	assert.Equal(t, "Shopify", p.DisplayName())
	q := socBCheckAuthURL(t, p, "https://acme-store.myshopify.com/admin/oauth/authorize")
	assert.Equal(t, []string{"per-user"}, q["grant_options[]"], "online access: the token names the user")
	assert.False(t, q.Has("scope"))

	p, err = Shopify(socBShop, socBClientID, socBSecret, WithScopes("read_products", "read_orders"), WithName("shopify-acme"))
	require.NoError(t, err)
	assert.Equal(t, "shopify-acme", p.Name())
	req := socBAuthRequest()
	req.Scopes = []string{"read_customers"}
	u, err := url.Parse(p.AuthCodeURL(req))
	require.NoError(t, err)
	assert.Equal(t, "read_products,read_orders,read_customers", u.Query().Get("scope"), "Shopify separates scopes with commas")
}

func TestShopifyProfile(t *testing.T) {
	cases := []struct {
		name  string
		token string
		want  *Profile
	}{
		{"verified staff member", socBShopifyOnline,
			&Profile{AccountID: "acme-store.myshopify.com:902541635", Email: "john@example.com", EmailVerified: true, Name: "John Smith"}},
		{"unverified email", `{"access_token":"access-token-jkl","expires_in":86399,"associated_user":{"id":902541636,"first_name":"Jo","last_name":"","email":"jo@example.com","email_verified":false}}`,
			&Profile{AccountID: "acme-store.myshopify.com:902541636", Email: "jo@example.com", Name: "Jo"}},
		{"no email", `{"access_token":"access-token-jkl","associated_user":{"id":902541637,"first_name":"Al","last_name":"B"}}`,
			&Profile{AccountID: "acme-store.myshopify.com:902541637", Name: "Al B"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			token := socBRespond(http.StatusOK, tc.token)
			base := socBServer(t, map[string]*socBEndpoint{socBShopifyToken: token})

			profile, err := socBFlow(socBShopify(t, base))
			require.NoError(t, err)
			assert.Equal(t, tc.want, profile)

			header, _, _, raw := token.last()
			assert.Equal(t, "application/json", header.Get("Content-Type"))
			var body map[string]string
			require.NoError(t, json.Unmarshal(raw, &body))
			assert.Equal(t, map[string]string{"client_id": socBClientID, "client_secret": socBSecret, "code": socBCode, "code_verifier": socBVerifier}, body)
		})
	}
	t.Run("tokens that did not come from Exchange", func(t *testing.T) {
		p := socBShopify(t, "https://acme-store.myshopify.com")
		_, err := p.Profile(context.Background(), &Tokens{Token: &oauth2.Token{AccessToken: "t"}})
		assert.ErrorIs(t, err, ErrProviderUnavailable)
		_, err = p.Profile(context.Background(), &Tokens{})
		assert.ErrorIs(t, err, ErrInvalidGrant)
	})
}

func TestShopifyErrors(t *testing.T) {
	cases := []struct {
		name   string
		status int
		body   string
		want   error
	}{
		{"code refused", http.StatusBadRequest, `{"error":"invalid_request","error_description":"The authorization code was not found or was already used"}`, ErrInvalidGrant},
		{"bad client credentials", http.StatusBadRequest, `{"error":"invalid_client","error_description":"Client credentials are invalid"}`, ErrInvalidGrant},
		{"4xx that is not JSON", http.StatusNotFound, `<html>Not Found</html>`, ErrInvalidGrant},
		{"error field on a 200", http.StatusOK, `{"error":"invalid_request"}`, ErrInvalidGrant},
		{"rate limited", http.StatusTooManyRequests, `{"errors":"Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."}`, ErrProviderUnavailable},
		{"5xx", http.StatusServiceUnavailable, `<html>down</html>`, ErrProviderUnavailable},
		{"malformed", http.StatusOK, `{"access_token":`, ErrProviderUnavailable},
		{"oversized", http.StatusOK, socBOversized, ErrProviderUnavailable},
		{"no access token", http.StatusOK, `{"scope":"read_products"}`, ErrProviderUnavailable},
		{"offline token: no associated user", http.StatusOK, `{"access_token":"access-token-jkl","scope":"read_products"}`, ErrProviderUnavailable},
		{"associated user without id", http.StatusOK, `{"access_token":"access-token-jkl","associated_user":{"email":"a@example.com","email_verified":true}}`, ErrProviderUnavailable},
		{"associated user id as a string", http.StatusOK, `{"access_token":"access-token-jkl","associated_user":{"id":"902541635"}}`, ErrProviderUnavailable},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			base := socBServer(t, map[string]*socBEndpoint{socBShopifyToken: socBRespond(tc.status, tc.body)})
			profile, err := socBFlow(socBShopify(t, base))
			assert.Nil(t, profile)
			require.ErrorIs(t, err, tc.want)
		})
	}
	t.Run("shop unreachable", func(t *testing.T) {
		_, err := socBFlow(socBShopify(t, "http://127.0.0.1:1"))
		assert.ErrorIs(t, err, ErrProviderUnavailable)
	})
}
