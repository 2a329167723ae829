package ginauth

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOriginParse proves parseOrigin reads scheme://host[:port] with the
// default port made explicit and the scheme and host lower-cased, and
// refuses wildcards, paths, user info, queries, fragments, other schemes
// and anything without a host.
func TestOriginParse(t *testing.T) {
	for raw, want := range map[string]origin{
		"https://app.example.com":      {"https", "app.example.com", "443"},
		"https://app.example.com/":     {"https", "app.example.com", "443"},
		"http://localhost:3000":        {"http", "localhost", "3000"},
		"HTTPS://App.Example.COM":      {"https", "app.example.com", "443"},
		"  https://app.example.com  ":  {"https", "app.example.com", "443"},
		"https://app.example.com:8443": {"https", "app.example.com", "8443"},
		"http://127.0.0.1":             {"http", "127.0.0.1", "80"},
		"http://[::1]:5173":            {"http", "::1", "5173"},
	} {
		t.Run(raw, func(t *testing.T) {
			got, err := parseOrigin(raw)
			require.NoError(t, err)
			assert.Equal(t, want, got)
		})
	}
	for _, raw := range []string{
		"", "*", "https://*", "https://*.example.com", "*.example.com", "https://app.*.com",
		"https://app.example.com/path", "https://app.example.com/app/",
		"https://user@app.example.com", "https://user:pw@app.example.com",
		"https://app.example.com?x=1", "https://app.example.com#frag",
		"app.example.com", "//app.example.com", "https:app.example.com", "https://",
		"ftp://app.example.com", "javascript:alert(1)", "mailto:a@example.com", "file:///etc",
	} {
		t.Run("refused "+raw, func(t *testing.T) {
			_, err := parseOrigin(raw)
			assert.Error(t, err)
		})
	}
}

// TestOriginConfigRefused proves New refuses a bad TrustedOrigins entry
// instead of trusting it.
func TestOriginConfigRefused(t *testing.T) {
	for _, raw := range []string{"https://*.example.com", "https://app.example.com/callback", "app.example.com"} {
		_, err := New(Config{Secret: testSecret, Store: openTestStore(t, "sqlite"), Argon2: fastArgon2, TrustedOrigins: []string{raw}})
		assert.Error(t, err, raw)
	}
}

// redirectTestAuth trusts https://app.example.com and http://localhost:3000.
func redirectTestAuth(t *testing.T) *Auth {
	t.Helper()
	return newTestAuth(t, func(cfg *Config) {
		cfg.TrustedOrigins = []string{"https://app.example.com", "http://localhost:3000"}
	})
}

// TestRedirectCheck proves checkRedirect accepts a URL only when its parsed
// scheme, host and port are a trusted origin's, returns a URL on that
// origin with no control character, and refuses every bypass of
// oaRedirectBypasses.
func TestRedirectCheck(t *testing.T) {
	a := redirectTestAuth(t)
	for _, raw := range []string{
		"https://app.example.com",
		"https://app.example.com/",
		"https://app.example.com/welcome?x=1#top",
		"HTTPS://APP.EXAMPLE.COM/ok",
		"https://app.example.com:443/ok",
		"http://localhost:3000/after-login",
		"https://app.example.com/%0d%0aSet-Cookie:%20x=y",
		"https://app.example.com/a/../../b",
	} {
		t.Run("accepted "+raw, func(t *testing.T) {
			got, err := a.checkRedirect(raw)
			require.NoError(t, err)
			u, err := url.Parse(got)
			require.NoError(t, err)
			o, ok := originOf(u)
			require.True(t, ok)
			assert.Contains(t, a.trustedOrigins, o)
			assert.Nil(t, u.User)
			assert.False(t, strings.ContainsAny(got, "\r\n\t\x00\\ "), got)
		})
	}
	for _, raw := range append(append([]string(nil), oaRedirectBypasses...),
		"", "http://localhost:3001", "https://localhost:3000", "http://localhost", "https://app.example.com/"+strings.Repeat("a", 2048)) {
		t.Run("refused "+url.QueryEscape(raw), func(t *testing.T) {
			_, err := a.checkRedirect(raw)
			assert.ErrorIs(t, err, ErrRedirectNotAllowed)
		})
	}
}

// TestRedirectNoTrustedOrigins proves that without trusted origins no
// redirect_to is accepted, not even one on the app's own base URL.
func TestRedirectNoTrustedOrigins(t *testing.T) {
	a := newTestAuth(t, nil)
	for _, raw := range []string{"http://localhost:8080/", "https://app.example.com/"} {
		_, err := a.checkRedirect(raw)
		assert.ErrorIs(t, err, ErrRedirectNotAllowed, raw)
	}
}

// FuzzRedirectCheck checks the property behind checkRedirect on any
// input: whatever it accepts parses to a trusted origin, has no user
// info, and holds no byte a header or a browser could misread.
func FuzzRedirectCheck(f *testing.F) {
	for _, seed := range oaRedirectBypasses {
		f.Add(seed)
	}
	f.Add("https://app.example.com/ok?x=1#y")
	f.Add("http://localhost:3000")
	a, err := New(Config{Secret: testSecret, Store: openTestStore(f, "sqlite"), Argon2: fastArgon2,
		TrustedOrigins: []string{"https://app.example.com", "http://localhost:3000"}})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, raw string) {
		got, err := a.checkRedirect(raw)
		if err != nil {
			return
		}
		u, err := url.Parse(got)
		require.NoError(t, err)
		o, ok := originOf(u)
		require.True(t, ok, got)
		require.Contains(t, a.trustedOrigins, o, got)
		require.Nil(t, u.User, got)
		for _, r := range got {
			require.False(t, r < 0x21 || r == 0x7f || r == '\\', "%q", got)
		}
	})
}
