package ginauth

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clientIPKeyOf runs clientIPKey on a request from remoteAddr through
// engine, with the given headers.
func clientIPKeyOf(t *testing.T, engine *gin.Engine, remoteAddr string, header http.Header) string {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/ip", nil)
	req.RemoteAddr = remoteAddr
	for k, vs := range header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	w := httptest.NewRecorder()
	engine.ServeHTTP(w, req)
	require.Equal(t, http.StatusOK, w.Code)
	return w.Body.String()
}

// ipEngine is an engine whose /ip answers clientIPKey.
func ipEngine(t *testing.T, configure func(*gin.Engine) error) *gin.Engine {
	t.Helper()
	engine := gin.New()
	require.NoError(t, configure(engine))
	engine.GET("/ip", func(c *gin.Context) { c.String(http.StatusOK, clientIPKey(c)) })
	return engine
}

func TestClientIPKey(t *testing.T) {
	direct := ipEngine(t, func(e *gin.Engine) error { return e.SetTrustedProxies(nil) })
	cases := []struct {
		name, remoteAddr, want string
	}{
		{"IPv4", "203.0.113.7:41000", "203.0.113.7"},
		{"IPv4-mapped IPv6", "[::ffff:203.0.113.7]:41000", "203.0.113.7"},
		{"IPv6 is bucketed per /64", "[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:41000", "2001:db8:1:2::/64"},
		{"IPv6 loopback", "[::1]:41000", "::/64"},
		{"no address", "not-an-address", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, clientIPKeyOf(t, direct, tc.remoteAddr, nil))
		})
	}
}

func TestClientIPKeyIPv6Buckets(t *testing.T) {
	direct := ipEngine(t, func(e *gin.Engine) error { return e.SetTrustedProxies(nil) })
	a := clientIPKeyOf(t, direct, "[2001:db8:aa:bb::1]:1", nil)
	b := clientIPKeyOf(t, direct, "[2001:db8:aa:bb:ffff:ffff:ffff:fffe]:1", nil)
	c := clientIPKeyOf(t, direct, "[2001:db8:aa:bc::1]:1", nil)
	assert.Equal(t, a, b, "two addresses of one /64 are one client")
	assert.NotEqual(t, a, c, "another /64 is another client")
}

func TestClientIPKeyUnparsableIsKeptRaw(t *testing.T) {
	// A trusted platform header is taken as is by gin; clientIPKey keeps
	// what it cannot parse rather than merging it with other clients.
	engine := ipEngine(t, func(e *gin.Engine) error {
		e.TrustedPlatform = "X-Client-IP"
		return nil
	})
	got := clientIPKeyOf(t, engine, "192.0.2.1:1", http.Header{"X-Client-Ip": {"not-an-ip"}})
	assert.Equal(t, "not-an-ip", got)

	// What does parse is bucketed as usual, zone dropped.
	got = clientIPKeyOf(t, engine, "192.0.2.1:1", http.Header{"X-Client-Ip": {"fe80::1:2:3:4%eth0"}})
	assert.Equal(t, "fe80::/64", got)
}

func TestClientIPKeyHonoursTrustedProxies(t *testing.T) {
	rotating := []string{"198.51.100.1", "198.51.100.2", "2001:db8::7", "10.0.0.1, 198.51.100.3"}

	t.Run("no trusted proxy: X-Forwarded-For is ignored", func(t *testing.T) {
		engine := ipEngine(t, func(e *gin.Engine) error { return e.SetTrustedProxies(nil) })
		for _, xff := range rotating {
			got := clientIPKeyOf(t, engine, "127.0.0.1:5555", http.Header{"X-Forwarded-For": {xff}})
			assert.Equal(t, "127.0.0.1", got, "XFF %q", xff)
		}
	})

	t.Run("trusted proxy: its X-Forwarded-For names the client", func(t *testing.T) {
		engine := ipEngine(t, func(e *gin.Engine) error { return e.SetTrustedProxies([]string{"127.0.0.1"}) })
		got := clientIPKeyOf(t, engine, "127.0.0.1:5555", http.Header{"X-Forwarded-For": {"198.51.100.1"}})
		assert.Equal(t, "198.51.100.1", got)
		got = clientIPKeyOf(t, engine, "127.0.0.1:5555", http.Header{"X-Forwarded-For": {"2001:db8:5:6:7::1"}})
		assert.Equal(t, "2001:db8:5:6::/64", got)

		// A client that does not come through the proxy cannot choose its IP.
		got = clientIPKeyOf(t, engine, "192.0.2.9:5555", http.Header{"X-Forwarded-For": {"198.51.100.1"}})
		assert.Equal(t, "192.0.2.9", got)
	})

	t.Run("gin's default trusts every proxy", func(t *testing.T) {
		// This is why RateLimits tells apps to call SetTrustedProxies.
		engine := ipEngine(t, func(*gin.Engine) error { return nil })
		got := clientIPKeyOf(t, engine, "192.0.2.9:5555", http.Header{"X-Forwarded-For": {"198.51.100.77"}})
		assert.Equal(t, "198.51.100.77", got)
	})
}
