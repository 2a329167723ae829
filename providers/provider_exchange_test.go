package providers

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"golang.org/x/oauth2"
)

// TestGrantRefused proves that only a refusal of the code is
// ErrInvalidGrant: rate limits, server errors and wrong URLs are a provider
// in trouble, reported as ErrProviderUnavailable (502), not as a bad code.
func TestGrantRefused(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		code    string
		refused bool
	}{
		{"400 invalid_grant", 400, "invalid_grant", true},
		{"401 invalid_client", 401, "invalid_client", true},
		{"403 invalid_code", 403, "invalid_code", true},
		{"200 with bad_verification_code", 200, "bad_verification_code", true},
		{"400 server_error", 400, "server_error", false},
		{"200 with temporarily_unavailable", 200, "temporarily_unavailable", false},
		{"404 page", 404, "", false},
		{"408 timeout", 408, "", false},
		{"429 rate limited", 429, "", false},
		{"500", 500, "server_error", false},
		{"503", 503, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := &oauth2.RetrieveError{Response: &http.Response{StatusCode: tc.status}, ErrorCode: tc.code}
			assert.Equal(t, tc.refused, grantRefused(err))
		})
	}
	assert.False(t, grantRefused(&oauth2.RetrieveError{}), "no response at all is not a refusal")
}
