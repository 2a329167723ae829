package ginauth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// Argon2Params are the argon2id cost parameters. DefaultArgon2Params are
// OWASP's first recommendation (19 MiB, 2 passes, 1 lane).
type Argon2Params struct {
	MemoryKiB   uint32
	Iterations  uint32
	Parallelism uint8
	SaltLength  int
	KeyLength   uint32
}

// DefaultArgon2Params follow the OWASP Password Storage Cheat Sheet.
var DefaultArgon2Params = Argon2Params{MemoryKiB: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// Password length bounds of the default policy, in characters.
const (
	MinPasswordLength = 8
	MaxPasswordLength = 256
)

// passwordHasher hashes and verifies passwords with a bound on how many
// hash computations run at once, so that a burst of logins cannot take all
// memory (each argon2id call holds MemoryKiB).
type passwordHasher struct {
	params    Argon2Params
	slots     chan struct{}
	dummyHash string // verified for unknown users, so they cost the same time
	// computations counts the argon2id and bcrypt computations done, so
	// tests can prove that every login outcome costs the same work.
	computations atomic.Int64
}

func newPasswordHasher(params Argon2Params, maxConcurrent int) (*passwordHasher, error) {
	h := &passwordHasher{params: params, slots: make(chan struct{}, maxConcurrent)}
	dummy := make([]byte, 32)
	if _, err := rand.Read(dummy); err != nil {
		return nil, err
	}
	hash, err := h.Hash(context.Background(), base64.RawStdEncoding.EncodeToString(dummy))
	if err != nil {
		return nil, err
	}
	h.dummyHash = hash
	return h, nil
}

// acquire waits for a hashing slot or for the context to end.
func (h *passwordHasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *passwordHasher) release() { <-h.slots }

// Hash returns the PHC-format argon2id hash of a password.
func (h *passwordHasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLength)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	p := h.params
	h.computations.Add(1)
	key := argon2.IDKey([]byte(password), salt, p.Iterations, p.MemoryKiB, p.Parallelism, p.KeyLength)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Iterations, p.Parallelism,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key)), nil
}

// Verify checks a password against an argon2id or bcrypt hash. needsRehash
// is true when the hash should be replaced by one with the current
// parameters (a bcrypt hash, or argon2id with other costs). An empty,
// unknown or malformed hash never matches, but still costs one hash
// computation; a malformed argon2id or bcrypt hash is also an error.
func (h *passwordHasher) Verify(ctx context.Context, password, hash string) (ok, needsRehash bool, err error) {
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	switch {
	case strings.HasPrefix(hash, "$argon2id$"):
		ok, needsRehash, err = h.verifyArgon2(password, hash)
		if err != nil {
			_, _, _ = h.verifyArgon2(password, h.dummyHash) // unreadable: same cost as a real check
		}
		return ok, needsRehash, err
	case strings.HasPrefix(hash, "$2a$"), strings.HasPrefix(hash, "$2b$"), strings.HasPrefix(hash, "$2y$"):
		err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(password))
		if err != nil && !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			// Malformed: x/crypto refused it before any work.
			_, _, _ = h.verifyArgon2(password, h.dummyHash)
			return false, false, fmt.Errorf("ginauth: malformed bcrypt hash: %w", err)
		}
		h.computations.Add(1)
		// bcrypt reads only the first 72 bytes and x/crypto's Compare
		// silently ignores the rest (only GenerateFromPassword refuses
		// them): a longer password is a mismatch, never a truncated match.
		return err == nil && len(password) <= 72, true, nil
	default:
		_, _, _ = h.verifyArgon2(password, h.dummyHash)
		return false, false, nil
	}
}

// VerifyDummy spends the time of one verification, for unknown users.
func (h *passwordHasher) VerifyDummy(ctx context.Context, password string) error {
	_, _, err := h.Verify(ctx, password, h.dummyHash)
	return err
}

func (h *passwordHasher) verifyArgon2(password, encoded string) (ok, needsRehash bool, err error) {
	var p Argon2Params
	var version int
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 {
		return false, false, errors.New("ginauth: malformed argon2id hash")
	}
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false, false, errors.New("ginauth: unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.MemoryKiB, &p.Iterations, &p.Parallelism); err != nil {
		return false, false, errors.New("ginauth: malformed argon2id parameters")
	}
	salt, err := base64.RawStdEncoding.Strict().DecodeString(parts[4])
	if err != nil {
		return false, false, errors.New("ginauth: malformed argon2id salt")
	}
	want, err := base64.RawStdEncoding.Strict().DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, false, errors.New("ginauth: malformed argon2id key")
	}
	// argon2.IDKey panics on zero passes or lanes.
	if p.MemoryKiB > 1<<21 || p.Iterations == 0 || p.Iterations > 100 || p.Parallelism == 0 {
		return false, false, errors.New("ginauth: argon2id parameters out of range")
	}
	h.computations.Add(1)
	got := argon2.IDKey([]byte(password), salt, p.Iterations, p.MemoryKiB, p.Parallelism, uint32(len(want)))
	ok = subtle.ConstantTimeCompare(got, want) == 1
	cur := h.params
	needsRehash = p.MemoryKiB != cur.MemoryKiB || p.Iterations != cur.Iterations || p.Parallelism != cur.Parallelism ||
		uint32(len(want)) != cur.KeyLength
	return ok, needsRehash, nil
}

// checkPasswordPolicy applies the built-in rules (length, in characters,
// checked before any hashing) and then the app's ValidatePassword hook.
func checkPasswordPolicy(ctx context.Context, password string, user *User, hook func(ctx context.Context, password string, user *User) error) error {
	if !utf8.ValidString(password) {
		return &PasswordError{Reason: "Password must be valid UTF-8."}
	}
	n := utf8.RuneCountInString(password)
	if n < MinPasswordLength {
		return &PasswordError{Reason: fmt.Sprintf("Password should be at least %d characters.", MinPasswordLength)}
	}
	if n > MaxPasswordLength || len(password) > 4*MaxPasswordLength {
		return &PasswordError{Reason: fmt.Sprintf("Password should be at most %d characters.", MaxPasswordLength)}
	}
	if strings.ContainsRune(password, 0) {
		return &PasswordError{Reason: "Password must not contain NUL characters."}
	}
	if hook != nil {
		if err := hook(ctx, password, user); err != nil {
			var pwErr *PasswordError
			if errors.As(err, &pwErr) {
				return pwErr
			}
			return &PasswordError{Reason: err.Error()}
		}
	}
	return nil
}
