// Package loopback tells whether a host names this machine, for the rules
// that allow plain text only there (SMTP credentials, provider URLs in
// development).
package loopback

import (
	"net"
	"strings"
)

// Host reports whether host (a name or an IP, without port or brackets)
// is "localhost" or a loopback address (127.0.0.0/8, ::1).
func Host(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
