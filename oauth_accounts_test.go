package ginauth

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/ginauth/ginauth/providers"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOAuthLinkingRules proves the pre-account-takeover defence of the
// linking rules: a provider sign-in with the email of a local user links
// to it only when AssociateByEmail is on, the provider verified the email
// and the local user is verified; every other combination is 400
// OAUTH_USER_ALREADY_EXISTS and links nothing.
func TestOAuthLinkingRules(t *testing.T) {
	cases := []struct {
		name             string
		associateByEmail bool
		localVerified    bool
		providerVerified bool
		providerEmail    string
		linked           bool
	}{
		{"local unverified, provider verified, AssociateByEmail", true, false, true, "owner@example.com", false},
		{"local verified, provider unverified, AssociateByEmail", true, true, false, "owner@example.com", false},
		{"both unverified, AssociateByEmail", true, false, false, "owner@example.com", false},
		{"both verified, AssociateByEmail off", false, true, true, "owner@example.com", false},
		{"both verified, AssociateByEmail", true, true, true, "owner@example.com", true},
		{"both verified, AssociateByEmail, email in another case", true, true, true, "  Owner@EXAMPLE.com ", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newOAEnv(t, func(cfg *Config) { cfg.AssociateByEmail = tc.associateByEmail })
			local := registerAndLogin(t, e.srv, "owner@example.com", "correct horse battery")
			if tc.localVerified {
				e.setUserFlag(t, "owner@example.com", "is_verified", true)
			}
			e.github.setProfile(providers.Profile{AccountID: "attacker-or-owner", Email: tc.providerEmail, EmailVerified: tc.providerVerified})

			res := e.signIn(t, e.browser(t), e.github, nil)
			if !tc.linked {
				oaRequireError(t, res, http.StatusBadRequest, CodeOAuthUserAlreadyExists)
				assert.Empty(t, oaMe(t, e.srv, local.AccessToken).OAuthAccounts)
				_, err := e.store.OAuthAccount(context.Background(), "github", "attacker-or-owner")
				assert.ErrorIs(t, err, ErrNotFound)
				assert.EqualValues(t, 1, e.userCount(t))
				return
			}
			tokens := oaTokens(t, res)
			me := oaMe(t, e.srv, tokens.AccessToken)
			assert.Equal(t, oaMe(t, e.srv, local.AccessToken).ID, me.ID)
			require.Len(t, me.OAuthAccounts, 1)
			assert.Equal(t, "attacker-or-owner", me.OAuthAccounts[0].AccountID)
			assert.EqualValues(t, 1, e.userCount(t))
		})
	}
}

// TestOAuthAccountAlreadyLinked proves a provider account linked to user A
// can never be linked to user B (400 OAUTH_ACCOUNT_ALREADY_LINKED, the
// link stays with A), while A associating it again is accepted.
func TestOAuthAccountAlreadyLinked(t *testing.T) {
	e := newOAEnv(t, nil)
	e.github.setProfile(providers.Profile{AccountID: "42", Email: "a@example.com", EmailVerified: true})
	alice := oaTokens(t, e.signIn(t, e.browser(t), e.github, nil))
	aliceID := oaMe(t, e.srv, alice.AccessToken).ID
	bob := registerAndLogin(t, e.srv, "b@example.com", "correct horse battery")

	res := e.associate(t, bob.AccessToken, e.github)
	oaRequireError(t, res, http.StatusBadRequest, CodeOAuthAccountAlreadyLinked)
	assert.Empty(t, oaMe(t, e.srv, bob.AccessToken).OAuthAccounts)
	acc, err := e.store.OAuthAccount(context.Background(), "github", "42")
	require.NoError(t, err)
	assert.Equal(t, aliceID, acc.UserID)

	res = e.associate(t, alice.AccessToken, e.github)
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	accounts, err := e.store.OAuthAccountsOf(context.Background(), aliceID)
	require.NoError(t, err)
	assert.Len(t, accounts, 1)
}

// TestOAuthImmutableAccountID proves sign-in is matched by the provider's
// immutable account id: the same id with a changed email signs the same
// user in (and the link's email follows), and another id carrying the
// first user's email is not that user.
func TestOAuthImmutableAccountID(t *testing.T) {
	e := newOAEnv(t, nil)
	e.github.setProfile(providers.Profile{AccountID: "1234", Email: "old@example.com", EmailVerified: true})
	first := oaTokens(t, e.signIn(t, e.browser(t), e.github, nil))
	id := oaMe(t, e.srv, first.AccessToken).ID

	e.github.setProfile(providers.Profile{AccountID: "1234", Email: "new@example.com", EmailVerified: true})
	again := oaTokens(t, e.signIn(t, e.browser(t), e.github, nil))
	me := oaMe(t, e.srv, again.AccessToken)
	assert.Equal(t, id, me.ID)
	assert.Equal(t, "old@example.com", me.Email, "the local email is the user's, not the provider's")
	assert.Equal(t, "new@example.com", me.OAuthAccounts[0].AccountEmail)

	e.github.setProfile(providers.Profile{AccountID: "1234"}) // the provider no longer shares an email
	assert.Equal(t, id, oaMe(t, e.srv, oaTokens(t, e.signIn(t, e.browser(t), e.github, nil)).AccessToken).ID)

	e.github.setProfile(providers.Profile{AccountID: "9999", Email: "old@example.com", EmailVerified: true})
	oaRequireError(t, e.signIn(t, e.browser(t), e.github, nil), http.StatusBadRequest, CodeOAuthUserAlreadyExists)
	assert.EqualValues(t, 1, e.userCount(t))

	// The same account id at another provider is another account.
	e.google.setProfile(providers.Profile{AccountID: "1234", Email: "someone@example.com", EmailVerified: true})
	other := oaTokens(t, e.signIn(t, e.browser(t), e.google, nil))
	assert.NotEqual(t, id, oaMe(t, e.srv, other.AccessToken).ID)
}

// TestOAuthProviderTokensEncrypted proves provider tokens are encrypted at
// rest: the raw columns never hold the tokens, ProviderTokens decrypts
// them, and a row copied to another account id or provider, or read with
// another secret, does not decrypt; a rotated secret still does.
func TestOAuthProviderTokensEncrypted(t *testing.T) {
	e := newOAEnv(t, nil)
	oaTokens(t, e.signIn(t, e.browser(t), e.github, nil))
	tok := e.github.lastToken()

	var raw struct{ AccessToken, RefreshToken string }
	require.NoError(t, e.store.DB().Raw("SELECT access_token, refresh_token FROM oauth_accounts WHERE account_id = ?", "github-1001").Scan(&raw).Error)
	require.NotEmpty(t, raw.AccessToken)
	require.NotEmpty(t, raw.RefreshToken)
	for _, column := range []string{raw.AccessToken, raw.RefreshToken} {
		assert.NotContains(t, column, tok.AccessToken)
		assert.NotContains(t, column, tok.RefreshToken)
		assert.NotContains(t, column, "github-access")
		assert.NotContains(t, column, "github-refresh")
	}
	var dump strings.Builder
	rows, err := e.store.DB().Raw("SELECT * FROM oauth_accounts").Rows()
	require.NoError(t, err)
	cols, err := rows.Columns()
	require.NoError(t, err)
	for rows.Next() {
		values := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range values {
			ptrs[i] = &values[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		for _, v := range values {
			switch v := v.(type) {
			case string:
				dump.WriteString(v)
			case []byte:
				dump.Write(v)
			}
		}
	}
	require.NoError(t, rows.Close())
	assert.NotContains(t, dump.String(), tok.AccessToken, "no column holds the token")
	assert.NotContains(t, dump.String(), tok.RefreshToken)

	acc, err := e.store.OAuthAccount(context.Background(), "github", "github-1001")
	require.NoError(t, err)
	access, refresh, err := e.a.ProviderTokens(acc)
	require.NoError(t, err)
	assert.Equal(t, tok.AccessToken, access)
	assert.Equal(t, tok.RefreshToken, refresh)

	moved := *acc
	moved.AccountID = "attacker-account"
	_, _, err = e.a.ProviderTokens(&moved)
	assert.Error(t, err, "a row copied to another account id must not decrypt")
	moved = *acc
	moved.OAuthName = "google"
	_, _, err = e.a.ProviderTokens(&moved)
	assert.Error(t, err, "a row copied to another provider must not decrypt")

	other := newTestAuthOn(t, e.store, func(cfg *Config) { cfg.Secret = "another-secret-0123456789-abcdefghijklmnopqrstuvwxyz" })
	_, _, err = other.ProviderTokens(acc)
	assert.Error(t, err, "another secret must not decrypt")
	rotated := newTestAuthOn(t, e.store, func(cfg *Config) {
		cfg.Secret = "another-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
		cfg.PreviousSecrets = []string{testSecret}
	})
	access, _, err = rotated.ProviderTokens(acc)
	require.NoError(t, err)
	assert.Equal(t, tok.AccessToken, access)
}

// TestOAuthLookupsAreExact proves, on every database, that an account id
// or an email that only compares equal under the database's collation
// (MariaDB's utf8mb4_general_ci ignores case, accents and trailing
// spaces) never signs into the user it resembles: matching is by the
// provider's exact id, and linking by email by the exact canonical email.
func TestOAuthLookupsAreExact(t *testing.T) {
	cases := []struct {
		name            string
		victim, visitor providers.Profile
	}{
		{"account id in another case",
			providers.Profile{AccountID: "Octo", Email: "victim@example.com", EmailVerified: true},
			providers.Profile{AccountID: "octo", Email: "visitor@example.com", EmailVerified: true}},
		{"account id with a trailing space",
			providers.Profile{AccountID: "octo", Email: "victim@example.com", EmailVerified: true},
			providers.Profile{AccountID: "octo ", Email: "visitor@example.com", EmailVerified: true}},
		{"account id with an accent",
			providers.Profile{AccountID: "rené", Email: "victim@example.com", EmailVerified: true},
			providers.Profile{AccountID: "rene", Email: "visitor@example.com", EmailVerified: true}},
		{"email with an accent, AssociateByEmail",
			providers.Profile{AccountID: "100", Email: "josé@example.com", EmailVerified: true},
			providers.Profile{AccountID: "200", Email: "jose@example.com", EmailVerified: true}},
	}
	for _, db := range testDatabases() {
		t.Run(db, func(t *testing.T) {
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					e := newOAEnvOn(t, openTestStore(t, db), func(cfg *Config) { cfg.AssociateByEmail = true })
					e.github.setProfile(tc.victim)
					victim := oaMe(t, e.srv, oaTokens(t, e.signIn(t, e.browser(t), e.github, nil)).AccessToken)

					e.github.setProfile(tc.visitor)
					res := e.signIn(t, e.browser(t), e.github, nil)
					if res.Status == http.StatusOK {
						visitor := oaMe(t, e.srv, oaTokens(t, res).AccessToken)
						assert.NotEqual(t, victim.ID, visitor.ID, "signed in as the user the account only resembles")
					} else {
						// A database that cannot store both ids or emails apart
						// refuses the second one; it never hands over the first.
						oaRequireError(t, res, http.StatusBadRequest, CodeOAuthUserAlreadyExists)
					}
					accounts, err := e.store.OAuthAccountsOf(context.Background(), victim.ID)
					require.NoError(t, err)
					require.Len(t, accounts, 1, "nothing was linked to the victim")
					assert.Equal(t, tc.victim.AccountID, accounts[0].AccountID)
				})
			}
		})
	}
}
