package ginauth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// pwNewHasher builds a password hasher for the tests.
func pwNewHasher(t testing.TB, params Argon2Params, maxConcurrent int) *passwordHasher {
	t.Helper()
	h, err := newPasswordHasher(params, maxConcurrent)
	require.NoError(t, err)
	return h
}

// pwBcrypt returns a cheap bcrypt hash of password with the given
// version prefix ("2a", "2b" or "2y").
func pwBcrypt(t testing.TB, password, version string) string {
	t.Helper()
	raw, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	require.NoError(t, err)
	hash := string(raw)
	require.True(t, strings.HasPrefix(hash, "$2a$"), hash)
	return "$" + version + "$" + strings.TrimPrefix(hash, "$2a$")
}

// pwStoredHash reads a user's password hash back from the store.
func pwStoredHash(t testing.TB, a *Auth, user *User) string {
	t.Helper()
	u, err := a.Store().UserByID(context.Background(), user.ID)
	require.NoError(t, err)
	return u.HashedPassword
}

// pwPHC matches the PHC string of an argon2id hash with a 16-byte salt and a
// 32-byte key.
func pwPHC(params string) *regexp.Regexp {
	return regexp.MustCompile(`^\$argon2id\$v=19\$` + regexp.QuoteMeta(params) + `\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
}

// TestPasswordDefaultArgon2Params proves that the default costs are OWASP's
// first argon2id recommendation (m=19456 KiB, t=2, p=1), that New uses them
// when Config.Argon2 is zero, and that a hash made with them is a PHC string
// that x/crypto's argon2.IDKey reproduces from its own salt: the format is
// real argon2id, readable by any other implementation.
func TestPasswordDefaultArgon2Params(t *testing.T) {
	ctx := context.Background()
	assert.Equal(t, Argon2Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}, DefaultArgon2Params)

	a := newTestAuth(t, func(c *Config) { c.Argon2 = Argon2Params{} })
	assert.Equal(t, DefaultArgon2Params, a.Config().Argon2)
	assert.Equal(t, DefaultArgon2Params, a.hasher.params)

	const password = "correct horse battery staple"
	hash, err := a.hasher.Hash(ctx, password)
	require.NoError(t, err)
	require.Regexp(t, pwPHC("m=19456,t=2,p=1"), hash)

	parts := strings.Split(hash, "$")
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	require.NoError(t, err)
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	require.NoError(t, err)
	assert.Equal(t, argon2.IDKey([]byte(password), salt, 2, 19456, 1, 32), key)

	again, err := a.hasher.Hash(ctx, password)
	require.NoError(t, err)
	assert.NotEqual(t, hash, again, "every hash has its own salt")

	ok, needsRehash, err := a.hasher.Verify(ctx, password, hash)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.False(t, needsRehash, "a hash with the current costs is kept")
}

// TestPasswordVerify proves that Verify accepts exactly the password that
// was hashed and nothing close to it.
func TestPasswordVerify(t *testing.T) {
	ctx := context.Background()
	h := pwNewHasher(t, fastArgon2, 2)
	const password = "Tr0ub4dor&3 ünïcødé"
	hash, err := h.Hash(ctx, password)
	require.NoError(t, err)
	require.Regexp(t, pwPHC("m=8192,t=1,p=1"), hash)

	tests := []struct {
		name     string
		password string
		want     bool
	}{
		{"correct", password, true},
		{"wrong", "something else entirely", false},
		{"empty", "", false},
		{"other case", strings.ToUpper(password), false},
		{"prefix", password[:len(password)-1], false},
		{"trailing space", password + " ", false},
		{"NFD form", strings.Replace(password, "ü", "u\u0308", 1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ok, needsRehash, err := h.Verify(ctx, tt.password, hash)
			require.NoError(t, err)
			assert.Equal(t, tt.want, ok)
			assert.False(t, needsRehash)
		})
	}
}

// TestPasswordBcryptVerified proves that $2a$, $2b$ and $2y$ bcrypt hashes
// are verified, and always flagged for an upgrade to argon2id.
func TestPasswordBcryptVerified(t *testing.T) {
	ctx := context.Background()
	h := pwNewHasher(t, fastArgon2, 2)
	for _, version := range []string{"2a", "2b", "2y"} {
		t.Run(version, func(t *testing.T) {
			hash := pwBcrypt(t, "legacy password", version)
			ok, needsRehash, err := h.Verify(ctx, "legacy password", hash)
			require.NoError(t, err)
			assert.True(t, ok)
			assert.True(t, needsRehash)

			ok, _, err = h.Verify(ctx, "legacy passwore", hash)
			require.NoError(t, err)
			assert.False(t, ok)
		})
	}
}

// TestPasswordBcryptLongPassword proves that there is no silent bcrypt
// truncation: bcrypt reads only 72 bytes, and x/crypto's
// CompareHashAndPassword ignores the rest, so a password longer than 72
// bytes whose first 72 bytes match would otherwise be accepted. It must be a
// plain mismatch: no error, ErrBadCredentials on login, 400 on the wire (not
// 500), and the stored hash is left alone.
func TestPasswordBcryptLongPassword(t *testing.T) {
	ctx := context.Background()
	first72 := strings.Repeat("0123456789ab", 6)
	require.Len(t, first72, 72)
	long := first72 + "-anything after byte 72"
	hash := pwBcrypt(t, first72, "2b")

	t.Run("Verify", func(t *testing.T) {
		h := pwNewHasher(t, fastArgon2, 2)
		ok, _, err := h.Verify(ctx, first72, hash)
		require.NoError(t, err)
		require.True(t, ok, "exactly 72 bytes is fine")

		ok, _, err = h.Verify(ctx, long, hash)
		require.NoError(t, err)
		assert.False(t, ok, "bytes past 72 must not be ignored")
	})

	t.Run("login", func(t *testing.T) {
		a := newTestAuth(t, nil)
		srv := newTestServer(t, a)
		user, err := a.CreateUser(ctx, NewUser{Email: "long@example.com", Password: "placeholder password"})
		require.NoError(t, err)
		require.NoError(t, a.Store().UpdateUser(ctx, user.ID, UserChanges{HashedPassword: &hash}))

		_, err = a.Authenticate(ctx, "long@example.com", long)
		require.ErrorIs(t, err, ErrBadCredentials)
		res := do(t, srv, http.MethodPost, "/auth/login", map[string]string{"email": "long@example.com", "password": long}, "")
		require.Equal(t, http.StatusBadRequest, res.Status, "%s", res.Body)
		assert.Equal(t, string(CodeLoginBadCredentials), res.Detail(t))
		assert.Equal(t, hash, pwStoredHash(t, a, user), "a refused login upgrades nothing")
	})
}

// TestPasswordBcryptUpgradedOnLogin proves that a successful login against
// a bcrypt hash ($2a$, $2b$, $2y$), through Login or Authenticate, replaces
// the stored hash with an argon2id hash of the current costs that verifies
// the same password, and that the next login keeps it.
func TestPasswordBcryptUpgradedOnLogin(t *testing.T) {
	ctx := context.Background()
	a := newTestAuth(t, nil)
	const password = "legacy password"
	for _, version := range []string{"2a", "2b", "2y"} {
		for _, via := range []string{"Login", "Authenticate"} {
			t.Run(version+" "+via, func(t *testing.T) {
				email := fmt.Sprintf("bcrypt-%s-%s@example.com", version, strings.ToLower(via))
				user, err := a.CreateUser(ctx, NewUser{Email: email, Password: "placeholder password"})
				require.NoError(t, err)
				hash := pwBcrypt(t, password, version)
				require.NoError(t, a.Store().UpdateUser(ctx, user.ID, UserChanges{HashedPassword: &hash}))

				if via == "Login" {
					_, got, err := a.Login(ctx, email, password, ClientInfo{})
					require.NoError(t, err)
					assert.Regexp(t, pwPHC("m=8192,t=1,p=1"), got.HashedPassword)
				} else {
					_, err := a.Authenticate(ctx, email, password)
					require.NoError(t, err)
				}
				upgraded := pwStoredHash(t, a, user)
				require.Regexp(t, pwPHC("m=8192,t=1,p=1"), upgraded)
				ok, needsRehash, err := a.hasher.Verify(ctx, password, upgraded)
				require.NoError(t, err)
				assert.True(t, ok)
				assert.False(t, needsRehash)

				_, err = a.Authenticate(ctx, email, password)
				require.NoError(t, err)
				assert.Equal(t, upgraded, pwStoredHash(t, a, user), "a current hash is not rewritten")
			})
		}
	}
}

// TestPasswordArgon2OtherParamsUpgraded proves that an argon2id hash made
// with other costs (memory, passes, lanes, key length, or the OWASP defaults
// under a cheaper configuration) verifies, is flagged needsRehash, and is
// replaced by one with the configured costs on login.
func TestPasswordArgon2OtherParamsUpgraded(t *testing.T) {
	ctx := context.Background()
	a := newTestAuth(t, nil) // configured with fastArgon2: m=8192,t=1,p=1, 32-byte key
	const password = "rehash me please"
	variants := map[string]Argon2Params{
		"more memory":    {MemoryKiB: 9 * 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32},
		"more passes":    {MemoryKiB: 8 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32},
		"more lanes":     {MemoryKiB: 8 * 1024, Iterations: 1, Parallelism: 2, SaltLength: 16, KeyLength: 32},
		"shorter key":    {MemoryKiB: 8 * 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 16},
		"OWASP defaults": DefaultArgon2Params,
	}
	for name, params := range variants {
		t.Run(name, func(t *testing.T) {
			old, err := pwNewHasher(t, params, 1).Hash(ctx, password)
			require.NoError(t, err)
			ok, needsRehash, err := a.hasher.Verify(ctx, password, old)
			require.NoError(t, err)
			require.True(t, ok)
			require.True(t, needsRehash)

			email := "argon-" + strings.ReplaceAll(name, " ", "-") + "@example.com"
			user, err := a.CreateUser(ctx, NewUser{Email: email, Password: "placeholder password"})
			require.NoError(t, err)
			require.NoError(t, a.Store().UpdateUser(ctx, user.ID, UserChanges{HashedPassword: &old}))
			_, err = a.Authenticate(ctx, email, password)
			require.NoError(t, err)
			upgraded := pwStoredHash(t, a, user)
			assert.NotEqual(t, old, upgraded)
			assert.Regexp(t, pwPHC("m=8192,t=1,p=1"), upgraded)
		})
	}
}

// pwMalformedHashes are stored hashes that must never match anything.
func pwMalformedHashes(t testing.TB) map[string]string {
	t.Helper()
	h := pwNewHasher(t, fastArgon2, 1)
	good, err := h.Hash(context.Background(), "password")
	require.NoError(t, err)
	parts := strings.Split(good, "$") // "", "argon2id", "v=19", "m=..,t=..,p=..", salt, key
	with := func(i int, v string) string {
		p := append([]string{}, parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	bc := pwBcrypt(t, "password", "2a")
	return map[string]string{
		"empty":                  "",
		"plain text":             "password",
		"unknown scheme":         "$argon2i$v=19$m=8192,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5",
		"md5 crypt":              "$1$saltsalt$2vK3bQ7Nd9P0kDTfHXCAt.",
		"argon2id prefix only":   "$argon2id$",
		"argon2id too few parts": strings.Join(parts[:5], "$"),
		"argon2id extra part":    good + "$x",
		"argon2id version 16":    with(2, "v=16"),
		"argon2id no version":    with(2, "19"),
		"argon2id no params":     with(3, ""),
		"argon2id zero passes":   with(3, "m=8192,t=0,p=1"),
		"argon2id zero lanes":    with(3, "m=8192,t=1,p=0"),
		"argon2id 256 lanes":     with(3, "m=8192,t=1,p=256"),
		"argon2id negative mem":  with(3, "m=-1,t=1,p=1"),
		"argon2id huge memory":   with(3, "m=4294967295,t=1,p=1"),
		"argon2id many passes":   with(3, "m=8192,t=4294967295,p=1"),
		"argon2id bad salt":      with(4, "!!!"),
		"argon2id padded salt":   with(4, parts[4]+"=="),
		"argon2id empty key":     with(5, ""),
		"argon2id bad key":       with(5, "@@@@"),
		"argon2id wrong key":     with(5, base64.RawStdEncoding.EncodeToString(make([]byte, 32))),
		"bcrypt prefix only":     "$2a$",
		"bcrypt truncated":       bc[:20],
		"bcrypt cost 3":          "$2a$03$" + bc[7:],
		"bcrypt cost 32":         "$2a$32$" + bc[7:],
		"bcrypt cost not digits": "$2a$xx$" + bc[7:],
		"bcrypt bad salt":        bc[:7] + strings.Repeat("!", 22) + bc[29:],
		"bcrypt wrong hash":      bc[:29] + strings.Repeat("a", 31),
	}
}

// TestPasswordMalformedHashes proves that a malformed or unknown stored
// hash never matches, never panics (a hash with t=0 used to reach
// argon2.IDKey, which panics), and still costs exactly one hash
// computation, like a real verification.
func TestPasswordMalformedHashes(t *testing.T) {
	ctx := context.Background()
	h := pwNewHasher(t, fastArgon2, 1)
	for name, hash := range pwMalformedHashes(t) {
		t.Run(name, func(t *testing.T) {
			before := h.computations.Load()
			var ok bool
			require.NotPanics(t, func() { ok, _, _ = h.Verify(ctx, "password", hash) })
			assert.False(t, ok)
			assert.EqualValues(t, 1, h.computations.Load()-before, "one computation, whatever the hash")
		})
	}
}

// TestPasswordMalformedStoredHashLogin proves that a user whose stored hash
// is unreadable gets the ordinary ErrBadCredentials (400 on the wire), not
// an error or a 500.
func TestPasswordMalformedStoredHashLogin(t *testing.T) {
	ctx := context.Background()
	a := newTestAuth(t, nil)
	srv := newTestServer(t, a)
	user, err := a.CreateUser(ctx, NewUser{Email: "corrupt@example.com", Password: "placeholder password"})
	require.NoError(t, err)
	for name, hash := range pwMalformedHashes(t) {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, a.Store().UpdateUser(ctx, user.ID, UserChanges{HashedPassword: &hash}))
			_, err := a.Authenticate(ctx, "corrupt@example.com", "password")
			require.ErrorIs(t, err, ErrBadCredentials)
			res := do(t, srv, http.MethodPost, "/auth/login", map[string]string{"email": "corrupt@example.com", "password": "password"}, "")
			assert.Equal(t, http.StatusBadRequest, res.Status, "%s", res.Body)
		})
	}
}

// TestPasswordPolicy proves the built-in rules (at least 8 and at most
// MaxPasswordLength characters, counted in runes; valid UTF-8; no NUL) and
// the ValidatePassword hook: its plain error's text becomes the reason, a
// *PasswordError (even wrapped) is kept as is, and it is not consulted when
// a built-in rule already refused.
func TestPasswordPolicy(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		password string
		hook     func(ctx context.Context, password string, user *User) error
		reason   string // "" when accepted
	}{
		{"7 characters", "1234567", nil, "Password should be at least 8 characters."},
		{"8 characters", "12345678", nil, ""},
		{"7 two-byte runes", strings.Repeat("é", 7), nil, "Password should be at least 8 characters."},
		{"8 two-byte runes", strings.Repeat("é", 8), nil, ""},
		{"MaxPasswordLength characters", strings.Repeat("x", MaxPasswordLength), nil, ""},
		{"MaxPasswordLength four-byte runes", strings.Repeat("😀", MaxPasswordLength), nil, ""},
		{"one more character", strings.Repeat("x", MaxPasswordLength+1), nil, "Password should be at most 256 characters."},
		{"a megabyte", strings.Repeat("x", 1<<20), nil, "Password should be at most 256 characters."},
		{"invalid UTF-8", "abcdefgh\xff", nil, "Password must be valid UTF-8."},
		{"NUL", "abcd\x00efgh", nil, "Password must not contain NUL characters."},
		{"hook plain error", "long enough", func(context.Context, string, *User) error {
			return errors.New("Password must not contain the word enough.")
		}, "Password must not contain the word enough."},
		{"hook PasswordError", "long enough", func(context.Context, string, *User) error {
			return &PasswordError{Reason: "Too common."}
		}, "Too common."},
		{"hook wrapped PasswordError", "long enough", func(context.Context, string, *User) error {
			return fmt.Errorf("checking: %w", &PasswordError{Reason: "Found in a breach."})
		}, "Found in a breach."},
		{"hook accepts", "long enough", func(context.Context, string, *User) error { return nil }, ""},
		{"hook not reached when too short", "short", func(context.Context, string, *User) error {
			panic("the hook must not run")
		}, "Password should be at least 8 characters."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkPasswordPolicy(ctx, tt.password, nil, tt.hook)
			if tt.reason == "" {
				require.NoError(t, err)
				return
			}
			var pwErr *PasswordError
			require.ErrorAs(t, err, &pwErr)
			assert.Equal(t, tt.reason, pwErr.Reason)
		})
	}

	t.Run("the hook sees the user", func(t *testing.T) {
		user := &User{Email: "seen@example.com"}
		var seen *User
		err := checkPasswordPolicy(ctx, "long enough", user, func(_ context.Context, _ string, u *User) error {
			seen = u
			return nil
		})
		require.NoError(t, err)
		assert.Same(t, user, seen)
	})
}

// TestPasswordPolicyBeforeHashing proves, through CreateUser and POST
// /auth/register, that a refused password is a *PasswordError with its
// reason (the 400 REGISTER_INVALID_PASSWORD body) and that no hash is
// computed for it: an over-long password costs nothing.
func TestPasswordPolicyBeforeHashing(t *testing.T) {
	ctx := context.Background()
	a := newTestAuth(t, func(c *Config) {
		c.Hooks.ValidatePassword = func(_ context.Context, password string, _ *User) error {
			if strings.Contains(password, "ginauth") {
				return errors.New("Password must not contain the site name.")
			}
			return nil
		}
	})
	srv := newTestServer(t, a)
	tests := map[string]struct{ password, reason string }{
		"too short":  {"short", "Password should be at least 8 characters."},
		"too long":   {strings.Repeat("p", MaxPasswordLength+1), "Password should be at most 256 characters."},
		"huge":       {strings.Repeat("p", 60_000), "Password should be at most 256 characters."},
		"app's rule": {"my ginauth password", "Password must not contain the site name."},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			before := a.hasher.computations.Load()
			_, err := a.CreateUser(ctx, NewUser{Email: "policy@example.com", Password: tt.password})
			var pwErr *PasswordError
			require.ErrorAs(t, err, &pwErr)
			assert.Equal(t, tt.reason, pwErr.Reason)
			assert.Zero(t, a.hasher.computations.Load()-before, "no hashing for a refused password")

			res := do(t, srv, http.MethodPost, "/auth/register", map[string]string{"email": "policy@example.com", "password": tt.password}, "")
			require.Equal(t, http.StatusBadRequest, res.Status, "%s", res.Body)
			detail, _ := res.JSON(t)["detail"].(map[string]any)
			assert.Equal(t, map[string]any{"code": string(CodeRegisterInvalidPassword), "reason": tt.reason}, detail)
		})
	}
}

// TestHashConcurrencyBound proves that MaxConcurrentHashes bounds hashing:
// with one slot taken, Hash, Verify and VerifyDummy wait for it without
// computing anything, give up with the context's error when it ends, and
// proceed once the slot is released. No timing is measured: a wait is shown
// by the call returning the context's error instead of a hash.
func TestHashConcurrencyBound(t *testing.T) {
	a := newTestAuth(t, func(c *Config) { c.MaxConcurrentHashes = 1 })
	h := a.hasher
	require.Equal(t, 1, cap(h.slots))
	hash, err := h.Hash(context.Background(), "password")
	require.NoError(t, err)

	h.slots <- struct{}{} // another hash holds the only slot
	released := false
	release := func() {
		if !released {
			released = true
			<-h.slots
		}
	}
	t.Cleanup(release)
	before := h.computations.Load()

	t.Run("a cancelled context gives up at once", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := h.Hash(ctx, "password")
		assert.ErrorIs(t, err, context.Canceled)
		_, _, err = h.Verify(ctx, "password", hash)
		assert.ErrorIs(t, err, context.Canceled)
		assert.ErrorIs(t, h.VerifyDummy(ctx, "password"), context.Canceled)
	})

	t.Run("a waiting hash ends with its context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := h.Hash(ctx, "password")
			done <- err
		}()
		select {
		case err := <-done:
			t.Fatalf("Hash returned %v while the only slot was taken", err)
		default:
		}
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled)
	})
	assert.Equal(t, before, h.computations.Load(), "nothing was computed while the slot was taken")

	t.Run("a waiting hash proceeds once the slot is free", func(t *testing.T) {
		done := make(chan error, 1)
		var got string
		go func() {
			var err error
			got, err = h.Hash(context.Background(), "password")
			done <- err
		}()
		release()
		require.NoError(t, <-done)
		ok, _, err := h.Verify(context.Background(), "password", got)
		require.NoError(t, err)
		assert.True(t, ok)
	})
}

// TestHashDefaultConcurrency proves the default bound of 2 × GOMAXPROCS.
func TestHashDefaultConcurrency(t *testing.T) {
	a := newTestAuth(t, nil)
	assert.Equal(t, a.Config().MaxConcurrentHashes, cap(a.hasher.slots))
	assert.Positive(t, cap(a.hasher.slots))
}

// pwFuzzTooCostly reports whether Verify on hash would run a legitimately
// expensive computation (large argon2 memory or passes, high bcrypt cost):
// valid, but too slow for a fuzz iteration.
func pwFuzzTooCostly(hash string) bool {
	if strings.HasPrefix(hash, "$2") && len(hash) >= 6 {
		cost, err := strconv.Atoi(hash[4:6])
		return err == nil && cost > 6
	}
	parts := strings.Split(hash, "$")
	if len(parts) != 6 {
		return false
	}
	var m, tm uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &tm, &p); err != nil {
		return false
	}
	return m > 64*1024 || tm > 4 || p > 8 || len(parts[5]) > 1024
}

// FuzzVerifyPasswordHash proves that Verify never panics and never matches
// on arbitrary stored hash strings: whatever a corrupted or hostile row
// holds, a login fails cleanly. The seed corpus (testdata/fuzz) holds real
// argon2id and bcrypt hashes and the malformed shapes of
// TestPasswordMalformedHashes.
func FuzzVerifyPasswordHash(f *testing.F) {
	h := pwNewHasher(f, fastArgon2, 2)
	for _, hash := range pwMalformedHashes(f) {
		f.Add(hash, "password")
	}
	f.Fuzz(func(t *testing.T, hash, password string) {
		if pwFuzzTooCostly(hash) {
			t.Skip("valid but expensive cost parameters")
		}
		ok, _, err := h.Verify(context.Background(), password, hash)
		if err != nil {
			assert.False(t, ok, "an error never comes with a match")
		}
		if ok {
			// Only a real hash of this password may match; recheck it.
			again, _, err := h.Verify(context.Background(), password+"x", hash)
			require.NoError(t, err)
			assert.False(t, again, "hash %q matches two passwords", hash)
		}
	})
}
