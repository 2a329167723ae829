package ginauth

import (
	"net/netip"

	"github.com/gin-gonic/gin"
)

// ipv6BucketBits is the IPv6 prefix that counts as one client: a /64 is
// what one subscriber, or one host with privacy addresses, holds, so
// rotating through it gains an attacker nothing.
const ipv6BucketBits = 64

// clientIPKey is the rate-limit subject of the client of c: its IPv4
// address (also for an IPv4-mapped IPv6 address), or the /64 of its IPv6
// address ("2001:db8:1:2::/64"); an address that does not parse is used as
// is.
//
// It starts from c.ClientIP(), which honours the engine's trusted proxies
// (engine.SetTrustedProxies) and TrustedPlatform. gin.Default() trusts every
// proxy until the app calls SetTrustedProxies, so that any client can name
// its own IP in X-Forwarded-For; see RateLimits.
func clientIPKey(c *gin.Context) string {
	raw := c.ClientIP()
	addr, err := netip.ParseAddr(raw)
	if err != nil {
		return raw
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is4() {
		return addr.String()
	}
	return netip.PrefixFrom(addr, ipv6BucketBits).Masked().String()
}
