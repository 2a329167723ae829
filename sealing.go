package ginauth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
)

// errUnsealed means a sealed value did not open: tampered, truncated, made
// with another key, or for another purpose.
var errUnsealed = errors.New("ginauth: sealed value does not open")

// sealer encrypts and authenticates small values (AES-256-GCM) with keys
// derived from the secret for one purpose. Values sealed for one purpose
// never open for another. The previous secrets' keys still open values
// during a rotation.
type sealer struct {
	aeads []cipher.AEAD // [0] seals; all open
}

func newSealer(secrets [][]byte, purpose string) (*sealer, error) {
	s := &sealer{}
	for _, secret := range secrets {
		block, err := aes.NewCipher(deriveKey(secret, purpose))
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		s.aeads = append(s.aeads, aead)
	}
	if len(s.aeads) == 0 {
		return nil, errors.New("ginauth: a sealer needs a secret")
	}
	return s, nil
}

// seal encrypts plaintext, binding it to additionalData, and returns
// base64url text.
func (s *sealer) seal(plaintext, additionalData []byte) string {
	aead := s.aeads[0]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plaintext, additionalData))
}

// open reverses seal; any failure is errUnsealed.
func (s *sealer) open(sealed string, additionalData []byte) ([]byte, error) {
	raw, err := base64.RawURLEncoding.Strict().DecodeString(sealed)
	if err != nil {
		return nil, errUnsealed
	}
	for _, aead := range s.aeads {
		if len(raw) < aead.NonceSize()+aead.Overhead() {
			return nil, errUnsealed
		}
		plaintext, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], additionalData)
		if err == nil {
			return plaintext, nil
		}
	}
	return nil, errUnsealed
}
