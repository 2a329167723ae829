package providers

import (
	"net/url"
	"strings"
)

const (
	// microsoftURL is the Microsoft Entra ID (identity platform) host.
	microsoftURL = "https://login.microsoftonline.com"
	// microsoftConsumersTenant is the tenant of personal Microsoft
	// accounts: the tid of every consumer sign-in.
	microsoftConsumersTenant = "9188040d-6c67-4c5b-b112-36a304b66dad"
)

// Microsoft returns the Microsoft Entra ID provider (v2.0 endpoints) for
// tenant: a tenant ID (a GUID: give the ID, not a domain name, whose
// discovery reports the GUID issuer and so does not match), or "common"
// (any work, school or personal account; "" means "common"),
// "organizations" (work and school accounts) or "consumers" (personal
// accounts). WithBaseURL replaces https://login.microsoftonline.com.
//
// Issuer: for a tenant ID it is https://login.microsoftonline.com/{tenant}/v2.0
// and every id_token's iss must equal it. For "common" and
// "organizations" discovery reports the template
// https://login.microsoftonline.com/{tenantid}/v2.0 and each token carries
// its own tenant's issuer, so go-oidc's issuer check is skipped
// (SkipIssuerCheck) and replaced by ours: iss must equal the template with
// {tenantid} replaced by the token's tid claim, which must be a GUID, and
// "organizations" refuses the personal-accounts tenant. The signature is
// still checked against Microsoft's keys, and aud against clientID. An
// RFC 9207 iss callback parameter must be the token's tenant issuer.
//
// AccountID is `sub`. Microsoft documents both `sub` and `oid` as
// immutable and never reused; `sub` is chosen because it is always in the
// id_token (oid needs the profile scope), it is what userinfo reports, and
// it is pairwise per application, which is all an account link needs. The
// cost: registering the app anew (a new client ID) changes every sub.
//
// Microsoft does not verify the email of every account, and its email
// claim is documented as unverified and mutable: EmailVerified is true
// only when the id_token says email_verified true. The email claim is
// absent for accounts without one (Profile.Email ""). Profile reads the
// id_token only: Microsoft's userinfo endpoint is on Microsoft Graph and
// refuses access tokens meant for the app's own API.
//
// Name is "microsoft" unless WithName. Microsoft is discovered on first
// use; it implements Checker.
func Microsoft(tenant, clientID, clientSecret string, opts ...Option) Provider {
	o := buildOptions(opts)
	base := microsoftURL
	if o.baseURL != "" {
		base = strings.TrimSuffix(o.baseURL, "/")
	}
	if tenant == "" {
		tenant = "common"
	}
	spec := oidcSpec{
		name:         "microsoft",
		displayName:  "Microsoft",
		discoveryURL: oidcDiscoveryURL(base + "/" + url.PathEscape(tenant) + "/v2.0"),
		scopes:       oidcDefaultScopes,
		noUserInfo:   true,
	}
	switch tenant {
	case "common", "organizations":
		spec.issuer = base + "/{tenantid}/v2.0"
		spec.tenantIssuer = true
		orgOnly := tenant == "organizations"
		spec.allowTenant = func(tid string) bool {
			return microsoftTenantID(tid) && !(orgOnly && tid == microsoftConsumersTenant)
		}
	case "consumers":
		spec.issuer = base + "/" + microsoftConsumersTenant + "/v2.0"
	default:
		spec.issuer = base + "/" + url.PathEscape(tenant) + "/v2.0"
	}
	return newOIDCProvider(spec, clientID, clientSecret, o)
}

// microsoftTenantID reports whether tid has the shape of a tenant ID, a
// GUID such as 9188040d-6c67-4c5b-b112-36a304b66dad.
func microsoftTenantID(tid string) bool {
	if len(tid) != 36 {
		return false
	}
	for i, c := range tid {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'):
			return false
		}
	}
	return true
}
