package ginauth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// acctPassword is the password of every user the account tests create.
const acctPassword = "correct horse battery staple"

// acctFixture is an Auth with one user of each kind the login tests need.
type acctFixture struct {
	auth  *Auth
	store *GormStore
}

// newAcctFixture creates active, inactive, unverified and password-less
// users; edit adjusts the Config.
func newAcctFixture(t testing.TB, edit func(*Config)) acctFixture {
	t.Helper()
	ctx := context.Background()
	store := openTestStore(t, "sqlite")
	a := newTestAuthOn(t, store, edit)
	for _, nu := range []NewUser{
		{Email: "active@example.com", Password: acctPassword, IsVerified: true},
		{Email: "inactive@example.com", Password: acctPassword, IsVerified: true, Inactive: true},
		{Email: "unverified@example.com", Password: acctPassword},
		{Email: "inactive-unverified@example.com", Password: acctPassword, Inactive: true},
		{Email: "oauth-only@example.com", Password: acctPassword, IsVerified: true},
	} {
		_, err := a.CreateUser(ctx, nu)
		require.NoError(t, err)
	}
	// A user who signs in only through a provider has no password hash.
	require.NoError(t, store.DB().Model(&User{}).Where("email = ?", "oauth-only@example.com").Update("hashed_password", "").Error)
	return acctFixture{auth: a, store: store}
}

// TestCreateUserCanonicalEmail proves that CreateUser stores the canonical
// (trimmed, lower-cased) email, and that the user is found by it.
func TestCreateUserCanonicalEmail(t *testing.T) {
	ctx := context.Background()
	a := newTestAuth(t, nil)
	user, err := a.CreateUser(ctx, NewUser{Email: "  Alice.Smith@Example.COM \t", Password: acctPassword})
	require.NoError(t, err)
	assert.Equal(t, "alice.smith@example.com", user.Email)

	stored, err := a.Store().UserByEmail(ctx, "alice.smith@example.com")
	require.NoError(t, err)
	assert.Equal(t, user.ID, stored.ID)
	assert.Equal(t, "alice.smith@example.com", stored.Email)
}

// TestCreateUserDuplicate proves that an email taken in any spelling of
// the same canonical form is ErrUserAlreadyExists, also when registrations
// race (the store's unique index decides: exactly one wins).
func TestCreateUserDuplicate(t *testing.T) {
	ctx := context.Background()
	a := newTestAuth(t, nil)
	_, err := a.CreateUser(ctx, NewUser{Email: "taken@example.com", Password: acctPassword})
	require.NoError(t, err)
	for _, email := range []string{"taken@example.com", "TAKEN@example.com", " Taken@Example.Com "} {
		t.Run(email, func(t *testing.T) {
			_, err := a.CreateUser(ctx, NewUser{Email: email, Password: "another password"})
			require.ErrorIs(t, err, ErrUserAlreadyExists)
		})
	}

	t.Run("concurrent registrations", func(t *testing.T) {
		const n = 6
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = a.CreateUser(ctx, NewUser{Email: "race@example.com", Password: acctPassword})
			}()
		}
		close(start)
		wg.Wait()
		created := 0
		for _, err := range errs {
			if err == nil {
				created++
				continue
			}
			assert.ErrorIs(t, err, ErrUserAlreadyExists)
		}
		assert.Equal(t, 1, created)
	})
}

// TestCreateUserInvalidEmail proves that a malformed email is a
// *ValidationError on the email field, refused before any hashing.
func TestCreateUserInvalidEmail(t *testing.T) {
	ctx := context.Background()
	a := newTestAuth(t, nil)
	for name, email := range map[string]string{
		"empty":         "",
		"blank":         "   ",
		"no at":         "alice.example.com",
		"no domain dot": "alice@localhost",
		"display name":  "Alice <alice@example.com>",
		"two addresses": "a@example.com, b@example.com",
		"CRLF":          "alice@example.com\r\nBcc: eve@example.com",
		"NUL":           "alice@example.com\x00",
		"too long":      strings.Repeat("a", 250) + "@example.com",
	} {
		t.Run(name, func(t *testing.T) {
			before := a.hasher.computations.Load()
			_, err := a.CreateUser(ctx, NewUser{Email: email, Password: acctPassword})
			var verr *ValidationError
			require.ErrorAs(t, err, &verr)
			require.NotEmpty(t, verr.Errors)
			assert.Equal(t, "email", verr.Errors[0].Field)
			assert.Equal(t, before, a.hasher.computations.Load(), "no hashing for a refused email")
		})
	}
}

// TestCreateUserFlags proves that CreateUser honours the flags only code
// can set (IsSuperuser, IsVerified, Inactive), that the zero NewUser makes
// an active, unprivileged, unverified user, that the records are stored as
// given with an argon2id hash (never the password), and that
// OnAfterRegister runs once with a nil request.
func TestCreateUserFlags(t *testing.T) {
	ctx := context.Background()
	var hooked []*User
	a := newTestAuth(t, func(c *Config) {
		c.Hooks.OnAfterRegister = func(_ context.Context, user *User, r *http.Request) {
			assert.Nil(t, r, "CreateUser has no request")
			hooked = append(hooked, user)
		}
	})
	tests := []struct {
		name                        string
		nu                          NewUser
		active, superuser, verified bool
	}{
		{"defaults", NewUser{}, true, false, false},
		{"superuser", NewUser{IsSuperuser: true}, true, true, false},
		{"verified", NewUser{IsVerified: true}, true, false, true},
		{"inactive", NewUser{Inactive: true}, false, false, false},
		{"all", NewUser{IsSuperuser: true, IsVerified: true, Inactive: true}, false, true, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.nu.Email = strings.ReplaceAll(tt.name, " ", "-") + "@example.com"
			tt.nu.Password = acctPassword
			user, err := a.CreateUser(ctx, tt.nu)
			require.NoError(t, err)
			assert.NotEqual(t, uuid.Nil, user.ID)

			stored, err := a.Store().UserByID(ctx, user.ID)
			require.NoError(t, err)
			assert.Equal(t, tt.active, stored.IsActive, "is_active")
			assert.Equal(t, tt.superuser, stored.IsSuperuser, "is_superuser")
			assert.Equal(t, tt.verified, stored.IsVerified, "is_verified")
			assert.True(t, strings.HasPrefix(stored.HashedPassword, "$argon2id$"), stored.HashedPassword)
			assert.NotContains(t, stored.HashedPassword, acctPassword)
			ok, _, err := a.hasher.Verify(ctx, acctPassword, stored.HashedPassword)
			require.NoError(t, err)
			assert.True(t, ok)

			require.Len(t, hooked, i+1)
			assert.Equal(t, user.ID, hooked[i].ID)
		})
	}
}

// TestAuthenticateSucceeds proves that the right password signs in, in any
// spelling of the email, and returns the stored user.
func TestAuthenticateSucceeds(t *testing.T) {
	ctx := context.Background()
	f := newAcctFixture(t, nil)
	for _, email := range []string{"active@example.com", " Active@EXAMPLE.com "} {
		user, err := f.auth.Authenticate(ctx, email, acctPassword)
		require.NoError(t, err, email)
		assert.Equal(t, "active@example.com", user.Email)
	}
}

// TestAuthenticateFailuresLookAlike proves that every refusal (unknown
// email, malformed email, wrong password, inactive user with the right or a
// wrong password, a user without a password) is the same ErrBadCredentials,
// gives byte-identical 400 responses on the wire, and does the same work as
// a successful login: exactly one password-hash computation, counted by the
// hasher, so timing cannot tell them apart.
func TestAuthenticateFailuresLookAlike(t *testing.T) {
	ctx := context.Background()
	f := newAcctFixture(t, nil)
	srv := newTestServer(t, f.auth)

	countFor := func(t *testing.T, email, password string) (int64, error) {
		t.Helper()
		before := f.auth.hasher.computations.Load()
		_, err := f.auth.Authenticate(ctx, email, password)
		return f.auth.hasher.computations.Load() - before, err
	}

	n, err := countFor(t, "active@example.com", acctPassword)
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "a successful login costs one computation")

	failures := []struct{ name, email, password string }{
		{"unknown email", "nobody@example.com", acctPassword},
		{"malformed email", "not an email", acctPassword},
		{"wrong password", "active@example.com", "wrong password!"},
		{"inactive user, right password", "inactive@example.com", acctPassword},
		{"inactive user, wrong password", "inactive@example.com", "wrong password!"},
		{"user without a password", "oauth-only@example.com", acctPassword},
	}
	var wire []byte
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			n, err := countFor(t, tt.email, tt.password)
			require.ErrorIs(t, err, ErrBadCredentials)
			assert.EqualValues(t, 1, n, "the same work as a successful login")

			res := do(t, srv, http.MethodPost, "/auth/login", map[string]string{"email": tt.email, "password": tt.password}, "")
			require.Equal(t, http.StatusBadRequest, res.Status)
			assert.Equal(t, string(CodeLoginBadCredentials), res.Detail(t))
			if wire == nil {
				wire = res.Body
			}
			assert.Equal(t, string(wire), string(res.Body), "one body for every refusal")
		})
	}
}

// TestAuthenticateRefusedBeforeHashing proves that an empty or over-long
// password is refused with ErrBadCredentials without any hashing, whether
// or not the account exists, so this shortcut reveals nothing about it.
func TestAuthenticateRefusedBeforeHashing(t *testing.T) {
	ctx := context.Background()
	f := newAcctFixture(t, nil)
	for _, email := range []string{"active@example.com", "nobody@example.com"} {
		for name, password := range map[string]string{
			"empty":        "",
			"257 chars":    strings.Repeat("x", MaxPasswordLength+1),
			"a megabyte":   strings.Repeat("x", 1<<20),
			"right prefix": acctPassword + strings.Repeat(" ", MaxPasswordLength),
		} {
			t.Run(email+" "+name, func(t *testing.T) {
				before := f.auth.hasher.computations.Load()
				_, err := f.auth.Authenticate(ctx, email, password)
				require.ErrorIs(t, err, ErrBadCredentials)
				assert.Equal(t, before, f.auth.hasher.computations.Load())
			})
		}
	}
}

// TestAuthenticateRequireVerified proves that with RequireVerified an
// unverified user gets ErrUserNotVerified only after a correct password (a
// wrong one, or an inactive account, is ErrBadCredentials, so the flag does
// not leak), and that without it unverified users sign in.
func TestAuthenticateRequireVerified(t *testing.T) {
	ctx := context.Background()
	t.Run("required", func(t *testing.T) {
		f := newAcctFixture(t, func(c *Config) { c.RequireVerified = true })
		tests := []struct {
			name, email, password string
			want                  error
		}{
			{"verified, right password", "active@example.com", acctPassword, nil},
			{"unverified, right password", "unverified@example.com", acctPassword, ErrUserNotVerified},
			{"unverified, wrong password", "unverified@example.com", "wrong password!", ErrBadCredentials},
			{"unverified and inactive, right password", "inactive-unverified@example.com", acctPassword, ErrBadCredentials},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := f.auth.hasher.computations.Load()
				_, err := f.auth.Authenticate(ctx, tt.email, tt.password)
				if tt.want == nil {
					require.NoError(t, err)
				} else {
					require.ErrorIs(t, err, tt.want)
				}
				assert.EqualValues(t, 1, f.auth.hasher.computations.Load()-before)
			})
		}
		t.Run("Login starts no session", func(t *testing.T) {
			tokens, user, err := f.auth.Login(ctx, "unverified@example.com", acctPassword, ClientInfo{})
			require.ErrorIs(t, err, ErrUserNotVerified)
			assert.Nil(t, tokens)
			assert.Nil(t, user)
		})
	})
	t.Run("not required", func(t *testing.T) {
		f := newAcctFixture(t, nil)
		_, err := f.auth.Authenticate(ctx, "unverified@example.com", acctPassword)
		require.NoError(t, err)
	})
}

// acctDetachedStore is a Store whose user lookups ignore the caller's
// cancellation, so that a cancelled context reaches the password hasher.
type acctDetachedStore struct{ Store }

func (s acctDetachedStore) UserByEmail(ctx context.Context, email string) (*User, error) {
	return s.Store.UserByEmail(context.WithoutCancel(ctx), email)
}

// TestAuthenticateCancelledWhileWaitingForHashSlot proves that a login
// whose context ends while it waits for a hashing slot returns the
// context's error for a known and an unknown email alike, never
// ErrBadCredentials for one and not the other (and never logs a known
// user's hash as unreadable).
func TestAuthenticateCancelledWhileWaitingForHashSlot(t *testing.T) {
	f := newAcctFixture(t, nil)
	a := newTestAuthOn(t, acctDetachedStore{f.store}, func(c *Config) { c.MaxConcurrentHashes = 1 })
	a.hasher.slots <- struct{}{} // another login holds the only slot
	t.Cleanup(func() { <-a.hasher.slots })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()

	for _, email := range []string{"active@example.com", "nobody@example.com"} {
		t.Run(email, func(t *testing.T) {
			before := a.hasher.computations.Load()
			_, err := a.Authenticate(ctx, email, acctPassword)
			require.ErrorIs(t, err, context.Canceled)
			assert.False(t, errors.Is(err, ErrBadCredentials))
			assert.Equal(t, before, a.hasher.computations.Load())
		})
	}
}

// BenchmarkLoginFailure reports the cost of each refused login next to a
// successful one, with the default (OWASP) argon2id costs: the refusals
// should cost about the same as each other and as a success, since each
// does exactly one hash computation (see TestAuthenticateFailuresLookAlike
// for the deterministic proof).
func BenchmarkLoginFailure(b *testing.B) {
	ctx := context.Background()
	f := newAcctFixture(b, func(c *Config) { c.Argon2 = DefaultArgon2Params })
	cases := []struct {
		name, email, password string
		want                  error
	}{
		{"unknown-email", "nobody@example.com", acctPassword, ErrBadCredentials},
		{"wrong-password", "active@example.com", "wrong password!", ErrBadCredentials},
		{"inactive-user", "inactive@example.com", acctPassword, ErrBadCredentials},
		{"success", "active@example.com", acctPassword, nil},
	}
	for _, bc := range cases {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.auth.Authenticate(ctx, bc.email, bc.password); !errors.Is(err, bc.want) {
					b.Fatalf("got %v, want %v", err, bc.want)
				}
			}
		})
	}
}

// TestCreateUserMailsNothing proves that only a request's sign-up mails a
// verify link: CreateUser from code runs OnAfterRegister (nil request) and
// mails nothing, the register route runs it with the request, then mails.
func TestCreateUserMailsNothing(t *testing.T) {
	var registered []string
	env := newUMEnv(t, func(cfg *Config) {
		cfg.Hooks.OnAfterRegister = func(_ context.Context, user *User, r *http.Request) {
			registered = append(registered, fmt.Sprintf("%s %v", user.Email, r != nil))
		}
	})
	_, err := env.a.CreateUser(context.Background(), NewUser{Email: "coded@example.com", Password: acctPassword})
	require.NoError(t, err)
	assert.Empty(t, env.flushMail(t), "CreateUser mails nothing")

	res := env.call(t, http.MethodPost, "/auth/register", map[string]string{"email": "routed@example.com", "password": acctPassword}, "")
	require.Equal(t, http.StatusCreated, res.Status, "body: %s", res.Body)
	mails := env.flushMail(t)
	require.Len(t, mails, 1)
	assert.Equal(t, "routed@example.com", mails[0].To)
	assert.Equal(t, string(MailVerify), mails[0].Subject)
	assert.Equal(t, []string{"coded@example.com false", "routed@example.com true"}, registered)
}
