package ginauth

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	sealSecretOld = []byte("old-secret-0123456789-abcdefghijklmnopqrstuvwxyz")
	sealSecretNew = []byte("new-secret-0123456789-abcdefghijklmnopqrstuvwxyz")
)

func newTestSealer(t *testing.T, purpose string, secrets ...[]byte) *sealer {
	t.Helper()
	s, err := newSealer(secrets, purpose)
	require.NoError(t, err)
	return s
}

// TestSealRoundTrip proves a sealed value opens to the same bytes (empty
// and binary included), is base64url text that does not show the
// plaintext, and differs at every sealing (random nonce).
func TestSealRoundTrip(t *testing.T) {
	s := newTestSealer(t, "oauth-state", sealSecretNew)
	for _, plain := range [][]byte{nil, []byte("x"), []byte("github-access-token-abcdef"), {0, 1, 2, 255, '\n'}, []byte(strings.Repeat("long ", 1000))} {
		sealed := s.seal(plain, []byte("ad"))
		assert.Regexp(t, `^[A-Za-z0-9_-]+$`, sealed)
		if len(plain) > 3 {
			assert.NotContains(t, sealed, string(plain))
			assert.NotContains(t, sealed, base64.RawURLEncoding.EncodeToString(plain))
		}
		opened, err := s.open(sealed, []byte("ad"))
		require.NoError(t, err)
		assert.Equal(t, string(plain), string(opened))
	}
	a, b := s.seal([]byte("same"), nil), s.seal([]byte("same"), nil)
	assert.NotEqual(t, a, b)
}

// TestSealTamper proves any change to a sealed value makes it not open:
// each byte flipped, truncated, extended, re-encoded with padding or
// standard base64, empty, or not base64 at all.
func TestSealTamper(t *testing.T) {
	s := newTestSealer(t, "oauth-state", sealSecretNew)
	sealed := s.seal([]byte("the attempt!"), []byte("ad"))
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	require.NoError(t, err)
	require.NotZero(t, len(raw)%3, "the padded case below needs padding")

	for i := range raw {
		flipped := append([]byte(nil), raw...)
		flipped[i] ^= 0x01
		_, err := s.open(base64.RawURLEncoding.EncodeToString(flipped), []byte("ad"))
		require.ErrorIs(t, err, errUnsealed, "byte %d flipped", i)
	}
	for name, value := range map[string]string{
		"truncated by a byte": base64.RawURLEncoding.EncodeToString(raw[:len(raw)-1]),
		"only the nonce":      base64.RawURLEncoding.EncodeToString(raw[:12]),
		"extended":            base64.RawURLEncoding.EncodeToString(append(append([]byte(nil), raw...), 0)),
		"padded":              base64.URLEncoding.EncodeToString(raw),
		"standard alphabet":   strings.NewReplacer("-", "+", "_", "/").Replace(sealed) + "+/",
		"empty":               "",
		"not base64":          "not a sealed value!",
		"whitespace added":    sealed[:10] + " " + sealed[10:],
	} {
		t.Run(name, func(t *testing.T) {
			_, err := s.open(value, []byte("ad"))
			assert.ErrorIs(t, err, errUnsealed)
		})
	}
}

// TestSealWrongPurpose proves a value sealed for one purpose never opens
// for another, with the same secret.
func TestSealWrongPurpose(t *testing.T) {
	state := newTestSealer(t, "oauth-state", sealSecretNew)
	tokens := newTestSealer(t, "provider-tokens", sealSecretNew)
	sealed := state.seal([]byte("value"), []byte("ad"))
	_, err := tokens.open(sealed, []byte("ad"))
	assert.ErrorIs(t, err, errUnsealed)
	_, err = state.open(tokens.seal([]byte("value"), []byte("ad")), []byte("ad"))
	assert.ErrorIs(t, err, errUnsealed)
}

// TestSealWrongAdditionalData proves a value is bound to its additional
// data: it opens only with exactly the same bytes.
func TestSealWrongAdditionalData(t *testing.T) {
	s := newTestSealer(t, "provider-tokens", sealSecretNew)
	sealed := s.seal([]byte("token"), []byte("github\x001234"))
	for _, ad := range [][]byte{nil, []byte("github\x0012345"), []byte("github\x00123"), []byte("google\x001234"), []byte("github1234")} {
		_, err := s.open(sealed, ad)
		assert.ErrorIs(t, err, errUnsealed, "additional data %q", ad)
	}
	opened, err := s.open(sealed, []byte("github\x001234"))
	require.NoError(t, err)
	assert.Equal(t, "token", string(opened))
}

// TestSealRotation proves a rotation: the sealer seals with its first
// (new) secret and opens with every secret, so values sealed under a
// previous secret still open while new values need the new secret.
func TestSealRotation(t *testing.T) {
	old := newTestSealer(t, "oauth-state", sealSecretOld)
	rotated := newTestSealer(t, "oauth-state", sealSecretNew, sealSecretOld)
	fresh := newTestSealer(t, "oauth-state", sealSecretNew)

	opened, err := rotated.open(old.seal([]byte("before"), nil), nil)
	require.NoError(t, err, "a previous secret still opens")
	assert.Equal(t, "before", string(opened))

	sealed := rotated.seal([]byte("after"), nil)
	_, err = old.open(sealed, nil)
	assert.ErrorIs(t, err, errUnsealed, "new values are sealed with the new secret")
	opened, err = fresh.open(sealed, nil)
	require.NoError(t, err)
	assert.Equal(t, "after", string(opened))

	_, err = fresh.open(old.seal([]byte("before"), nil), nil)
	assert.ErrorIs(t, err, errUnsealed, "without the previous secret the old value is dead")
}

// TestSealNeedsASecret proves a sealer cannot be built without a key.
func TestSealNeedsASecret(t *testing.T) {
	_, err := newSealer(nil, "oauth-state")
	assert.Error(t, err)
}
