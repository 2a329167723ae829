package loopback

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LocalHost": true, "127.0.0.1": true, "127.8.9.10": true, "::1": true,
		"localhost.evil.tld": false, "127.0.0.1.nip.io": false, "10.0.0.5": false, "example.com": false, "": false,
	} {
		assert.Equal(t, want, Host(host), host)
	}
}
