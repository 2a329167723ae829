package ginauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"

	"github.com/golang-jwt/jwt/v5"
)

// verificationKey is one key access tokens may be signed with.
type verificationKey struct {
	kid    string
	method jwt.SigningMethod
	key    any // []byte for HMAC, the public key otherwise
	jwk    map[string]string
}

// keySet holds the key new tokens are signed with and every key a token
// may be verified with, by kid. The algorithm of a token is the one its key
// was configured with; the token's own `alg` header only has to agree.
type keySet struct {
	signingKID    string
	signingMethod jwt.SigningMethod
	signingKey    any
	byKID         map[string]*verificationKey
	algorithms    []string
	jwks          []byte // nil with HMAC keys: they are never published
}

// newKeySet builds the key set: HS256 with secret (and previousSecrets)
// when signer is nil, otherwise the signer's algorithm plus previous public
// keys.
func newKeySet(secret []byte, previousSecrets [][]byte, signer crypto.Signer, previousKeys []crypto.PublicKey) (*keySet, error) {
	ks := &keySet{byKID: map[string]*verificationKey{}}
	add := func(vk *verificationKey) {
		ks.byKID[vk.kid] = vk
		for _, alg := range ks.algorithms {
			if alg == vk.method.Alg() {
				return
			}
		}
		ks.algorithms = append(ks.algorithms, vk.method.Alg())
	}
	if signer == nil {
		for i, s := range append([][]byte{secret}, previousSecrets...) {
			vk := &verificationKey{kid: hmacKID(s), method: jwt.SigningMethodHS256, key: s}
			if i == 0 {
				ks.signingKID, ks.signingMethod, ks.signingKey = vk.kid, vk.method, s
			}
			add(vk)
		}
		return ks, nil
	}
	signing, err := newPublicKey(signer.Public())
	if err != nil {
		return nil, err
	}
	// Sign and verify once now: a signer the JWT library cannot use (an
	// opaque KMS or HSM signer for RS256 or ES256) or whose Public() is not
	// its own key would otherwise fail every sign-in or every request.
	const probe = "ginauth signing key check"
	sig, err := signing.method.Sign(probe, signer)
	if err == nil {
		err = signing.method.Verify(probe, sig, signing.key)
	}
	if err != nil {
		return nil, fmt.Errorf("ginauth: SigningKey cannot sign access tokens; use an ed25519.PrivateKey, *ecdsa.PrivateKey or *rsa.PrivateKey: %w", err)
	}
	ks.signingKID, ks.signingMethod, ks.signingKey = signing.kid, signing.method, signer
	add(signing)
	jwks := []map[string]string{signing.jwk}
	for _, pub := range previousKeys {
		vk, err := newPublicKey(pub)
		if err != nil {
			return nil, err
		}
		add(vk)
		jwks = append(jwks, vk.jwk)
	}
	ks.jwks, err = json.Marshal(map[string]any{"keys": jwks})
	return ks, err
}

// hmacKID names an HMAC key without revealing anything about it.
func hmacKID(secret []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("ginauth access token key id"))
	return "hs-" + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:9])
}

// newPublicKey picks the algorithm for a public key and computes its JWK and
// its kid (the RFC 7638 thumbprint).
func newPublicKey(pub crypto.PublicKey) (*verificationKey, error) {
	b64 := base64.RawURLEncoding.EncodeToString
	vk := &verificationKey{key: pub}
	switch k := pub.(type) {
	case ed25519.PublicKey:
		vk.method = jwt.SigningMethodEdDSA
		vk.jwk = map[string]string{"kty": "OKP", "crv": "Ed25519", "x": b64(k)}
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, errors.New("ginauth: ECDSA signing keys must use P-256 (ES256)")
		}
		ecdh, err := k.ECDH()
		if err != nil {
			return nil, fmt.Errorf("ginauth: invalid ECDSA key: %w", err)
		}
		raw := ecdh.Bytes() // 0x04 || X || Y, each 32 bytes
		vk.method = jwt.SigningMethodES256
		vk.jwk = map[string]string{"kty": "EC", "crv": "P-256", "x": b64(raw[1:33]), "y": b64(raw[33:])}
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return nil, errors.New("ginauth: RSA signing keys must have at least 2048 bits")
		}
		vk.method = jwt.SigningMethodRS256
		vk.jwk = map[string]string{"kty": "RSA", "n": b64(k.N.Bytes()), "e": b64(big.NewInt(int64(k.E)).Bytes())}
	default:
		return nil, fmt.Errorf("ginauth: unsupported signing key type %T; use ed25519, ECDSA P-256 or RSA", pub)
	}
	thumbprint, err := json.Marshal(vk.jwk) // encoding/json sorts map keys, as RFC 7638 requires
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(thumbprint)
	vk.kid = b64(sum[:])
	vk.jwk["kid"] = vk.kid
	vk.jwk["alg"] = vk.method.Alg()
	vk.jwk["use"] = "sig"
	return vk, nil
}

// deriveKey derives a key for one purpose from the secret (HKDF-SHA256), so
// that no two uses of the secret share a key.
func deriveKey(secret []byte, purpose string) []byte {
	key, err := hkdf.Key(sha256.New, secret, nil, "ginauth/"+purpose, 32)
	if err != nil {
		panic(err) // hkdf fails only for lengths it cannot produce; 32 always works
	}
	return key
}
