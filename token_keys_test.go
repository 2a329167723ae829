package ginauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// keysB64 is unpadded base64url, the JWK encoding.
var keysB64 = base64.RawURLEncoding.EncodeToString

// keysThumbprint computes an RFC 7638 JWK thumbprint by hand: the required
// members in lexicographic order, no whitespace, SHA-256, base64url. It is
// written without encoding/json so it does not share a mistake with the code
// under test.
func keysThumbprint(members map[string]string) string {
	names := make([]string, 0, len(members))
	for name := range members {
		names = append(names, name)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteByte('{')
	for i, name := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`"` + name + `":"` + members[name] + `"`)
	}
	b.WriteByte('}')
	sum := sha256.Sum256([]byte(b.String()))
	return keysB64(sum[:])
}

// keysRequiredMembers returns the RFC 7638 required members of a public key.
func keysRequiredMembers(t testing.TB, pub crypto.PublicKey) map[string]string {
	t.Helper()
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return map[string]string{"kty": "OKP", "crv": "Ed25519", "x": keysB64(k)}
	case *ecdsa.PublicKey:
		raw, err := k.Bytes()
		require.NoError(t, err)
		return map[string]string{"kty": "EC", "crv": "P-256", "x": keysB64(raw[1:33]), "y": keysB64(raw[33:65])}
	case *rsa.PublicKey:
		e := big.NewInt(int64(k.E)).Bytes()
		return map[string]string{"kty": "RSA", "n": keysB64(k.N.Bytes()), "e": keysB64(e)}
	}
	t.Fatalf("unexpected key type %T", pub)
	return nil
}

// keysJWKS fetches and decodes the JWK Set of a server.
func keysJWKS(t testing.TB, e *atkEnv) []map[string]any {
	t.Helper()
	res := atkGet(t, e.srv, "/auth/.well-known/jwks.json", "")
	require.Equal(t, http.StatusOK, res.Status, "body: %s", res.Body)
	require.Equal(t, "application/jwk-set+json", res.Header.Get("Content-Type"))
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	require.NoError(t, json.Unmarshal(res.Body, &set))
	return set.Keys
}

// keysPrivateMembers are the JWK members of private keys (RFC 7518 §6) and
// of symmetric keys: none may ever be published.
var keysPrivateMembers = []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}

// keysPublicFromJWK rebuilds a public key from a published JWK, so the test
// can check that the JWKS really holds the signing key.
func keysPublicFromJWK(t testing.TB, jwk map[string]any) crypto.PublicKey {
	t.Helper()
	dec := func(name string) []byte {
		s, _ := jwk[name].(string)
		b, err := base64.RawURLEncoding.Strict().DecodeString(s)
		require.NoError(t, err, "member %s", name)
		return b
	}
	switch jwk["kty"] {
	case "OKP":
		require.Equal(t, "Ed25519", jwk["crv"])
		return ed25519.PublicKey(dec("x"))
	case "EC":
		require.Equal(t, "P-256", jwk["crv"])
		raw := append(append([]byte{4}, dec("x")...), dec("y")...)
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
		require.NoError(t, err)
		return pub
	case "RSA":
		return &rsa.PublicKey{N: new(big.Int).SetBytes(dec("n")), E: int(new(big.Int).SetBytes(dec("e")).Int64())}
	}
	t.Fatalf("unexpected kty %v", jwk["kty"])
	return nil
}

// keysSigners are one key of each supported kind.
func keysSigners(t testing.TB) map[string]struct {
	signer crypto.Signer
	alg    string
} {
	t.Helper()
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return map[string]struct {
		signer crypto.Signer
		alg    string
	}{
		"EdDSA_ed25519": {edKey, "EdDSA"},
		"ES256_P256":    {ecKey, "ES256"},
		"RS256_RSA2048": {atkRSAKey(), "RS256"},
	}
}

// TestKeyAsymmetricSigning proves that with Config.SigningKey set to an
// ed25519, P-256 or RSA 2048 key, access tokens are signed with that key's
// algorithm, carry its RFC 7638 thumbprint as kid, verify with the public
// key alone (as another service would), and work through RequireAuth; and
// that the JWKS publishes exactly that public key, with alg, use and kid,
// and no private member.
func TestKeyAsymmetricSigning(t *testing.T) {
	for name, k := range keysSigners(t) {
		t.Run(name, func(t *testing.T) {
			e := newAtkEnv(t, func(c *Config) { c.SigningKey = k.signer })
			wantKID := keysThumbprint(keysRequiredMembers(t, k.signer.Public()))

			tok, err := jwt.Parse(e.tokens.AccessToken, func(tok *jwt.Token) (any, error) {
				return k.signer.Public(), nil
			}, jwt.WithValidMethods([]string{k.alg}), jwt.WithStrictDecoding())
			require.NoError(t, err, "the token verifies with the public key alone")
			assert.Equal(t, k.alg, tok.Header["alg"])
			assert.Equal(t, wantKID, tok.Header["kid"])
			assert.Equal(t, "at+jwt", tok.Header["typ"])
			atkRequireOK(t, e.get(t, "Bearer "+e.tokens.AccessToken))

			keys := keysJWKS(t, e)
			require.Len(t, keys, 1)
			jwk := keys[0]
			assert.Equal(t, wantKID, jwk["kid"])
			assert.Equal(t, k.alg, jwk["alg"])
			assert.Equal(t, "sig", jwk["use"])
			for _, private := range keysPrivateMembers {
				assert.NotContains(t, jwk, private)
			}
			pub := keysPublicFromJWK(t, jwk)
			assert.True(t, pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(k.signer.Public()),
				"the JWKS holds the signing key's public key")
		})
	}
}

// TestKeyThumbprintRFC7638 proves that kid is the RFC 7638 thumbprint, on
// the published examples: RFC 7638 §3.1 (RSA) and RFC 8037 Appendix A.3
// (Ed25519), both directly and as published in the JWKS.
func TestKeyThumbprintRFC7638(t *testing.T) {
	n, err := base64.RawURLEncoding.DecodeString("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")
	require.NoError(t, err)
	rfc7638 := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: 65537}
	x, err := base64.RawURLEncoding.DecodeString("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")
	require.NoError(t, err)
	rfc8037 := ed25519.PublicKey(x)

	const rsaKID = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
	const edKID = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
	t.Run("the_test_helper_agrees_with_the_RFCs", func(t *testing.T) {
		assert.Equal(t, rsaKID, keysThumbprint(keysRequiredMembers(t, rfc7638)))
		assert.Equal(t, edKID, keysThumbprint(keysRequiredMembers(t, rfc8037)))
	})
	t.Run("newPublicKey", func(t *testing.T) {
		vk, err := newPublicKey(rfc7638)
		require.NoError(t, err)
		assert.Equal(t, rsaKID, vk.kid)
		vk, err = newPublicKey(rfc8037)
		require.NoError(t, err)
		assert.Equal(t, edKID, vk.kid)
	})
	t.Run("published_in_the_JWKS", func(t *testing.T) {
		_, signer, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		e := newAtkEnv(t, func(c *Config) {
			c.SigningKey = signer
			c.PreviousKeys = []crypto.PublicKey{rfc7638, rfc8037}
		})
		kids := map[string]string{}
		for _, k := range keysJWKS(t, e) {
			kids[k["kid"].(string)] = k["alg"].(string)
		}
		assert.Equal(t, "RS256", kids[rsaKID])
		assert.Equal(t, "EdDSA", kids[edKID])
		assert.Len(t, kids, 3)
	})
}

// TestKeyRotationAsymmetric proves a key rotation: after the signing key
// changes (here even the algorithm, ES256 to EdDSA), tokens signed by the
// old key still verify while it is listed in PreviousKeys, new tokens are
// signed by the new key, both keys are published, and once the old key is
// removed its tokens fail. A token signed by the old key that claims the
// new key's kid fails too.
func TestKeyRotationAsymmetric(t *testing.T) {
	oldKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	_, newKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	oldKID := keysThumbprint(keysRequiredMembers(t, oldKey.Public()))
	newKID := keysThumbprint(keysRequiredMembers(t, newKey.Public()))

	before := newAtkEnv(t, func(c *Config) { c.SigningKey = oldKey })
	store := before.auth.Store()
	oldToken := before.tokens.AccessToken

	during := &atkEnv{auth: newTestAuthOn(t, store, func(c *Config) {
		c.SigningKey = newKey
		c.PreviousKeys = []crypto.PublicKey{oldKey.Public()}
	})}
	during.srv = newTestServer(t, during.auth)
	after := &atkEnv{auth: newTestAuthOn(t, store, func(c *Config) { c.SigningKey = newKey })}
	after.srv = newTestServer(t, after.auth)

	t.Run("old_token_verifies_while_the_old_key_is_previous", func(t *testing.T) {
		atkRequireOK(t, during.get(t, "Bearer "+oldToken))
	})
	t.Run("new_tokens_use_the_new_key", func(t *testing.T) {
		tokens := login(t, during.srv, "victim@example.com", atkPassword)
		tok, _, err := jwt.NewParser().ParseUnverified(tokens.AccessToken, jwt.MapClaims{})
		require.NoError(t, err)
		assert.Equal(t, "EdDSA", tok.Header["alg"])
		assert.Equal(t, newKID, tok.Header["kid"])
		atkRequireOK(t, during.get(t, "Bearer "+tokens.AccessToken))
		atkRequireOK(t, after.get(t, "Bearer "+tokens.AccessToken))
	})
	t.Run("both_keys_are_published", func(t *testing.T) {
		kids := map[string]any{}
		for _, k := range keysJWKS(t, during) {
			kids[k["kid"].(string)] = k["alg"]
		}
		assert.Equal(t, map[string]any{newKID: "EdDSA", oldKID: "ES256"}, kids)
		keys := keysJWKS(t, after)
		require.Len(t, keys, 1)
		assert.Equal(t, newKID, keys[0]["kid"])
	})
	t.Run("old_key_signature_under_the_new_kid_fails", func(t *testing.T) {
		forged := before.forgeWith(t, jwt.SigningMethodES256, oldKey, func(h map[string]any) { h["kid"] = newKID }, nil)
		atkAssertInvalidToken(t, during.get(t, "Bearer "+forged))
	})
	t.Run("old_token_fails_once_the_old_key_is_removed", func(t *testing.T) {
		atkAssertInvalidToken(t, after.get(t, "Bearer "+oldToken))
	})
}

// TestKeyRotationHMAC proves a secret rotation: tokens signed with a secret
// now in PreviousSecrets still verify, new tokens are signed with the new
// secret, and once the old secret is dropped its tokens fail.
func TestKeyRotationHMAC(t *testing.T) {
	before := newAtkEnv(t, nil)
	store := before.auth.Store()
	oldToken := before.tokens.AccessToken

	during := &atkEnv{auth: newTestAuthOn(t, store, func(c *Config) {
		c.Secret = atkOtherSecret
		c.PreviousSecrets = []string{testSecret}
	})}
	during.srv = newTestServer(t, during.auth)
	after := &atkEnv{auth: newTestAuthOn(t, store, func(c *Config) { c.Secret = atkOtherSecret })}
	after.srv = newTestServer(t, after.auth)

	t.Run("old_token_verifies_while_the_old_secret_is_previous", func(t *testing.T) {
		atkRequireOK(t, during.get(t, "Bearer "+oldToken))
	})
	t.Run("new_tokens_use_the_new_secret", func(t *testing.T) {
		tokens := login(t, during.srv, "victim@example.com", atkPassword)
		_, err := jwt.Parse(tokens.AccessToken, func(*jwt.Token) (any, error) { return []byte(atkOtherSecret), nil },
			jwt.WithValidMethods([]string{"HS256"}))
		require.NoError(t, err)
		atkRequireOK(t, after.get(t, "Bearer "+tokens.AccessToken))
	})
	t.Run("old_secret_signature_under_the_new_kid_fails", func(t *testing.T) {
		forged := before.forge(t, func(h map[string]any) { h["kid"] = during.auth.keys.signingKID }, nil)
		atkAssertInvalidToken(t, during.get(t, "Bearer "+forged))
	})
	t.Run("old_token_fails_once_the_old_secret_is_removed", func(t *testing.T) {
		atkAssertInvalidToken(t, after.get(t, "Bearer "+oldToken))
	})
	t.Run("kid_does_not_reveal_the_secret", func(t *testing.T) {
		kid := before.auth.keys.signingKID
		assert.NotContains(t, kid, testSecret[:8])
		assert.NotEqual(t, kid, during.auth.keys.signingKID)
	})
}

// TestJWKSWithHMAC proves that HMAC secrets are never published: the JWKS
// route answers 404 with a secret, rotated secrets included.
func TestJWKSWithHMAC(t *testing.T) {
	a := newTestAuth(t, func(c *Config) { c.PreviousSecrets = []string{atkOtherSecret} })
	srv := newTestServer(t, a)
	res := atkGet(t, srv, "/auth/.well-known/jwks.json", "")
	assert.Equal(t, http.StatusNotFound, res.Status)
	assert.NotContains(t, string(res.Body), testSecret)
	assert.NotContains(t, string(res.Body), keysB64([]byte(testSecret)))
}

// TestJWKSCacheable proves that the JWKS of an asymmetric key can be cached
// by verifiers for a short while.
func TestJWKSCacheable(t *testing.T) {
	_, signer, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	srv := newTestServer(t, newTestAuth(t, func(c *Config) { c.SigningKey = signer }))
	res := atkGet(t, srv, "/auth/.well-known/jwks.json", "")
	require.Equal(t, http.StatusOK, res.Status)
	assert.Contains(t, res.Header.Get("Cache-Control"), "max-age=")
}

// keysOpaqueSigner is a crypto.Signer that is not one of the concrete key
// types, like a signer backed by a KMS or an HSM.
type keysOpaqueSigner struct{ inner crypto.Signer }

func (s keysOpaqueSigner) Public() crypto.PublicKey { return s.inner.Public() }
func (s keysOpaqueSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.inner.Sign(r, digest, opts)
}

// keysStrangeSigner has a public key of a type ginauth does not support.
type keysStrangeSigner struct{}

func (keysStrangeSigner) Public() crypto.PublicKey { return "not a key" }
func (keysStrangeSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, nil
}

// keysMismatchedSigner signs with one key and claims another as public.
type keysMismatchedSigner struct {
	crypto.Signer
	public crypto.PublicKey
}

func (s keysMismatchedSigner) Public() crypto.PublicKey { return s.public }

// TestKeyRefusedByNew proves that New refuses weak, unsupported or unusable
// keys and secrets with an error, instead of starting and failing later.
func TestKeyRefusedByNew(t *testing.T) {
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	p521, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	require.NoError(t, err)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	_, edOther, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)

	cases := map[string]func(*Config){
		"signing_key_RSA_1024":             func(c *Config) { c.SigningKey = rsa1024 },
		"signing_key_P384":                 func(c *Config) { c.SigningKey = p384 },
		"signing_key_P521":                 func(c *Config) { c.SigningKey = p521 },
		"signing_key_unsupported_type":     func(c *Config) { c.SigningKey = keysStrangeSigner{} },
		"signing_key_opaque_RSA_signer":    func(c *Config) { c.SigningKey = keysOpaqueSigner{atkRSAKey()} },
		"signing_key_public_half_mismatch": func(c *Config) { c.SigningKey = keysMismatchedSigner{edKey, edOther.Public()} },
		"previous_key_RSA_1024":            func(c *Config) { c.SigningKey, c.PreviousKeys = edKey, []crypto.PublicKey{&rsa1024.PublicKey} },
		"previous_key_P384":                func(c *Config) { c.SigningKey, c.PreviousKeys = edKey, []crypto.PublicKey{&p384.PublicKey} },
		"previous_key_RSA_by_value":        func(c *Config) { c.SigningKey, c.PreviousKeys = edKey, []crypto.PublicKey{atkRSAKey().PublicKey} },
		"previous_key_private_key":         func(c *Config) { c.SigningKey, c.PreviousKeys = edKey, []crypto.PublicKey{edOther} },
		"previous_key_HMAC_bytes":          func(c *Config) { c.SigningKey, c.PreviousKeys = edKey, []crypto.PublicKey{[]byte(testSecret)} },
		"secret_shorter_than_32_bytes":     func(c *Config) { c.Secret = "Zx8#kP2!qR7@mN4$" },
		"secret_placeholder":               func(c *Config) { c.Secret = "changeme-changeme-changeme-changeme" },
		"secret_of_one_repeated_character": func(c *Config) { c.Secret = strings.Repeat("a", 64) },
		"previous_secret_shorter_than_32":  func(c *Config) { c.PreviousSecrets = []string{"short-but-random-9$Q"} },
		"previous_secret_empty":            func(c *Config) { c.PreviousSecrets = []string{""} },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := Config{Secret: testSecret, Store: openTestStore(t, "sqlite"), Argon2: fastArgon2}
			edit(&cfg)
			a, err := New(cfg)
			require.Error(t, err)
			require.Nil(t, a)
			assert.True(t, strings.HasPrefix(err.Error(), "ginauth: "), "error says where it comes from: %v", err)
		})
	}
	t.Run("control_ed25519_is_accepted", func(t *testing.T) {
		_, err := New(Config{Secret: testSecret, Store: openTestStore(t, "sqlite"), Argon2: fastArgon2, SigningKey: edKey})
		require.NoError(t, err)
	})
}
